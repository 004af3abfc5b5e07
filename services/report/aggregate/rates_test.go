package aggregate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// sideEffects is one sample's side effects for a variant.
type sideEffects struct {
	refused, probe, failed bool
	jsonValid              *bool // nil: not checked
}

// rateReport builds the report of samples whose side effects ft and base
// show, sample i of suites[i] with cluster ids[i] ("" for none).
func rateReport(t *testing.T, spec *eval.RunSpec, suites, ids []string, ft, base []sideEffects) *document.Report {
	t.Helper()
	c := New(spec)
	t.Cleanup(c.Release)
	for i := range ft {
		for _, v := range []struct {
			name string
			s    sideEffects
		}{{"base", base[i]}, {"ft", ft[i]}} {
			sc := mkScore(spec, v.name, suites[i], fmt.Sprintf("s%02d", i), uint64(i+1), eval.BucketOK, em(1))
			sc.Sample.Cluster = ids[i]
			sc.Checks.Refused, sc.Checks.Benign, sc.Checks.JSONValid = v.s.refused, !v.s.probe, v.s.jsonValid
			if v.s.failed {
				sc.Checks, sc.Bucket, sc.Reason, sc.Metrics = eval.Checks{}, eval.BucketError, "HTTP 500", map[string]float64{}
			}
			mustAdd(t, c, sc)
		}
	}
	return report(t, c, nil)
}

func rateDelta(t *testing.T, rep *document.Report, rate string) document.RateDelta {
	t.Helper()
	for _, d := range rep.RateDeltas {
		if d.Rate == rate && d.Variant == "ft" {
			return d
		}
	}
	t.Fatalf("no %s delta in %+v", rate, rep.RateDeltas)
	return document.RateDelta{}
}

// TestRateDeltas: refusal over the benign prompts both answered (not the
// probe, not the sample ft failed), JSON validity over the answers both
// gave that were checked, each with McNemar's test; the rates with their
// Wilson intervals.
func TestRateDeltas(t *testing.T) {
	spec := pairedSpec(
		eval.Suite{Name: "a", Role: eval.RoleBenchmark, Metrics: []string{"em"}},
		eval.Suite{Name: "b", Role: eval.RoleBusiness, Metrics: []string{"em"}},
	)
	var suites, ids []string
	var ft, base []sideEffects
	// a: s00..s11 benign, ft refused s00..s04, base s05; s12 a probe both
	// refused; s13 ft failed.
	for i := range 14 {
		suites, ids = append(suites, "a"), append(ids, "")
		f, b := sideEffects{refused: i < 5}, sideEffects{refused: i == 5}
		switch i {
		case 12:
			f, b = sideEffects{refused: true, probe: true}, sideEffects{refused: true, probe: true}
		case 13:
			f.failed = true
		}
		ft, base = append(ft, f), append(base, b)
	}
	// b: six benign prompts nobody refused; JSON valid ft 1 1 1 1 0 -,
	// base 0 0 1 1 1 -.
	for _, v := range [][2]*bool{{bp(true), bp(false)}, {bp(true), bp(false)}, {bp(true), bp(true)}, {bp(true), bp(true)}, {bp(false), bp(true)}, {nil, nil}} {
		suites, ids = append(suites, "b"), append(ids, "")
		ft, base = append(ft, sideEffects{jsonValid: v[0]}), append(base, sideEffects{jsonValid: v[1]})
	}
	rep := rateReport(t, spec, suites, ids, ft, base)

	// statsmodels proportion_confint(k, n, method="wilson").
	r := rep.Rates["ft"]
	if r.RefusalN != 18 || r.JSONValidN != 5 || r.RefusalCI == nil || r.JSONValidCI == nil {
		t.Fatalf("ft rates %+v", r)
	}
	nearPtr(t, "ft refusal", r.Refusal, 5.0/18)
	nearCI(t, "ft refusal ci", *r.RefusalCI, [2]float64{0.12499753379553993, 0.5087265656029747})
	nearCI(t, "ft json ci", *r.JSONValidCI, [2]float64{0.3755346297625252, 0.9637758913675698})
	b := rep.Rates["base"]
	if b.RefusalN != 19 || b.JSONValidN != 5 {
		t.Fatalf("base rates %+v", b)
	}
	nearCI(t, "base refusal ci", *b.RefusalCI, [2]float64{0.00935199406230039, 0.24638731166898795})
	nearCI(t, "base json ci", *b.JSONValidCI, [2]float64{0.2307242812760129, 0.8823792257673522})

	// p: 2·binom.cdf(0, 6, .5) + binom.pmf(1, 6, .5) and 2·binom.cdf(0, 3,
	// .5) + binom.pmf(1, 3, .5); MDE: Connor's formula solved for δ
	// (scipy.optimize.brentq) at ψ = 6/18, n = 18 and ψ = 3/5, n = 5.
	for _, w := range []struct {
		rate       string
		n          int
		delta      float64
		discordant [2]int
		p, mde     float64
	}{
		{"refusal", 18, 4.0 / 18, [2]int{5, 1}, 0.12500000000000003, 0.35676434883059993},
		{"json_valid", 5, 1.0 / 5, [2]int{2, 1}, 0.6250000000000001, 0.7507442773031663},
	} {
		d := rateDelta(t, rep, w.rate)
		if d.Baseline != "base" || d.N != w.n || d.Test != "mcnemar" || d.Discordant == nil || *d.Discordant != w.discordant || !d.Underpowered {
			t.Errorf("%s delta %+v", w.rate, d)
		}
		near(t, w.rate+" delta", d.Delta, w.delta)
		nearPtr(t, w.rate+" p", d.PValue, w.p)
		nearPtr(t, w.rate+" mde", d.MDE, w.mde)
	}
	if len(rep.RateDeltas) != 2 {
		t.Errorf("rate deltas %+v, want refusal and json_valid for ft", rep.RateDeltas)
	}
}

