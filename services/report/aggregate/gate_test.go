package aggregate

import (
	"maps"
	"slices"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// gateReport is a complete report on which every check of testSpec's gate
// passes, each on an interval that lies wholly on the good side of its
// threshold; each case below breaks one thing.
func gateReport() *document.Report {
	return &document.Report{
		Complete: true,
		Progress: document.Progress{Scores: 4, ScoresExpected: 4, Judgments: 2, JudgmentsExpected: 2},
		Metrics: []document.Metric{
			{Suite: "qa", Metric: "em", Variant: "base", N: 100, Mean: fp(0.5), CI: ci(0.4, 0.6)},
			{Suite: "qa", Metric: "em", Variant: "ft", N: 100, Mean: fp(0.75), CI: ci(0.72, 0.78)},
			{Suite: "biz", Metric: "json_fields", Variant: "ft", N: 100, Mean: fp(0.9), CI: ci(0.85, 0.95)},
		},
		Deltas: []document.Delta{
			{Suite: "qa", Metric: "em", Variant: "ft", DeltaEstimate: document.DeltaEstimate{N: 100, Delta: 0.25, CI: [2]float64{0.15, 0.35}}},
			{Suite: "biz", Metric: "json_fields", Variant: "ft", DeltaEstimate: document.DeltaEstimate{N: 100, Delta: 0.4, CI: [2]float64{0.35, 0.45}}},
		},
		Pairwise: []document.Pairwise{{Judge: "j1", Variant: "ft", N: 100, WinRate: fp(0.6), CI: ci(0.56, 0.64)}},
		Rates: map[string]document.Rates{
			"base": {Refusal: fp(0.1), JSONValid: fp(0.8), JSONValidN: 400, JSONValidCI: ci(0.76, 0.84), Error: fp(0)},
			"ft":   {Refusal: fp(0.1), JSONValid: fp(0.95), JSONValidN: 400, JSONValidCI: ci(0.92, 0.97), Error: fp(0.05)},
		},
		RateDeltas: []document.RateDelta{
			{Rate: "refusal", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 400, CI: [2]float64{-0.005, 0.005}}},
		},
	}
}

func ci(lo, hi float64) *[2]float64 { return &[2]float64{lo, hi} }

// sub subtracts at run time: a constant expression such as 0.3 − 0.2 is
// exact in Go and would hide the rounding the gate must tolerate.
func sub(a, b float64) float64 { return a - b }

const (
	pass         = document.VerdictPass
	fail         = document.VerdictFail
	inconclusive = document.VerdictInconclusive
	errV         = document.VerdictError
)

