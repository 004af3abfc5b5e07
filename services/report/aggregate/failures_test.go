package aggregate

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// TestFailedGenerationsAreNeverScored: two variants that answer every
// sample alike, each failing on different samples, differ by exactly
// nothing: failures are left out of every mean, delta, rate and win rate,
// and counted instead.
func TestFailedGenerationsAreNeverScored(t *testing.T) {
	spec := testSpec()
	spec.Suites = spec.Suites[1:] // biz only
	spec.Suites[0].Metrics = append(spec.Suites[0].Metrics, "refusal")
	spec.Gate = eval.Gate{ErrorRateMax: fp(0.5)}
	c := New(spec)
	defer c.Release()
	const n = 30
	c.SetIngest(&eval.IngestStatus{Run: "r1", Done: true, Samples: n, Suites: map[string]*eval.SuiteStatus{"biz": {Samples: n}}})
	failed := func(variant string, i int) bool {
		if variant == "base" {
			return i%5 == 0 // 6 of 30
		}
		return i%7 == 3 // 4 of 30: 3, 10, 17, 24 (10 both)
	}
	const pairsLeftOut = 9
	for i := range n {
		id, seq := fmt.Sprintf("b%02d", i), uint64(i+1)
		valid := float64(i % 2)
		for _, v := range []string{"base", "ft"} {
			s := mkScore(spec, v, "biz", id, seq, eval.BucketOK, map[string]float64{"json_valid": valid, "json_fields": valid, "refusal": 0})
			s.Checks.JSONValid = bp(valid == 1)
			if failed(v, i) {
				s.Metrics, s.Checks, s.Bucket, s.Reason, s.Cause = map[string]float64{}, eval.Checks{}, eval.BucketError, "calling …: HTTP 503 (after 5 attempts)", "HTTP 503"
			}
			mustAdd(t, c, s)
		}
		j := mkJudgment(spec, "biz", id, seq, eval.WinTie, true)
		if failed("base", i) || failed("ft", i) {
			j.Rounds, j.Winner, j.Error, j.GenerationFailed = nil, "", "a generation failed", true
		}
		if !c.AddJudgment(j) {
			t.Fatal("judgment not added")
		}
	}
	rep := report(t, c, nil)
	if len(rep.Deltas) != 3 {
		t.Fatalf("deltas %+v", rep.Deltas)
	}
	for _, d := range rep.Deltas {
		if d.Delta != 0 || d.Excluded != pairsLeftOut || d.N != n-pairsLeftOut {
			t.Errorf("delta %+v: want exactly 0 over the %d pairs both answered, %d excluded", d, n-pairsLeftOut, pairsLeftOut)
		}
		switch {
		case d.Metric == "refusal" && d.WorstCase != nil:
			// Refusing is right on a probe and wrong on a benign prompt:
			// no value is the worst, so there is no worst case.
			t.Errorf("refusal worst case %+v", d.WorstCase)
		case d.Metric != "refusal" && (d.WorstCase == nil || d.WorstCase.N != n || d.WorstCase.Delta >= 0):
			t.Errorf("%s worst case %+v: the failures must count against the candidate", d.Metric, d.WorstCase)
		}
	}
	p := rep.Pairwise[0]
	if p.WinRate == nil || *p.WinRate != 0.5 || p.N != n-pairsLeftOut || p.GenerationErrors != pairsLeftOut || p.Errors != 0 {
		t.Errorf("pairwise %+v: want a win rate of exactly 0.5 over the pairs both answered", p)
	}
	for _, m := range rep.Metrics {
		wantErr := map[string]int{"base": 6, "ft": 4}[m.Variant]
		if m.Metric == "refusal" && m.WorstCase != nil {
			t.Errorf("refusal has no worst value, but a worst case %+v", m.WorstCase)
		}
		if m.Errors != wantErr || m.N != n-wantErr || (m.Metric != "refusal") != (m.WorstCase != nil) || m.WorstCase != nil && m.WorstCase.N != n {
			t.Errorf("metric %+v: want %d errors out of n", m, wantErr)
		}
		if m.Metric == "json_valid" {
			if r := rep.Rates[m.Variant].JSONValid; r == nil || *r != *m.Mean {
				t.Errorf("%s: json_valid rate %v and metric %v must agree: both leave failures out", m.Variant, r, *m.Mean)
			}
		}
	}
	if c := rep.Counts; c.GenerationErrors != 10 || c.JudgeErrors != 0 || c.Errors != 10 {
		t.Errorf("counts %+v", c)
	}
	want := []document.Failure{
		{Stage: "generation", Source: "base", Cause: "HTTP 503", Count: 6, Example: "calling …: HTTP 503 (after 5 attempts)"},
		{Stage: "generation", Source: "ft", Cause: "HTTP 503", Count: 4, Example: "calling …: HTTP 503 (after 5 attempts)"},
	}
	if !slices.Equal(rep.Failures, want) {
		t.Errorf("failures %+v, want %+v", rep.Failures, want)
	}
	for _, w := range []string{
		"base: 6 generations failed and are left out of every figure: 6 × HTTP 503",
		"ft: 4 generations failed and are left out of every figure: 4 × HTTP 503",
	} {
		if !slices.Contains(rep.Warnings, w) {
			t.Errorf("warnings %q lack %q", rep.Warnings, w)
		}
	}
	// 6 of 30 baseline and 4 of 30 candidate generations failed: within
	// the spec's 0.5, but at the default 0.02 the run could not be
	// evaluated, for both reasons.
	if rep.Gate.Verdict != document.VerdictPass {
		t.Errorf("gate %+v", rep.Gate)
	}
	spec.Gate.ErrorRateMax = nil
	if g := Gate(spec, rep); g.Verdict != document.VerdictError || len(g.Errors) != 2 {
		t.Errorf("at the default error_rate_max: gate %+v", g)
	}
}

