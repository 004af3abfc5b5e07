package aggregate

import (
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
	type acc struct{ refusal, jsonValid, schema, trunc, errs, tokens ratio }
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
		rep.Rates[v.Name] = document.Rates{Refusal: a.refusal.ptr(), JSONValid: a.jsonValid.ptr(), SchemaPass: a.schema.ptr(),
			Truncated: a.trunc.ptr(), Error: a.errs.ptr(), MeanOutputTokens: a.tokens.ptr()}
	}
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
