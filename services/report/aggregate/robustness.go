package aggregate

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// robustness compares each variant's scores on robustness copies with its
// scores on their originals, metric by metric and kind by kind, paired by
// original sample.
func (c *Collector) robustness(rep *document.Report, rows []row) {
	type key struct{ suite, variant, sample string }
	originals := map[key]row{}
	for _, r := range rows {
		if r.perturbation == "" {
			originals[key{r.suite, r.variant, r.sample}] = r
		}
	}
	type group struct{ suite, metric, variant, kind string }
	pairs := map[group][2][]float64{} // perturbed, original
	// failed counts the copies whose generation failed, by suite, variant
	// and kind: compared with nothing, and counted.
	type copies struct{ suite, variant, kind string }
	failed := map[copies]int{}
	for _, r := range rows {
		if r.perturbation == "" {
			continue
		}
		if r.failed() {
			failed[copies{r.suite, r.variant, r.perturbation}]++
			continue
		}
		o, ok := originals[key{r.suite, r.variant, r.original}]
		if !ok {
			continue // the original's score has not arrived yet
		}
		for i, m := range c.metrics {
			if !slices.Contains(c.suiteMetrics(r.suite), m) || math.IsNaN(r.metrics[i]) || math.IsNaN(o.metrics[i]) {
				continue
			}
			g := group{r.suite, m, r.variant, r.perturbation}
			p := pairs[g]
			pairs[g] = [2][]float64{append(p[0], r.metrics[i]), append(p[1], o.metrics[i])}
		}
	}
	for g, p := range pairs {
		d := document.Robustness{Suite: g.suite, Metric: g.metric, Variant: g.variant, Perturbation: g.kind,
			Errors: failed[copies{g.suite, g.variant, g.kind}]}
		d.N = len(p[0])
		d.Original, _ = stats.MeanCI(p[1])
		d.Perturbed, _ = stats.MeanCI(p[0])
		var pv float64
		if stats.IsBinary(p[0], p[1]) {
			d.Test = "mcnemar"
			d.Delta, d.CI, pv = stats.McNemar(p[0], p[1])
		} else {
			d.Test = "paired_t"
			d.Delta, d.CI, pv = stats.PairedT(p[0], p[1])
		}
		d.PValue = &pv
		rep.Robustness = append(rep.Robustness, d)
	}
	keys := slices.SortedFunc(maps.Keys(failed), func(a, b copies) int {
		return cmp.Or(cmp.Compare(a.suite, b.suite), cmp.Compare(a.variant, b.variant), cmp.Compare(a.kind, b.kind))
	})
	for _, k := range keys {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %d robustness copies (%s, suite %s) failed and are compared with nothing", k.variant, failed[k], k.kind, k.suite))
	}
	o := map[string]int{}
	for i, v := range c.spec.Variants {
		o[v.Name] = i
	}
	slices.SortFunc(rep.Robustness, func(a, b document.Robustness) int {
		return cmp.Or(cmp.Compare(a.Suite, b.Suite), cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Perturbation, b.Perturbation), cmp.Compare(o[a.Variant], o[b.Variant]))
	})
}

// contamination gives every suite metric's mean with and without the
// samples the contamination check flagged, when it flagged any.
func (c *Collector) contamination(rep *document.Report, rows []row) {
	flagged := map[string]bool{}
	for _, r := range rows {
		if r.contaminated {
			flagged[r.suite] = true
		}
	}
	if len(flagged) == 0 {
		return
	}
	for _, su := range c.spec.Suites {
		if !flagged[su.Name] {
			continue
		}
		for _, m := range su.Metrics {
			i := slices.Index(c.metrics, m)
			if i < 0 {
				continue
			}
			for _, v := range c.spec.Variants {
				var all, clean []float64
				for _, r := range rows {
					if r.suite != su.Name || r.variant != v.Name || math.IsNaN(r.metrics[i]) {
						continue
					}
					all = append(all, r.metrics[i])
					if !r.contaminated {
						clean = append(clean, r.metrics[i])
					}
				}
				if len(all) == 0 {
					continue
				}
				e := document.ContaminationEffect{Suite: su.Name, Metric: m, Variant: v.Name, N: len(all), Clean: len(clean)}
				e.Mean, _ = stats.MeanCI(all)
				if len(clean) > 0 {
					m, _ := stats.MeanCI(clean)
					e.CleanMean = &m
				}
				rep.Contamination = append(rep.Contamination, e)
			}
		}
	}
}
