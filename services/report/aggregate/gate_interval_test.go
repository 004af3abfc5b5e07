package aggregate

import (
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// deltaGate gates only qa/em's delta, as mg says, under policy.
func deltaGate(policy string, mg eval.MetricGate) *eval.RunSpec {
	spec := testSpec()
	mg.Suite, mg.Metric = "qa", "em"
	spec.Gate = eval.Gate{Policy: policy, ErrorRateMax: fp(0.2), Metrics: []eval.MetricGate{mg}}
	return spec
}

// lastCheck is the gate's last check, that of the case at hand (the ones
// before are the error rates).
func lastCheck(t *testing.T, g document.Gate) document.Check {
	t.Helper()
	if len(g.Checks) == 0 {
		t.Fatalf("no check: %+v", g)
	}
	return g.Checks[len(g.Checks)-1]
}

// TestGateOnIntervals: under the interval policy a delta check passes only
// when its whole interval clears the bound, fails when none of it does and
// is inconclusive otherwise; margin and superiority move the bound; policy
// point decides on the delta alone, as before.
func TestGateOnIntervals(t *testing.T) {
	est := func(delta, lo, hi float64) document.DeltaEstimate {
		return document.DeltaEstimate{N: 400, Delta: delta, CI: [2]float64{lo, hi}}
	}
	interval, point := eval.GatePolicyInterval, eval.GatePolicyPoint
	for _, c := range []struct {
		name      string
		policy    string
		mg        eval.MetricGate
		delta     document.DeltaEstimate
		threshold float64
		want      string
	}{
		{"identical candidate, not worse asked", interval, eval.MetricGate{DeltaMin: fp(0)}, est(0, -0.05, 0.05), 0, inconclusive},
		{"identical candidate under policy point", point, eval.MetricGate{DeltaMin: fp(0)}, est(0, -0.05, 0.05), 0, pass},
		{"worse: the whole interval below", interval, eval.MetricGate{DeltaMin: fp(0)}, est(-0.1, -0.15, -0.05), 0, fail},
		{"better: the whole interval above", interval, eval.MetricGate{DeltaMin: fp(0)}, est(0.1, 0.05, 0.15), 0, pass},
		{"the policy is interval by default", "", eval.MetricGate{DeltaMin: fp(0)}, est(0.01, -0.03, 0.05), 0, inconclusive},
		{"point: a little worse fails", point, eval.MetricGate{DeltaMin: fp(0)}, est(-0.01, -0.05, 0.03), 0, fail},
		{"point: a little better passes", point, eval.MetricGate{DeltaMin: fp(0)}, est(0.01, -0.03, 0.05), 0, pass},
		{"margin: within it", interval, eval.MetricGate{Margin: fp(0.02)}, est(-0.01, -0.015, -0.005), -0.02, pass},
		{"margin: straddling it", interval, eval.MetricGate{Margin: fp(0.02)}, est(-0.01, -0.04, 0.02), -0.02, inconclusive},
		{"margin: beyond it", interval, eval.MetricGate{Margin: fp(0.02)}, est(-0.045, -0.06, -0.03), -0.02, fail},
		{"margin 0 is not worse", interval, eval.MetricGate{Margin: fp(0)}, est(-0.01, -0.015, -0.005), 0, fail},
		{"superiority: shown better", interval, eval.MetricGate{Superiority: true}, est(0.01, 0.005, 0.015), 0, pass},
		{"superiority: not shown", interval, eval.MetricGate{Superiority: true}, est(0.01, -0.005, 0.025), 0, inconclusive},
		{"superiority with a margin asks for better", interval, eval.MetricGate{Margin: fp(0.05), Superiority: true}, est(0, -0.01, 0.01), 0, inconclusive},
		{"superiority with a negative delta_min asks for better", interval, eval.MetricGate{DeltaMin: fp(-0.05), Superiority: true}, est(0, -0.01, 0.01), 0, inconclusive},
		{"superiority with a larger delta_min keeps it", interval, eval.MetricGate{DeltaMin: fp(0.03), Superiority: true}, est(0.05, 0.02, 0.08), 0.03, inconclusive},
		{"superiority under policy point", point, eval.MetricGate{Superiority: true}, est(0.01, -0.005, 0.025), 0, pass},
		{"no variance: undefined, inconclusive", interval, eval.MetricGate{DeltaMin: fp(0)},
			document.DeltaEstimate{N: 40, Delta: 0.1, Undefined: "every pair differs by the same amount: no variance to test against"}, 0, inconclusive},
		{"no variance under policy point", point, eval.MetricGate{DeltaMin: fp(0)},
			document.DeltaEstimate{N: 40, Delta: 0.1, Undefined: "every pair differs by the same amount: no variance to test against"}, 0, pass},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := gateReport()
			rep.Deltas[0].DeltaEstimate = c.delta
			g := Gate(deltaGate(c.policy, c.mg), rep)
			ch := lastCheck(t, g)
			if ch.Name != "qa/em delta_min" || ch.Outcome != c.want || ch.Passed != (c.want == pass) || ch.Error != "" || ch.Bound != "min" {
				t.Errorf("check %+v, want outcome %s", ch, c.want)
			}
			near(t, "threshold", ch.Threshold, c.threshold)
			near(t, "value", ch.Value, c.delta.Delta)
			if (ch.CI == nil) != (c.delta.Undefined != "") {
				t.Errorf("ci %v with undefined %q", ch.CI, c.delta.Undefined)
			}
			wantPolicy := c.policy
			if wantPolicy == "" {
				wantPolicy = interval
			}
			if g.Verdict != c.want || g.Verdicts["ft"] != c.want || g.Passed != (c.want == pass) || g.Variants["ft"] != (c.want == pass) ||
				g.Policy != wantPolicy || len(g.Errors) != 0 {
				t.Errorf("gate %+v, want verdict %s under %s", g, c.want, wantPolicy)
			}
		})
	}
}