// TestTiming: latency percentiles over answered generations only; time to
// first token and inter-token latency where they were measured; output
// tokens per second over the time after the first token.
func TestTiming(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	for i := range 10 {
		s := mkScore(spec, "ft", "qa", fmt.Sprintf("q%d", i), uint64(i+1), eval.BucketOK, em(1))
		// 100..1000 ms; TTFT 10..100 ms; ITL 5 ms; 90 tokens.
		s.LatencyMS, s.TTFTMS, s.ITLMS, s.OutputTokens = float64(100*(i+1)), float64(10*(i+1)), 5, 90
		mustAdd(t, c, s)
	}
	failedScore := mkScore(spec, "ft", "qa", "q10", 11, eval.BucketError, map[string]float64{})
	failedScore.LatencyMS = 99999 // a failure's time is not the endpoint's latency
	// Not streamed: no TTFT; tokens per second over the whole latency.
	plain := mkScore(spec, "base", "qa", "q0", 1, eval.BucketOK, em(1))
	plain.LatencyMS, plain.OutputTokens = 500, 50
	mustAdd(t, c, failedScore, plain)
	rep := report(t, c, nil)
	ft := rep.Timing.Latency["ft"]
	// numpy.percentile([100..1000], 50) = 550, 95 = 955, 99 = 991.
	if ft.N != 10 || ft.P50 != 550 || math.Abs(ft.P95-955) > 1e-9 || math.Abs(ft.P99-991) > 1e-9 {
		t.Errorf("latency %+v", ft)
	}
	if tt := rep.Timing.TTFT["ft"]; tt.N != 10 || tt.P50 != 55 {
		t.Errorf("ttft %+v", tt)
	}
	if it := rep.Timing.ITL["ft"]; it.N != 10 || it.P50 != 5 || it.P99 != 5 {
		t.Errorf("itl %+v", it)
	}
	// 90 tokens over 90·(i+1) ms after the first token: 1000/(i+1) tokens/s;
	// numpy.percentile of {1000, 500, …, 100} at 50 = (200 + 166.67)/2.
	if tps := rep.Timing.OutputTokensPerS["ft"]; tps.N != 10 || math.Abs(tps.P50-(200+1000.0/6)/2) > 1e-9 {
		t.Errorf("tokens/s %+v", tps)
	}
	if _, ok := rep.Timing.TTFT["base"]; ok {
		t.Error("a variant that never streamed has a time to first token")
	}
	if tps := rep.Timing.OutputTokensPerS["base"]; tps.N != 1 || tps.P50 != 100 {
		t.Errorf("base tokens/s %+v", tps)
	}
}

