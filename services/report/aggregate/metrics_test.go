package aggregate

import (
	"fmt"
	"math"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// pairedSpec is a run of base against ft on the given suites, with no
// judge and no gate.
func pairedSpec(suites ...eval.Suite) *eval.RunSpec {
	return &eval.RunSpec{
		Run: "r1", Baseline: "base",
		Variants: []eval.Variant{{Name: "base", BaseURL: "http://base:8000/v1", Model: "m-base"}, {Name: "ft", BaseURL: "http://ft:8000/v1", Model: "m-ft"}},
		Decoding: eval.Decoding{TopP: 1, MaxTokens: 256},
		Suites:   suites,
	}
}

// scored is one sample's scores for ft and base on one suite.
type scored struct {
	suite, cluster string
	ft, base       map[string]float64
}

// pairedReport builds the report of samples scored by both variants; the
// i-th sample is s<i>, seq i+1.
func pairedReport(t *testing.T, spec *eval.RunSpec, samples []scored) *document.Report {
	t.Helper()
	c := New(spec)
	t.Cleanup(c.Release)
	for i, s := range samples {
		id := fmt.Sprintf("s%02d", i)
		for _, v := range []struct {
			name string
			m    map[string]float64
		}{{"base", s.base}, {"ft", s.ft}} {
			sc := mkScore(spec, v.name, s.suite, id, uint64(i+1), eval.BucketOK, v.m)
			sc.Sample.Cluster = s.cluster
			mustAdd(t, c, sc)
		}
	}
	return report(t, c, nil)
}

// scoreColumns makes samples of one suite from per-metric columns of scores.
func scoreColumns(suite string, clusters []string, ft, base map[string][]float64) []scored {
	var n int
	for _, xs := range ft {
		n = len(xs)
	}
	out := make([]scored, n)
	for i := range out {
		out[i] = scored{suite: suite, ft: map[string]float64{}, base: map[string]float64{}}
		if clusters != nil {
			out[i].cluster = clusters[i]
		}
		for m, xs := range ft {
			out[i].ft[m] = xs[i]
		}
		for m, xs := range base {
			out[i].base[m] = xs[i]
		}
	}
	return out
}

func mustDelta(t *testing.T, rep *document.Report, suite, metric string) document.Delta {
	t.Helper()
	for _, d := range rep.Deltas {
		if d.Suite == suite && d.Metric == metric {
			return d
		}
	}
	t.Fatalf("no delta %s/%s in %+v", suite, metric, rep.Deltas)
	return document.Delta{}
}

func mustMetric(t *testing.T, rep *document.Report, suite, metric, variant string) document.Metric {
	t.Helper()
	for _, m := range rep.Metrics {
		if m.Suite == suite && m.Metric == metric && m.Variant == variant {
			return m
		}
	}
	t.Fatalf("no metric %s/%s/%s", suite, metric, variant)
	return document.Metric{}
}

func nearPtr(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s is null, want %.15g", what, want)
		return
	}
	near(t, what, *got, want)
}

// TestTestFollowsTheMetricsType: a length metric whose answers were all 0
// or 1 tokens long is compared by paired t and its mean has a t interval,
// not Wilson's; em on the same samples gets McNemar's test.
func TestTestFollowsTheMetricsType(t *testing.T) {
	col := []float64{1, 0, 1, 1, 0, 1}
	colBase := []float64{0, 0, 1, 0, 0, 1}
	spec := pairedSpec(eval.Suite{Name: "s", Role: eval.RoleBenchmark, Metrics: []string{"length", "em"}})
	rep := pairedReport(t, spec, scoreColumns("s", nil, map[string][]float64{"length": col, "em": col}, map[string][]float64{"length": colBase, "em": colBase}))

	l := mustDelta(t, rep, "s", "length")
	if l.Test != "paired_t" || l.Undefined != "" || l.Discordant != nil {
		t.Errorf("length delta %+v, want paired_t without discordant pairs", l)
	}
	// scipy.stats.ttest_rel(c, b).pvalue and t.interval(.95, 5, loc=d.mean(), scale=sem(d))
	nearPtr(t, "length p", l.PValue, 0.17468781426411925)
	nearCI(t, "length ci", l.CI, [2]float64{-0.2085929010374264, 0.8752595677040931})
	// t.interval(.95, 5, loc=c.mean(), scale=sem(c)): past 1, as a length can be.
	m := mustMetric(t, rep, "s", "length", "ft")
	nearCI(t, "length mean ci", *m.CI, [2]float64{0.12474043229590692, 1.2085929010374263})

	e := mustDelta(t, rep, "s", "em")
	if e.Test != "mcnemar" || e.Discordant == nil || *e.Discordant != [2]int{2, 0} {
		t.Errorf("em delta %+v, want mcnemar with 2 and 0 discordant", e)
	}
	nearCI(t, "em mean ci", *mustMetric(t, rep, "s", "em", "ft").CI, stats.Wilson(4.0/6, 6))
}