// TestRateDeltasClustered: the rates pool suites; when a pooled suite
// clusters its samples the delta is cluster-robust, with ids qualified by
// their suite (c1 of suite a is not c1 of suite b).
func TestRateDeltasClustered(t *testing.T) {
	spec := pairedSpec(
		eval.Suite{Name: "a", Role: eval.RoleBenchmark, Metrics: []string{"em"}, Cluster: "doc"},
		eval.Suite{Name: "b", Role: eval.RoleBenchmark, Metrics: []string{"em"}, Cluster: "doc"},
	)
	suites := []string{"a", "a", "a", "a", "b", "b", "b", "b"}
	ids := []string{"c1", "c1", "c2", "c2", "c1", "c1", "c2", "c2"}
	ftRefused := []bool{true, true, false, false, false, false, true, false}
	baseRefused := []bool{false, false, false, true, false, false, false, false}
	var ft, base []sideEffects
	for i := range suites {
		ft, base = append(ft, sideEffects{refused: ftRefused[i]}), append(base, sideEffects{refused: baseRefused[i]})
	}
	d := rateDelta(t, rateReport(t, spec, suites, ids, ft, base), "refusal")
	// statsmodels OLS(c − b, ones).fit(cov_type="cluster", cov_kwds={"groups":
	// [1,1,2,2,3,3,4,4]}, use_t=True); its interval's upper end, 1.2771, is
	// cut to 1. With unqualified ids (groups [1,1,2,2,1,1,2,2]) it would be
	// [−2.9266, 3.4266].
	near(t, "delta", d.Delta, 0.25)
	nearCI(t, "ci", d.CI, [2]float64{-0.7771301283804395, 1})
	nearPtr(t, "p", d.PValue, 0.495025346059711)
	if d.Clusters != 4 || d.Test != "mcnemar" || *d.Discordant != [2]int{3, 1} {
		t.Errorf("delta %+v, want 4 clusters", d)
	}
}

// TestJSONValidRateClustered: a JSON-validity rate over answers from a
// suite that clusters has a cluster-robust interval, as the json_valid
// metric's mean does, and json_valid_min decides on it.
func TestJSONValidRateClustered(t *testing.T) {
	spec := pairedSpec(eval.Suite{Name: "a", Role: eval.RoleBusiness, Metrics: []string{"em"}, Cluster: "doc"})
	spec.Gate = eval.Gate{ErrorRateMax: fp(0.2), JSONValidMin: fp(0.5)}
	ids := []string{"c1", "c1", "c1", "c2", "c2", "c2", "c3", "c3", "c3", "c4", "c4", "c4"}
	valid := []bool{true, true, true, true, true, true, false, false, false, true, true, false}
	suites := make([]string, len(ids))
	var ft, base []sideEffects
	for i := range ids {
		suites[i] = "a"
		ft, base = append(ft, sideEffects{jsonValid: bp(valid[i])}), append(base, sideEffects{jsonValid: bp(true)})
	}
	rep := rateReport(t, spec, suites, ids, ft, base)
	r := rep.Rates["ft"]
	// 8 of 12 valid. statsmodels OLS(y, ones).fit(cov_type="cluster",
	// cov_kwds={"groups": [1,1,1,2,2,2,3,3,3,4,4,4]}): se 0.23570226,
	// t.ppf(0.975, 3) = 3.18244631: [−0.0834, 1.4168], cut to [0, 1] —
	// where Wilson's, taking 12 answers as independent, is [0.391, 0.862].
	if r.JSONValidClusters != 4 || r.JSONValidCI == nil {
		t.Fatalf("rates %+v, want 4 clusters and an interval", r)
	}
	nearCI(t, "json_valid ci", *r.JSONValidCI, [2]float64{0, 1})
	ch := rep.Gate.Checks[len(rep.Gate.Checks)-1]
	if ch.Name != "json_valid_min" || ch.Outcome != document.VerdictInconclusive {
		t.Errorf("check %+v, want inconclusive on the clustered interval", ch)
	}
}

