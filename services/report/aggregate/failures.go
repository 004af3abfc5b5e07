package aggregate

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/assay-eval/assay/services/report/document"
)

// failures counts what could not be evaluated, by stage, source and cause,
// from the headline's score rows (robustness copies are compared apart)
// and judgments, and sets the report's error counts.
func (c *Collector) failures(rep *document.Report, rows []row) {
	if c.ingestFailed != "" {
		rep.Failures = append(rep.Failures, document.Failure{Stage: "ingest", Source: c.ingestSuite, Cause: causeOf(c.ingestFailed), Count: 1, Example: c.ingestFailed})
	}
	type key struct{ source, cause string }
	tally := func(stage string, order []string, counts map[key]int, examples map[key]string) {
		rank := map[string]int{}
		for i, s := range order {
			rank[s] = i
		}
		keys := make([]key, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b key) int {
			return cmp.Or(cmp.Compare(rank[a.source], rank[b.source]), cmp.Compare(a.source, b.source),
				cmp.Compare(counts[b], counts[a]), cmp.Compare(a.cause, b.cause))
		})
		for _, k := range keys {
			rep.Failures = append(rep.Failures, document.Failure{Stage: stage, Source: k.source, Cause: k.cause, Count: counts[k], Example: examples[k]})
		}
	}
	gens, genEx := map[key]int{}, map[key]string{}
	for _, r := range rows {
		if !r.failed() {
			continue
		}
		rep.Counts.GenerationErrors++
		cause := r.cause
		if cause == "" {
			cause = causeOf(r.reason)
		}
		k := key{r.variant, cause}
		gens[k]++
		if genEx[k] == "" {
			genEx[k] = r.reason
		}
	}
	var variants, judges []string
	for _, v := range c.spec.Variants {
		variants = append(variants, v.Name)
	}
	tally("generation", variants, gens, genEx)
	calls, callEx := map[key]int{}, map[key]string{}
	for _, j := range c.judgmentRows() {
		if j.err == "" || j.genFailed {
			continue
		}
		rep.Counts.JudgeErrors++
		cause := j.cause
		if cause == "" {
			cause = causeOf(j.err)
		}
		k := key{j.judge, cause}
		calls[k]++
		if callEx[k] == "" {
			callEx[k] = j.err
		}
	}
	for _, j := range c.spec.Judges {
		judges = append(judges, j.Name)
	}
	tally("judge", judges, calls, callEx)
	rep.Counts.Errors = rep.Counts.GenerationErrors + rep.Counts.JudgeErrors
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
	if len(c.dead) > 0 {
		byStage := map[string]int{}
		for _, d := range c.dead {
			byStage[d.Stage]++
		}
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
		rep.Warnings = append(rep.Warnings, "ingest failed, so nothing was evaluated: "+c.ingestFailed)
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