// TestUndefinedDelta: differences that are all the same leave the test
// undefined: no p-value (never 0), the whole range as interval, no
// q-value; the other deltas are unaffected.
func TestUndefinedDelta(t *testing.T) {
	spec := pairedSpec(eval.Suite{Name: "s", Role: eval.RoleBenchmark, Metrics: []string{"f1", "rougeL", "em"}})
	rep := pairedReport(t, spec, scoreColumns("s", nil,
		map[string][]float64{"f1": {0.5, 0.75, 1, 0.25}, "rougeL": {0.5, 0.5, 0.5, 0.5}, "em": {1, 1, 0, 0}},
		map[string][]float64{"f1": {0.25, 0.5, 0.75, 0}, "rougeL": {0.5, 0.5, 0.5, 0.5}, "em": {1, 1, 0, 0}}))
	for _, tc := range []struct {
		metric string
		delta  float64
	}{{"f1", 0.25}, {"rougeL", 0}} {
		d := mustDelta(t, rep, "s", tc.metric)
		if d.Undefined == "" || d.PValue != nil || d.QValue != nil || d.MDE != nil || d.Underpowered {
			t.Errorf("%s: %+v, want undefined without p, q or MDE", tc.metric, d.DeltaEstimate)
		}
		near(t, tc.metric+" delta", d.Delta, tc.delta)
		nearCI(t, tc.metric+" ci", d.CI, [2]float64{-1, 1})
	}
	// McNemar with no discordant pair is defined: delta 0, p 1.
	e := mustDelta(t, rep, "s", "em")
	if e.Undefined != "" || e.PValue == nil || *e.PValue != 1 {
		t.Errorf("em %+v, want p = 1", e.DeltaEstimate)
	}
}

// TestMcNemarMidP: 5 pairs only ft got right and none only base did, out
// of 20. The exact McNemar p is 0.0625 (scipy binomtest(5, 5)); the mid-p
// is below 0.05.
func TestMcNemarMidP(t *testing.T) {
	ft := []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}
	base := []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	spec := pairedSpec(eval.Suite{Name: "s", Role: eval.RoleBenchmark, Metrics: []string{"em"}})
	rep := pairedReport(t, spec, scoreColumns("s", nil, map[string][]float64{"em": ft}, map[string][]float64{"em": base}))
	d := mustDelta(t, rep, "s", "em")
	// scipy.stats.binom.pmf(0, 5, .5)
	nearPtr(t, "mid-p", d.PValue, 0.03125)
	// Connor's n = (z.975·√ψ + z.8·√(ψ − δ²))²/δ² solved for δ at ψ = 5/20,
	// n = 20 (scipy.optimize.brentq).
	nearPtr(t, "mde", d.MDE, 0.2950915503849039)
	near(t, "delta", d.Delta, 0.25)
	nearCI(t, "ci", d.CI, stats.McNemarTest(ft, base).CI)
	// 20 pairs detect 0.295 with 80% power, more than the 0.25 seen, but
	// the interval already excludes 0: the comparison has told, and is
	// not "too few to tell".
	if d.Test != "mcnemar" || d.N != 20 || *d.Discordant != [2]int{5, 0} || d.Underpowered {
		t.Errorf("delta %+v", d.DeltaEstimate)
	}
	// The only defined p-value of its family is its own q-value.
	nearPtr(t, "q", d.QValue, 0.03125)
}

