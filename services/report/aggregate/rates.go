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

// ratesAcc gathers, as the final pass reads the score rows, each
// variant's side-effect counts, and for the paired rate deltas each
// sample's answer by variant in a byte per sample (see [answerFlags]).
type ratesAcc struct {
	c *Collector
	x *sampleIndex
	m *metricsAcc // the samples' clusters
	// by are the counts by variant.
	by map[string]*rateCounts
	// outcomes are by suite, then variant, over the suite's positions.
	outcomes map[string]map[string][]answerFlags
	// clusters: a suite of the spec clusters its samples.
	clusters bool
	// reads are the bucket judge's readings, for the judge's refusal
	// rate; judged says the run has a bucket judge.
	reads  readings
	judged bool
}

type rateCounts struct {
	refusal, jsonValid, schema, trunc, errs, tokens ratio
	// judgeRefusal is the bucket judge's refusal reading of the benign
	// prompts' answers it read; judgeUnread counts those it did not.
	judgeRefusal ratio
	judgeUnread  int
	// The answers checked for JSON, with their clusters, when a suite
	// they come from clusters; put in key order before they are read.
	json          []jsonCheck
	jsonClustered bool
}

// jsonCheck is an answer checked for JSON, as 0/1, where it sits in the
// key order.
type jsonCheck struct {
	suite   string
	pos     int32
	valid   float64
	cluster string
}

// answerFlags is one sample's answer by one variant, as the rate deltas pair
// them: a set of the flags below, 0 when the variant has no score.
type answerFlags uint8

const (
	outScored answerFlags = 1 << iota
	outFailed
	outBenign
	outRefused
	outJSONChecked
	outJSONValid
	// outJudgeRead: the bucket judge read the answer for a refusal;
	// outJudgeRefused: it read one.
	outJudgeRead
	outJudgeRefused
)

func (o answerFlags) has(f answerFlags) bool { return o&f != 0 }

func (c *Collector) newRatesAcc(x *sampleIndex, m *metricsAcc, reads readings) *ratesAcc {
	_, judged := BucketJudge(c.spec)
	ra := &ratesAcc{c: c, x: x, m: m, by: map[string]*rateCounts{}, outcomes: map[string]map[string][]answerFlags{}, reads: reads, judged: judged}
	for _, su := range c.spec.Suites {
		ra.clusters = ra.clusters || c.clusteredSuite(su.Name)
	}
	return ra
}

// add takes an original sample's row (not a robustness copy's).
func (ra *ratesAcc) add(r *row) {
	c := ra.c
	a := ra.by[r.variant]
	if a == nil {
		a = &rateCounts{}
		ra.by[r.variant] = a
	}
	if len(c.spec.Variants) > 1 {
		bv := ra.outcomes[r.suite]
		if bv == nil {
			bv = map[string][]answerFlags{}
			ra.outcomes[r.suite] = bv
		}
		o := bv[r.variant]
		if o == nil {
			o = make([]answerFlags, ra.x.suite(r.suite).n())
			bv[r.variant] = o
		}
		f := outScored
		switch {
		case r.failed():
			f |= outFailed
		default:
			if r.benign {
				f |= outBenign
			}
			if r.refused {
				f |= outRefused
			}
			if r.jsonValid >= 0 {
				f |= outJSONChecked
			}
			if r.jsonValid == 1 {
				f |= outJSONValid
			}
			if ra.reads.refusalRead.has(r.variant, r.suite, r.pos) {
				f |= outJudgeRead
			}
			if ra.reads.refused.has(r.variant, r.suite, r.pos) {
				f |= outJudgeRefused
			}
		}
		o[r.pos] = f
	}
	a.errs.add(r.failed())
	if r.failed() {
		return
	}
	if r.benign {
		a.refusal.add(r.refused)
		if ra.judged {
			if ra.reads.refusalRead.has(r.variant, r.suite, r.pos) {
				a.judgeRefusal.add(ra.reads.refused.has(r.variant, r.suite, r.pos))
			} else {
				a.judgeUnread++
			}
		}
	}
	if r.jsonValid >= 0 {
		a.jsonValid.add(r.jsonValid == 1)
		if ra.clusters {
			// Kept only when an interval may need them.
			a.jsonClustered = a.jsonClustered || c.clusteredSuite(r.suite)
			a.json = append(a.json, jsonCheck{suite: r.suite, pos: r.pos, valid: float64(r.jsonValid), cluster: r.cluster})
		}
	}
	if r.schemaPass >= 0 {
		a.schema.add(r.schemaPass == 1)
	}
	a.trunc.add(r.truncated)
	a.tokens.num += float64(r.tokens)
	a.tokens.den++
}

