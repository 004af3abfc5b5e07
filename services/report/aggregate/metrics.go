package aggregate

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// Names of the paired tests, as in [document.DeltaEstimate].Test.
const (
	testMcNemar = "mcnemar"
	testPairedT = "paired_t"
)

// noPairUndefined is why a delta or a rate delta whose every pair was left
// out has no estimate.
const noPairUndefined = "no pair to compare: in each, a generation failed"

// metricScale is a metric's worst and best values, for the worst-case
// sensitivity that counts failures against a variant: ok is false for a
// metric with no worst value (length, refusal, abstain).
func metricScale(metric string) (worst, best float64, ok bool) {
	lo, hi, bounded := metricRange(metric)
	switch {
	case eval.LowerIsBetter(metric):
		return hi, lo, bounded
	case eval.HigherIsBetter(metric):
		return lo, hi, bounded
	}
	// Refusing (abstaining) is wrong on a benign (answerable) prompt and
	// right on a probe (an unanswerable one): neither end of the scale is
	// the worst; length has no scale.
	return 0, 0, false
}

// metricRange is the range a metric's values can take; bounded is false
// for length, which has no upper end.
func metricRange(metric string) (lo, hi float64, bounded bool) {
	switch metric {
	case "length":
		return 0, 0, false
	case "bleu", "chrf":
		return 0, 100, true
	}
	return 0, 1, true
}

// metricSpan is the largest difference between two of a metric's values;
// 0 for length, which has no range.
func metricSpan(metric string) float64 {
	lo, hi, _ := metricRange(metric)
	return hi - lo
}

// metricValues are one suite's values of one metric for one variant, by
// sample position (NaN where the sample has no value), and which positions
// are failed generations.
type metricValues struct {
	vals   []float64
	failed []bool
}

// metricsAcc gathers, as the final pass reads the score rows, each suite
// metric's values by variant in dense arrays over the suite's sample
// positions (see [sampleIndex]), NaN where a sample has no value: a few
// bytes per sample and metric, summed in key order whatever order the
// rows arrived in.
type metricsAcc struct {
	c  *Collector
	x  *sampleIndex
	mi map[string]int
	// vals are by (suite, metric, variant).
	vals map[metricKey]*metricValues
	// clusters are each clustered suite's cluster ids by position.
	clusters map[string][]string
	// contaminated marks, for a suite with a sample flagged as seen in
	// training, the flagged positions.
	contaminated map[string][]bool
	// answers are each variant's answers on each suite by position (see
	// comparisons and templates).
	answers map[[2]string]*answerStates
	// edgeExamples are the generations whose openings and closings
	// rep.Templates shows (see fillEdges).
	edgeExamples []edgeExample
	// compared are the variants of the spec's compare pairs: only their
	// output hashes are kept.
	compared map[string]bool
	// distinct, when not nil, counted distinct-1/2 of the answers (see
	// WithDistinct).
	distinct *Distinct
}

// answerStates are one variant's answers on one suite, by sample position:
// whether each was answered or failed, its output hash, how it opens and
// closes, and its generation (for an example of an opening).
type answerStates struct {
	state                    []uint8 // 0 none, 1 answered, 2 failed
	hashes, opening, closing []uint64
	genSeq                   []uint64
}

type metricKey struct{ suite, metric, variant string }

func (c *Collector) newMetricsAcc(x *sampleIndex) *metricsAcc {
	a := &metricsAcc{c: c, x: x, mi: map[string]int{}, vals: map[metricKey]*metricValues{}, clusters: map[string][]string{}, contaminated: map[string][]bool{},
		answers: map[[2]string]*answerStates{}, compared: map[string]bool{}}
	for i, m := range c.metrics {
		a.mi[m] = i
	}
	for _, p := range c.spec.Compare {
		for _, v := range p {
			a.compared[v] = true
		}
	}
	return a
}

func (a *metricsAcc) get(k metricKey) *metricValues {
	mv := a.vals[k]
	if mv == nil {
		n := a.x.suite(k.suite).n()
		mv = &metricValues{vals: make([]float64, n), failed: make([]bool, n)}
		for i := range mv.vals {
			mv.vals[i] = math.NaN()
		}
		a.vals[k] = mv
	}
	return mv
}