// TestDeltaQValues: the q-values are Benjamini–Hochberg's over every
// delta with a p-value; an undefined test is no member of the family.
func TestDeltaQValues(t *testing.T) {
	spec := pairedSpec(
		eval.Suite{Name: "s1", Role: eval.RoleBenchmark, Metrics: []string{"em"}},
		eval.Suite{Name: "s2", Role: eval.RoleBenchmark, Metrics: []string{"em"}},
		eval.Suite{Name: "s3", Role: eval.RoleBenchmark, Metrics: []string{"em", "f1"}},
	)
	// table is n pairs with b pairs only ft got right and c only base.
	table := func(suite string, n, b, c int) []scored {
		var out []scored
		for i := range n {
			ft, base := 0.0, 0.0
			switch {
			case i < b:
				ft = 1
			case i < b+c:
				base = 1
			case i%2 == 0:
				ft, base = 1, 1
			}
			out = append(out, scored{suite: suite, ft: map[string]float64{"em": ft, "f1": 0.5}, base: map[string]float64{"em": base, "f1": 0.25}})
		}
		return out
	}
	var samples []scored
	samples = append(samples, table("s1", 20, 5, 0)...)
	samples = append(samples, table("s2", 10, 3, 1)...)
	samples = append(samples, table("s3", 15, 6, 1)...)
	rep := pairedReport(t, spec, samples)
	// p: binom.pmf(0, 5, .5); 2·binom.cdf(0, 4, .5) + binom.pmf(1, 4, .5);
	// 2·binom.cdf(0, 7, .5) + binom.pmf(1, 7, .5). q: statsmodels
	// multipletests(p, method="fdr_bh")[1].
	for _, w := range []struct {
		suite   string
		p, q    float64
		defined bool
	}{
		{"s1", 0.03125, 0.09375, true},
		{"s2", 0.375, 0.375, true},
		{"s3", 0.07031249999999999, 0.10546874999999999, true},
	} {
		d := mustDelta(t, rep, w.suite, "em")
		nearPtr(t, w.suite+" p", d.PValue, w.p)
		nearPtr(t, w.suite+" q", d.QValue, w.q)
	}
	if f := mustDelta(t, rep, "s3", "f1"); f.Undefined == "" || f.QValue != nil {
		t.Errorf("f1 %+v, want undefined without a q-value", f.DeltaEstimate)
	}
}

// TestClusteredDeltas: a suite with a cluster path gets CR1
// cluster-robust intervals on clusters − 1 degrees of freedom; a sample
// without a cluster id is a cluster of its own.
func TestClusteredDeltas(t *testing.T) {
	ft := map[string][]float64{
		"f1": {.9, .8, .85, .2, .3, .25, .7, .75, .6, .4, .5, .45, .6, .3},
		"em": {1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0},
	}
	base := map[string][]float64{
		"f1": {.5, .45, .5, .3, .35, .3, .5, .55, .5, .4, .35, .4, .65, .2},
		"em": {0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0},
	}
	ids := []string{"d1", "d1", "d1", "d2", "d2", "d2", "d3", "d3", "d3", "d4", "d4", "d4", "", ""}
	suite := eval.Suite{Name: "s", Role: eval.RoleBenchmark, Metrics: []string{"em", "f1"}, Cluster: "doc"}
	rep := pairedReport(t, pairedSpec(suite), scoreColumns("s", ids, ft, base))

	// statsmodels OLS(y, ones).fit(cov_type="cluster", cov_kwds={"groups":
	// [1,1,1,2,2,2,3,3,3,4,4,4,5,6]}, use_t=True): params, conf_int(),
	// pvalues (df_resid_inference = 5).
	f := mustDelta(t, rep, "s", "f1")
	near(t, "f1 delta", f.Delta, 0.11785714285714288)
	nearCI(t, "f1 ci", f.CI, [2]float64{-0.07685409173038948, 0.31256837744467525})
	nearPtr(t, "f1 p", f.PValue, 0.18044458506420194)
	if f.Clusters != 6 || f.Test != "paired_t" {
		t.Errorf("f1 %+v, want 6 clusters", f.DeltaEstimate)
	}
	// Unclustered, scipy's t interval would have been [0.0227, 0.2130]:
	// significant, which the clusters are not.
	e := mustDelta(t, rep, "s", "em")
	nearCI(t, "em ci", e.CI, [2]float64{-0.23039545683488982, 0.6589668854063184})
	nearPtr(t, "em p", e.PValue, 0.2704257180190446)
	if e.Clusters != 6 || e.Test != "mcnemar" || e.Discordant == nil || *e.Discordant != [2]int{4, 1} {
		t.Errorf("em %+v", e.DeltaEstimate)
	}
	m := mustMetric(t, rep, "s", "f1", "ft")
	nearCI(t, "f1 mean ci", *m.CI, [2]float64{0.26282230422304054, 0.8228919814912453})
	// [0.1099, 1.0330] cut to what a share can be.
	me := mustMetric(t, rep, "s", "em", "ft")
	nearCI(t, "em mean ci", *me.CI, [2]float64{0.10989230252760057, 1})
	if m.Clusters != 6 || me.Clusters != 6 {
		t.Errorf("metric clusters %d %d, want 6", m.Clusters, me.Clusters)
	}

	t.Run("one cluster", func(t *testing.T) {
		one := make([]string, len(ids))
		for i := range one {
			one[i] = "d1"
		}
		rep := pairedReport(t, pairedSpec(suite), scoreColumns("s", one, ft, base))
		d := mustDelta(t, rep, "s", "f1")
		if d.Undefined == "" || d.PValue != nil || d.Clusters != 1 {
			t.Errorf("one cluster: %+v, want undefined", d.DeltaEstimate)
		}
		nearCI(t, "one cluster ci", d.CI, [2]float64{-1, 1})
		if m := mustMetric(t, rep, "s", "f1", "ft"); m.CI != nil || m.Mean == nil {
			t.Errorf("one cluster: metric %+v, want a mean without interval", m)
		}
	})
}

