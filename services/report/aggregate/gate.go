package aggregate

import (
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// tolerance absorbs floating-point error at a threshold: a delta of 0.3 −
// 0.2 is 0.09999999999999998, and must still meet delta_min: 0.1.
const tolerance = 1e-9

// Gate evaluates spec's gate on a report. An incomplete run does not pass,
// and neither does a check that cannot be evaluated (no verdicts, no
// metric).
func Gate(spec *eval.RunSpec, rep *document.Report) document.Gate {
	g := document.Gate{Passed: true, Checks: []document.Check{}}
	add := func(name, variant string, value, threshold float64, ok bool) {
		g.Checks = append(g.Checks, document.Check{Name: name, Variant: variant, Value: value, Threshold: threshold, Passed: ok})
		g.Passed = g.Passed && ok
	}
	// A continuous run never completes: its gate is on what has been
	// evaluated so far (alerts follow its windows).
	if !rep.Complete && spec.Continuous == nil {
		add("complete", "", float64(rep.Progress.Scores+rep.Progress.Judgments),
			float64(rep.Progress.ScoresExpected+rep.Progress.JudgmentsExpected), false)
	}
	gt := spec.Gate
	gj, _ := GateJudge(spec)
	judge := gj.Name
	val := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	}
	for _, v := range spec.GatedVariants() {
		if gt.WinRateMin != nil {
			found := false
			for _, p := range rep.Pairwise {
				if p.Judge == judge && p.Variant == v {
					found = true
					add("win_rate_min", v, p.WinRate, *gt.WinRateMin, p.N > 0 && p.WinRate >= *gt.WinRateMin-tolerance)
				}
			}
			if !found {
				add("win_rate_min", v, 0, *gt.WinRateMin, false)
			}
		}
		r, b := rep.Rates[v], rep.Rates[spec.Baseline]
		if gt.RefusalRateDeltaMax != nil {
			d := val(r.Refusal) - val(b.Refusal)
			add("refusal_rate_delta_max", v, d, *gt.RefusalRateDeltaMax, d <= *gt.RefusalRateDeltaMax+tolerance)
		}
		if gt.JSONValidMin != nil {
			add("json_valid_min", v, val(r.JSONValid), *gt.JSONValidMin, r.JSONValid != nil && *r.JSONValid >= *gt.JSONValidMin-tolerance)
		}
		if gt.ErrorRateMax != nil {
			add("error_rate_max", v, val(r.Error), *gt.ErrorRateMax, val(r.Error) <= *gt.ErrorRateMax+tolerance)
		}
		for _, mg := range gt.Metrics {
			name := mg.Suite + "/" + mg.Metric
			if mg.Min != nil {
				mean, found := 0.0, false
				for _, m := range rep.Metrics {
					if m.Suite == mg.Suite && m.Metric == mg.Metric && m.Variant == v {
						mean, found = m.Mean, true
					}
				}
				add(name+" min", v, mean, *mg.Min, found && mean >= *mg.Min-tolerance)
			}
			if mg.DeltaMin != nil {
				delta, found := 0.0, false
				for _, d := range rep.Deltas {
					if d.Suite == mg.Suite && d.Metric == mg.Metric && d.Variant == v {
						delta, found = d.Delta, true
					}
				}
				add(name+" delta_min", v, delta, *mg.DeltaMin, found && delta >= *mg.DeltaMin-tolerance)
			}
		}
	}
	g.Variants = variantVerdicts(spec, g.Checks)
	return g
}

// variantVerdicts is each gated variant's verdict: its own checks and the
// run's (completeness) all pass.
func variantVerdicts(spec *eval.RunSpec, checks []document.Check) map[string]bool {
	out := map[string]bool{}
	for _, v := range spec.GatedVariants() {
		out[v] = true
	}
	for _, c := range checks {
		for v := range out {
			if !c.Passed && (c.Variant == "" || c.Variant == v) {
				out[v] = false
			}
		}
	}
	return out
}