// add takes an original sample's row (not a robustness copy's).
func (a *metricsAcc) add(r *row) {
	c := a.c
	cl, seen := a.clusters[r.suite]
	if !seen {
		// A suite that clusters has an id slot for every sample, "" for a
		// sample that is a cluster of its own; one that does not, none.
		if c.clusteredSuite(r.suite) {
			cl = make([]string, a.x.suite(r.suite).n())
		}
		a.clusters[r.suite] = cl
	}
	if cl != nil && r.cluster != "" {
		cl[r.pos] = r.cluster
	}
	if r.contaminated {
		f := a.contaminated[r.suite]
		if f == nil {
			f = make([]bool, a.x.suite(r.suite).n())
			a.contaminated[r.suite] = f
		}
		f[r.pos] = true
	}
	k := [2]string{r.suite, r.variant}
	as := a.answers[k]
	if as == nil {
		n := a.x.suite(r.suite).n()
		as = &answerStates{state: make([]uint8, n), opening: make([]uint64, n), closing: make([]uint64, n), genSeq: make([]uint64, n)}
		if a.compared[r.variant] {
			as.hashes = make([]uint64, n)
		}
		a.answers[k] = as
	}
	as.state[r.pos], as.opening[r.pos], as.closing[r.pos], as.genSeq[r.pos] = 1, r.opening, r.closing, r.genSeq
	if as.hashes != nil {
		as.hashes[r.pos] = r.outHash
	}
	if r.failed() {
		as.state[r.pos] = 2
	}
	for _, m := range c.suiteMetrics(r.suite) {
		if r.failed() {
			if !metricApplies(m, r) {
				continue
			}
			a.get(metricKey{r.suite, m, r.variant}).failed[r.pos] = true
			continue
		}
		if metricFailed(r.failedMetrics, m) {
			// Its call failed: counted as failed, as a failed generation
			// is for every metric, never given a value.
			a.get(metricKey{r.suite, m, r.variant}).failed[r.pos] = true
			continue
		}
		if v := r.metrics[a.mi[m]]; !math.IsNaN(v) {
			a.get(metricKey{r.suite, m, r.variant}).vals[r.pos] = v
		}
	}
}

// clusterOf is the cluster id of the sample at position p of suite, "" when
// the sample is a cluster of its own.
func (a *metricsAcc) clusterOf(suite string, p int32) string {
	if cl := a.clusters[suite]; cl != nil && cl[p] != "" {
		return cl[p]
	}
	return ""
}