// TestUnderpowered: the MDE against |delta| and, where the gate bounds
// the delta, against the distance to the bound.
func TestUnderpowered(t *testing.T) {
	ft, base := make([]float64, 40), make([]float64, 40)
	for i := range ft {
		base[i] = 0.5
		ft[i] = 0.6 + 0.2*float64(i%2) // differences 0.1 and 0.3: mean 0.2
	}
	suite := eval.Suite{Name: "s", Role: eval.RoleBenchmark, Metrics: []string{"f1"}}
	// sd·scipy.optimize.brentq(lambda e: statsmodels TTestPower().power(
	// effect_size=e, nobs=40, alpha=0.05) - 0.8, 1e-6, 100, xtol=1e-16,
	// rtol=8.9e-16), sd = np.std(d, ddof=1) = 0.10127393670836665.
	const mde = 0.046004388423958216
	for _, tc := range []struct {
		name  string
		gate  *eval.MetricGate
		under bool
	}{
		{"no gate", nil, false},
		{"far bound", &eval.MetricGate{Suite: "s", Metric: "f1", DeltaMin: fp(0.1)}, false},
		{"near bound", &eval.MetricGate{Suite: "s", Metric: "f1", DeltaMin: fp(0.18)}, true},
		{"margin", &eval.MetricGate{Suite: "s", Metric: "f1", Margin: fp(0.05)}, false},
		{"other metric", &eval.MetricGate{Suite: "s", Metric: "em", DeltaMin: fp(0.18)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := pairedSpec(suite)
			if tc.gate != nil {
				spec.Gate.Metrics = []eval.MetricGate{*tc.gate}
			}
			d := mustDelta(t, pairedReport(t, spec, scoreColumns("s", nil, map[string][]float64{"f1": ft}, map[string][]float64{"f1": base})), "s", "f1")
			nearPtr(t, "mde", d.MDE, mde)
			nearPtr(t, "sd", d.SD, 0.10127393670836665)
			if d.Underpowered != tc.under {
				t.Errorf("underpowered %v, want %v", d.Underpowered, tc.under)
			}
		})
	}
}

// TestTooFewPairsForAnyEffect: McNemar's test on 3 pairs detects no effect
// at all (Connor's formula has no solution below z² ≈ 3.84 pairs): no
// MDE, and underpowered; with no discordant pair nothing is said.
func TestTooFewPairsForAnyEffect(t *testing.T) {
	spec := pairedSpec(eval.Suite{Name: "s", Role: eval.RoleBenchmark, Metrics: []string{"em", "json_valid"}})
	rep := pairedReport(t, spec, scoreColumns("s", nil,
		map[string][]float64{"em": {1, 1, 0}, "json_valid": {1, 1, 0}},
		map[string][]float64{"em": {0, 1, 0}, "json_valid": {1, 1, 0}}))
	if d := mustDelta(t, rep, "s", "em"); d.MDE != nil || !d.Underpowered || d.PValue == nil {
		t.Errorf("em %+v, want a p-value, no MDE, underpowered", d.DeltaEstimate)
	}
	if d := mustDelta(t, rep, "s", "json_valid"); d.MDE != nil || d.Underpowered {
		t.Errorf("json_valid %+v, want neither MDE nor underpowered", d.DeltaEstimate)
	}
}

