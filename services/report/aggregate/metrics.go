package aggregate

import (
	"math"
	"sort"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// metricScale is the range of a metric's values, for the worst-case
// sensitivity that counts failures against a variant: ok is false for a
// metric with no worst value (length, refusal).
func metricScale(metric string) (lo, hi float64, ok bool) {
	switch metric {
	case "length", "refusal":
		// Refusing is wrong on a benign prompt and right on a probe:
		// neither end of the scale is the worst.
		return 0, 0, false
	case "bleu", "chrf":
		return 0, 100, true
	}
	return 0, 1, true
}

// metricValues are one suite's values of one metric for one variant, by
// sample position (NaN where the sample has no value), and which positions
// are failed generations.
type metricValues struct {
	vals   []float64
	failed []bool
}

// metricsAndDeltas computes per-suite means with intervals, and each
// candidate's paired difference from the baseline. Failed generations are
// in neither: they are counted (Metric.Errors, Delta.Excluded) and only the
// worst-case figures give them a value.
func (c *Collector) metricsAndDeltas(rep *document.Report, rows []row) {
	mi := map[string]int{}
	for i, m := range c.metrics {
		mi[m] = i
	}
	// Each suite's samples get a position in id order, so that sums do not
	// depend on the order results arrived in; values are dense arrays over
	// those positions (NaN where a sample has no value), which keeps the
	// report's memory to a few bytes per sample and metric.
	pos := map[string]map[string]int{}
	for _, r := range rows {
		if pos[r.suite] == nil {
			pos[r.suite] = map[string]int{}
		}
		pos[r.suite][r.sample] = 0
	}
	for _, ps := range pos {
		ids := make([]string, 0, len(ps))
		for id := range ps {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for i, id := range ids {
			ps[id] = i
		}
	}
	type key struct{ suite, metric, variant string }
	vals := map[key]*metricValues{}
	get := func(k key) *metricValues {
		mv := vals[k]
		if mv == nil {
			n := len(pos[k.suite])
			mv = &metricValues{vals: make([]float64, n), failed: make([]bool, n)}
			for i := range mv.vals {
				mv.vals[i] = math.NaN()
			}
			vals[k] = mv
		}
		return mv
	}
	for _, r := range rows {
		p := pos[r.suite][r.sample]
		for _, m := range c.suiteMetrics(r.suite) {
			if r.failed() {
				get(key{r.suite, m, r.variant}).failed[p] = true
				continue
			}
			if v := r.metrics[mi[m]]; !math.IsNaN(v) {
				get(key{r.suite, m, r.variant}).vals[p] = v
			}
		}
	}
	for _, su := range c.spec.Suites {
		for _, m := range su.Metrics {
			lo, hi, bounded := metricScale(m)
			for _, v := range c.spec.Variants {
				mv := vals[key{su.Name, m, v.Name}]
				if mv == nil {
					continue
				}
				row := document.Metric{Suite: su.Name, Metric: m, Variant: v.Name, Signature: eval.MetricSignature(su, m)}
				var xs, worst []float64
				for i, x := range mv.vals {
					switch {
					case mv.failed[i]:
						row.Errors++
						worst = append(worst, lo)
					case !math.IsNaN(x):
						xs = append(xs, x)
						worst = append(worst, x)
					}
				}
				row.N = len(xs)
				if len(xs) > 0 {
					mean, ci := meanInterval(xs)
					row.Mean, row.CI = &mean, &ci
				}
				if row.Errors > 0 && bounded {
					mean, ci := meanInterval(worst)
					row.WorstCase = &document.Estimate{N: len(worst), Mean: mean, CI: ci}
				}
				rep.Metrics = append(rep.Metrics, row)
			}
			base := vals[key{su.Name, m, c.spec.Baseline}]
			for _, cand := range c.spec.Candidates() {
				cv := vals[key{su.Name, m, cand}]
				if base == nil || cv == nil {
					continue
				}
				var xc, xb, wc, wb []float64
				excluded := 0
				for i := range cv.vals {
					cf, bf := cv.failed[i], base.failed[i]
					x, y := cv.vals[i], base.vals[i]
					if cf || bf {
						// A pair where either side failed compares
						// nothing; the worst case counts it against the
						// candidate.
						if (cf || !math.IsNaN(x)) && (bf || !math.IsNaN(y)) {
							excluded++
							if cf {
								x = lo
							}
							if bf {
								y = hi
							}
							wc, wb = append(wc, x), append(wb, y)
						}
						continue
					}
					if !math.IsNaN(x) && !math.IsNaN(y) {
						xc, xb = append(xc, x), append(xb, y)
						wc, wb = append(wc, x), append(wb, y)
					}
				}
				if len(xc) == 0 {
					continue
				}
				d := document.Delta{Suite: su.Name, Metric: m, Variant: cand, Baseline: c.spec.Baseline, Excluded: excluded}
				d.N = len(xc)
				var p float64
				d.Delta, d.CI, p, d.Test = pairedDelta(xc, xb)
				d.PValue = &p
				if excluded > 0 && bounded {
					w := document.DeltaEstimate{N: len(wc)}
					var p float64
					w.Delta, w.CI, p, w.Test = pairedDelta(wc, wb)
					w.PValue = &p
					d.WorstCase = &w
				}
				rep.Deltas = append(rep.Deltas, d)
			}
		}
	}
}

// meanInterval is the mean with its 95% interval: Wilson's for a 0/1
// metric, Student's t otherwise, cut to [0, 1] for a share.
func meanInterval(xs []float64) (float64, [2]float64) {
	mean, ci := stats.MeanCI(xs)
	switch {
	case stats.IsBinary(xs):
		ci = stats.Wilson(mean, len(xs))
	case inUnit(xs):
		// A t interval can reach past what a share can be.
		ci = [2]float64{max(0, ci[0]), min(1, ci[1])}
	}
	return mean, ci
}

// pairedDelta is cand − base paired by sample, with McNemar's test for 0/1
// metrics and the paired t test otherwise.
func pairedDelta(cand, base []float64) (delta float64, ci [2]float64, p float64, test string) {
	if stats.IsBinary(cand, base) {
		delta, ci, p = stats.McNemar(cand, base)
		return delta, ci, p, "mcnemar"
	}
	delta, ci, p = stats.PairedT(cand, base)
	return delta, ci, p, "paired_t"
}

func (c *Collector) suiteMetrics(suite string) []string {
	if su, ok := c.spec.Suite(suite); ok {
		return su.Metrics
	}
	return nil
}

// inUnit reports whether every value lies in [0, 1].
func inUnit(xs []float64) bool {
	for _, x := range xs {
		if x < 0 || x > 1 {
			return false
		}
	}
	return true
}