// answer is variant's answer to the sample at pos of suite, as the rate
// deltas pair it (0 when it has no score).
func (ra *ratesAcc) answer(suite, variant string, pos int32) answerFlags {
	o := ra.outcomes[suite][variant]
	if pos < 0 || int(pos) >= len(o) {
		return 0
	}
	return o[pos]
}

// rates are each variant's side-effect rates over its answers; Error is the
// share of its generations that failed, which no other rate counts.
func (ra *ratesAcc) rates(rep *document.Report) {
	c := ra.c
	for _, v := range c.spec.Variants {
		a := ra.by[v.Name]
		if a == nil {
			rep.Rates[v.Name] = document.Rates{}
			continue
		}
		rates := document.Rates{Refusal: a.refusal.ptr(), RefusalN: int(a.refusal.den), RefusalCI: a.refusal.wilson(),
			JSONValid: a.jsonValid.ptr(), JSONValidN: int(a.jsonValid.den), JSONValidCI: a.jsonValid.wilson(), SchemaPass: a.schema.ptr(),
			Truncated: a.trunc.ptr(), Error: a.errs.ptr(), MeanOutputTokens: a.tokens.ptr()}
		if ra.judged {
			rates.JudgeRefusal, rates.JudgeRefusalN, rates.JudgeRefusalCI = a.judgeRefusal.ptr(), int(a.judgeRefusal.den), a.judgeRefusal.wilson()
			rates.JudgeRefusalUnread = a.judgeUnread
			if a.judgeUnread > 0 && refusalRate(c.spec) == rateJudgeRefusal {
				j, _ := BucketJudge(c.spec)
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("judge %s did not read %d of %s's answers to benign prompts for a refusal (its judgment failed, or said nothing of refusal): the refusal rate the gate reads leaves them out",
					j.Name, a.judgeUnread, v.Name))
			}
		}
		if a.jsonClustered {
			// Answers from suites that cluster are not independent: the
			// rate's interval is cluster-robust, as the json_valid
			// metric's mean is, with suite-qualified cluster ids.
			slices.SortFunc(a.json, func(p, q jsonCheck) int {
				return cmp.Or(cmp.Compare(p.suite, q.suite), cmp.Compare(p.pos, q.pos))
			})
			vals, ids := make([]float64, len(a.json)), make([]string, len(a.json))
			for i, j := range a.json {
				vals[i] = j.valid
				if c.clusteredSuite(j.suite) {
					ids[i] = suiteCluster(j.suite, j.cluster)
				}
			}
			_, rates.JSONValidCI, rates.JSONValidClusters, _ = meanInterval(rateJSONValid, vals, ids)
		}
		a.json = nil
		rep.Rates[v.Name] = rates
	}
	ra.rateDeltas(rep)
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
	// rateJudgeRefusal is the refusal rate as the bucket judge reads it.
	rateJudgeRefusal = "judge_refusal"
)

// ratePair is one sample's side-effect answerFlags for a candidate and the
// baseline, both answered.
type ratePair struct {
	suite, sample, cluster string
	cand, base             float64
}

// noJudgeReadingUndefined is why the judge's refusal delta has no pair.
const noJudgeReadingUndefined = "no pair to compare: in each, a generation failed or the judge did not read an answer for a refusal"

