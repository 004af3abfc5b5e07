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

// Always-valid monitors (see [Collector.monitors]): the mixture's spread
// tau² is the square of the shift an operator wants found quickly, in the
// observations' units. For the win rate (per-pair score − ½) that is 5
// points of win rate, the smallest move a release decision turns on; for
// the refusal delta (candidate refused − baseline refused, per query) 2
// points, the threshold of the alert the monitor replaces. A larger shift
// is found sooner still; a much smaller one takes longer than with a
// smaller tau², which is the price of watching every window.
const (
	monitorAlpha       = 0.05
	monitorTau2WinRate = 0.05 * 0.05
	monitorTau2Refusal = 0.02 * 0.02
)

// Monitored statistics.
const (
	monitorWinRate      = "win_rate"
	monitorRefusalDelta = "refusal_delta"
)

// monitorStatistics are the statistics watched for each candidate, with
// their mixture's spread: the report's monitors and the folded windows'
// running state go through them in this order.
var monitorStatistics = []struct {
	statistic string
	tau2      float64
}{{monitorWinRate, monitorTau2WinRate}, {monitorRefusalDelta, monitorTau2Refusal}}

// windows groups a continuous run's results by the time window of their
// query, and watches each candidate's win rate and refusal delta over the
// windows with always-valid monitors.
func (c *Collector) windows(rep *document.Report, rows []row) {
	if c.spec.Continuous == nil {
		return
	}
	dws, looks := c.windowFigures(rows, c.judgmentRows)
	// Folded windows are older than every window still held.
	rep.Windows = append(append(rep.Windows, c.fold.windows...), dws...)
	c.monitors(rep, looks)
}

