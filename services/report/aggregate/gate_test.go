package aggregate

import (
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// gateReport is a complete report on which every check of testSpec's gate
// passes; each case below breaks one thing.
func gateReport() *document.Report {
	return &document.Report{
		Complete: true,
		Progress: document.Progress{Scores: 4, ScoresExpected: 4, Judgments: 2, JudgmentsExpected: 2},
		Metrics: []document.Metric{
			{Suite: "qa", Metric: "em", Variant: "base", N: 4, Mean: fp(0.5)},
			{Suite: "qa", Metric: "em", Variant: "ft", N: 4, Mean: fp(0.75)},
			{Suite: "biz", Metric: "json_fields", Variant: "ft", N: 4, Mean: fp(0.9)},
		},
		Deltas: []document.Delta{
			{Suite: "qa", Metric: "em", Variant: "ft", DeltaEstimate: document.DeltaEstimate{Delta: 0.25}},
			{Suite: "biz", Metric: "json_fields", Variant: "ft", DeltaEstimate: document.DeltaEstimate{Delta: 0.4}},
		},
		Pairwise: []document.Pairwise{{Judge: "j1", Variant: "ft", N: 10, WinRate: fp(0.6)}},
		Rates: map[string]document.Rates{
			"base": {Refusal: fp(0.1), JSONValid: fp(0.8), Error: fp(0)},
			"ft":   {Refusal: fp(0.1), JSONValid: fp(0.95), Error: fp(0.05)},
		},
	}
}

// sub subtracts at run time: a constant expression such as 0.3 − 0.2 is
// exact in Go and would hide the rounding the gate must tolerate.
func sub(a, b float64) float64 { return a - b }

func TestGate(t *testing.T) {
	allPass := func() []document.Check {
		return []document.Check{
			{Name: "error_rate_max", Variant: "base", Value: 0, Threshold: 0.2, Passed: true},
			{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.2, Passed: true},
			{Name: "win_rate_min", Variant: "ft", Value: 0.6, Threshold: 0.55, Passed: true},
			{Name: "refusal_rate_delta_max", Variant: "ft", Value: 0, Threshold: 0.01, Passed: true},
			{Name: "json_valid_min", Variant: "ft", Value: 0.95, Threshold: 0.9, Passed: true},
			{Name: "qa/em min", Variant: "ft", Value: 0.75, Threshold: 0.7, Passed: true},
			{Name: "qa/em delta_min", Variant: "ft", Value: 0.25, Threshold: 0.1, Passed: true},
			{Name: "biz/json_fields delta_min", Variant: "ft", Value: 0.4, Threshold: 0.3, Passed: true},
		}
	}
	// unmeasured marks check i as one that could not be evaluated.
	unmeasured := func(cs []document.Check, i int, value float64) []document.Check {
		cs[i].Value, cs[i].Passed, cs[i].Error = value, false, "x"
		return cs
	}
	const (
		pass = document.VerdictPass
		fail = document.VerdictFail
		errV = document.VerdictError
	)
	tests := []struct {
		name    string
		spec    func(*eval.RunSpec)
		rep     func(*document.Report)
		verdict string
		checks  func([]document.Check) []document.Check
	}{
		{name: "every check passes", verdict: pass},
		{
			name: "an incomplete run is not evaluated",
			rep: func(r *document.Report) {
				r.Complete = false
				r.Progress = document.Progress{Scores: 3, ScoresExpected: 4, Judgments: 1, JudgmentsExpected: 2}
			},
			verdict: errV,
			checks: func(cs []document.Check) []document.Check {
				return append([]document.Check{{Name: "complete", Threshold: 6, Error: "x"}}, cs...)
			},
		},
		{
			name: "unreadable suites: nothing to check, and not also incomplete",
			rep: func(r *document.Report) {
				r.Complete = false
				r.Failures = []document.Failure{{Stage: "ingest", Source: "qa", Cause: "x", Count: 1, Example: "suite qa: reading qa.jsonl: EOF"}}
			},
			verdict: errV,
			checks: func([]document.Check) []document.Check {
				return []document.Check{{Name: "ingest", Error: "x"}}
			},
		},
		{
			name:    "win rate below",
			rep:     func(r *document.Report) { r.Pairwise[0].WinRate = fp(0.5) },
			verdict: fail,
			checks: func(cs []document.Check) []document.Check {
				cs[2].Value, cs[2].Passed = 0.5, false
				return cs
			},
		},
		{
			name: "win rate exactly at the threshold passes",
			rep:  func(r *document.Report) { r.Pairwise[0].WinRate = fp(0.55) },
			checks: func(cs []document.Check) []document.Check {
				cs[2].Value = 0.55
				return cs
			},
			verdict: pass,
		},
		{
			name:    "the judge failed on every pair: not evaluated",
			rep:     func(r *document.Report) { r.Pairwise[0] = document.Pairwise{Judge: "j1", Variant: "ft", Errors: 10} },
			verdict: errV,
			checks: func(cs []document.Check) []document.Check {
				cs = unmeasured(cs, 2, 1)
				cs[2].Name, cs[2].Threshold = "judge_error_rate_max", 0.2
				return cs
			},
		},
		{
			name: "judge failures within the limit leave the win rate to decide",
			rep: func(r *document.Report) {
				r.Pairwise[0].Errors = 2 // 2 of 12
			},
			verdict: pass,
		},
		{
			name: "no verdict yet: not evaluated",
			rep: func(r *document.Report) {
				r.Pairwise[0] = document.Pairwise{Judge: "j1", Variant: "ft", GenerationErrors: 3}
			},
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 2, 0) },
		},
		{
			name:    "no pairwise entry for the gated judge: not evaluated",
			rep:     func(r *document.Report) { r.Pairwise[0].Judge = "j-other" },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 2, 0) },
		},
		{
			name: "gate names its judge",
			spec: func(s *eval.RunSpec) {
				s.Judges = append(s.Judges, eval.Judge{Name: "j2", Model: "m2"})
				s.Gate.Judge = "j2"
			},
			rep: func(r *document.Report) {
				r.Pairwise = append(r.Pairwise, document.Pairwise{Judge: "j2", Variant: "ft", N: 10, WinRate: fp(0.3)})
			},
			verdict: fail,
			checks: func(cs []document.Check) []document.Check {
				cs[2].Value, cs[2].Passed = 0.3, false
				return cs
			},
		},
		{
			name: "refusal rate rises too much",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{Refusal: fp(0.2), JSONValid: fp(0.95), Error: fp(0.05)}
			},
			verdict: fail,
			checks: func(cs []document.Check) []document.Check {
				cs[3].Value, cs[3].Passed = 0.1, false
				return cs
			},
		},
		{
			name: "refusal rise exactly at the limit passes despite rounding",
			// 0.13 − 0.12 = 0.010000000000000009 > 0.01 in floating point.
			rep: func(r *document.Report) {
				r.Rates["base"] = document.Rates{Refusal: fp(0.12), Error: fp(0)}
				r.Rates["ft"] = document.Rates{Refusal: fp(0.13), JSONValid: fp(0.95), Error: fp(0.05)}
			},
			checks: func(cs []document.Check) []document.Check {
				cs[3].Value = sub(0.13, 0.12)
				return cs
			},
			verdict: pass,
		},
		{
			name: "no answered benign prompt: refusal not evaluated",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{JSONValid: fp(0.95), Error: fp(0.05)}
			},
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 3, 0) },
		},
		{
			name: "json_valid below",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{Refusal: fp(0.1), JSONValid: fp(0.85), Error: fp(0.05)}
			},
			verdict: fail,
			checks: func(cs []document.Check) []document.Check {
				cs[4].Value, cs[4].Passed = 0.85, false
				return cs
			},
		},
		{
			name:    "json_valid never checked: not evaluated",
			rep:     func(r *document.Report) { r.Rates["ft"] = document.Rates{Refusal: fp(0.1), Error: fp(0.05)} },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 4, 0) },
		},
		{
			name: "too many failed generations: not evaluated",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{Refusal: fp(0.1), JSONValid: fp(0.95), Error: fp(0.25)}
			},
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 1, 0.25) },
		},
		{
			name: "too many failed baseline generations: not evaluated",
			rep: func(r *document.Report) {
				r.Rates["base"] = document.Rates{Refusal: fp(0.1), JSONValid: fp(0.8), Error: fp(0.3)}
			},
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 0, 0.3) },
		},
		{
			name:    "error_rate_max defaults to 0.02",
			spec:    func(s *eval.RunSpec) { s.Gate.ErrorRateMax = nil },
			verdict: errV,
			checks: func(cs []document.Check) []document.Check {
				cs[0].Threshold = 0.02
				cs = unmeasured(cs, 1, 0.05)
				cs[1].Threshold = 0.02
				return cs
			},
		},
		{
			name: "a few malformed records are reported, and checked",
			rep: func(r *document.Report) {
				r.Suites = []document.Suite{{Name: "qa", Samples: 95, Duplicates: 1, Malformed: 4, Problems: []string{"qa.jsonl:7: prompt: is empty"}}}
			},
			verdict: pass,
			checks: func(cs []document.Check) []document.Check {
				return append([]document.Check{{Name: "malformed_rate_max", Value: 0.04, Threshold: 0.2, Passed: true}}, cs...)
			},
		},
		{
			name: "too many malformed records: the run evaluated another set than asked",
			rep: func(r *document.Report) {
				r.Suites = []document.Suite{{Name: "qa", Samples: 13, Malformed: 4, Problems: []string{"qa.jsonl:7: prompt: is empty"}}}
			},
			verdict: errV,
			checks: func(cs []document.Check) []document.Check {
				return append([]document.Check{{Name: "malformed_rate_max", Value: 4.0 / 17, Threshold: 0.2, Error: "x"}}, cs...)
			},
		},
		{
			name:    "a suite whose generations failed more than allowed: its metric is not evaluated",
			rep:     func(r *document.Report) { r.Metrics[1].N, r.Metrics[1].Errors = 4, 5 },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 5, 0) },
		},
		{
			name:    "a suite whose pairs were left out more than allowed: its delta is not evaluated",
			rep:     func(r *document.Report) { r.Deltas[0].N, r.Deltas[0].Excluded = 4, 2 },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 6, 0) },
		},
		{
			name:    "failures within the limit on a suite leave its checks to decide",
			rep:     func(r *document.Report) { r.Metrics[1].N, r.Metrics[1].Errors = 9, 1 },
			verdict: pass,
		},
		{
			name: "a suite with nothing to evaluate",
			rep: func(r *document.Report) {
				r.Suites = []document.Suite{{Name: "qa", Samples: 4}, {Name: "biz", Malformed: 0, Duplicates: 3}}
			},
			verdict: errV,
			checks: func(cs []document.Check) []document.Check {
				return append([]document.Check{{Name: "samples", Error: "x"}}, cs...)
			},
		},
		{
			name:    "metric below its minimum",
			rep:     func(r *document.Report) { r.Metrics[1].Mean = fp(0.6) },
			verdict: fail,
			checks: func(cs []document.Check) []document.Check {
				cs[5].Value, cs[5].Passed = 0.6, false
				return cs
			},
		},
		{
			name:    "metric missing: not evaluated",
			rep:     func(r *document.Report) { r.Metrics = r.Metrics[:1] },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 5, 0) },
		},
		{
			name:    "metric over nothing (every generation failed): not evaluated",
			rep:     func(r *document.Report) { r.Metrics[1].Mean, r.Metrics[1].N, r.Metrics[1].Errors = nil, 0, 4 },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 5, 0) },
		},
		{
			name:    "delta below",
			rep:     func(r *document.Report) { r.Deltas[0].Delta = 0.05 },
			verdict: fail,
			checks: func(cs []document.Check) []document.Check {
				cs[6].Value, cs[6].Passed = 0.05, false
				return cs
			},
		},
		{
			name: "delta exactly at the minimum passes despite rounding",
			// McNemar's delta 3/10 − 2/10 is 0.09999999999999998.
			rep: func(r *document.Report) { r.Deltas[0].Delta = sub(0.3, 0.2) },
			checks: func(cs []document.Check) []document.Check {
				cs[6].Value = sub(0.3, 0.2)
				return cs
			},
			verdict: pass,
		},
		{
			name:    "delta missing: not evaluated",
			rep:     func(r *document.Report) { r.Deltas = r.Deltas[:1] },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 7, 0) },
		},
		{
			name: "a negative delta_min allows a bounded regression",
			spec: func(s *eval.RunSpec) { s.Gate.Metrics[0].DeltaMin = fp(-0.05) },
			rep:  func(r *document.Report) { r.Deltas[0].Delta = -0.04 },
			checks: func(cs []document.Check) []document.Check {
				cs[6].Value, cs[6].Threshold = -0.04, -0.05
				return cs
			},
			verdict: pass,
		},
		{
			name: "no gate: only the failures are checked",
			spec: func(s *eval.RunSpec) { s.Gate = eval.Gate{} },
			rep:  func(r *document.Report) { r.Rates["ft"] = document.Rates{Error: fp(0.02)} },
			checks: func([]document.Check) []document.Check {
				return []document.Check{
					{Name: "error_rate_max", Variant: "base", Threshold: 0.02, Passed: true},
					{Name: "error_rate_max", Variant: "ft", Value: 0.02, Threshold: 0.02, Passed: true},
				}
			},
			verdict: pass,
		},
		{
			name: "no gate, incomplete: not evaluated",
			spec: func(s *eval.RunSpec) { s.Gate = eval.Gate{} },
			rep: func(r *document.Report) {
				r.Complete, r.Progress.Scores = false, 0
				r.Rates = map[string]document.Rates{}
			},
			verdict: errV,
			checks: func([]document.Check) []document.Check {
				return []document.Check{{Name: "complete", Threshold: 6, Error: "x"}}
			},
		},
		{
			name: "every candidate is gated",
			spec: func(s *eval.RunSpec) {
				s.Variants = append(s.Variants, eval.Variant{Name: "ft2"})
				s.Gate = eval.Gate{ErrorRateMax: fp(0.1)}
			},
			rep:     func(r *document.Report) { r.Rates["ft2"] = document.Rates{Error: fp(0.5)} },
			verdict: errV,
			checks: func([]document.Check) []document.Check {
				return []document.Check{
					{Name: "error_rate_max", Variant: "base", Threshold: 0.1, Passed: true},
					{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.1, Passed: true},
					{Name: "error_rate_max", Variant: "ft2", Value: 0.5, Threshold: 0.1, Error: "x"},
				}
			},
		},
		{
			name: "only the named variants are gated",
			spec: func(s *eval.RunSpec) {
				s.Variants = append(s.Variants, eval.Variant{Name: "ft2"})
				s.Gate = eval.Gate{ErrorRateMax: fp(0.1), Variants: []string{"ft"}}
			},
			rep: func(r *document.Report) { r.Rates["ft2"] = document.Rates{Error: fp(0.5)} },
			checks: func([]document.Check) []document.Check {
				return []document.Check{
					{Name: "error_rate_max", Variant: "base", Threshold: 0.1, Passed: true},
					{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.1, Passed: true},
				}
			},
			verdict: pass,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, rep := testSpec(), gateReport()
			if tt.spec != nil {
				tt.spec(spec)
			}
			if tt.rep != nil {
				tt.rep(rep)
			}
			want := allPass()
			if tt.checks != nil {
				want = tt.checks(want)
			}
			g := Gate(spec, rep)
			sameChecks(t, g, tt.verdict == pass, want)
			if g.Verdict != tt.verdict {
				t.Errorf("verdict %q, want %q (errors %q)", g.Verdict, tt.verdict, g.Errors)
			}
			if (g.Verdict == errV) != (len(g.Errors) > 0) {
				t.Errorf("verdict %q with errors %q", g.Verdict, g.Errors)
			}
			for v, verdict := range g.Verdicts {
				if g.Variants[v] != (verdict == pass) {
					t.Errorf("variant %s: verdict %q but passed %v", v, verdict, g.Variants[v])
				}
			}
		})
	}
}

