package aggregate

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// failures counts what could not be evaluated, by stage, source and cause,
// from the headline's failed generations (gens, see [Collector.genTally];
// robustness copies are compared apart) and the judgments, and sets the
// report's error counts.
func (c *Collector) failures(rep *document.Report, gens *tally) {
	if c.ingestFailed != "" {
		rep.Failures = append(rep.Failures, document.Failure{Stage: "ingest", Source: c.ingestSuite, Cause: causeOf(c.ingestFailed), Count: 1, Example: c.ingestFailed})
	}
	var judges []string
	for _, j := range c.spec.Judges {
		judges = append(judges, j.Name)
	}
	calls := newTally("judge", judges)
	c.judgeFailures(calls)
	rep.Failures = append(append(rep.Failures, gens.failures()...), calls.failures()...)
	rep.Counts.GenerationErrors, rep.Counts.JudgeErrors = gens.n, calls.n
	rep.Counts.Errors = gens.n + calls.n
}

// genTally is the tally of failed generations the final pass fills, in
// any order: each cause's example is the first in key order.
func (c *Collector) genTally() *tally {
	var variants []string
	for _, v := range c.spec.Variants {
		variants = append(variants, v.Name)
	}
	return newTally("generation", variants)
}

// judgeFailures tallies in t the judge calls that failed on original
// samples. It reads the judgments batch by batch rather than as
// [Collector.judgmentRows], which would weigh on the heap with the score
// rows; each cause's example is still the first in their key order.
func (c *Collector) judgeFailures(t *tally) {
	in := strs{}
	c.each(c.judgments, func(rec arrow.RecordBatch) {
		jc := judgmentColumnsOf(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			if jc.pert.Value(i) != "" || jc.errs.Value(i) == "" || jc.genFailed.Value(i) {
				continue
			}
			at := [4]string{jc.jid.Value(i), jc.cand.Value(i), jc.suite.Value(i), jc.sample.Value(i)}
			t.addAt(in, at, jc.judge.Value(i), jc.cause.Value(i), jc.errs.Value(i))
		}
	})
}

// tally counts one stage's failures by source and cause, with an example
// message of each.
type tally struct {
	stage    string
	rank     map[string]int // sources in the report's order
	counts   map[[2]string]int
	examples map[[2]string]string
	// exampleAt is the key of each example, when failures are added in
	// no order (see [tally.addAt]).
	exampleAt map[[2]string][4]string
	n         int
}

func newTally(stage string, sources []string) *tally {
	t := &tally{stage: stage, rank: map[string]int{}, counts: map[[2]string]int{}, examples: map[[2]string]string{}}
	for i, s := range sources {
		t.rank[s] = i
	}
	return t
}

// addAt counts one failure of source, at key at, in any order (a
// message with no cause of its own is classed by its text): the example
// kept is the message of the smallest key that has one. The strings it
// keeps are in's.
func (t *tally) addAt(in strs, at [4]string, source, cause, msg string) {
	if cause == "" {
		cause = causeOf(msg)
	}
	k := [2]string{in.of(source), in.of(cause)}
	t.counts[k]++
	t.n++
	if msg == "" {
		return // no example: the smallest key with a message is
	}
	if t.exampleAt == nil {
		t.exampleAt = map[[2]string][4]string{}
	}
	if prev, ok := t.exampleAt[k]; !ok || slices.Compare(at[:], prev[:]) < 0 {
		t.exampleAt[k] = [4]string{in.of(at[0]), in.of(at[1]), in.of(at[2]), strings.Clone(at[3])}
		t.examples[k] = in.of(msg)
	}
}

// failures lists the counts source by source, the most frequent cause
// first.
func (t *tally) failures() []document.Failure {
	keys := slices.Collect(maps.Keys(t.counts))
	slices.SortFunc(keys, func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(t.rank[a[0]], t.rank[b[0]]), cmp.Compare(a[0], b[0]),
			cmp.Compare(t.counts[b], t.counts[a]), cmp.Compare(a[1], b[1]))
	})
	out := make([]document.Failure, 0, len(keys))
	for _, k := range keys {
		out = append(out, document.Failure{Stage: t.stage, Source: k[0], Cause: k[1], Count: t.counts[k], Example: t.examples[k]})
	}
	return out
}

// attemptsRE is the client's note of how often a call was tried.
var attemptsRE = regexp.MustCompile(`\s*\(after \d+ attempts?\)$`)

// netCauses are what a failed call's error ends with when the network,
// not the server, failed it.
var netCauses = []string{"connection refused", "no such host", "connection reset by peer", "i/o timeout",
	"context deadline exceeded", "network is unreachable", "server misbehaving", "unexpected EOF", "EOF"}

