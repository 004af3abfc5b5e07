package aggregate

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// checkpoints lists the variants added by checkpoint events, in the order
// they arrived, with the figures a training job follows.
func checkpoints(spec *eval.RunSpec, rep *document.Report) []document.Checkpoint {
	gj, _ := GateJudge(spec)
	judge := gj.Name
	out := []document.Checkpoint{}
	for _, v := range spec.Variants {
		if v.Checkpoint == nil {
			continue
		}
		cp := document.Checkpoint{Seq: v.Checkpoint.Seq, Variant: v.Name, Model: v.Model, Step: v.Checkpoint.Step,
			AddedAt: v.Checkpoint.At, Judge: judge, Metrics: []document.CheckpointMetric{},
			Refusal: rep.Rates[v.Name].Refusal, JSONValid: rep.Rates[v.Name].JSONValid,
			GatePassed: rep.Gate.Variants[v.Name], Verdict: rep.Gate.Verdicts[v.Name]}
		for _, p := range rep.Pairwise {
			if p.Judge == judge && p.Variant == v.Name {
				cp.WinRate, cp.CI = p.WinRate, p.CI
			}
		}
		for _, su := range rep.Suites {
			pm := su.PrimaryMetric()
			for _, m := range rep.Metrics {
				if m.Suite == su.Name && m.Metric == pm && m.Variant == v.Name {
					cp.Metrics = append(cp.Metrics, document.CheckpointMetric{Suite: su.Name, Metric: pm, Mean: m.Mean})
				}
			}
		}
		out = append(out, cp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// windows groups a continuous run's results by the time window of their
// query.
func (c *Collector) windows(rep *document.Report, rows []row) {
	ct := c.spec.Continuous
	if ct == nil {
		return
	}
	type variantAcc struct {
		errors, judgeErrors        int
		answers                    ratio // generations, failed ones as misses
		refusal, jsonValid, toks   ratio
		latency                    []float64
		wins, losses, ties, judged int
	}
	type windowAcc struct {
		samples  map[string]bool
		variants map[string]*variantAcc
	}
	byWindow := map[int64]*windowAcc{}
	get := func(at int64, variant string) (*windowAcc, *variantAcc) {
		start := ct.WindowOf(time.UnixMilli(at)).UnixMilli()
		w := byWindow[start]
		if w == nil {
			w = &windowAcc{samples: map[string]bool{}, variants: map[string]*variantAcc{}}
			byWindow[start] = w
		}
		v := w.variants[variant]
		if v == nil {
			v = &variantAcc{}
			w.variants[variant] = v
		}
		return w, v
	}
	for _, r := range rows {
		if r.at == 0 {
			continue
		}
		w, v := get(r.at, r.variant)
		w.samples[r.suite+"\x00"+r.sample] = true
		v.answers.add(!r.failed())
		if r.failed() {
			v.errors++
			continue
		}
		if r.benign {
			v.refusal.add(r.refused)
		}
		if r.jsonValid >= 0 {
			v.jsonValid.add(r.jsonValid == 1)
		}
		v.toks.num += float64(r.tokens)
		v.toks.den++
		if !math.IsNaN(r.latency) {
			v.latency = append(v.latency, r.latency)
		}
	}
	if j, ok := GateJudge(c.spec); ok {
		id := j.ID()
		for _, jr := range c.judgmentRows() {
			if jr.at == 0 || jr.judgeID != id || jr.genFailed {
				continue
			}
			_, v := get(jr.at, jr.cand)
			if jr.err != "" {
				v.judgeErrors++
				continue
			}
			v.judged++
			switch jr.winner {
			case string(eval.WinCandidate):
				v.wins++
			case string(eval.WinBaseline):
				v.losses++
			default:
				v.ties++
			}
		}
	}
	starts := make([]int64, 0, len(byWindow))
	for s := range byWindow {
		starts = append(starts, s)
	}
	slices.Sort(starts)
	for _, s := range starts {
		w := byWindow[s]
		start := time.UnixMilli(s).UTC()
		dw := document.Window{Start: start, End: start.Add(ct.Window.D()), Samples: len(w.samples), Variants: []document.WindowVariant{}}
		for _, v := range c.spec.Variants {
			a := w.variants[v.Name]
			if a == nil {
				continue
			}
			wv := document.WindowVariant{Variant: v.Name, Judged: a.judged, Errors: a.errors, JudgeErrors: a.judgeErrors,
				Refusal: a.refusal.ptr(), JSONValid: a.jsonValid.ptr(), MeanOutputTokens: a.toks.ptr()}
			if a.answers.den > 0 {
				rate := 1 - a.answers.num/a.answers.den
				wv.ErrorRate = &rate
			}
			if a.judged > 0 {
				wr := winRate(a.wins, a.ties, a.judged)
				ci := stats.Wilson(wr, a.judged)
				wv.WinRate, wv.CI = &wr, &ci
			}
			if len(a.latency) > 0 {
				slices.Sort(a.latency)
				p50, p95 := stats.Percentile(a.latency, 50), stats.Percentile(a.latency, 95)
				wv.LatencyP50, wv.LatencyP95 = &p50, &p95
			}
			dw.Variants = append(dw.Variants, wv)
		}
		rep.Windows = append(rep.Windows, dw)
	}
}