// TestGateInconclusiveWinRate: a win rate with no interval (every pair a
// tie) decides nothing: the check is inconclusive, not an error and not a
// pass; under policy point it is compared as before.
func TestGateInconclusiveWinRate(t *testing.T) {
	for _, c := range []struct {
		policy string
		want   string
	}{{eval.GatePolicyInterval, inconclusive}, {eval.GatePolicyPoint, fail}} {
		spec := testSpec()
		spec.Gate = eval.Gate{Policy: c.policy, ErrorRateMax: fp(0.2), WinRateMin: fp(0.55)}
		rep := gateReport()
		rep.Pairwise[0] = document.Pairwise{Judge: "j1", Variant: "ft", N: 30, Ties: 30, WinRate: fp(0.5),
			Undefined: "every pair has the same verdict: no variance to test against"}
		g := Gate(spec, rep)
		ch := lastCheck(t, g)
		if ch.Name != "win_rate_min" || ch.Outcome != c.want || ch.Error != "" || ch.CI != nil || ch.Value != 0.5 || g.Verdict != c.want || len(g.Errors) != 0 {
			t.Errorf("policy %s: check %+v, verdict %s (errors %q), want %s", c.policy, ch, g.Verdict, g.Errors, c.want)
		}
	}
}

// TestGateRefusalIsPaired: the refusal check reads the paired delta over
// the benign prompts both answered, and its interval, not the difference
// of the two pooled rates.
func TestGateRefusalIsPaired(t *testing.T) {
	for _, c := range []struct {
		name  string
		delta document.DeltaEstimate
		want  string
	}{
		{"within the limit", document.DeltaEstimate{N: 400, Delta: 0.001, CI: [2]float64{-0.004, 0.006}}, pass},
		{"straddling the limit", document.DeltaEstimate{N: 400, Delta: 0.01, CI: [2]float64{0, 0.02}}, inconclusive},
		{"above the limit", document.DeltaEstimate{N: 400, Delta: 0.05, CI: [2]float64{0.03, 0.07}}, fail},
		{"undefined", document.DeltaEstimate{N: 1, Undefined: "fewer than 2 pairs: no variance to test against"}, inconclusive},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := testSpec()
			spec.Gate = eval.Gate{ErrorRateMax: fp(0.2), RefusalRateDeltaMax: fp(0.01)}
			rep := gateReport()
			// Pooled, ft refuses 20 points more often: not what is gated.
			rep.Rates["ft"] = document.Rates{Refusal: fp(0.3), Error: fp(0)}
			rep.RateDeltas = []document.RateDelta{
				{Rate: "json_valid", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 9, Delta: 0.5, CI: [2]float64{0.4, 0.6}}},
				{Rate: "refusal", Variant: "ft", Baseline: "base", DeltaEstimate: c.delta},
			}
			g := Gate(spec, rep)
			ch := lastCheck(t, g)
			if ch.Name != "refusal_rate_delta_max" || ch.Bound != "max" || ch.Outcome != c.want || g.Verdict != c.want {
				t.Errorf("check %+v, verdict %s, want %s", ch, g.Verdict, c.want)
			}
			near(t, "value", ch.Value, c.delta.Delta)
		})
	}
}