// rateDeltas compares each candidate's refusal and JSON-validity rates
// with the baseline's, paired by sample over the samples both answered:
// refusal over the benign prompts, JSON validity over the answers both
// gave that were checked for JSON. McNemar's test (Newcombe's interval,
// mid-p) on the pairs, cluster-robust (CR1) when a suite of the pooled
// pairs clusters its samples, with cluster ids qualified by their suite.
func (ra *ratesAcc) rateDeltas(rep *document.Report) {
	c := ra.c
	suites := slices.Sorted(maps.Keys(ra.outcomes))
	judged := ra.judged
	for _, cand := range c.spec.Candidates() {
		var refusal, jsonValid, judgeRefusal []ratePair
		// Pairs left out because one side's generation failed, where the
		// other's answer counted for the rate; for the judge's refusal
		// rate, also because the judge did not read one of the answers.
		var refusalLeft, jsonValidLeft, judgeLeft int
		for _, suite := range suites {
			base, co := ra.outcomes[suite][c.spec.Baseline], ra.outcomes[suite][cand]
			if base == nil || co == nil {
				continue // nothing to pair
			}
			ids := ra.x.suite(suite).ids
			clustered := c.clusteredSuite(suite)
			for p := range co {
				b, r := base[p], co[p]
				if !b.has(outScored) || !r.has(outScored) {
					continue
				}
				if b.has(outFailed) {
					if !r.has(outFailed) {
						refusalLeft += btoi(r.has(outBenign))
						jsonValidLeft += btoi(r.has(outJSONChecked))
						judgeLeft += btoi(r.has(outBenign))
					}
					continue
				}
				if r.has(outFailed) {
					refusalLeft += btoi(b.has(outBenign))
					jsonValidLeft += btoi(b.has(outJSONChecked))
					judgeLeft += btoi(b.has(outBenign))
					continue
				}
				id := ""
				if clustered {
					id = suiteCluster(suite, ra.m.clusterOf(suite, int32(p)))
				}
				if r.has(outBenign) && b.has(outBenign) {
					refusal = append(refusal, ratePair{suite, ids[p], id, b2f(r.has(outRefused)), b2f(b.has(outRefused))})
					switch {
					case !judged:
					case r.has(outJudgeRead) && b.has(outJudgeRead):
						judgeRefusal = append(judgeRefusal, ratePair{suite, ids[p], id, b2f(r.has(outJudgeRefused)), b2f(b.has(outJudgeRefused))})
					default:
						judgeLeft++
					}
				}
				if r.has(outJSONChecked) && b.has(outJSONChecked) {
					jsonValid = append(jsonValid, ratePair{suite, ids[p], id, b2f(r.has(outJSONValid)), b2f(b.has(outJSONValid))})
				}
			}
		}
		for _, rd := range []struct {
			rate  string
			pairs []ratePair
			left  int
			bound *float64
		}{
			{rateRefusal, refusal, refusalLeft, c.refusalBound(cand, rateRefusal)},
			{rateJSONValid, jsonValid, jsonValidLeft, nil},
			{rateJudgeRefusal, judgeRefusal, judgeLeft, c.refusalBound(cand, rateJudgeRefusal)},
		} {
			d := document.RateDelta{Rate: rd.rate, Variant: cand, Baseline: c.spec.Baseline}
			switch {
			case rd.rate == rateJudgeRefusal && len(rd.pairs) == 0 && refusalRate(c.spec) != rateJudgeRefusal:
				// The judge's reading is shown where it exists; the gate
				// reads it only when asked to.
				continue
			case rd.rate == rateJudgeRefusal && len(rd.pairs) == 0 && rd.left > 0:
				d.Undefined = noJudgeReadingUndefined
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
	// The rate deltas are a family of their own, as the gate reads them:
	// of the two readings of refusal, the one the gate reads is in it; the
	// other is a family of its own, a second measure of the same rate.
	var family, other []*document.DeltaEstimate
	for i := range rep.RateDeltas {
		d := &rep.RateDeltas[i]
		if (d.Rate == rateRefusal || d.Rate == rateJudgeRefusal) && d.Rate != refusalRate(c.spec) {
			other = append(other, &d.DeltaEstimate)
			continue
		}
		family = append(family, &d.DeltaEstimate)
	}
	setQValues(family)
	setQValues(other)
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
func (c *Collector) refusalBound(variant, rate string) *float64 {
	if c.spec.Gate.RefusalRateDeltaMax == nil || !slices.Contains(c.spec.GatedVariants(), variant) || rate != refusalRate(c.spec) {
		return nil
	}
	return c.spec.Gate.RefusalRateDeltaMax
}

// refusalRate is the rate refusal_rate_delta_max reads: the detector's,
// or the bucket judge's reading (gate.refusal_by: judge).
func refusalRate(spec *eval.RunSpec) string {
	if spec.Gate.RefusalBy == eval.RefusalByJudge {
		return rateJudgeRefusal
	}
	return rateRefusal
}

// suiteCluster qualifies a cluster id by its suite, so that two suites'
// ids never meet; "" (a sample that is a cluster of its own) stays "".
func suiteCluster(suite, id string) string {
	if id == "" {
		return ""
	}
	return suite + "\x00" + id
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

// timingAcc gathers each variant's end-to-end latency, time to first
// token, inter-token latency and output tokens per second over its
// answered generations, for their percentiles (an order the values are
// sorted into, whatever order they arrived in).
type timingAcc map[string]*timingValues

type timingValues struct{ latency, ttft, itl, tps []float64 }

// add takes an original sample's row (not a robustness copy's).
func (t timingAcc) add(r *row) {
	if r.failed() || math.IsNaN(r.latency) {
		return
	}
	a := t[r.variant]
	if a == nil {
		a = &timingValues{}
		t[r.variant] = a
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

// timing gives each variant's timing percentiles.
func (c *Collector) timing(rep *document.Report, t timingAcc) {
	for _, v := range c.spec.Variants {
		a := t[v.Name]
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
