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
			{Suite: "qa", Metric: "em", Variant: "base", Mean: 0.5},
			{Suite: "qa", Metric: "em", Variant: "ft", Mean: 0.75},
			{Suite: "biz", Metric: "json_fields", Variant: "ft", Mean: 0.9},
		},
		Deltas: []document.Delta{
			{Suite: "qa", Metric: "em", Variant: "ft", Delta: 0.25},
			{Suite: "biz", Metric: "json_fields", Variant: "ft", Delta: 0.4},
		},
		Pairwise: []document.Pairwise{{Judge: "j1", Variant: "ft", N: 10, WinRate: 0.6}},
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
			{Name: "win_rate_min", Variant: "ft", Value: 0.6, Threshold: 0.55, Passed: true},
			{Name: "refusal_rate_delta_max", Variant: "ft", Value: 0, Threshold: 0.01, Passed: true},
			{Name: "json_valid_min", Variant: "ft", Value: 0.95, Threshold: 0.9, Passed: true},
			{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.2, Passed: true},
			{Name: "qa/em min", Variant: "ft", Value: 0.75, Threshold: 0.7, Passed: true},
			{Name: "qa/em delta_min", Variant: "ft", Value: 0.25, Threshold: 0.1, Passed: true},
			{Name: "biz/json_fields delta_min", Variant: "ft", Value: 0.4, Threshold: 0.3, Passed: true},
		}
	}
	tests := []struct {
		name   string
		spec   func(*eval.RunSpec)
		rep    func(*document.Report)
		passed bool
		checks func([]document.Check) []document.Check
	}{
		{name: "every check passes", passed: true},
		{
			name: "incomplete run fails first",
			rep: func(r *document.Report) {
				r.Complete = false
				r.Progress = document.Progress{Scores: 3, ScoresExpected: 4, Judgments: 1, JudgmentsExpected: 2}
			},
			checks: func(cs []document.Check) []document.Check {
				return append([]document.Check{{Name: "complete", Value: 4, Threshold: 6, Passed: false}}, cs...)
			},
		},
		{
			name: "win rate below",
			rep:  func(r *document.Report) { r.Pairwise[0].WinRate = 0.5 },
			checks: func(cs []document.Check) []document.Check {
				cs[0].Value, cs[0].Passed = 0.5, false
				return cs
			},
		},
		{
			name: "win rate exactly at the threshold passes",
			rep:  func(r *document.Report) { r.Pairwise[0].WinRate = 0.55 },
			checks: func(cs []document.Check) []document.Check {
				cs[0].Value = 0.55
				return cs
			},
			passed: true,
		},
		{
			name: "no verdicts: win rate fails",
			rep:  func(r *document.Report) { r.Pairwise[0] = document.Pairwise{Judge: "j1", Variant: "ft", Errors: 10} },
			checks: func(cs []document.Check) []document.Check {
				cs[0].Value, cs[0].Passed = 0, false
				return cs
			},
		},
		{
			name: "no pairwise entry for the gated judge: win rate fails",
			rep:  func(r *document.Report) { r.Pairwise[0].Judge = "j-other" },
			checks: func(cs []document.Check) []document.Check {
				cs[0].Value, cs[0].Passed = 0, false
				return cs
			},
		},
		{
			name: "gate names its judge",
			spec: func(s *eval.RunSpec) {
				s.Judges = append(s.Judges, eval.Judge{Name: "j2", Model: "m2"})
				s.Gate.Judge = "j2"
			},
			rep: func(r *document.Report) {
				r.Pairwise = append(r.Pairwise, document.Pairwise{Judge: "j2", Variant: "ft", N: 10, WinRate: 0.3})
			},
			checks: func(cs []document.Check) []document.Check {
				cs[0].Value, cs[0].Passed = 0.3, false
				return cs
			},
		},
		{
			name: "refusal rate rises too much",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{Refusal: fp(0.2), JSONValid: fp(0.95), Error: fp(0.05)}
			},
			checks: func(cs []document.Check) []document.Check {
				cs[1].Value, cs[1].Passed = 0.1, false
				return cs
			},
		},
		{
			name: "refusal rise exactly at the limit passes despite rounding",
			// 0.13 − 0.12 = 0.010000000000000009 > 0.01 in floating point.
			rep: func(r *document.Report) {
				r.Rates["base"] = document.Rates{Refusal: fp(0.12)}
				r.Rates["ft"] = document.Rates{Refusal: fp(0.13), JSONValid: fp(0.95), Error: fp(0.05)}
			},
			checks: func(cs []document.Check) []document.Check {
				cs[1].Value = sub(0.13, 0.12)
				return cs
			},
			passed: true,
		},
		{
			name: "json_valid below",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{Refusal: fp(0.1), JSONValid: fp(0.85), Error: fp(0.05)}
			},
			checks: func(cs []document.Check) []document.Check {
				cs[2].Value, cs[2].Passed = 0.85, false
				return cs
			},
		},
		{
			name: "json_valid never checked fails",
			rep:  func(r *document.Report) { r.Rates["ft"] = document.Rates{Refusal: fp(0.1), Error: fp(0.05)} },
			checks: func(cs []document.Check) []document.Check {
				cs[2].Value, cs[2].Passed = 0, false
				return cs
			},
		},
		{
			name: "error rate above",
			rep: func(r *document.Report) {
				r.Rates["ft"] = document.Rates{Refusal: fp(0.1), JSONValid: fp(0.95), Error: fp(0.25)}
			},
			checks: func(cs []document.Check) []document.Check {
				cs[3].Value, cs[3].Passed = 0.25, false
				return cs
			},
		},
		{
			name: "metric below its minimum",
			rep:  func(r *document.Report) { r.Metrics[1].Mean = 0.6 },
			checks: func(cs []document.Check) []document.Check {
				cs[4].Value, cs[4].Passed = 0.6, false
				return cs
			},
		},
		{
			name: "metric missing fails its minimum",
			rep:  func(r *document.Report) { r.Metrics = r.Metrics[:1] },
			checks: func(cs []document.Check) []document.Check {
				cs[4].Value, cs[4].Passed = 0, false
				return cs
			},
		},
		{
			name: "delta below",
			rep:  func(r *document.Report) { r.Deltas[0].Delta = 0.05 },
			checks: func(cs []document.Check) []document.Check {
				cs[5].Value, cs[5].Passed = 0.05, false
				return cs
			},
		},
		{
			name: "delta exactly at the minimum passes despite rounding",
			// McNemar's delta 3/10 − 2/10 is 0.09999999999999998.
			rep: func(r *document.Report) { r.Deltas[0].Delta = sub(0.3, 0.2) },
			checks: func(cs []document.Check) []document.Check {
				cs[5].Value = sub(0.3, 0.2)
				return cs
			},
			passed: true,
		},
		{
			name: "delta missing fails",
			rep:  func(r *document.Report) { r.Deltas = r.Deltas[:1] },
			checks: func(cs []document.Check) []document.Check {
				cs[6].Value, cs[6].Passed = 0, false
				return cs
			},
		},
		{
			name: "a negative delta_min allows a bounded regression",
			spec: func(s *eval.RunSpec) { s.Gate.Metrics[0].DeltaMin = fp(-0.05) },
			rep:  func(r *document.Report) { r.Deltas[0].Delta = -0.04 },
			checks: func(cs []document.Check) []document.Check {
				cs[5].Value, cs[5].Threshold = -0.04, -0.05
				return cs
			},
			passed: true,
		},
		{
			name: "no gate: only completeness",
			spec: func(s *eval.RunSpec) { s.Gate = eval.Gate{} },
			checks: func([]document.Check) []document.Check {
				return []document.Check{}
			},
			passed: true,
		},
		{
			name: "no gate, incomplete: fails",
			spec: func(s *eval.RunSpec) { s.Gate = eval.Gate{} },
			rep:  func(r *document.Report) { r.Complete, r.Progress.Scores = false, 0 },
			checks: func([]document.Check) []document.Check {
				return []document.Check{{Name: "complete", Value: 2, Threshold: 6, Passed: false}}
			},
		},
		{
			name: "every candidate is gated",
			spec: func(s *eval.RunSpec) {
				s.Variants = append(s.Variants, eval.Variant{Name: "ft2"})
				s.Gate = eval.Gate{ErrorRateMax: fp(0.1)}
			},
			rep: func(r *document.Report) { r.Rates["ft2"] = document.Rates{Error: fp(0.5)} },
			checks: func([]document.Check) []document.Check {
				return []document.Check{
					{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.1, Passed: true},
					{Name: "error_rate_max", Variant: "ft2", Value: 0.5, Threshold: 0.1, Passed: false},
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
				return []document.Check{{Name: "error_rate_max", Variant: "ft", Value: 0.05, Threshold: 0.1, Passed: true}}
			},
			passed: true,
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
			sameChecks(t, Gate(spec, rep), tt.passed, want)
		})
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
	if rep.Complete || rep.Gate.Passed || rep.Gate.Checks[0] != (document.Check{Name: "complete", Value: 2, Threshold: 3, Passed: false}) {
		t.Errorf("gate %+v", rep.Gate)
	}
	c.AddJudgment(mkJudgment(spec, "qa", "q1", 1, eval.WinCandidate, true))
	rep = report(t, c, nil)
	if !rep.Complete || rep.Gate.Checks[0].Name == "complete" {
		t.Errorf("complete run: gate %+v", rep.Gate)
	}
}