// TestGateJSONValidInterval: json_valid_min reads the rate's Wilson
// interval; a report without it gets it from the rate and its count, and
// without a count the rate has no interval to decide on.
func TestGateJSONValidInterval(t *testing.T) {
	// statsmodels.stats.proportion.proportion_confint(95, 100, method='wilson')
	wilson := [2]float64{0.8882495307680808, 0.9784563208456319}
	for _, c := range []struct {
		name   string
		policy string
		rates  document.Rates
		ci     *[2]float64
		want   string
	}{
		{"its own interval", "", document.Rates{JSONValid: fp(0.95), JSONValidN: 100, JSONValidCI: ci(0.91, 0.98)}, ci(0.91, 0.98), pass},
		{"Wilson from the count", "", document.Rates{JSONValid: fp(0.95), JSONValidN: 100}, &wilson, inconclusive},
		{"no count: no interval", "", document.Rates{JSONValid: fp(0.95)}, nil, errV},
		{"no count under policy point", eval.GatePolicyPoint, document.Rates{JSONValid: fp(0.95)}, nil, pass},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := testSpec()
			spec.Gate = eval.Gate{Policy: c.policy, ErrorRateMax: fp(0.2), JSONValidMin: fp(0.9)}
			rep := gateReport()
			rep.Rates["ft"] = c.rates
			g := Gate(spec, rep)
			ch := lastCheck(t, g)
			if ch.Name != "json_valid_min" || ch.Outcome != c.want || (ch.CI == nil) != (c.ci == nil) || g.Verdict != c.want {
				t.Fatalf("check %+v, verdict %s, want %s", ch, g.Verdict, c.want)
			}
			if c.ci != nil {
				nearCI(t, "ci", *ch.CI, *c.ci)
			}
			// A rate's interval is Wilson's: the n that decides it is the
			// first whose Wilson interval at 0.95 clears 0.9 (statsmodels,
			// see stats.TestNWilson), not the half-width scaled by 1/√n.
			if want := map[bool]int{true: 139, false: 0}[ch.Outcome == inconclusive]; c.ci != nil && ch.NeededN != want {
				t.Errorf("needed n %d, want %d", ch.NeededN, want)
			}
		})
	}
}