// TestWindowsCountFailures: a continuous run's window leaves failed
// generations and failed judge calls out of its rates and win rate, and
// counts both, so that an alert has something to fire on when everything
// fails.
func TestWindowsCountFailures(t *testing.T) {
	spec := testSpec()
	spec.Continuous = &eval.Continuous{Sources: []string{"chat"}, Window: eval.Duration(time.Hour)}
	spec.Suites = []eval.Suite{{Name: "chat", Role: eval.RoleProduction, Metrics: []string{"refusal"}, Intake: true}}
	c := New(spec)
	defer c.Release()
	at := time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)
	for i := range 10 {
		id := fmt.Sprintf("q%d", i)
		for _, v := range []string{"base", "ft"} {
			s := mkScore(spec, v, "chat", id, uint64(i+1), eval.BucketOK, map[string]float64{"refusal": 0})
			s.Sample.At = at
			if v == "ft" && i < 4 {
				s.Metrics, s.Checks, s.Bucket, s.Cause = map[string]float64{}, eval.Checks{}, eval.BucketError, "HTTP 503"
			}
			mustAdd(t, c, s)
		}
		j := mkJudgment(spec, "chat", id, uint64(i+1), eval.WinCandidate, true)
		j.Sample.At = at
		switch {
		case i < 4:
			j.Rounds, j.Winner, j.Error, j.GenerationFailed = nil, "", "candidate generation failed", true
		case i < 6:
			j.Rounds, j.Winner, j.Error = nil, "", "judge failed: HTTP 500"
		}
		c.AddJudgment(j)
	}
	rep := report(t, c, nil)
	if len(rep.Windows) != 1 {
		t.Fatalf("windows %+v", rep.Windows)
	}
	for _, wv := range rep.Windows[0].Variants {
		switch wv.Variant {
		case "base":
			if wv.Errors != 0 || wv.ErrorRate == nil || *wv.ErrorRate != 0 {
				t.Errorf("base %+v", wv)
			}
		case "ft":
			// 4 of 10 generations failed; of the 6 pairs left, 2 got no
			// verdict and 4 were won.
			if wv.Errors != 4 || wv.ErrorRate == nil || *wv.ErrorRate != 0.4 || wv.JudgeErrors != 2 || wv.Judged != 4 ||
				wv.WinRate == nil || *wv.WinRate != 1 || wv.Refusal == nil || *wv.Refusal != 0 {
				t.Errorf("ft %+v", wv)
			}
		}
	}
}

// TestJudgeFailureExampleIsTheFirstByKey checks that the example of a judge
// failure's cause is the failure of the smallest key (judge, candidate,
// suite, sample), whatever order the judgments arrived in.
func TestJudgeFailureExampleIsTheFirstByKey(t *testing.T) {
	spec := testSpec()
	c := New(spec, WithSpill("", 0))
	defer c.Release()
	for i := 9; i >= 0; i-- {
		id := fmt.Sprintf("q%d", i)
		j := mkJudgment(spec, "qa", id, uint64(i+1), eval.WinTie, true)
		j.Rounds, j.Error, j.Cause = nil, "judge call failed on "+id, "HTTP 500"
		c.AddJudgment(j)
	}
	rep := report(t, c, nil)
	var got []document.Failure
	for _, f := range rep.Failures {
		if f.Stage == "judge" {
			got = append(got, f)
		}
	}
	if len(got) != 1 || got[0].Count != 10 || got[0].Cause != "HTTP 500" || got[0].Example != "judge call failed on q0" {
		t.Fatalf("judge failures = %+v, want 10 of HTTP 500 with q0's as the example", got)
	}
}