// metricsAndDeltas computes per-suite means with intervals, and each
// candidate's paired difference from the baseline. Failed generations are
// in neither: they are counted (Metric.Errors, Delta.Excluded) and only the
// worst-case figures give them a value. The values gathered are released
// suite by suite.
func (a *metricsAcc) metricsAndDeltas(rep *document.Report) {
	c, vals := a.c, a.vals
	type key = metricKey
	for _, su := range c.spec.Suites {
		clusters := a.clusters[su.Name]
		for _, m := range su.Metrics {
			worstV, bestV, bounded := metricScale(m)
			for _, v := range c.spec.Variants {
				mv := vals[key{su.Name, m, v.Name}]
				if mv == nil {
					continue
				}
				row := document.Metric{Suite: su.Name, Metric: m, Variant: v.Name, Signature: eval.MetricSignature(su, m)}
				// Sized once: grown by appending, they would leave as
				// much again behind them for the collector.
				// The worst case's vectors are made only when a failure
				// gives it a figure: at 1M samples each weighs megabytes.
				n := len(mv.vals)
				withWorst := bounded && slices.Contains(mv.failed, true)
				xs, ids := make([]float64, 0, n), clusterIDs(clusters != nil, n)[:0]
				var worst []float64
				var worstIDs []string
				if withWorst {
					worst, worstIDs = make([]float64, 0, n), clusterIDs(clusters != nil, n)[:0]
				}
				for i, x := range mv.vals {
					switch {
					case mv.failed[i]:
						row.Errors++
						if withWorst {
							worst = append(worst, worstV)
							worstIDs = appendCluster(worstIDs, clusters, i)
						}
					case !math.IsNaN(x):
						xs = append(xs, x)
						ids = appendCluster(ids, clusters, i)
						if withWorst {
							worst = append(worst, x)
							worstIDs = appendCluster(worstIDs, clusters, i)
						}
					}
				}
				row.N = len(xs)
				if len(xs) > 0 {
					mean, ci, g, why := meanInterval(m, xs, ids)
					row.Mean, row.CI, row.Clusters, row.Undefined = &mean, ci, g, why
				}
				if row.Errors > 0 && bounded {
					mean, ci, _, _ := meanInterval(m, worst, worstIDs)
					if ci == nil {
						// Too few clusters for an interval: all the
						// scale is possible.
						ci = &[2]float64{min(worstV, bestV), max(worstV, bestV)}
					}
					row.WorstCase = &document.Estimate{N: len(worst), Mean: mean, CI: *ci}
				}
				rep.Metrics = append(rep.Metrics, row)
			}
			base := vals[key{su.Name, m, c.spec.Baseline}]
			for _, cand := range c.spec.Candidates() {
				cv := vals[key{su.Name, m, cand}]
				if base == nil || cv == nil {
					continue
				}
				// A pair where either side failed compares nothing; the
				// worst case counts it against the candidate, and its
				// vectors are made only when there is such a pair.
				excludes := func(i int) bool {
					cf, bf := cv.failed[i], base.failed[i]
					return (cf || bf) && (cf || !math.IsNaN(cv.vals[i])) && (bf || !math.IsNaN(base.vals[i]))
				}
				n := len(cv.vals)
				withWorst := false
				for i := 0; i < n && bounded && !withWorst; i++ {
					withWorst = excludes(i)
				}
				xc, xb, ids := make([]float64, 0, n), make([]float64, 0, n), clusterIDs(clusters != nil, n)[:0]
				var wc, wb []float64
				var worstIDs []string
				if withWorst {
					wc, wb, worstIDs = make([]float64, 0, n), make([]float64, 0, n), clusterIDs(clusters != nil, n)[:0]
				}
				excluded := 0
				for i := range cv.vals {
					cf, bf := cv.failed[i], base.failed[i]
					x, y := cv.vals[i], base.vals[i]
					if cf || bf {
						if excludes(i) {
							excluded++
							if cf {
								x = worstV
							}
							if bf {
								y = bestV
							}
							if withWorst {
								wc, wb = append(wc, x), append(wb, y)
								worstIDs = appendCluster(worstIDs, clusters, i)
							}
						}
						continue
					}
					if !math.IsNaN(x) && !math.IsNaN(y) {
						xc, xb = append(xc, x), append(xb, y)
						ids = appendCluster(ids, clusters, i)
						if withWorst {
							wc, wb = append(wc, x), append(wb, y)
							worstIDs = appendCluster(worstIDs, clusters, i)
						}
					}
				}
				if len(xc) == 0 && excluded == 0 {
					continue
				}
				binary, span := eval.MetricBinary(m), metricSpan(m)
				d := document.Delta{Suite: su.Name, Metric: m, Variant: cand, Baseline: c.spec.Baseline, Excluded: excluded}
				bound := c.deltaBound(su.Name, m, cand)
				if len(xc) > 0 {
					d.DeltaEstimate = compare(binary, span, xc, xb, ids)
					markUnderpowered(&d.DeltaEstimate, bound)
				} else {
					// Every pair was left out: the row stays, a delta
					// over nothing (null in report.json) beside its
					// worst case, rather than vanishing from the report.
					d.Undefined = noPairUndefined
				}
				if excluded > 0 && bounded {
					w := compare(binary, span, wc, wb, worstIDs)
					markUnderpowered(&w, bound)
					d.WorstCase = &w
				}
				rep.Deltas = append(rep.Deltas, d)
			}
		}
		a.comparisons(rep, su)
		a.templates(rep, su)
		// The suite's values are done with: let the collector have them
		// while the next suite's are read.
		maps.DeleteFunc(vals, func(k key, _ *metricValues) bool { return k.suite == su.Name })
		maps.DeleteFunc(a.answers, func(k [2]string, _ *answerStates) bool { return k[0] == su.Name })
	}
	// One family: every delta row's test (not their worst cases, which
	// re-read the same pairs).
	family := make([]*document.DeltaEstimate, len(rep.Deltas))
	for i := range rep.Deltas {
		family[i] = &rep.Deltas[i].DeltaEstimate
	}
	setQValues(family)
}