// TestGateWhatWouldDecide: each check says the effect its sample detects
// (the statistic's own MDE, else (z₀.₉₇₅ + z₀.₈)·SE from the interval) and
// the sample at which an interval of today's spread would clear the
// threshold.
func TestGateWhatWouldDecide(t *testing.T) {
	// (scipy.stats.norm.ppf(0.975) + norm.ppf(0.8)) / norm.ppf(0.975) * 0.04
	const mde04 = 0.05717625916009714
	for _, c := range []struct {
		name    string
		delta   document.DeltaEstimate
		want    string
		mde     float64
		neededN int
	}{
		// Half-width 0.04 at n = 100, 0.02 from the bound: n·(0.04/0.02)² = 400, and one more.
		{"inconclusive", document.DeltaEstimate{N: 100, Delta: 0.02, CI: [2]float64{-0.02, 0.06}}, inconclusive, mde04, 401},
		{"the statistic's own MDE", document.DeltaEstimate{N: 100, Delta: 0.02, CI: [2]float64{-0.02, 0.06}, MDE: fp(0.03)}, inconclusive, 0.03, 401},
		// On the bound: no sample decides it unless the true delta differs.
		{"on the bound", document.DeltaEstimate{N: 100, CI: [2]float64{-0.04, 0.04}}, inconclusive, mde04, 0},
		// Below, 0.08 away: decided, so no n is asked for.
		{"failed", document.DeltaEstimate{N: 100, Delta: -0.08, CI: [2]float64{-0.12, -0.04}}, fail, mde04, 0},
		// An asymmetric interval: its side towards the bound (0.06) counts.
		{"asymmetric", document.DeltaEstimate{N: 100, Delta: 0.03, CI: [2]float64{-0.03, 0.05}}, inconclusive, mde04, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := gateReport()
			rep.Deltas[0].DeltaEstimate = c.delta
			ch := lastCheck(t, Gate(deltaGate("", eval.MetricGate{DeltaMin: fp(0)}), rep))
			if ch.Outcome != c.want || ch.MDE == nil || ch.NeededN != c.neededN {
				t.Fatalf("check %+v (mde %v), want %s, needed n %d", ch, ch.MDE, c.want, c.neededN)
			}
			near(t, "mde", *ch.MDE, c.mde)
		})
	}
	// The win rate's MDE is its own.
	rep := gateReport()
	rep.Pairwise[0].MDE = fp(0.07)
	for _, ch := range Gate(testSpec(), rep).Checks {
		if ch.Name == "win_rate_min" && (ch.MDE == nil || *ch.MDE != 0.07) {
			t.Errorf("win rate check %+v", ch)
		}
	}
}

// TestGatePointNeedsNoInterval: under policy point the verdicts are those
// of point comparisons, whatever the intervals say or whether there are
// any; under the interval policy the same figures without intervals decide
// nothing.
func TestGatePointNeedsNoInterval(t *testing.T) {
	noIntervals := func() *document.Report {
		rep := gateReport()
		for i := range rep.Metrics {
			rep.Metrics[i].CI = nil
		}
		for i := range rep.Deltas {
			rep.Deltas[i].Undefined = "fewer than 2 pairs: no variance to test against"
		}
		rep.Pairwise[0].CI = nil
		for v, r := range rep.Rates {
			r.JSONValidN, r.JSONValidCI = 0, nil
			rep.Rates[v] = r
		}
		rep.RateDeltas[0].Undefined = "fewer than 2 pairs: no variance to test against"
		return rep
	}
	for _, c := range []struct {
		name    string
		policy  string
		rep     func() *document.Report
		verdict string
	}{
		{"point, every value on the good side", eval.GatePolicyPoint, noIntervals, pass},
		{"point, a metric below", eval.GatePolicyPoint, func() *document.Report {
			rep := noIntervals()
			rep.Metrics[1].Mean = fp(0.69)
			return rep
		}, fail},
		{"point, intervals straddling every threshold", eval.GatePolicyPoint, func() *document.Report {
			rep := gateReport()
			rep.Pairwise[0].CI = ci(0.5, 0.7)
			rep.Deltas[0].CI = [2]float64{0, 0.5}
			return rep
		}, pass},
		{"interval, no intervals: nothing decided", eval.GatePolicyInterval, func() *document.Report {
			rep := noIntervals()
			rep.Rates["ft"] = document.Rates{JSONValid: fp(0.95), JSONValidN: 400, JSONValidCI: ci(0.92, 0.97), Error: fp(0.05)}
			return rep
		}, inconclusive},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := testSpec()
			spec.Gate.Policy = c.policy
			g := Gate(spec, c.rep())
			if g.Verdict != c.verdict || g.Verdicts["ft"] != c.verdict {
				t.Errorf("verdict %s (%v), want %s: %+v", g.Verdict, g.Verdicts, c.verdict, g.Checks)
			}
			for _, ch := range g.Checks {
				if c.policy == eval.GatePolicyPoint && ch.Outcome != pass && ch.Outcome != fail {
					t.Errorf("policy point: check %+v is neither pass nor fail", ch)
				}
			}
		})
	}
}