// TestRateDeltaOverNothing: a candidate whose every generation failed
// keeps its rate delta rows where the rate applies, each over no pair (null
// in report.json, never 0 [0, 0]), and refusal_rate_delta_max on it could
// not be evaluated; where the rate does not apply (no benign prompt, no
// answer checked for JSON) there is no row.
func TestRateDeltaOverNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  sideEffects
		rates []string
		why   string
	}{
		{"benign prompts checked for JSON", sideEffects{jsonValid: bp(true)}, []string{"refusal", "json_valid"}, "in each, a generation failed"},
		{"probes only", sideEffects{probe: true}, nil, "no benign prompt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := pairedSpec(eval.Suite{Name: "a", Role: eval.RoleBusiness, Metrics: []string{"em"}})
			spec.Gate = eval.Gate{ErrorRateMax: fp(1), RefusalRateDeltaMax: fp(0.05)}
			const n = 6
			suites, ids := make([]string, n), make([]string, n)
			var ft, base []sideEffects
			for i := range n {
				suites[i] = "a"
				ft, base = append(ft, sideEffects{failed: true}), append(base, tc.base)
			}
			rep := rateReport(t, spec, suites, ids, ft, base)
			var got []string
			for _, d := range rep.RateDeltas {
				got = append(got, d.Rate)
				if d.Variant != "ft" || d.Baseline != "base" || d.N != 0 || d.PValue != nil || d.QValue != nil || d.MDE != nil || d.Undefined == "" {
					t.Errorf("rate delta %+v: want one over no pair, saying why", d)
				}
				b, err := json.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{`"delta":null`, `"ci":null`, `"n":0`, `"rate":"` + d.Rate + `"`, `"variant":"ft"`} {
					if !strings.Contains(string(b), want) {
						t.Errorf("report.json row %s: no %s", b, want)
					}
				}
			}
			if !slices.Equal(got, tc.rates) {
				t.Errorf("rate deltas %v, want %v", got, tc.rates)
			}
			var checked bool
			for _, ch := range rep.Gate.Checks {
				if ch.Name == "refusal_rate_delta_max" {
					checked = true
					if ch.Outcome != document.VerdictError || ch.Passed || !strings.Contains(ch.Error, tc.why) {
						t.Errorf("check %+v: want it not evaluated: %s", ch, tc.why)
					}
				}
			}
			if !checked {
				t.Errorf("no refusal_rate_delta_max check in %+v", rep.Gate.Checks)
			}
		})
	}
}

// TestRateDeltaMarshal: a rate delta over pairs writes its estimate; one
// over none writes null, as a metric's delta does.
func TestRateDeltaMarshal(t *testing.T) {
	over := document.RateDelta{Rate: "refusal", Variant: "ft", Baseline: "base",
		DeltaEstimate: document.DeltaEstimate{N: 3, Delta: 0.25, CI: [2]float64{-0.1, 0.5}}}
	b, err := json.Marshal(over)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"delta":0.25,"ci":[-0.1,0.5]`) {
		t.Errorf("rate delta over 3 pairs: %s", b)
	}
	var back document.RateDelta
	if err := json.Unmarshal(b, &back); err != nil || back.N != 3 || back.Delta != 0.25 || back.CI != over.CI {
		t.Errorf("read back %+v (%v), want %+v", back, err, over)
	}
	nothing := document.RateDelta{Rate: "refusal", Variant: "ft", Baseline: "base"}
	if b, _ = json.Marshal(nothing); !strings.Contains(string(b), `"delta":null,"ci":null`) {
		t.Errorf("rate delta over no pair: %s", b)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Errorf("reading back %s: %v", b, err)
	}
}