// causeOf classifies a failure message that carries no cause of its own (a
// dead letter's reason, or results written before causes were recorded):
// the network error it ends with, or its text without the call's URL and
// attempt count, cut short.
func causeOf(msg string) string {
	s := strings.TrimSpace(msg)
	for _, p := range []string{"dead-lettered by "} {
		s = strings.TrimPrefix(s, p)
	}
	s = attemptsRE.ReplaceAllString(s, "")
	for _, n := range netCauses {
		if strings.HasSuffix(s, n) {
			return n
		}
	}
	if rest, ok := strings.CutPrefix(s, "calling "); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			s = after
		}
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return s
}

func (c *Collector) warnings(rep *document.Report) {
	rep.Warnings = append(rep.Warnings, c.notes...)
	if c.otherScoring > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d scores of another scoring of this run (before it was re-scored) were left out", c.otherScoring))
	}
	for _, id := range slices.Sorted(maps.Keys(c.judgesSeen)) {
		if !slices.ContainsFunc(c.spec.Judges, func(j eval.Judge) bool { return j.ID() == id }) {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d judgments by judge version %s, which the run no longer has (its prompt, settings or the judge contract changed), were left out: judge the run again with assay replay --judge",
				c.judgesSeen[id], id))
		}
	}
	fps := make([]string, 0, len(c.foreign))
	for fp := range c.foreign {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	for _, fp := range fps {
		var what []string
		if n := c.foreign[fp].scores; n > 0 {
			what = append(what, fmt.Sprintf("%d scores", n))
		}
		if n := c.foreign[fp].judgments; n > 0 {
			what = append(what, fmt.Sprintf("%d judgments", n))
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s were made under fingerprint %s, not this run's %s: their decoding or template differ", strings.Join(what, " and "), fp, c.fp))
	}
	for _, k := range slices.Sorted(maps.Keys(c.misfiled)) {
		stage, claimed, _ := strings.Cut(k, "\x00")
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d dead letters published by stage %s claim to be stage %s's and were ignored: a stage speaks only for itself (check who holds the %s identity)",
			c.misfiled[k], stage, claimed, stage))
	}
	if c.refusedRetries > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d retry requests were refused, so the results they named stand: their results had not failed, or they named what the run does not have (the dead letters say which)", c.refusedRetries))
	}
	byStage := map[string]int{}
	for _, d := range c.dead {
		if d.Stage == checkpointStage {
			// Not an error of the run: an announcement that was not added.
			// Once the checkpoint is in the run (announced again, say with
			// a key the server accepts), its old refusal says nothing.
			if _, added := c.spec.Variant(d.Variant); added {
				continue
			}
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("checkpoint %s was refused and not added to the run: %s", d.Variant, d.Reason))
			continue
		}
		byStage[d.Stage]++
	}
	if len(byStage) > 0 {
		// The pipeline's stages in order, then any other, so that none is
		// left out of the count.
		stages := []string{"ingest", "infer", "score", "judge", "report"}
		var others []string
		for st := range byStage {
			if !slices.Contains(stages, st) {
				others = append(others, st)
			}
		}
		sort.Strings(others)
		var parts []string
		for _, st := range append(stages, others...) {
			if byStage[st] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", st, byStage[st]))
			}
		}
		rep.Warnings = append(rep.Warnings, "messages dead-lettered (counted as errors): "+strings.Join(parts, ", "))
	}
	if c.ingestFailed != "" {
		rep.Warnings = append(rep.Warnings, "ingest failed, so the run cannot be evaluated (what was read before is shown, with no verdict): "+c.ingestFailed)
	}
	// Each source's failures on one line, most frequent cause first.
	type line struct {
		stage, source string
		parts         []string
		n             int
	}
	var lines []*line
	for _, f := range rep.Failures {
		if f.Stage == "ingest" {
			continue
		}
		if len(lines) == 0 || lines[len(lines)-1].stage != f.Stage || lines[len(lines)-1].source != f.Source {
			lines = append(lines, &line{stage: f.Stage, source: f.Source})
		}
		l := lines[len(lines)-1]
		l.parts = append(l.parts, fmt.Sprintf("%d × %s", f.Count, f.Cause))
		l.n += f.Count
	}
	for _, l := range lines {
		switch l.stage {
		case "generation":
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %d generations failed and are left out of every figure: %s", l.source, l.n, strings.Join(l.parts, ", ")))
		default:
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("judge %s: %d pairs got no verdict and are left out of the win rate: %s", l.source, l.n, strings.Join(l.parts, ", ")))
		}
	}
	if rep.Counts.Malformed > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d malformed dataset lines were skipped: see suites", rep.Counts.Malformed))
	}
}
