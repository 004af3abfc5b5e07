package render

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// The series sections: a checkpoint run's trend, a replay's judge agreement
// and a continuous run's windows. They show only when the report has them,
// so an ordinary run's report does not grow empty sections.

// checkpointTable is the checkpoint series as rows, with one column per
// suite's primary metric (the union over checkpoints, in first-seen order).
func checkpointTable(r *document.Report) table {
	js := measuresJSON(r)
	var head []string
	var rows [][]string
	type col struct{ suite, metric string }
	var cols []col
	seen := map[col]bool{}
	for _, c := range r.Checkpoints {
		for _, m := range c.Metrics {
			k := col{m.Suite, m.Metric}
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	head = []string{"#", "variant", "step", "model", "added", "win rate [95% CI]"}
	for _, c := range cols {
		head = append(head, c.suite+":"+c.metric)
	}
	head = append(head, "refusal", "json_valid", "gate")
	for _, c := range r.Checkpoints {
		row := []string{itoa(c.Seq), c.Variant, step(c.Step), c.Model, minute(c.AddedAt), estimate(c.WinRate, c.CI)}
		for _, k := range cols {
			cell := none
			for _, m := range c.Metrics {
				if m.Suite == k.suite && m.Metric == k.metric {
					cell = optRate(m.Mean)
				}
			}
			row = append(row, cell)
		}
		verdict := "pass"
		switch {
		case c.Verdict == document.VerdictError:
			verdict = "ERROR"
		case c.Verdict == document.VerdictInconclusive:
			verdict = "inconclusive"
		case !c.GatePassed:
			verdict = "FAIL"
		}
		row = append(row, optRate(c.Refusal), applying(js, c.JSONValid, optRate(c.JSONValid)), verdict)
		rows = append(rows, row)
	}
	t := newTable(head, rows)
	for i, row := range rows {
		switch row[len(row)-1] {
		case "FAIL", "ERROR":
			t.mark(i, len(row)-1, markFail)
		case "inconclusive":
			t.mark(i, len(row)-1, markWarn)
		}
	}
	return t
}

func agreementTable(r *document.Report) table {
	var head []string
	var rows [][]string
	head = []string{"variant", "judge A", "judge B", "n", "agreement", "Cohen's kappa [95% CI]", "weighted kappa [95% CI]"}
	for _, a := range r.Agreement {
		rows = append(rows, []string{a.Variant, a.JudgeA, a.JudgeB, itoa(a.N), num(a.Percent),
			estimate(a.Kappa, a.KappaCI), estimate(a.WeightedKappa, a.WeightedKappaCI)})
	}
	return newTable(head, rows)
}

// stabilityTable has a row per judge and candidate asked again.
func stabilityTable(r *document.Report) table {
	head := []string{"judge", "variant", "pairs asked again", "repeats", "failed", "verdicts compared", "identical [95% CI]", "Cohen's kappa [95% CI]", "pair verdict identical"}
	var rows [][]string
	for _, st := range r.Stability {
		ident, pair := "n/a", "n/a"
		if st.Rounds > 0 {
			ci := st.IdenticalCI
			ident = estimate(&st.Identical, &ci)
		}
		if st.Repeats > 0 {
			pair = num(st.PairIdentical)
		}
		rows = append(rows, []string{st.Judge, st.Variant, itoa(st.Pairs), itoa(st.Repeats), itoa(st.Failed), itoa(st.Rounds), ident, estimate(st.Kappa, st.KappaCI), pair})
	}
	return newTable(head, rows)
}

// dimensionTable has a row per judge, candidate and dimension.
func dimensionTable(r *document.Report) table {
	head := []string{"judge", "variant", "dimension", "pairs", "candidate", "baseline", "Δ [95% CI]"}
	var rows [][]string
	for _, d := range r.Dimensions {
		rows = append(rows, []string{d.Judge, d.Variant, d.Dimension, itoa(d.N), num(d.CandidateMean), num(d.BaselineMean), estimate(&d.Delta, d.CI)})
	}
	return newTable(head, rows)
}

// judgeRefusalTable has a row per judge and variant whose refusals the
// judge read.
func judgeRefusalTable(r *document.Report) table {
	head := []string{"judge", "variant", "answers", "both", "detector only", "judge only", "neither", "detector rate", "judge rate", "agreement", "Cohen's kappa [95% CI]"}
	var rows [][]string
	for _, j := range r.JudgeRefusal {
		rows = append(rows, []string{j.Judge, j.Variant, itoa(j.N), itoa(j.Both), itoa(j.DetectorOnly), itoa(j.JudgeOnly), itoa(j.Neither),
			num(j.DetectorRate), num(j.JudgeRate), num(j.Agreement), estimate(j.Kappa, j.KappaCI)})
	}
	return newTable(head, rows)
}

// Intros of the judging tables, in both renderings.
const (
	dimensionIntro    = "Each judge's scores, 1–10 per dimension, for the candidate's answer and the baseline's to the same sample (the mean over its rounds), and the paired difference with its t-interval (cluster-robust on suites that cluster their samples). Pairs the judge failed on are left out."
	judgeRefusalIntro = "Answers the refusal detector (its patterns and model) calls refusals against those the judge does (most of its rounds saying so), answer by answer: where they differ, one of them is wrong, and reading a few of those answers says which; the gate reads the detector."
)

// windowTable has a row per window and variant, newest window first: the
// latest traffic is what an on-call reader looks for.
func windowTable(r *document.Report) table {
	js := measuresJSON(r)
	var head []string
	var rows [][]string
	head = []string{"window", "samples", "variant", "win rate [95% CI]", "judged", "refusal", "refusal delta [95% CI]", "json_valid",
		"mean output tokens", "latency p50", "latency p95", "errors"}
	var fn footnotes
	for i := len(r.Windows) - 1; i >= 0; i-- {
		w := r.Windows[i]
		for _, v := range w.Variants {
			win := estimate(v.WinRate, v.CI)
			if v.Variant == r.Baseline {
				win = "baseline"
			}
			rows = append(rows, []string{windowLabel(w), itoa(w.Samples), v.Variant, win, itoa(v.Judged),
				optRate(v.Refusal), windowDelta(v.RefusalDelta, &fn), applying(js, v.JSONValid, optRate(v.JSONValid)), tokens(v.MeanOutputTokens),
				optMillis(v.LatencyP50), optMillis(v.LatencyP95), itoa(v.Errors)})
		}
	}
	return withNotes(newTable(head, rows), &fn, false)
}

// windowDelta is a window's paired difference: with its interval when the
// test is defined, with why not when it is not, none for the baseline.
func windowDelta(e *document.DeltaEstimate, fn *footnotes) string {
	switch {
	case e == nil:
		return none
	case e.PValue == nil && e.Undefined != "":
		return fmt.Sprintf("%+.3f [no interval%s]", e.Delta, fn.mark(e.Undefined))
	}
	return signedCI(e.Delta, e.CI)
}

// monitorTable is a continuous run's always-valid tests, an alarm marked.
func monitorTable(r *document.Report) table {
	var rows [][]string
	for _, m := range r.Monitors {
		alarm := "no"
		if m.Alarm {
			alarm = "ALARM"
		}
		rows = append(rows, []string{m.Variant, m.Statistic, itoa(m.Windows), itoa(m.N), fmt.Sprintf("%+.3f", m.Mean),
			pvalue(&m.PValue), alarm})
	}
	t := newTable([]string{"variant", "statistic", "windows", "n", "mean", "always-valid p", "alarm"}, rows)
	for i, m := range r.Monitors {
		if m.Alarm {
			t.mark(i, 6, markFail)
		}
	}
	return t
}

// windowLabel is a window's span in UTC: the end's date is left out when it
// is the start's.
func windowLabel(w document.Window) string {
	start, end := w.Start.UTC(), w.End.UTC()
	s := start.Format("2006-01-02 15:04")
	if end.Format("2006-01-02") == start.Format("2006-01-02") {
		return s + "–" + end.Format("15:04") + " UTC"
	}
	return s + " – " + end.Format("2006-01-02 15:04") + " UTC"
}

// shortWindow labels a window on a chart's axis.
func shortWindow(w document.Window, all []document.Window) string {
	start := w.Start.UTC()
	first, last := all[0].Start.UTC(), all[len(all)-1].Start.UTC()
	if first.Format("2006-01-02") == last.Format("2006-01-02") {
		return start.Format("15:04")
	}
	if w.End.Sub(w.Start) >= 24*time.Hour {
		return start.Format("01-02")
	}
	return start.Format("01-02 15:04")
}

// minute formats a time to the minute, in UTC.
func minute(t time.Time) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func step(s int64) string {
	if s == 0 {
		return none
	}
	return strconv.FormatInt(s, 10)
}

func optMillis(p *float64) string {
	if p == nil {
		return na
	}
	return millis(*p)
}

// latestWindow is a one-line digest of the newest window for the terminal.
func latestWindow(r *document.Report) string {
	if len(r.Windows) == 0 {
		return ""
	}
	w := r.Windows[len(r.Windows)-1]
	var parts []string
	for _, v := range w.Variants {
		p := v.Variant
		if v.WinRate != nil {
			p += " win rate " + num(*v.WinRate)
		}
		p += " refusal " + optRate(v.Refusal)
		parts = append(parts, p)
	}
	return fmt.Sprintf("latest window %s (%d samples): %s\n", windowLabel(w), w.Samples, strings.Join(parts, "; "))
}

// Line chart geometry, in SVG user units.
const (
	lineLeft    = 44.0
	linePlotW   = 440.0
	lineLegendW = 220.0
	lineTop     = 10.0
	linePlotH   = 160.0
	lineAxisH   = 28.0
	lineMaxTick = 12 // x labels shown at most; the rest keep their points
)

// seriesData is one line: a value per x position (nil where there is none)
// and optional intervals, drawn as a band.
type seriesData struct {
	Label  string
	Color  int
	Values []*float64
	CIs    []*[2]float64
}

// lineChart is a multi-series line chart over categories (checkpoints,
// windows), laid out for the template.
type lineChart struct {
	Name                     string
	Width, Height            float64
	PlotLeft, PlotRight      float64
	PlotTop, PlotBottom      float64
	XTicks                   []tick
	YTicks                   []ytick
	HasRef                   bool
	RefY                     float64
	Series                   []lineSeries
	LegendX, TickLabelY      float64
	TickBottom, YLabelX      float64
	LegendSwatchX, LegendTxX float64
}

type ytick struct {
	Y     float64
	Label string
}

type lineSeries struct {
	Label   string
	Color   int
	Path    string
	Band    string
	Points  []linePoint
	LegendY float64
}

// linePoint is a point with, when it has an interval, a whisker from Lo to
// Hi (a band needs two neighbours; a whisker shows a lone point's too).
type linePoint struct {
	X, Y   float64
	Title  string
	HasCI  bool
	Lo, Hi float64
}

// newLineChart lays out series over xLabels on a 0–1 scale (stretched when
// a value goes beyond); ref (NaN for none) draws a dashed line. A missing
// value breaks its line rather than drawing a false segment.
func newLineChart(name string, xLabels []string, series []seriesData, ref float64) lineChart {
	top := 1.0
	for _, s := range series {
		for i, v := range s.Values {
			if v != nil {
				top = max(top, *v)
			}
			if i < len(s.CIs) && s.CIs[i] != nil {
				top = max(top, s.CIs[i][1])
			}
		}
	}
	n := len(xLabels)
	x := func(i int) float64 {
		if n <= 1 {
			return lineLeft + linePlotW/2
		}
		return lineLeft + float64(i)/float64(n-1)*linePlotW
	}
	bottom := lineTop + linePlotH
	y := func(v float64) float64 { return bottom - math.Min(math.Max(v, 0), top)/top*linePlotH }
	c := lineChart{
		Name:       name,
		PlotLeft:   lineLeft,
		PlotRight:  lineLeft + linePlotW,
		PlotTop:    lineTop,
		PlotBottom: bottom,
		TickBottom: bottom + 4,
		TickLabelY: bottom + 16,
		YLabelX:    lineLeft - 6,
		LegendX:    lineLeft + linePlotW + 16,
	}
	c.LegendSwatchX, c.LegendTxX = c.LegendX, c.LegendX+16
	c.Width = c.LegendX + lineLegendW
	c.Height = max(bottom+lineAxisH, lineTop+float64(len(series))*16+8)
	every := (n + lineMaxTick - 1) / lineMaxTick
	for i, l := range xLabels {
		if every <= 1 || i%every == 0 || i == n-1 {
			c.XTicks = append(c.XTicks, tick{x(i), l})
		}
	}
	for _, t := range []float64{0, top / 4, top / 2, 3 * top / 4, top} {
		c.YTicks = append(c.YTicks, ytick{y(t), strconv.FormatFloat(t, 'g', 3, 64)})
	}
	if !math.IsNaN(ref) {
		c.HasRef, c.RefY = true, y(ref)
	}
	for si, s := range series {
		ls := lineSeries{Label: s.Label, Color: s.Color % 6, LegendY: lineTop + float64(si)*16 + 10}
		var path, band strings.Builder
		var upper, lower []string
		flushBand := func() {
			if len(upper) > 0 {
				band.WriteString("M" + strings.Join(upper, " L"))
				for j := len(lower) - 1; j >= 0; j-- {
					band.WriteString(" L" + lower[j])
				}
				band.WriteString(" Z ")
			}
			upper, lower = nil, nil
		}
		pen := false
		for i, v := range s.Values {
			if i >= n {
				break
			}
			if v == nil {
				pen = false
				flushBand()
				continue
			}
			pt := px(x(i)) + " " + px(y(*v))
			if pen {
				path.WriteString(" L" + pt)
			} else {
				path.WriteString(" M" + pt)
			}
			pen = true
			p := linePoint{X: x(i), Y: y(*v), Title: xLabels[i] + " · " + s.Label + ": " + num(*v)}
			if i < len(s.CIs) && s.CIs[i] != nil {
				ci := s.CIs[i]
				p.Title = xLabels[i] + " · " + s.Label + ": " + withCI(*v, *ci)
				p.HasCI, p.Lo, p.Hi = true, y(ci[0]), y(ci[1])
				upper = append(upper, px(x(i))+" "+px(y(ci[1])))
				lower = append(lower, px(x(i))+" "+px(y(ci[0])))
			} else {
				flushBand()
			}
			ls.Points = append(ls.Points, p)
		}
		flushBand()
		ls.Path, ls.Band = strings.TrimSpace(path.String()), strings.TrimSpace(band.String())
		c.Series = append(c.Series, ls)
	}
	return c
}

// checkpointCharts are the trend of the checkpoint series: the win rate
// against the baseline, and the suites' primary metrics with the side
// effect rates (those on a 0–1 scale).
func checkpointCharts(r *document.Report) []lineChart {
	if len(r.Checkpoints) == 0 {
		return nil
	}
	labels := make([]string, len(r.Checkpoints))
	win := seriesData{Label: "win rate", Color: 0}
	for i, c := range r.Checkpoints {
		labels[i] = "#" + itoa(c.Seq)
		if c.Step != 0 {
			labels[i] = "step " + strconv.FormatInt(c.Step, 10)
		}
		win.Values = append(win.Values, c.WinRate)
		win.CIs = append(win.CIs, c.CI)
	}
	charts := []lineChart{newLineChart("win rate against the baseline by checkpoint", labels, []seriesData{win}, 0.5)}

	var series []seriesData
	index := map[string]int{}
	at := func(label string) *seriesData {
		k, ok := index[label]
		if !ok {
			k = len(series)
			index[label] = k
			series = append(series, seriesData{Label: label, Color: k, Values: make([]*float64, len(r.Checkpoints))})
		}
		return &series[k]
	}
	for i, c := range r.Checkpoints {
		for _, m := range c.Metrics {
			if m.Mean != nil && *m.Mean >= 0 && *m.Mean <= 1 {
				v := *m.Mean
				at(m.Suite + ":" + m.Metric).Values[i] = &v
			}
		}
	}
	for i, c := range r.Checkpoints {
		if c.Refusal != nil {
			at("refusal").Values[i] = c.Refusal
		}
		if c.JSONValid != nil {
			at("json_valid").Values[i] = c.JSONValid
		}
	}
	if len(series) > 0 {
		charts = append(charts, newLineChart("metrics by checkpoint", labels, series, math.NaN()))
	}
	return charts
}

// windowCharts are a continuous run's trends: each candidate's win rate,
// and each variant's refusal and JSON-valid rates, window by window.
func windowCharts(r *document.Report) []lineChart {
	if len(r.Windows) == 0 {
		return nil
	}
	o := newOrder(r)
	labels := make([]string, len(r.Windows))
	for i, w := range r.Windows {
		labels[i] = shortWindow(w, r.Windows)
	}
	// Variants in report order, then any others by name.
	var variants []string
	seen := map[string]bool{}
	for _, w := range r.Windows {
		for _, v := range w.Variants {
			if !seen[v.Variant] {
				seen[v.Variant] = true
				variants = append(variants, v.Variant)
			}
		}
	}
	sortByRank(variants, o.variant)
	pick := func(name string, skipBaseline bool, get func(document.WindowVariant) (*float64, *[2]float64)) *lineChart {
		var series []seriesData
		for _, name := range variants {
			if skipBaseline && name == r.Baseline {
				continue
			}
			s := seriesData{Label: name, Color: o.variant[name], Values: make([]*float64, len(r.Windows)), CIs: make([]*[2]float64, len(r.Windows))}
			has := false
			for i, w := range r.Windows {
				for _, v := range w.Variants {
					if v.Variant == name {
						s.Values[i], s.CIs[i] = get(v)
						has = has || s.Values[i] != nil
					}
				}
			}
			if has {
				series = append(series, s)
			}
		}
		if len(series) == 0 {
			return nil
		}
		ref := math.NaN()
		if skipBaseline {
			ref = 0.5
		}
		c := newLineChart(name, labels, series, ref)
		return &c
	}
	var charts []lineChart
	for _, c := range []*lineChart{
		pick("win rate against the baseline by window", true, func(v document.WindowVariant) (*float64, *[2]float64) { return v.WinRate, v.CI }),
		pick("refusal rate by window", false, func(v document.WindowVariant) (*float64, *[2]float64) { return v.Refusal, nil }),
		pick("JSON-valid rate by window", false, func(v document.WindowVariant) (*float64, *[2]float64) { return v.JSONValid, nil }),
	} {
		if c != nil {
			charts = append(charts, *c)
		}
	}
	return charts
}

func sortByRank(names []string, rank map[string]int) {
	slices.SortStableFunc(names, func(a, b string) int { return byRank(rank, a, b) })
}

// abView is a live experiment's tables: each treatment's decision and
// comparisons, each arm's units and values.
type abView struct {
	Name      string
	Summary   string
	Arms      table
	Compare   table
	Decisions table
	Shadow    table
	// Quantiles are the arms' per-turn latency quantiles.
	Quantiles table
}

// spillErrors names the events a failure of the report's spill kept out,
// when there are any.
func spillErrors(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d NOT APPLIED: the report could not read a quiet unit back from its spill file", n)
}

// abViews are the report's live experiments, as tables.
func abViews(r *document.Report) []abView {
	var out []abView
	for _, x := range r.AB {
		v := abView{Name: x.Name}
		e := x.Events
		v.Summary = fmt.Sprintf("%d looks, the last at the end of %s. Events: %d read, %d applied, %d duplicates, %d late (not applied), %d out of order, %d waiting for their unit's exposure, %d orphans (a unit never exposed), %d naming no arm of the experiment, %d naming another arm than their unit's, %d unreadable%s. Sample ratio of the units exposed under the current weights (%v against %v): ",
			x.Looks, x.LastLook.UTC().Format("2006-01-02 15:04 UTC"), e.Events, e.Applied, e.Duplicates, e.Late, e.OutOfOrder, e.Pending, e.Orphans, e.UnknownArm, e.ArmMismatch, e.Unreadable, spillErrors(e.SpillErrors), x.SRM.Units, x.SRM.Weights)
		if x.SRM.Checked {
			v.Summary += fmt.Sprintf("chi-square %.2f, p %s.", x.SRM.Chi2, pvalue(&x.SRM.P))
		} else {
			v.Summary += "not checked yet."
		}
		metrics := map[string]bool{}
		for _, c := range x.Comparisons {
			metrics[c.Metric] = true
		}
		var names []string
		for _, m := range eval.ABMetrics {
			if metrics[m.Name] {
				names = append(names, m.Name)
			}
		}
		var rows [][]string
		for _, a := range x.Arms {
			row := []string{a.Name, a.Variant, strconv.FormatInt(a.Units, 10)}
			for _, m := range names {
				val := a.Metrics[m]
				if val.Undefined != "" {
					row = append(row, "—")
					continue
				}
				row = append(row, num(val.Value)+" "+interval(val.CI[0], val.CI[1]))
			}
			rows = append(rows, row)
		}
		v.Arms = newTable(append([]string{"arm", "variant", "units"}, names...), rows)
		rows = nil
		for _, a := range x.Arms {
			for _, m := range slices.Sorted(maps.Keys(a.Quantiles)) {
				q := a.Quantiles[m]
				window := "—"
				if w := q.Window; w != nil && w.Turns > 0 {
					window = fmt.Sprintf("%s / %s of %d", num(w.P50), num(w.P95), w.Turns)
				}
				rows = append(rows, []string{a.Name, m, strconv.FormatInt(q.Turns, 10), num(q.P50), num(q.P90), num(q.P95), num(q.P99), window})
			}
		}
		v.Quantiles = newTable([]string{"arm", "per turn", "turns", "p50", "p90", "p95", "p99", "last window p50 / p95"}, rows)
		rows = nil
		for _, c := range x.Comparisons {
			if c.Undefined != "" {
				rows = append(rows, []string{c.Arm, c.Metric, c.Role, marginText(c), "—", "—", "—", "—", c.Undefined})
				continue
			}
			note := ""
			if c.CUPED {
				note = fmt.Sprintf("CUPED: variance −%.0f%%", 100*c.VarianceReduction)
			}
			rows = append(rows, []string{c.Arm, c.Metric, c.Role, marginText(c), fmt.Sprintf("%+.4f", c.Delta), interval(c.CI[0], c.CI[1]),
				interval(c.AlwaysValid[0], c.AlwaysValid[1]), pvalue(&c.P), note})
		}
		v.Compare = newTable([]string{"arm", "metric", "role", "margin", "Δ vs control", "95% CI (one look)", "always-valid CI", "always-valid p", "note"}, rows)
		rows = nil
		for _, d := range x.Decisions {
			rows = append(rows, []string{d.Arm, d.Decision, strings.Join(d.Reasons, "; ")})
		}
		v.Decisions = newTable([]string{"arm", "decision", "why"}, rows)
		rows = nil
		for _, sh := range x.Shadow {
			refusal := "—"
			if sh.Refusal != nil {
				refusal = fmt.Sprintf("%s of %d", num(*sh.Refusal), sh.RefusalN)
				if sh.RefusalCI != nil {
					refusal += " " + interval(sh.RefusalCI[0], sh.RefusalCI[1])
				}
			}
			opt := func(p *float64) string {
				if p == nil {
					return "—"
				}
				return num(*p)
			}
			rows = append(rows, []string{sh.Arm, sh.Variant, refusal, opt(sh.LiveRefusal), opt(sh.JSONValid), opt(sh.MeanOutputTokens), opt(sh.LiveTokens)})
		}
		v.Shadow = newTable([]string{"arm", "variant", "shadow refusal", "live refusal", "shadow JSON valid", "shadow tokens an answer", "live tokens a turn"}, rows)
		for i, d := range x.Decisions {
			switch d.Decision {
			case "rollback":
				v.Decisions.mark(i, 1, markFail)
			case "hold":
				if d.Blocked {
					v.Decisions.mark(i, 1, markWarn)
				}
			}
		}
		out = append(out, v)
	}
	return out
}

func marginText(c document.ABComparison) string {
	if c.Role != "guardrail" {
		return "—"
	}
	return strconv.FormatFloat(c.Margin, 'g', -1, 64)
}