// edgeExample is an opening or closing of rep.Templates whose text is
// read from the generation at genSeq, one that has it.
type edgeExample struct {
	template, edge int
	closing        bool
	genSeq         uint64
}

// Thresholds of the mechanical flag (see document.Template).
const (
	mechanicalShare     = 0.2
	mechanicalBaseShare = 0.05
	mechanicalP         = 0.05
)

// templates adds each variant's most repeated openings and closings on
// suite su, and for each candidate how much more often its top ones
// begin or end its answers than the baseline's on the same samples.
func (a *metricsAcc) templates(rep *document.Report, su eval.Suite) {
	spec := a.c.spec
	base := a.answers[[2]string{su.Name, spec.Baseline}]
	clusters := a.clusters[su.Name]
	distinctWhy := ""
	if spec.Continuous != nil {
		distinctWhy = distinctContinuous
	}
	for _, v := range spec.Variants {
		as := a.answers[[2]string{su.Name, v.Name}]
		if as == nil {
			continue
		}
		t := document.Template{Suite: su.Name, Variant: v.Name, Openings: []document.Edge{}, Closings: []document.Edge{}}
		ti := len(rep.Templates)
		for i := range as.state {
			if as.state[i] == 1 && as.opening[i] != 0 {
				t.N++
			}
		}
		if t.N == 0 {
			continue
		}
		var whys []string
		for _, side := range []struct {
			closing bool
			hashes  []uint64
			vs      **document.DeltaEstimate
		}{{false, as.opening, &t.OpeningVsBaseline}, {true, as.closing, &t.ClosingVsBaseline}} {
			top := topEdges(as.state, side.hashes, 3)
			edges := make([]document.Edge, len(top))
			for k, e := range top {
				edges[k] = document.Edge{Count: e.count, Share: float64(e.count) / float64(t.N)}
				a.edgeExamples = append(a.edgeExamples, edgeExample{template: ti, edge: k, closing: side.closing, genSeq: as.genSeq[e.first]})
			}
			if side.closing {
				t.Closings = edges
			} else {
				t.Openings = edges
			}
			if v.Name == spec.Baseline || base == nil || len(top) == 0 {
				continue
			}
			baseHashes := base.opening
			if side.closing {
				baseHashes = base.closing
			}
			var cand, bs []float64
			var ids []string
			for i := range as.state {
				if as.state[i] != 1 || side.hashes[i] == 0 || base.state[i] != 1 || baseHashes[i] == 0 {
					continue
				}
				cand, bs = append(cand, b2f(side.hashes[i] == top[0].hash)), append(bs, b2f(baseHashes[i] == top[0].hash))
				ids = appendCluster(ids, clusters, i)
			}
			if len(cand) == 0 {
				continue
			}
			est := compare(true, 1, cand, bs, ids)
			markUnderpowered(&est, nil)
			*side.vs = &est
			share, baseShare := mean(cand), mean(bs)
			if share >= mechanicalShare && baseShare < mechanicalBaseShare && est.PValue != nil && *est.PValue < mechanicalP {
				what := "opening"
				if side.closing {
					what = "closing"
				}
				whys = append(whys, fmt.Sprintf("its top %s on %.0f%% of its answers, on %.0f%% of the baseline's (p %.2g)", what, 100*share, 100*baseShare, *est.PValue))
			}
		}
		t.Distinct, t.DistinctVsBaseline = a.distinct.figures(su.Name, v.Name, distinctWhy)
		if why := distinctMechanical(t.DistinctVsBaseline); why != "" {
			whys = append(whys, why)
		}
		t.Mechanical, t.Why = len(whys) > 0, strings.Join(whys, "; ")
		rep.Templates = append(rep.Templates, t)
	}
}