func TestGate(t *testing.T) {
	allPass := func() []document.Check {
		return []document.Check{
			{Name: "error_rate_max", Variant: "base", Value: 0, Threshold: 0.2, Bound: "max", Outcome: pass, Passed: true},
			{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.2, Bound: "max", Outcome: pass, Passed: true},
			{Name: "judge_error_rate_max", Variant: "ft", Judge: "j1", Threshold: 0.2, Bound: "max", Outcome: pass, Passed: true},
			{Name: "win_rate_min", Variant: "ft", Judge: "j1", Value: 0.6, Threshold: 0.55, Bound: "min", CI: ci(0.56, 0.64), Outcome: pass, Passed: true},
			{Name: "refusal_rate_delta_max", Variant: "ft", Value: 0, Threshold: 0.01, Bound: "max", CI: ci(-0.005, 0.005), Outcome: pass, Passed: true},
			{Name: "json_valid_min", Variant: "ft", Value: 0.95, Threshold: 0.9, Bound: "min", CI: ci(0.92, 0.97), Outcome: pass, Passed: true},
			{Name: "qa/em min", Variant: "ft", Value: 0.75, Threshold: 0.7, Bound: "min", CI: ci(0.72, 0.78), Outcome: pass, Passed: true},
			{Name: "qa/em delta_min", Variant: "ft", Value: 0.25, Threshold: 0.1, Bound: "min", CI: ci(0.15, 0.35), Outcome: pass, Passed: true},
			{Name: "biz/json_fields delta_min", Variant: "ft", Value: 0.4, Threshold: 0.3, Bound: "min", CI: ci(0.35, 0.45), Outcome: pass, Passed: true},
		}
	}
	// unmeasured marks check i as one that could not be evaluated.
	unmeasured := func(cs []document.Check, i int, value float64) []document.Check {
		cs[i].Value, cs[i].Passed, cs[i].Error, cs[i].Outcome, cs[i].CI = value, false, "x", errV, nil
		return cs
	}
	// failed makes check i one that failed on value and its interval.
	failed := func(cs []document.Check, i int, value float64, interval *[2]float64) []document.Check {
		cs[i].Value, cs[i].CI, cs[i].Passed, cs[i].Outcome = value, interval, false, fail
		return cs
	}
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
				return append([]document.Check{{Name: "complete", Threshold: 6, Outcome: errV, Error: "x"}}, cs...)
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
				return []document.Check{{Name: "ingest", Outcome: errV, Error: "x"}}
			},
		},
		{
			name:    "win rate below",
			rep:     func(r *document.Report) { r.Pairwise[0].WinRate, r.Pairwise[0].CI = fp(0.5), ci(0.45, 0.54) },
			verdict: fail,
			checks:  func(cs []document.Check) []document.Check { return failed(cs, 3, 0.5, ci(0.45, 0.54)) },
		},
		{
			name: "win rate's interval starting exactly at the threshold passes despite rounding",
			// 0.7 − 0.15 = 0.5499999999999999 in floating point.
			rep: func(r *document.Report) { r.Pairwise[0].CI = ci(sub(0.7, 0.15), 0.65) },
			checks: func(cs []document.Check) []document.Check {
				cs[3].CI = ci(sub(0.7, 0.15), 0.65)
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
				return unmeasured(cs, 3, 0)
			},
		},
		{
			name: "judge failures within the limit leave the win rate to decide",
			rep: func(r *document.Report) {
				r.Pairwise[0].Errors = 20 // 20 of 120
			},
			checks: func(cs []document.Check) []document.Check {
				cs[2].Value = 20.0 / 120
				return cs
			},
			verdict: pass,
		},
		{
			name: "a judge no check reads that failed too often: not evaluated",
			spec: func(s *eval.RunSpec) {
				s.Judges = append(s.Judges, eval.Judge{Name: "j2", Model: "m2"})
				s.Gate = eval.Gate{ErrorRateMax: fp(0.2)}
			},
			rep: func(r *document.Report) {
				r.Pairwise = append(r.Pairwise, document.Pairwise{Judge: "j2", Variant: "ft", N: 70, Errors: 30})
			},
			verdict: errV,
			checks: func(cs []document.Check) []document.Check {
				return append(cs[:3], document.Check{Name: "judge_error_rate_max", Variant: "ft", Judge: "j2", Value: 0.3, Threshold: 0.2, Bound: "max", Outcome: errV, Error: "x"})
			},
		},
		{
			name: "no verdict yet: not evaluated",
			rep: func(r *document.Report) {
				r.Pairwise[0] = document.Pairwise{Judge: "j1", Variant: "ft", GenerationErrors: 3}
			},
			verdict: errV,
			checks: func(cs []document.Check) []document.Check {
				// The judge was asked nothing: no judge_error_rate_max.
				return slices.Delete(unmeasured(cs, 3, 0), 2, 3)
			},
		},
		{
			name:    "no pairwise entry for the gated judge: not evaluated",
			rep:     func(r *document.Report) { r.Pairwise[0].Judge = "j-other" },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return slices.Delete(unmeasured(cs, 3, 0), 2, 3) },
		},
		{
			name: "gate names its judge",
			spec: func(s *eval.RunSpec) {
				s.Judges = append(s.Judges, eval.Judge{Name: "j2", Model: "m2"})
				s.Gate.Judge = "j2"
			},
			rep: func(r *document.Report) {
				r.Pairwise = append(r.Pairwise, document.Pairwise{Judge: "j2", Variant: "ft", N: 10, WinRate: fp(0.3), CI: ci(0.1, 0.5)})
			},
			verdict: fail,
			checks: func(cs []document.Check) []document.Check {
				cs = failed(cs, 3, 0.3, ci(0.1, 0.5))
				cs[3].Judge = "j2"
				return slices.Insert(cs, 3, document.Check{Name: "judge_error_rate_max", Variant: "ft", Judge: "j2", Threshold: 0.2, Bound: "max", Outcome: pass, Passed: true})
			},
		},
		{
			name: "refusal rate rises too much",
			rep: func(r *document.Report) {
				r.RateDeltas[0].Delta, r.RateDeltas[0].CI = 0.1, [2]float64{0.05, 0.15}
			},
			verdict: fail,
			checks:  func(cs []document.Check) []document.Check { return failed(cs, 4, 0.1, ci(0.05, 0.15)) },
		},
		{
			name: "refusal rise's interval ending exactly at the limit passes despite rounding",
			// 0.13 − 0.12 = 0.010000000000000009 > 0.01 in floating point.
			rep: func(r *document.Report) { r.RateDeltas[0].CI[1] = sub(0.13, 0.12) },
			checks: func(cs []document.Check) []document.Check {
				cs[4].CI = ci(-0.005, sub(0.13, 0.12))
				return cs
			},
			verdict: pass,
		},
		{
			name:    "no benign prompt both answered: refusal not evaluated",
			rep:     func(r *document.Report) { r.RateDeltas = nil },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 4, 0) },
		},
		{
			name: "json_valid below",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{Refusal: fp(0.1), JSONValid: fp(0.85), JSONValidN: 400, JSONValidCI: ci(0.81, 0.88), Error: fp(0.05)}
			},
			verdict: fail,
			checks:  func(cs []document.Check) []document.Check { return failed(cs, 5, 0.85, ci(0.81, 0.88)) },
		},
		{
			name:    "json_valid never checked: not evaluated",
			rep:     func(r *document.Report) { r.Rates["ft"] = document.Rates{Refusal: fp(0.1), Error: fp(0.05)} },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 5, 0) },
		},
		{
			name: "too many failed generations: not evaluated",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{Refusal: fp(0.1), JSONValid: fp(0.95), JSONValidN: 400, JSONValidCI: ci(0.92, 0.97), Error: fp(0.25)}
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
				cs[2].Threshold = 0.02
				cs = unmeasured(cs, 1, 0.05)
				cs[1].Outcome = errV
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
				return append([]document.Check{{Name: "malformed_rate_max", Value: 0.04, Threshold: 0.2, Bound: "max", Outcome: pass, Passed: true}}, cs...)
			},
		},
		{
			name: "too many malformed records: the run evaluated another set than asked",
			rep: func(r *document.Report) {
				r.Suites = []document.Suite{{Name: "qa", Samples: 13, Malformed: 4, Problems: []string{"qa.jsonl:7: prompt: is empty"}}}
			},
			verdict: errV,
			checks: func(cs []document.Check) []document.Check {
				return append([]document.Check{{Name: "malformed_rate_max", Value: 4.0 / 17, Threshold: 0.2, Bound: "max", Outcome: errV, Error: "x"}}, cs...)
			},
		},
		{
			name:    "a suite whose generations failed more than allowed: its metric is not evaluated",
			rep:     func(r *document.Report) { r.Metrics[1].N, r.Metrics[1].Errors = 4, 5 },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 6, 0) },
		},
		{
			name:    "a suite whose pairs were left out more than allowed: its delta is not evaluated",
			rep:     func(r *document.Report) { r.Deltas[0].N, r.Deltas[0].Excluded = 4, 2 },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 7, 0) },
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
				return append([]document.Check{{Name: "samples", Outcome: errV, Error: "x"}}, cs...)
			},
		},
		{
			name:    "metric below its minimum",
			rep:     func(r *document.Report) { r.Metrics[1].Mean, r.Metrics[1].CI = fp(0.6), ci(0.55, 0.65) },
			verdict: fail,
			checks:  func(cs []document.Check) []document.Check { return failed(cs, 6, 0.6, ci(0.55, 0.65)) },
		},
		{
			name:    "metric missing: not evaluated",
			rep:     func(r *document.Report) { r.Metrics = r.Metrics[:1] },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 6, 0) },
		},
		{
			name:    "metric over nothing (every generation failed): not evaluated",
			rep:     func(r *document.Report) { r.Metrics[1].Mean, r.Metrics[1].N, r.Metrics[1].Errors = nil, 0, 4 },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 6, 0) },
		},
		{
			name:    "delta below",
			rep:     func(r *document.Report) { r.Deltas[0].Delta, r.Deltas[0].CI = 0.05, [2]float64{0, 0.09} },
			verdict: fail,
			checks:  func(cs []document.Check) []document.Check { return failed(cs, 7, 0.05, ci(0, 0.09)) },
		},
		{
			name: "delta's interval starting exactly at the minimum passes despite rounding",
			// 0.3 − 0.2 is 0.09999999999999998.
			rep: func(r *document.Report) { r.Deltas[0].CI[0] = sub(0.3, 0.2) },
			checks: func(cs []document.Check) []document.Check {
				cs[7].CI = ci(sub(0.3, 0.2), 0.35)
				return cs
			},
			verdict: pass,
		},
		{
			name:    "delta missing: not evaluated",
			rep:     func(r *document.Report) { r.Deltas = r.Deltas[:1] },
			verdict: errV,
			checks:  func(cs []document.Check) []document.Check { return unmeasured(cs, 8, 0) },
		},
		{
			name: "a negative delta_min allows a bounded regression",
			spec: func(s *eval.RunSpec) { s.Gate.Metrics[0].DeltaMin = fp(-0.05) },
			rep:  func(r *document.Report) { r.Deltas[0].Delta, r.Deltas[0].CI = -0.01, [2]float64{-0.04, 0.02} },
			checks: func(cs []document.Check) []document.Check {
				cs[7].Value, cs[7].Threshold, cs[7].CI = -0.01, -0.05, ci(-0.04, 0.02)
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
					{Name: "error_rate_max", Variant: "base", Threshold: 0.02, Bound: "max", Outcome: pass, Passed: true},
					{Name: "error_rate_max", Variant: "ft", Value: 0.02, Threshold: 0.02, Bound: "max", Outcome: pass, Passed: true},
					{Name: "judge_error_rate_max", Variant: "ft", Judge: "j1", Threshold: 0.02, Bound: "max", Outcome: pass, Passed: true},
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
				return []document.Check{
					{Name: "complete", Threshold: 6, Outcome: errV, Error: "x"},
					{Name: "judge_error_rate_max", Variant: "ft", Judge: "j1", Threshold: 0.02, Bound: "max", Outcome: pass, Passed: true},
				}
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
					{Name: "error_rate_max", Variant: "base", Threshold: 0.1, Bound: "max", Outcome: pass, Passed: true},
					{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.1, Bound: "max", Outcome: pass, Passed: true},
					{Name: "error_rate_max", Variant: "ft2", Value: 0.5, Threshold: 0.1, Bound: "max", Outcome: errV, Error: "x"},
					{Name: "judge_error_rate_max", Variant: "ft", Judge: "j1", Threshold: 0.1, Bound: "max", Outcome: pass, Passed: true},
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
					{Name: "error_rate_max", Variant: "base", Threshold: 0.1, Bound: "max", Outcome: pass, Passed: true},
					{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.1, Bound: "max", Outcome: pass, Passed: true},
					{Name: "judge_error_rate_max", Variant: "ft", Judge: "j1", Threshold: 0.1, Bound: "max", Outcome: pass, Passed: true},
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
			sameGateChecks(t, g, want)
			if g.Passed != (tt.verdict == pass) || g.Policy != eval.GatePolicyInterval {
				t.Errorf("passed %v, policy %q", g.Passed, g.Policy)
			}
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

// TestVariantVerdicts: a variant's verdict is the worst outcome of its own
// checks, the run's and the baseline's (error, then fail, then
// inconclusive), whatever another candidate's checks say.
func TestVariantVerdicts(t *testing.T) {
	spec := testSpec()
	spec.Variants = append(spec.Variants, eval.Variant{Name: "ft2"}, eval.Variant{Name: "ft3"}, eval.Variant{Name: "ft4"})
	spec.Gate = eval.Gate{ErrorRateMax: fp(0.1), JSONValidMin: fp(0.9)}
	rep := gateReport()
	rep.Rates["ft"] = document.Rates{JSONValid: fp(0.8), JSONValidN: 400, JSONValidCI: ci(0.76, 0.84), Error: fp(0)}
	rep.Rates["ft2"] = document.Rates{JSONValid: fp(0.95), JSONValidN: 400, JSONValidCI: ci(0.92, 0.97), Error: fp(0.5)}
	rep.Rates["ft3"] = document.Rates{JSONValid: fp(0.91), JSONValidN: 100, JSONValidCI: ci(0.84, 0.95), Error: fp(0)}
	rep.Rates["ft4"] = document.Rates{JSONValid: fp(0.95), JSONValidN: 400, JSONValidCI: ci(0.92, 0.97), Error: fp(0)}
	want := map[string]string{"ft": fail, "ft2": errV, "ft3": inconclusive, "ft4": pass}
	g := Gate(spec, rep)
	if !maps.Equal(g.Verdicts, want) || g.Verdict != errV {
		t.Errorf("verdicts %v, run %s; want %v, error", g.Verdicts, g.Verdict, want)
	}
	for v, verdict := range want {
		if g.Variants[v] != (verdict == pass) {
			t.Errorf("variant %s: verdict %s, passed %v", v, verdict, g.Variants[v])
		}
	}
	rep.Rates["base"] = document.Rates{Error: fp(0.5)}
	g = Gate(spec, rep)
	for _, v := range []string{"ft", "ft3", "ft4"} {
		if g.Verdicts[v] != errV {
			t.Errorf("a baseline that failed too often must make every candidate's verdict error: %v", g.Verdicts)
		}
	}
}

// TestVerdictOrder: a verdict is the worst of its checks' outcomes, error
// before fail before inconclusive before pass.
func TestVerdictOrder(t *testing.T) {
	check := map[string]document.Check{
		pass:         {Outcome: pass, Passed: true},
		inconclusive: {Outcome: inconclusive},
		fail:         {Outcome: fail},
		errV:         {Outcome: errV, Error: "x"},
		// A check stored before outcomes were.
		"old fail": {},
	}
	for _, c := range []struct {
		outcomes []string
		want     string
	}{
		{nil, pass},
		{[]string{pass, pass}, pass},
		{[]string{pass, inconclusive, pass}, inconclusive},
		{[]string{inconclusive, fail}, fail},
		{[]string{fail, inconclusive}, fail},
		{[]string{inconclusive, errV, fail}, errV},
		{[]string{errV, pass}, errV},
		{[]string{pass, "old fail"}, fail},
	} {
		var cs []document.Check
		for _, o := range c.outcomes {
			cs = append(cs, check[o])
		}
		if got := runVerdict(cs); got != c.want {
			t.Errorf("%v: %s, want %s", c.outcomes, got, c.want)
		}
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

// sameGateChecks compares g's checks with want: what each measured, its
// bound, interval and outcome, and whether it could be evaluated (not the
// error's words).
func sameGateChecks(t *testing.T, g document.Gate, want []document.Check) {
	t.Helper()
	if len(g.Checks) != len(want) {
		t.Fatalf("checks:\n%+v\nwant:\n%+v", g.Checks, want)
	}
	for i, w := range want {
		c := g.Checks[i]
		if c.Name != w.Name || c.Variant != w.Variant || c.Judge != w.Judge || c.Bound != w.Bound || c.Outcome != w.Outcome || c.Passed != w.Passed ||
			(c.Error != "") != (w.Error != "") || (c.CI == nil) != (w.CI == nil) {
			t.Errorf("check %d: %+v, want %+v", i, c, w)
			continue
		}
		near(t, w.Name+" value", c.Value, w.Value)
		near(t, w.Name+" threshold", c.Threshold, w.Threshold)
		if w.CI != nil {
			near(t, w.Name+" ci[0]", c.CI[0], w.CI[0])
			near(t, w.Name+" ci[1]", c.CI[1], w.CI[1])
		}
	}
}
