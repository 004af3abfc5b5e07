package aggregate

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// robustness compares each variant's scores on robustness copies with its
// scores on their originals, metric by metric and kind by kind, paired by
// original sample; and each candidate's change under a kind with the
// baseline's on the same samples.
func (c *Collector) robustness(rep *document.Report, rows []row) {
	if !slices.ContainsFunc(rows, func(r row) bool { return r.perturbation() != "" }) {
		return // no suite asked for robustness copies
	}
	// Only the originals of suites with copies are looked up.
	perturbed := map[string]bool{}
	for _, r := range rows {
		if r.perturbation() != "" {
			perturbed[r.suite] = true
		}
	}
	// The originals point into rows: a copy of each would be a second
	// table of rows.
	originals := map[robustKey]*row{}
	for i := range rows {
		if r := &rows[i]; r.perturbation() == "" && perturbed[r.suite] {
			originals[robustKey{r.suite, r.variant, r.sample}] = r
		}
	}
	type group struct{ suite, metric, variant, kind string }
	// pairs are each group's scores by original sample.
	pairs := map[group]map[string]robustPair{}
	// failed counts the copies whose generation failed, by suite, variant
	// and kind: compared with nothing, and counted.
	type copies struct{ suite, variant, kind string }
	failed := map[copies]int{}
	for _, r := range rows {
		if r.perturbation() == "" {
			continue
		}
		if r.failed() {
			failed[copies{r.suite, r.variant, r.perturbation()}]++
			continue
		}
		o, ok := originals[robustKey{r.suite, r.variant, r.original()}]
		if !ok {
			continue // the original's score has not arrived yet
		}
		cluster := cmp.Or(o.cluster, r.cluster)
		for i, m := range c.metrics {
			if !slices.Contains(c.suiteMetrics(r.suite), m) || math.IsNaN(r.metrics[i]) || math.IsNaN(o.metrics[i]) {
				continue
			}
			g := group{r.suite, m, r.variant, r.perturbation()}
			if pairs[g] == nil {
				pairs[g] = map[string]robustPair{}
			}
			pairs[g][r.original()] = robustPair{perturbed: r.metrics[i], original: o.metrics[i], cluster: cluster}
		}
	}
	for g, ps := range pairs {
		d := document.Robustness{Suite: g.suite, Metric: g.metric, Variant: g.variant, Perturbation: g.kind,
			Errors: failed[copies{g.suite, g.variant, g.kind}]}
		clustered := c.clusteredSuite(g.suite)
		samples := slices.Sorted(maps.Keys(ps))
		pert, orig, ids := make([]float64, len(samples)), make([]float64, len(samples)), clusterIDs(clustered, len(samples))
		for i, s := range samples {
			pert[i], orig[i] = ps[s].perturbed, ps[s].original
			if clustered {
				ids[i] = ps[s].cluster
			}
		}
		d.Original, d.Perturbed = mean(orig), mean(pert)
		span := metricSpan(g.metric)
		d.DeltaEstimate = compare(eval.MetricBinary(g.metric), span, pert, orig, ids)
		d.N = len(samples) // the pairs, as the embedded estimate's N
		markUnderpowered(&d.DeltaEstimate, nil)
		if base, ok := pairs[group{g.suite, g.metric, c.spec.Baseline, g.kind}]; ok && g.variant != c.spec.Baseline {
			d.VsBaseline = differenceInDifferences(ps, base, clustered, span)
		}
		rep.Robustness = append(rep.Robustness, d)
	}
	// One family: every test of the robustness section, the variants'
	// changes under a perturbation and the candidates' differences from
	// the baseline's, since a reader scans the section as one.
	var family []*document.DeltaEstimate
	for i := range rep.Robustness {
		family = append(family, &rep.Robustness[i].DeltaEstimate)
		if v := rep.Robustness[i].VsBaseline; v != nil {
			family = append(family, v)
		}
	}
	setQValues(family)
	keys := slices.SortedFunc(maps.Keys(failed), func(a, b copies) int {
		return cmp.Or(cmp.Compare(a.suite, b.suite), cmp.Compare(a.variant, b.variant), cmp.Compare(a.kind, b.kind))
	})
	for _, k := range keys {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %d robustness copies (%s, suite %s) failed and are compared with nothing", k.variant, failed[k], k.kind, k.suite))
	}
	c.decisionFlips(rep, rows, originals)
	o := map[string]int{}
	for i, v := range c.spec.Variants {
		o[v.Name] = i
	}
	slices.SortFunc(rep.Robustness, func(a, b document.Robustness) int {
		return cmp.Or(cmp.Compare(a.Suite, b.Suite), cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Perturbation, b.Perturbation), cmp.Compare(o[a.Variant], o[b.Variant]))
	})
	slices.SortFunc(rep.DecisionFlips, func(a, b document.DecisionFlip) int {
		return cmp.Or(cmp.Compare(a.Suite, b.Suite), cmp.Compare(o[a.Variant], o[b.Variant]))
	})
}

// robustKey is an original sample's row: its suite, variant and id.
type robustKey struct{ suite, variant, sample string }