// fillEdges reads the text of each opening and closing rep.Templates
// shows from a generation that has it; one that cannot be read stays ""
// and the report says so.
func (a *metricsAcc) fillEdges(ctx context.Context, rep *document.Report, fetch Fetcher) {
	missed := 0
	for _, e := range a.edgeExamples {
		if fetch == nil {
			missed++
			continue
		}
		g, err := fetch.Generation(ctx, e.genSeq)
		if err != nil || g == nil {
			missed++
			continue
		}
		opening, closing := eval.Edges(g.Output)
		t := &rep.Templates[e.template]
		if e.closing {
			t.Closings[e.edge].Text = closing
		} else {
			t.Openings[e.edge].Text = opening
		}
	}
	if missed > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d of the templates' openings and closings could not be read from their generations: shown without their text", missed))
	}
	a.edgeExamples = nil
}

// edgeCount is an opening or closing's count among a variant's answers,
// and the first position that has it.
type edgeCount struct {
	hash         uint64
	count, first int
}

// topEdges are the n most repeated of hashes over the answered positions,
// most first (ties by first position).
func topEdges(state []uint8, hashes []uint64, n int) []edgeCount {
	counts := map[uint64]*edgeCount{}
	for i, h := range hashes {
		if state[i] != 1 || h == 0 {
			continue
		}
		if e := counts[h]; e != nil {
			e.count++
		} else {
			counts[h] = &edgeCount{hash: h, count: 1, first: i}
		}
	}
	all := make([]edgeCount, 0, len(counts))
	for _, e := range counts {
		all = append(all, *e)
	}
	slices.SortFunc(all, func(x, y edgeCount) int { return cmp.Or(cmp.Compare(y.count, x.count), cmp.Compare(x.first, y.first)) })
	return all[:min(n, len(all))]
}

// metricApplies reports whether metric m has a value for r's sample had
// its generation not failed: fabrication only on a question that should
// be declined. A failure counts against a metric only where it applies.
func metricApplies(m string, r *row) bool {
	return m != "fabrication" || r.unanswerable
}

// comparisons sets each compare pair side by side on suite su: the
// samples both answered, how many of their answers are the same, and each
// metric A minus B, paired by sample over the samples both scored.
func (a *metricsAcc) comparisons(rep *document.Report, su eval.Suite) {
	clusters := a.clusters[su.Name]
	for _, p := range a.c.spec.Compare {
		sa, sb := a.answers[[2]string{su.Name, p[0]}], a.answers[[2]string{su.Name, p[1]}]
		if sa == nil || sb == nil {
			continue
		}
		comp := document.Comparison{A: p[0], B: p[1], Suite: su.Name, Metrics: []document.ComparedMetric{}}
		for i := range sa.state {
			switch x, y := sa.state[i], sb.state[i]; {
			case x == 0 || y == 0:
			case x == 2 || y == 2:
				comp.Excluded++
			default:
				comp.N++
				if sa.hashes[i] != 0 && sb.hashes[i] != 0 {
					comp.Hashed++
					if sa.hashes[i] == sb.hashes[i] {
						comp.Identical++
					}
				}
			}
		}
		if comp.Hashed > 0 {
			r := float64(comp.Identical) / float64(comp.Hashed)
			w := stats.Wilson(r, comp.Hashed)
			comp.IdenticalRate, comp.IdenticalCI = &r, &w
		}
		for _, m := range su.Metrics {
			va, vb := a.vals[metricKey{su.Name, m, p[0]}], a.vals[metricKey{su.Name, m, p[1]}]
			if va == nil || vb == nil {
				continue
			}
			var xa, xb []float64
			var ids []string
			differ := 0
			for i := range va.vals {
				x, y := va.vals[i], vb.vals[i]
				if va.failed[i] || vb.failed[i] || math.IsNaN(x) || math.IsNaN(y) {
					continue
				}
				xa, xb = append(xa, x), append(xb, y)
				ids = appendCluster(ids, clusters, i)
				if x != y {
					differ++
				}
			}
			if len(xa) == 0 {
				continue
			}
			cm := document.ComparedMetric{Metric: m, A: mean(xa), B: mean(xb), Differ: differ}
			cm.DeltaEstimate = compare(eval.MetricBinary(m), metricSpan(m), xa, xb, ids)
			markUnderpowered(&cm.DeltaEstimate, nil)
			comp.Metrics = append(comp.Metrics, cm)
		}
		rep.Comparisons = append(rep.Comparisons, comp)
	}
}

