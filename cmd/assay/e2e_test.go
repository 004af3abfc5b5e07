package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/document"
)

// TestPipelineEndToEnd runs every stage in this process on an embedded NATS
// server against the simulator and checks the report against the oracle:
// counts and rates computed from the simulator's own choices.
func TestPipelineEndToEnd(t *testing.T) {
	f := newFixture(t, "e2e", testPersonas())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := sys.Stop(); err != nil {
			t.Errorf("stopping: %v", err)
		}
	}()
	b := sys.Env.Bus
	if err := submit(ctx, b, f.spec, openFile); err != nil {
		t.Fatal(err)
	}
	st := waitComplete(t, b, f.spec.Run, 90*time.Second)
	rep, paths, err := saveReport(ctx, b, f.spec.Run, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 5 {
		t.Errorf("report files: %v", paths)
	}
	checkAgainstOracle(t, f, rep)
	if st.GatePassed == nil || *st.GatePassed != rep.Gate.Passed {
		t.Errorf("status gate %v, report gate %v", st.GatePassed, rep.Gate.Passed)
	}

	// Reading the streams again gives the same report: aggregation is keyed
	// and deterministic.
	again, _, err := report.Build(ctx, b, f.spec.Run, []string{"json"})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := comparable(t, rep, f), comparable(t, again, f); a != b {
		t.Fatalf("rebuilt report differs: %s", diffLines(a, b))
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func ratio(n, d int) float64 { return float64(n) / float64(d) }

func checkAgainstOracle(t *testing.T, f *fixture, rep *document.Report) {
	t.Helper()
	e := f.expect()
	if !rep.Complete {
		t.Fatalf("report not complete: %+v", rep.Progress)
	}
	n := len(f.samples)
	if n != 141 {
		t.Fatalf("fixture has %d samples, want 138 bundled + 3 extra", n)
	}
	wantCounts := document.Counts{Samples: n, Duplicates: 1, Malformed: 2}
	for _, ev := range e.variants {
		wantCounts.GenerationErrors += ev.errors
	}
	for _, p := range e.pairs {
		wantCounts.JudgeErrors += p.errors
	}
	wantCounts.Errors = wantCounts.GenerationErrors + wantCounts.JudgeErrors
	if rep.Counts != wantCounts {
		t.Errorf("counts = %+v, want %+v", rep.Counts, wantCounts)
	}
	var problems []string
	for _, su := range rep.Suites {
		if su.Name == "extra" {
			problems = su.Problems
		}
	}
	if len(problems) != 2 || !strings.HasPrefix(problems[0], "extra.jsonl:4: not valid JSON at column ") ||
		problems[1] != "extra.jsonl:5: reference: missing, but the suite's metric em needs it" {
		t.Errorf("malformed lines reported as %q", problems)
	}
	if rep.Progress.Scores != 3*n || rep.Progress.Judgments != 2*2*n {
		t.Errorf("progress = %+v, want %d scores and %d judgments", rep.Progress, 3*n, 4*n)
	}
	for _, v := range f.spec.Variants {
		ev := e.variants[v.Name]
		r := rep.Rates[v.Name]
		check := func(name string, got *float64, want float64) {
			t.Helper()
			if got == nil || !near(*got, want) {
				t.Errorf("%s %s = %v, want %v", v.Name, name, deref(got), want)
			}
		}
		check("error rate", r.Error, ratio(ev.errors, n))
		check("refusal rate", r.Refusal, ratio(ev.refusedBenign, ev.benign))
		check("truncated rate", r.Truncated, ratio(ev.truncated, ev.nonErr))
		check("json_valid rate", r.JSONValid, ratio(ev.jsonValid, ev.jsonChecked))
		check("mean output tokens", r.MeanOutputTokens, ratio(ev.tokens, ev.nonErr))
		metric := func(suite, m string, want float64) {
			t.Helper()
			for _, row := range rep.Metrics {
				if row.Suite == suite && row.Metric == m && row.Variant == v.Name {
					if row.Mean == nil || !near(*row.Mean, want) {
						t.Errorf("%s %s/%s = %v, want %v", v.Name, suite, m, deref(row.Mean), want)
					}
					return
				}
			}
			t.Errorf("%s %s/%s missing", v.Name, suite, m)
		}
		metric("mc", "mc_acc", ratio(ev.mcCorrect, ev.mcN))
		metric("math", "num_match", ratio(ev.numCorrect, ev.numN))
		metric("qa", "em", ratio(ev.emCorrect, ev.emN))
		metric("business", "json_fields", ev.fieldsSum/float64(ev.fieldsN))
		buckets := map[string]int{}
		for _, bk := range rep.Buckets {
			if bk.Variant == v.Name {
				buckets[bk.Bucket] = bk.Count
			}
		}
		if buckets["error"] != ev.errors || buckets["truncated"] != ev.truncBucket || buckets["refusal"] != ev.refusalBucket {
			t.Errorf("%s buckets = %v, want error %d, truncated %d, refusal %d", v.Name, buckets, ev.errors, ev.truncBucket, ev.refusalBucket)
		}
		if got := f.sim.Calls(v.Model); got != ev.calls {
			t.Errorf("%s: the simulator served %d calls, want %d (one per sample, two when the first fails, %d when it is down)",
				v.Name, got, ev.calls, e.maxAttempts)
		}
	}
	for _, p := range rep.Pairwise {
		ep := e.pairs[[2]string{p.Judge, p.Variant}]
		if ep == nil {
			t.Errorf("unexpected pairwise row %+v", p)
			continue
		}
		judged := ep.wins + ep.losses + ep.ties
		got := fmt.Sprintf("n=%d w=%d l=%d t=%d errors=%d generation errors=%d flip=%.6f", p.N, p.Wins, p.Losses, p.Ties, p.Errors, p.GenerationErrors, deref(p.FlipRate))
		want := fmt.Sprintf("n=%d w=%d l=%d t=%d errors=%d generation errors=%d flip=%.6f", judged, ep.wins, ep.losses, ep.ties, ep.errors, ep.genErrors, ratio(ep.flips, judged))
		if got != want {
			t.Errorf("%s on %s: %s, want %s", p.Judge, p.Variant, got, want)
		}
		if wr := (float64(ep.wins) + float64(ep.ties)/2) / float64(judged); p.WinRate == nil || !near(*p.WinRate, wr) {
			t.Errorf("%s on %s: win rate %v, want %v", p.Judge, p.Variant, deref(p.WinRate), wr)
		}
	}
	if len(rep.Pairwise) != 4 {
		t.Errorf("%d pairwise rows, want 2 judges × 2 candidates", len(rep.Pairwise))
	}
	// Every pair judged once, in both orders: no judge call was made twice.
	for _, j := range f.spec.Judges {
		if got, want := f.sim.Calls(j.Model), e.judgeCalls[j.Model]; got != want {
			t.Errorf("judge %s served %d calls, want %d", j.Name, got, want)
		}
	}
	var gateChecks int
	for _, c := range rep.Gate.Checks {
		if c.Name == "win_rate_min" || c.Name == "refusal_rate_delta_max" {
			gateChecks++
		}
	}
	if gateChecks != 4 {
		t.Errorf("gate checks = %+v", rep.Gate.Checks)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