// windowFigures are the figures of the windows of rows and of the
// judgments judged returns, oldest first, and each candidate's
// observations for the monitors in each of them, by (candidate,
// statistic).
func (c *Collector) windowFigures(rows []row, judged func() []judgmentRow) ([]document.Window, map[[2]string][][]float64) {
	ct := c.spec.Continuous
	var out []document.Window
	type variantAcc struct {
		errors, judgeErrors      int
		answers                  ratio // generations, failed ones as misses
		refusal, jsonValid, toks ratio
		latency                  []float64
		verdicts                 []verdict // the gate judge's
		clustered                bool
		refusalPairs             []ratePair // with the baseline, over benign queries
	}
	type windowAcc struct {
		samples  map[string]bool
		variants map[string]*variantAcc
		// benign holds the baseline's answers to benign queries.
		benign map[[2]string]row
	}
	byWindow := map[int64]*windowAcc{}
	window := func(at int64) *windowAcc {
		start := ct.WindowOf(time.UnixMilli(at)).UnixMilli()
		w := byWindow[start]
		if w == nil {
			w = &windowAcc{samples: map[string]bool{}, variants: map[string]*variantAcc{}, benign: map[[2]string]row{}}
			byWindow[start] = w
		}
		return w
	}
	get := func(at int64, variant string) (*windowAcc, *variantAcc) {
		w := window(at)
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
			if r.variant == c.spec.Baseline {
				w.benign[[2]string{r.suite, r.sample}] = r
			}
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
	// A query's time is the same for every variant: the baseline's answer
	// to a candidate's query is in the candidate's window.
	for _, r := range rows {
		if r.at == 0 || r.variant == c.spec.Baseline || r.failed() || !r.benign {
			continue
		}
		w, v := get(r.at, r.variant)
		b, ok := w.benign[[2]string{r.suite, r.sample}]
		if !ok {
			continue
		}
		id := ""
		if c.clusteredSuite(r.suite) {
			id = suiteCluster(r.suite, r.cluster)
		}
		v.refusalPairs = append(v.refusalPairs, ratePair{r.suite, r.sample, id, b2f(r.refused), b2f(b.refused)})
	}
	if j, ok := GateJudge(c.spec); ok {
		id := j.ID()
		for _, jr := range judged() {
			if jr.at == 0 || jr.judgeID != id || jr.genFailed {
				continue
			}
			_, v := get(jr.at, jr.cand)
			if jr.err != "" {
				v.judgeErrors++
				continue
			}
			vd := verdict{suite: jr.suite, score: 0.5}
			switch jr.winner {
			case string(eval.WinCandidate):
				vd.score = 1
			case string(eval.WinBaseline):
				vd.score = 0
			}
			if c.clusteredSuite(jr.suite) {
				v.clustered = true
				vd.cluster = suiteCluster(jr.suite, jr.cluster)
			}
			v.verdicts = append(v.verdicts, vd)
		}
	}
	starts := make([]int64, 0, len(byWindow))
	for s := range byWindow {
		starts = append(starts, s)
	}
	slices.Sort(starts)
	looks := map[[2]string][][]float64{} // (candidate, statistic) -> each window's observations
	for _, s := range starts {
		w := byWindow[s]
		start := time.UnixMilli(s).UTC()
		dw := document.Window{Start: start, End: start.Add(ct.Window.D()), Samples: len(w.samples), Variants: []document.WindowVariant{}}
		for _, v := range c.spec.Variants {
			a := w.variants[v.Name]
			if v.Name != c.spec.Baseline {
				var scores, refusals []float64
				if a != nil {
					var ids []string
					for _, vd := range a.verdicts {
						scores, ids = append(scores, vd.score-0.5), append(ids, vd.cluster)
					}
					scores = clusterMeans(scores, ids)
					ids = ids[:0]
					for _, p := range a.refusalPairs {
						refusals, ids = append(refusals, p.cand-p.base), append(ids, p.cluster)
					}
					refusals = clusterMeans(refusals, ids)
				}
				looks[[2]string{v.Name, monitorWinRate}] = append(looks[[2]string{v.Name, monitorWinRate}], scores)
				looks[[2]string{v.Name, monitorRefusalDelta}] = append(looks[[2]string{v.Name, monitorRefusalDelta}], refusals)
			}
			if a == nil {
				continue
			}
			wv := document.WindowVariant{Variant: v.Name, Judged: len(a.verdicts), Errors: a.errors, JudgeErrors: a.judgeErrors,
				Refusal: a.refusal.ptr(), JSONValid: a.jsonValid.ptr(), MeanOutputTokens: a.toks.ptr()}
			if a.answers.den > 0 {
				rate := 1 - a.answers.num/a.answers.den
				wv.ErrorRate = &rate
			}
			if len(a.verdicts) > 0 {
				r := winRateOf(a.verdicts, a.clustered)
				rate := r.Rate
				wv.WinRate = &rate
				if r.Undefined == "" {
					ci := r.CI
					wv.CI = &ci
				}
			}
			if len(a.refusalPairs) > 0 {
				d := compareRates(a.refusalPairs, c.anyClustered(a.refusalPairs))
				markUnderpowered(&d, c.refusalBound(v.Name, refusalRate(c.spec)))
				wv.RefusalDelta = &d
			}
			if len(a.latency) > 0 {
				slices.Sort(a.latency)
				p50, p95 := stats.Percentile(a.latency, 50), stats.Percentile(a.latency, 95)
				wv.LatencyP50, wv.LatencyP95 = &p50, &p95
			}
			dw.Variants = append(dw.Variants, wv)
		}
		out = append(out, dw)
	}
	return out, looks
}

// monitors watches each candidate's win rate against ½ and refusal delta
// against 0 over the windows so far, oldest first, with always-valid
// p-values: an alert on them fires falsely at most 5% of the time however
// many windows it has watched, where one on a window's own estimate fires
// more often the longer it runs.
func (c *Collector) monitors(rep *document.Report, looks map[[2]string][][]float64) {
	for _, cand := range c.spec.Candidates() {
		for _, m := range monitorStatistics {
			key := [2]string{cand, m.statistic}
			ls := looks[key]
			windows := c.fold.looked + len(ls)
			if windows == 0 {
				continue
			}
			// Mixture SPRT (Johari, Koomen, Pekelis & Walsh 2017), H0: mean
			// 0, carried on from the folded windows' looks.
			mix := c.fold.monitors[key]
			last := mix.Look(nil, 0, m.tau2, monitorAlpha)
			for _, l := range ls {
				last = mix.Look(l, 0, m.tau2, monitorAlpha)
			}
			if last.N == 0 {
				continue // nothing observed: no mean, no test
			}
			rep.Monitors = append(rep.Monitors, document.Monitor{Variant: cand, Statistic: m.statistic, Windows: windows,
				N: last.N, Mean: last.Mean, PValue: last.P, Alarm: last.Alarm})
		}
	}
}

// clusterMeans turns a window's observations into one per cluster (the
// mean of its observations), in the order clusters first appear; an
// observation with no cluster ("") stays one of its own. The monitors'
// mixture SPRT assumes independent observations: the turns of one session
// are not, and fed one by one they raised false alarms in about 10% of
// null streams where sessions differ (win probability ½ ± 0.3), against
// the 5% promised. A session that spans two windows gives one mean to
// each.
func clusterMeans(obs []float64, ids []string) []float64 {
	out := make([]float64, 0, len(obs))
	at := map[string]int{} // cluster -> its place in out
	count := map[string]int{}
	for i, x := range obs {
		id := ids[i]
		if id == "" {
			out = append(out, x)
			continue
		}
		j, seen := at[id]
		if !seen {
			at[id] = len(out)
			out = append(out, 0)
			j = len(out) - 1
		}
		count[id]++
		out[j] += (x - out[j]) / float64(count[id]) // running mean
	}
	return out
}