// TestVariantVerdicts: a variant's verdict is error when its own checks,
// the run's or the baseline's could not be evaluated, but not when another
// candidate's could not.
func TestVariantVerdicts(t *testing.T) {
	spec := testSpec()
	spec.Variants = append(spec.Variants, eval.Variant{Name: "ft2"})
	spec.Gate = eval.Gate{ErrorRateMax: fp(0.1), JSONValidMin: fp(0.9)}
	rep := gateReport()
	rep.Rates["ft"] = document.Rates{JSONValid: fp(0.8), Error: fp(0)}
	rep.Rates["ft2"] = document.Rates{JSONValid: fp(0.95), Error: fp(0.5)}
	g := Gate(spec, rep)
	if g.Verdicts["ft"] != document.VerdictFail || g.Verdicts["ft2"] != document.VerdictError || g.Verdict != document.VerdictError {
		t.Errorf("verdicts %v, run %s", g.Verdicts, g.Verdict)
	}
	rep.Rates["base"] = document.Rates{Error: fp(0.5)}
	g = Gate(spec, rep)
	if g.Verdicts["ft"] != document.VerdictError {
		t.Errorf("a baseline that failed too often must make every candidate's verdict error: %v", g.Verdicts)
	}
}

// TestGateOfIncompleteRun: the fixture without its last judgment is not
// complete, and so does not pass, however good its numbers.
func TestGateOfIncompleteRun(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	c.SetIngest(&eval.IngestStatus{Run: "r1", Done: true, Samples: 1})
	mustAdd(t, c, mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1)), mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1)))
	rep := report(t, c, nil)
	if ch := rep.Gate.Checks[0]; rep.Complete || rep.Gate.Passed || rep.Gate.Verdict != document.VerdictError || ch.Name != "complete" || ch.Threshold != 3 ||
		ch.Error != "the run is incomplete: 2 of 2 scores and 0 of 1 judgments have arrived" {
		t.Errorf("gate %+v", rep.Gate)
	}
	c.AddJudgment(mkJudgment(spec, "qa", "q1", 1, eval.WinCandidate, true))
	rep = report(t, c, nil)
	if !rep.Complete || rep.Gate.Checks[0].Name == "complete" {
		t.Errorf("complete run: gate %+v", rep.Gate)
	}
}