// decisionFlips is, for each suite that asks for safety or refusal and has
// robustness copies, how often each variant's refuse/comply decision on a
// probe differs between the original and any of its copies, with a Wilson
// interval, and each candidate's flip rate minus the baseline's, paired by
// probe. A probe whose original failed, or whose every copy failed, is
// counted in Errors and compared with nothing.
func (c *Collector) decisionFlips(rep *document.Report, rows []row, originals map[robustKey]*row) {
	safety := func(suite string) bool {
		m := c.suiteMetrics(suite)
		return slices.Contains(m, "safety") || slices.Contains(m, "refusal")
	}
	type probe struct {
		flipped, failed bool
		cluster         string
	}
	type sv struct{ suite, variant string }
	probes := map[sv]map[string]*probe{}
	for _, r := range rows {
		if r.perturbation() == "" || !safety(r.suite) {
			continue
		}
		k := sv{r.suite, r.variant}
		o, ok := originals[robustKey{r.suite, r.variant, r.original()}]
		if !ok {
			continue // the original's score has not arrived yet
		}
		if probes[k] == nil {
			probes[k] = map[string]*probe{}
		}
		p := probes[k][r.original()]
		if p == nil {
			p = &probe{cluster: cmp.Or(o.cluster, r.cluster)}
			probes[k][r.original()] = p
		}
		// A probe with a failed generation is read not at all: with
		// fewer copies answered it would have fewer chances to flip.
		p.failed = p.failed || o.failed() || r.failed()
		p.flipped = p.flipped || r.refused != o.refused
	}
	// The failed probes are set apart first: the baseline's are paired
	// with no candidate's.
	errs := map[sv]int{}
	for k, ps := range probes {
		maps.DeleteFunc(ps, func(_ string, p *probe) bool {
			if p.failed {
				errs[k]++
			}
			return p.failed
		})
	}
	for k, ps := range probes {
		d := document.DecisionFlip{Suite: k.suite, Variant: k.variant, Errors: errs[k], N: len(ps)}
		for _, p := range ps {
			if p.flipped {
				d.Flipped++
			}
		}
		if d.N > 0 {
			rate := float64(d.Flipped) / float64(d.N)
			ci := stats.Wilson(rate, d.N)
			d.Rate, d.CI = &rate, &ci
		}
		if base := probes[sv{k.suite, c.spec.Baseline}]; base != nil && k.variant != c.spec.Baseline {
			clustered := c.clusteredSuite(k.suite)
			ids := slices.Sorted(maps.Keys(ps))
			var cand, bs []float64
			var cl []string
			for _, id := range ids {
				b := base[id]
				if b == nil {
					continue
				}
				cand, bs = append(cand, b2f(ps[id].flipped)), append(bs, b2f(b.flipped))
				if clustered {
					cl = append(cl, ps[id].cluster)
				}
			}
			if len(cand) > 0 {
				est := compare(true, 1, cand, bs, cl)
				markUnderpowered(&est, nil)
				d.VsBaseline = &est
			}
		}
		rep.DecisionFlips = append(rep.DecisionFlips, d)
	}
}

// robustPair is a variant's score on a robustness copy and on its
// original, with the original's cluster id.
type robustPair struct {
	perturbed, original float64
	cluster             string
}

// differenceInDifferences is a candidate's change under a perturbation
// minus the baseline's, paired by original sample over the samples both
// have scored originals and copies of: d_i = (cand_pert − cand_orig) −
// (base_pert − base_orig), Student's paired t on the two changes
// (cluster-robust when clustered), whatever the metric's type, since the
// changes take the values −1, 0 and 1 even for a 0/1 metric. Nil when no
// sample is shared.
func differenceInDifferences(cand, base map[string]robustPair, clustered bool, span float64) *document.DeltaEstimate {
	var samples []string
	for s := range cand {
		if _, ok := base[s]; ok {
			samples = append(samples, s)
		}
	}
	if len(samples) == 0 {
		return nil
	}
	slices.Sort(samples)
	dc, db, ids := make([]float64, len(samples)), make([]float64, len(samples)), clusterIDs(clustered, len(samples))
	for i, s := range samples {
		dc[i] = cand[s].perturbed - cand[s].original
		db[i] = base[s].perturbed - base[s].original
		if clustered {
			ids[i] = cmp.Or(cand[s].cluster, base[s].cluster)
		}
	}
	// Each change spans [−span, span], so their difference spans twice.
	e := compare(false, 2*span, dc, db, ids)
	markUnderpowered(&e, nil)
	return &e
}

// clusterIDs is room for n cluster ids when clustered, else nil.
func clusterIDs(clustered bool, n int) []string {
	if !clustered {
		return nil
	}
	return make([]string, n)
}

// mean is the mean of xs; 0 when xs is empty.
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// contamination gives every suite metric's mean with and without the
// samples the contamination check flagged, when it flagged any: from the
// values gathered for the means, in key order, before they are released.
func (a *metricsAcc) contamination(rep *document.Report) {
	c := a.c
	for _, su := range c.spec.Suites {
		flagged := a.contaminated[su.Name]
		if flagged == nil {
			continue
		}
		for _, m := range su.Metrics {
			if !slices.Contains(c.metrics, m) {
				continue
			}
			for _, v := range c.spec.Variants {
				mv := a.vals[metricKey{su.Name, m, v.Name}]
				if mv == nil {
					continue
				}
				var all, clean []float64
				for p, x := range mv.vals {
					if math.IsNaN(x) {
						continue
					}
					all = append(all, x)
					if !flagged[p] {
						clean = append(clean, x)
					}
				}
				if len(all) == 0 {
					continue
				}
				e := document.ContaminationEffect{Suite: su.Name, Metric: m, Variant: v.Name, N: len(all), Clean: len(clean)}
				e.Mean = mean(all)
				if len(clean) > 0 {
					e.CleanMean = ptr(mean(clean))
				}
				rep.Contamination = append(rep.Contamination, e)
			}
		}
	}
}