// appendCluster appends position i's cluster id to ids when the suite
// clusters (clusters is not nil); ids stays nil otherwise.
func appendCluster(ids, clusters []string, i int) []string {
	if clusters == nil {
		return nil
	}
	return append(ids, clusters[i])
}

// deltaBound is the bound the gate puts on the delta of metric on suite
// for variant (delta_min, −margin, 0 for superiority), or nil when the
// gate puts none or does not gate the variant.
func (c *Collector) deltaBound(suite, metric, variant string) *float64 {
	if !slices.Contains(c.spec.GatedVariants(), variant) {
		return nil
	}
	for _, g := range c.spec.Gate.Metrics {
		if g.Suite != suite || g.Metric != metric {
			continue
		}
		if b, ok := g.DeltaBound(); ok {
			return &b
		}
		if g.DeltaMax != nil {
			b := *g.DeltaMax
			return &b
		}
	}
	return nil
}

// meanInterval is a metric's mean with its 95% interval: Wilson's
// (Wilson 1927) for a 0/1 metric, Student's t otherwise, cut to the
// metric's range. When ids is not nil the values come in clusters and the
// interval is CR1 cluster-robust (stats.MeanClustered), g counting the
// clusters. ci is nil, and undefined says why, when there is no interval:
// fewer than two clusters, or, for a metric that is not 0/1, fewer than
// two values or no variance among them — a zero-width interval would pass
// or fail a gate check on no evidence.
func meanInterval(metric string, xs []float64, ids []string) (mean float64, ci *[2]float64, g int, undefined string) {
	binary := eval.MetricBinary(metric)
	var out [2]float64
	if ids != nil {
		var why string
		mean, out, g, why = stats.MeanClustered(xs, ids)
		switch {
		case g < 2:
			return mean, nil, g, "fewer than 2 clusters: no interval"
		case why != "" && binary:
			// No variance between clusters to measure, as when every
			// value is the same: Wilson's interval with each cluster
			// counted as one answer, the largest design effect the
			// clusters allow.
			out = stats.Wilson(mean, g)
		case why != "":
			_, out = stats.MeanCI(xs)
		}
	} else {
		mean, out = stats.MeanCI(xs)
		if binary {
			out = stats.Wilson(mean, len(xs))
		}
	}
	if !binary && out[0] == out[1] {
		if len(xs) < 2 {
			return mean, nil, g, "one value: no interval"
		}
		return mean, nil, g, "every value is the same: no variance to build an interval on"
	}
	if lo, hi, bounded := metricRange(metric); bounded {
		// A t interval can reach past what the metric can be.
		out = [2]float64{max(lo, out[0]), min(hi, out[1])}
	}
	return mean, &out, g, ""
}

// compare is the paired comparison cand − base on metric, as the report
// gives it: McNemar's test (Newcombe's interval, mid-p) when binary,
// Student's paired t otherwise, cluster-robust (CR1) when ids is not nil.
//
// The interval is cut to [−span, span], the range the difference can take
// (a span of 0, for length, which has no range, cuts nothing). An
// undefined test (too few pairs or clusters, no variance) has no p-value,
// and its interval is that whole range: the data say nothing narrower
// (length keeps the point). Undefined says why.
func compare(binary bool, span float64, cand, base []float64, ids []string) document.DeltaEstimate {
	test := testPairedT
	if binary {
		test = testMcNemar
	}
	var p stats.Paired
	switch {
	case ids != nil:
		p = stats.PairedClustered(cand, base, ids, test)
	case binary:
		p = stats.McNemarTest(cand, base)
	default:
		p = stats.PairedTTest(cand, base)
	}
	e := document.DeltaEstimate{N: p.N, Delta: p.Delta, CI: p.CI, Test: p.Test, Undefined: p.Undefined, Clusters: p.Clusters}
	if !finite(e.Delta) {
		e.Delta = meanDifference(cand, base)
	}
	switch {
	case p.Undefined != "" || !finite(e.CI[0]) || !finite(e.CI[1]):
		e.CI = [2]float64{e.Delta, e.Delta}
		if span > 0 {
			e.CI = [2]float64{-span, span}
		}
	case span > 0:
		// A t interval can reach past what a difference can be.
		e.CI = [2]float64{max(-span, e.CI[0]), min(span, e.CI[1])}
	}
	if p.Undefined == "" && finite(p.P) {
		e.PValue = ptr(p.P)
	}
	if p.N >= 2 && finite(p.SD) {
		e.SD = ptr(p.SD)
	}
	if finite(p.MDE) {
		e.MDE = ptr(p.MDE)
	}
	if binary {
		// Counted here rather than taken from p: an undefined test (one
		// pair) leaves its counts empty, and a plan still reads them.
		if d, ok := discordant(cand, base); ok {
			e.Discordant = &d
		}
	}
	return e
}