// TestGateFromAbove: max and delta_max bound a metric where lower is
// better (fabrication): a check passes when the whole interval lies at or
// below its bound, fails when all of it lies above, and is inconclusive
// otherwise; a missing metric is an error, not a pass.
func TestGateFromAbove(t *testing.T) {
	for _, c := range []struct {
		name   string
		mg     eval.MetricGate
		mean   *[2]float64 // ft's mean's interval
		delta  [2]float64
		check  string
		remove bool // the report has no such metric
		want   string
	}{
		{"fewer fabrications: delta below 0", eval.MetricGate{DeltaMax: fp(0)}, nil, [2]float64{-0.15, -0.05}, "qa/em delta_max", false, pass},
		{"more fabrications: delta above 0", eval.MetricGate{DeltaMax: fp(0)}, nil, [2]float64{0.05, 0.15}, "qa/em delta_max", false, fail},
		{"delta straddling 0", eval.MetricGate{DeltaMax: fp(0)}, nil, [2]float64{-0.05, 0.05}, "qa/em delta_max", false, inconclusive},
		{"a tolerance of 0.1", eval.MetricGate{DeltaMax: fp(0.1)}, nil, [2]float64{0.02, 0.08}, "qa/em delta_max", false, pass},
		{"mean under its max", eval.MetricGate{Max: fp(0.2)}, ci(0.05, 0.15), [2]float64{}, "qa/em max", false, pass},
		{"mean over its max", eval.MetricGate{Max: fp(0.2)}, ci(0.25, 0.35), [2]float64{}, "qa/em max", false, fail},
		{"mean straddling its max", eval.MetricGate{Max: fp(0.2)}, ci(0.15, 0.25), [2]float64{}, "qa/em max", false, inconclusive},
		{"no such metric", eval.MetricGate{DeltaMax: fp(0)}, nil, [2]float64{-0.15, -0.05}, "qa/em delta_max", true, document.VerdictError},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := gateReport()
			rep.Deltas[0].DeltaEstimate = document.DeltaEstimate{N: 100, Delta: (c.delta[0] + c.delta[1]) / 2, CI: c.delta}
			if c.mean != nil {
				rep.Metrics[1].Mean, rep.Metrics[1].CI = fp((c.mean[0]+c.mean[1])/2), c.mean
			}
			if c.remove {
				rep.Deltas, rep.Metrics = rep.Deltas[1:], rep.Metrics[2:]
			}
			g := Gate(deltaGate(eval.GatePolicyInterval, c.mg), rep)
			ch := lastCheck(t, g)
			if ch.Name != c.check || ch.Bound != "max" || ch.Outcome != c.want || ch.Passed != (c.want == pass) {
				t.Errorf("check %+v, want %s %s", ch, c.check, c.want)
			}
			if g.Verdicts["ft"] != c.want {
				t.Errorf("ft's verdict %s, want %s", g.Verdicts["ft"], c.want)
			}
		})
	}
}
