package aggregate

import (
	"cmp"
	"math"
	"slices"

	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

type ratio struct{ num, den float64 }

func (r ratio) ptr() *float64 {
	if r.den == 0 {
		return nil
	}
	v := r.num / r.den
	return &v
}

func (r *ratio) add(ok bool) {
	r.den++
	if ok {
		r.num++
	}
}

// rates are each variant's side-effect rates over its answers; Error is the
// share of its generations that failed, which no other rate counts.
func (c *Collector) rates(rep *document.Report, rows []row) {
	type acc struct {
		refusal, jsonValid, schema, trunc, errs, tokens ratio
		// The answers checked for JSON, as 0/1, with their clusters,
		// when a suite they come from clusters.
		jsonVals      []float64
		jsonIDs       []string
		jsonClustered bool
	}
	by := map[string]*acc{}
	for _, r := range rows {
		a := by[r.variant]
		if a == nil {
			a = &acc{}
			by[r.variant] = a
		}
		a.errs.add(r.failed())
		if r.failed() {
			continue
		}
		if r.benign {
			a.refusal.add(r.refused)
		}
		if r.jsonValid >= 0 {
			a.jsonValid.add(r.jsonValid == 1)
			a.jsonVals = append(a.jsonVals, float64(r.jsonValid))
			id := ""
			if c.clusteredSuite(r.suite) {
				a.jsonClustered, id = true, suiteCluster(r.suite, r.cluster)
			}
			a.jsonIDs = append(a.jsonIDs, id)
		}
		if r.schemaPass >= 0 {
			a.schema.add(r.schemaPass == 1)
		}
		a.trunc.add(r.truncated)
		a.tokens.num += float64(r.tokens)
		a.tokens.den++
	}
	for _, v := range c.spec.Variants {
		a := by[v.Name]
		if a == nil {
			rep.Rates[v.Name] = document.Rates{}
			continue
		}
		rates := document.Rates{Refusal: a.refusal.ptr(), RefusalN: int(a.refusal.den), RefusalCI: a.refusal.wilson(),
			JSONValid: a.jsonValid.ptr(), JSONValidN: int(a.jsonValid.den), JSONValidCI: a.jsonValid.wilson(), SchemaPass: a.schema.ptr(),
			Truncated: a.trunc.ptr(), Error: a.errs.ptr(), MeanOutputTokens: a.tokens.ptr()}
		if a.jsonClustered {
			// Answers from suites that cluster are not independent: the
			// rate's interval is cluster-robust, as the json_valid
			// metric's mean is, with suite-qualified cluster ids.
			_, rates.JSONValidCI, rates.JSONValidClusters, _ = meanInterval(rateJSONValid, a.jsonVals, a.jsonIDs)
		}
		rep.Rates[v.Name] = rates
	}
	c.rateDeltas(rep, rows)
}

// wilson is the share's 95% Wilson interval (Wilson 1927), nil when
// nothing was counted.
func (r ratio) wilson() *[2]float64 {
	if r.den == 0 {
		return nil
	}
	ci := stats.Wilson(r.num/r.den, int(r.den))
	return &ci
}

// Rates a [document.RateDelta] compares.
const (
	rateRefusal   = "refusal"
	rateJSONValid = "json_valid"
)

// ratePair is one sample's side-effect outcome for a candidate and the
// baseline, both answered.
type ratePair struct {
	suite, sample, cluster string
	cand, base             float64
}

// rateDeltas compares each candidate's refusal and JSON-validity rates
// with the baseline's, paired by sample over the samples both answered:
// refusal over the benign prompts, JSON validity over the answers both
// gave that were checked for JSON. McNemar's test (Newcombe's interval,
// mid-p) on the pairs, cluster-robust (CR1) when a suite of the pooled
// pairs clusters its samples, with cluster ids qualified by their suite.
func (c *Collector) rateDeltas(rep *document.Report, rows []row) {
	for _, cand := range c.spec.Candidates() {
		// Sized to the candidate's answers that could pair: grown by
		// appending, pairs of a million samples would leave as much
		// again behind them for the Go collector.
		var benign, checked int
		for i := range rows {
			if r := &rows[i]; r.variant == cand && !r.failed() {
				benign += btoi(r.benign)
				checked += btoi(r.jsonValid >= 0)
			}
		}
		refusal, jsonValid := make([]ratePair, 0, benign), make([]ratePair, 0, checked)
		// Pairs left out because one side's generation failed, where the
		// other's answer counted for the rate.
		var refusalLeft, jsonValidLeft int
		eachSample(rows, func(rs []row) {
			var b, bFailed *row
			for i := range rs {
				if r := &rs[i]; r.variant == c.spec.Baseline {
					if r.failed() {
						bFailed = r
					} else {
						b = r
					}
				}
			}
			if b == nil {
				if bFailed != nil {
					for i := range rs {
						if r := &rs[i]; r.variant == cand && !r.failed() {
							refusalLeft += btoi(r.benign)
							jsonValidLeft += btoi(r.jsonValid >= 0)
						}
					}
				}
				return
			}
			for i := range rs {
				r := &rs[i]
				if r.variant != cand {
					continue
				}
				if r.failed() {
					refusalLeft += btoi(b.benign)
					jsonValidLeft += btoi(b.jsonValid >= 0)
					continue
				}
				id := ""
				if c.clusteredSuite(r.suite) {
					id = suiteCluster(r.suite, r.cluster)
				}
				if r.benign && b.benign {
					refusal = append(refusal, ratePair{r.suite, r.sample, id, b2f(r.refused), b2f(b.refused)})
				}
				if r.jsonValid >= 0 && b.jsonValid >= 0 {
					jsonValid = append(jsonValid, ratePair{r.suite, r.sample, id, float64(r.jsonValid), float64(b.jsonValid)})
				}
			}
		})
		for _, rd := range []struct {
			rate  string
			pairs []ratePair
			left  int
			bound *float64
		}{
			{rateRefusal, refusal, refusalLeft, c.refusalBound(cand)},
			{rateJSONValid, jsonValid, jsonValidLeft, nil},
		} {
			d := document.RateDelta{Rate: rd.rate, Variant: cand, Baseline: c.spec.Baseline}
			switch {
			case len(rd.pairs) > 0:
				d.DeltaEstimate = compareRates(rd.pairs, c.anyClustered(rd.pairs))
				markUnderpowered(&d.DeltaEstimate, rd.bound)
			case rd.left > 0:
				// Every pair was left out: the row stays, a delta over
				// nothing (null in report.json), as a metric's does.
				d.Undefined = noPairUndefined
			default:
				// The rate does not apply: no benign prompt, or no
				// suite checks answers for JSON.
				continue
			}
			rep.RateDeltas = append(rep.RateDeltas, d)
		}
	}
	// The rate deltas are a family of their own, as the gate reads them.
	family := make([]*document.DeltaEstimate, len(rep.RateDeltas))
	for i := range rep.RateDeltas {
		family[i] = &rep.RateDeltas[i].DeltaEstimate
	}
	setQValues(family)
}

// compareRates is McNemar's comparison of paired 0/1 outcomes, in suite
// and sample order so that sums do not depend on arrival order;
// cluster-robust when clustered.
func compareRates(pairs []ratePair, clustered bool) document.DeltaEstimate {
	slices.SortFunc(pairs, func(a, b ratePair) int {
		return cmp.Or(cmp.Compare(a.suite, b.suite), cmp.Compare(a.sample, b.sample))
	})
	cand, base := make([]float64, len(pairs)), make([]float64, len(pairs))
	var ids []string
	if clustered {
		ids = make([]string, len(pairs))
	}
	for i, p := range pairs {
		cand[i], base[i] = p.cand, p.base
		if clustered {
			ids[i] = p.cluster
		}
	}
	return compare(true, 1, cand, base, ids)
}

// anyClustered reports whether a suite of the pairs clusters its samples.
func (c *Collector) anyClustered(pairs []ratePair) bool {
	seen := map[string]bool{}
	for _, p := range pairs {
		if !seen[p.suite] {
			seen[p.suite] = true
			if c.clusteredSuite(p.suite) {
				return true
			}
		}
	}
	return false
}

// refusalBound is the gate's refusal_rate_delta_max for a gated variant,
// else nil.
func (c *Collector) refusalBound(variant string) *float64 {
	if c.spec.Gate.RefusalRateDeltaMax == nil || !slices.Contains(c.spec.GatedVariants(), variant) {
		return nil
	}
	return c.spec.Gate.RefusalRateDeltaMax
}

// suiteCluster qualifies a cluster id by its suite, so that two suites'
// ids never meet; "" (a sample that is a cluster of its own) stays "".
func suiteCluster(suite, id string) string {
	if id == "" {
		return ""
	}
	return suite + "\x00" + id
}

// eachSample hands fn the rows of each sample in turn. Rows are in key
// order, a sample's next to each other: pairing a sample's variants needs
// no map of samples.
func eachSample(rows []row, fn func([]row)) {
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && rows[hi].suite == rows[lo].suite && rows[hi].sample == rows[lo].sample {
			hi++
		}
		fn(rows[lo:hi:hi])
		lo = hi
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// timing gives each variant's end-to-end latency, time to first token,
// inter-token latency and output tokens per second as percentiles over its
// answered generations.
func (c *Collector) timing(rep *document.Report, rows []row) {
	type acc struct{ latency, ttft, itl, tps []float64 }
	by := map[string]*acc{}
	for _, r := range rows {
		if r.failed() || math.IsNaN(r.latency) {
			continue
		}
		a := by[r.variant]
		if a == nil {
			a = &acc{}
			by[r.variant] = a
		}
		a.latency = append(a.latency, r.latency)
		// Tokens per second of decoding: after the first token when it is
		// known, so that queueing and prefill do not count.
		span := r.latency
		if !math.IsNaN(r.ttft) {
			a.ttft = append(a.ttft, r.ttft)
			span -= r.ttft
		}
		if !math.IsNaN(r.itl) {
			a.itl = append(a.itl, r.itl)
		}
		if r.tokens > 0 && span > 0 {
			a.tps = append(a.tps, float64(r.tokens)/(span/1000))
		}
	}
	for _, v := range c.spec.Variants {
		a := by[v.Name]
		if a == nil {
			continue
		}
		for _, m := range []struct {
			xs  []float64
			dst map[string]document.Latency
		}{{a.latency, rep.Timing.Latency}, {a.ttft, rep.Timing.TTFT}, {a.itl, rep.Timing.ITL}} {
			if p, ok := percentiles(m.xs); ok {
				m.dst[v.Name] = document.Latency{N: len(m.xs), P50: p[0], P95: p[1], P99: p[2]}
			}
		}
		if p, ok := percentiles(a.tps); ok {
			rep.Timing.OutputTokensPerS[v.Name] = document.Throughput{N: len(a.tps), P50: p[0], P95: p[1], P99: p[2]}
		}
	}
}

// percentiles are the 50th, 95th and 99th percentiles of xs (sorted in
// place); ok is false when xs is empty.
func percentiles(xs []float64) ([3]float64, bool) {
	if len(xs) == 0 {
		return [3]float64{}, false
	}
	slices.Sort(xs)
	return [3]float64{stats.Percentile(xs, 50), stats.Percentile(xs, 95), stats.Percentile(xs, 99)}, true
}