// TestFabricationCountsOnlyItsFailures: a failed generation counts against
// fabrication only on a question that should be declined; one on an
// answerable question of the same suite is no error of it, and the worst
// case scores a failure on a marked question 1, a fabrication.
func TestFabricationCountsOnlyItsFailures(t *testing.T) {
	spec := pairedSpec(eval.Suite{Name: "s", Role: eval.RoleRegression, Metrics: []string{"fabrication", "em"}})
	c := New(spec)
	defer c.Release()
	seq := uint64(0)
	add := func(variant, id string, unanswerable bool, b eval.Bucket, m map[string]float64) {
		t.Helper()
		seq++
		s := mkScore(spec, variant, "s", id, seq, b, m)
		s.Checks.Unanswerable = unanswerable
		mustAdd(t, c, s)
	}
	for _, v := range []string{"base", "ft"} {
		add(v, "u1", true, eval.BucketOK, map[string]float64{"fabrication": 0})
		add(v, "u2", true, eval.BucketWrongAnswer, map[string]float64{"fabrication": 1})
		add(v, "a1", false, eval.BucketOK, map[string]float64{"em": 1})
	}
	add("ft", "a2", false, eval.BucketError, map[string]float64{})
	add("ft", "u3", true, eval.BucketError, map[string]float64{})
	add("base", "a2", false, eval.BucketOK, map[string]float64{"em": 1})
	add("base", "u3", true, eval.BucketOK, map[string]float64{"fabrication": 0})
	rep := report(t, c, nil)
	for _, m := range rep.Metrics {
		if m.Metric != "fabrication" || m.Variant != "ft" {
			continue
		}
		if m.N != 2 || m.Errors != 1 || m.WorstCase == nil || math.Abs(m.WorstCase.Mean-2.0/3) > 1e-12 {
			t.Errorf("ft's fabrication %+v (worst case %+v): want 2 scored, 1 error on u3, worst case 2/3", m, m.WorstCase)
		}
		return
	}
	t.Fatal("no fabrication row for ft")
}

// TestFailedMetricCounted: an answer whose metric could not be computed
// (its embeddings call failed) has no value of that metric: it is counted
// in the metric's errors, given the worst value only in the worst case,
// and its other metrics are scored as usual.
func TestFailedMetricCounted(t *testing.T) {
	spec := pairedSpec(eval.Suite{Name: "s", Metrics: []string{"em", eval.MetricSemanticSim}})
	c := New(spec)
	t.Cleanup(c.Release)
	for i := range 4 {
		id := fmt.Sprintf("s%02d", i)
		for _, v := range []string{"base", "ft"} {
			sc := mkScore(spec, v, "s", id, uint64(i+1), eval.BucketOK, map[string]float64{"em": 1, eval.MetricSemanticSim: 0.9})
			if v == "ft" && i == 3 {
				delete(sc.Metrics, eval.MetricSemanticSim)
				sc.Failed = map[string]string{eval.MetricSemanticSim: "HTTP 503"}
			}
			mustAdd(t, c, sc)
		}
	}
	rep := report(t, c, nil)
	for _, m := range rep.Metrics {
		want := document.Metric{N: 4}
		if m.Variant == "ft" && m.Metric == eval.MetricSemanticSim {
			want = document.Metric{N: 3, Errors: 1}
		}
		if m.N != want.N || m.Errors != want.Errors {
			t.Errorf("%s of %s: n %d, errors %d; want %d, %d", m.Metric, m.Variant, m.N, m.Errors, want.N, want.Errors)
		}
		if m.Errors > 0 && (m.WorstCase == nil || math.Abs(m.WorstCase.Mean-2.7/4) > 1e-9) {
			t.Errorf("%s of %s: worst case %+v, want the failure at 0", m.Metric, m.Variant, m.WorstCase)
		}
		if m.Mean == nil || math.Abs(*m.Mean-map[string]float64{"em": 1, eval.MetricSemanticSim: 0.9}[m.Metric]) > 1e-9 {
			t.Errorf("%s of %s: mean %v", m.Metric, m.Variant, m.Mean)
		}
	}
	if len(rep.Metrics) != 4 {
		t.Errorf("%d metric rows, want 4", len(rep.Metrics))
	}
}