// discordant counts the pairs where only cand (first) or only base
// (second) scored 1; ok is false unless every score is 0 or 1.
func discordant(cand, base []float64) (d [2]int, ok bool) {
	for i := range cand {
		x, y := cand[i], base[i]
		if (x != 0 && x != 1) || (y != 0 && y != 1) {
			return d, false
		}
		switch {
		case x == 1 && y == 0:
			d[0]++
		case x == 0 && y == 1:
			d[1]++
		}
	}
	return d, true
}

// markUnderpowered says the comparison had too few samples to tell: its
// interval has not decided (it holds 0, or, when the gate bounds the
// delta, the bound) and its MDE exceeds the distance between the delta and
// that value, so a real difference of the size seen would likely go
// unnoticed. An interval that already excludes the value has told, however
// large the MDE: power computed after the fact says nothing more (Hoenig &
// Heisey 2001). McNemar's test on discordant pairs too few for any effect
// to be detectable (fewer than 4 pairs in all) has no MDE and is
// underpowered while its interval holds 0; without an MDE otherwise (an
// undefined test, no discordant pair) nothing is said.
func markUnderpowered(e *document.DeltaEstimate, bound *float64) {
	e.Underpowered = undecided(e.MDE, e.Delta, e.CI, 0) || (bound != nil && undecided(e.MDE, e.Delta, e.CI, *bound))
	if e.MDE == nil {
		e.Underpowered = e.Undefined == "" && e.Discordant != nil && e.Discordant[0]+e.Discordant[1] > 0 && holds(e.CI, 0)
	}
}

// undecided reports whether an estimate whose interval holds x has an MDE
// above its distance from x: too few samples to tell it from x.
func undecided(mde *float64, estimate float64, ci [2]float64, x float64) bool {
	return mde != nil && holds(ci, x) && *mde > math.Abs(estimate-x)
}

// holds reports whether ci holds x.
func holds(ci [2]float64, x float64) bool { return ci[0] <= x && x <= ci[1] }

// setQValues gives each estimate of a family its Benjamini–Hochberg
// q-value (Benjamini & Hochberg 1995), over the estimates whose p-value is
// defined; the others have none.
func setQValues(family []*document.DeltaEstimate) {
	p := make([]float64, len(family))
	for i, e := range family {
		p[i] = math.NaN()
		if e.PValue != nil {
			p[i] = *e.PValue
		}
	}
	for i, q := range stats.BenjaminiHochberg(p) {
		if !math.IsNaN(q) {
			family[i].QValue = ptr(q)
		}
	}
}

// meanDifference is the mean of cand − base over the pairs whose
// difference is finite (0 when none is).
func meanDifference(cand, base []float64) float64 {
	var sum float64
	n := 0
	for i := range cand {
		if d := cand[i] - base[i]; finite(d) {
			sum += d
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func ptr[T any](v T) *T { return &v }

func (c *Collector) suiteMetrics(suite string) []string {
	if su, ok := c.spec.Suite(suite); ok {
		return su.Metrics
	}
	return nil
}

// clusteredSuite reports whether a suite's samples come in clusters: it
// has a cluster path, or it is an intake suite (clustered by session).
func (c *Collector) clusteredSuite(suite string) bool {
	su, ok := c.spec.Suite(suite)
	return ok && (su.Cluster != "" || su.Intake)
}
