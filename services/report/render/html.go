package render

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/services/report/document"
)

//go:embed report.html.tmpl
var pageText string

// page is parsed once; html/template escapes every value by its context, which
// is what keeps model outputs, prompts and names from becoming markup.
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":              num,
	"estimate":         estimate,
	"worst":            worst,
	"optRate":          optRate,
	"percentileMillis": percentileMillis,
	"percentileRate":   percentileRate,
	"px":               px,
	"pairs":            pairs,
	"hasWorst":         hasPairwiseWorst,
}).Parse(pageText))

// htmlView adds the charts to the shared view; MetricCharts[i] are those of
// Suites[i].
type htmlView struct {
	view
	WinChart         chart
	MetricCharts     [][]chart
	CheckpointCharts []lineChart
	WindowCharts     []lineChart
	Checkpoints      table
	Agreement        table
	Stability        table
	Dimensions       table
	JudgeRefusal     table
	Reviews          []humanView
	Windows          table
	Monitors         table
	AB               []abView
	Sandbox          table
	SandboxIntro     string
	// DimensionIntro and JudgeRefusalIntro say what the judging tables show.
	DimensionIntro, JudgeRefusalIntro string
}

// table is a table both renderings show the same: Numeric marks the
// columns aligned as numbers, Marks the cells that call for attention (a
// failed or undecided check, an alarm) and Notes are the footnotes under
// it.
// humanView is a human review queue's section.
type humanView struct {
	Queue, Counts, Note, FirstShown string
	Win, Buckets, Agree             table
}

type table struct {
	Head    []string
	Numeric []bool
	Rows    [][]string
	Marks   map[cell]string
	Notes   []string
}

// cell is a table cell by row and column.
type cell struct{ Row, Col int }

// Cell marks: bold in Markdown, coloured in HTML.
const (
	markFail = "fail"
	markWarn = "warn"
)

// textColumns are the columns that hold names, not numbers.
var textColumns = map[string]bool{"variant": true, "model": true, "added": true, "gate": true,
	"judge A": true, "judge B": true, "window": true, "judge": true, "vs": true, "suite": true,
	"metric": true, "check": true, "result": true, "test": true, "perturbation": true, "rate": true,
	"statistic": true, "alarm": true, "sig": true, "sandbox": true, "network": true, "filesystem": true, "full sandbox": true}

func newTable(head []string, rows [][]string) table {
	t := table{Head: head, Rows: rows}
	for _, h := range head {
		t.Numeric = append(t.Numeric, !textColumns[h])
	}
	return t
}

// mark marks the cell at row i, column j.
func (t *table) mark(i, j int, m string) {
	if t.Marks == nil {
		t.Marks = map[cell]string{}
	}
	t.Marks[cell{i, j}] = m
}

// Class is the HTML class of the cell at row i, column j.
func (t table) Class(i, j int) string {
	var cs []string
	if j < len(t.Numeric) && t.Numeric[j] {
		cs = append(cs, "n")
	}
	if m := t.Marks[cell{i, j}]; m != "" {
		cs = append(cs, m)
	}
	return strings.Join(cs, " ")
}

// HTML writes r as a single self-contained report.html.
func HTML(w io.Writer, r *document.Report) error {
	if r == nil {
		return errNilReport
	}
	v := htmlView{view: newView(r)}
	o := newOrder(r)

	var bars []barData
	for _, p := range v.Pairwise {
		if p.WinRate != nil {
			bars = append(bars, barData{p.Judge + ": " + p.Variant, *p.WinRate, p.CI, o.variant[p.Variant]})
		}
	}
	v.WinChart = newChart("win rate against the baseline per judge and variant", bars, 0.5)
	for _, s := range v.Suites {
		// Rates share one 0–1 chart; a count such as length gets a chart of
		// its own, or it would flatten every rate next to it.
		var rates []barData
		counts := map[string][]barData{}
		var countOrder []string
		for _, m := range s.Rows {
			if m.Mean == nil {
				continue // n/a: every generation failed
			}
			b := barData{m.Metric + ": " + m.Variant, *m.Mean, m.CI, o.variant[m.Variant]}
			if onUnitScale(s.Rows, m.Metric) {
				rates = append(rates, b)
				continue
			}
			if counts[m.Metric] == nil {
				countOrder = append(countOrder, m.Metric)
			}
			counts[m.Metric] = append(counts[m.Metric], b)
		}
		var charts []chart
		if len(rates) > 0 {
			charts = append(charts, newChart("metric means on "+s.Suite, rates, math.NaN()))
		}
		for _, m := range countOrder {
			charts = append(charts, newChart(m+" on "+s.Suite, counts[m], math.NaN()))
		}
		v.MetricCharts = append(v.MetricCharts, charts)
	}

	v.CheckpointCharts = checkpointCharts(r)
	v.WindowCharts = windowCharts(r)
	v.Checkpoints = checkpointTable(r)
	v.Agreement = agreementTable(r)
	v.Stability = stabilityTable(r)
	v.Dimensions = dimensionTable(r)
	v.JudgeRefusal = judgeRefusalTable(r)
	for i := range r.Reviews {
		h := &r.Reviews[i]
		hv := humanView{Queue: h.Queue, Counts: humanCounts(h), Note: humanNote}
		hv.Win, hv.Buckets, hv.Agree = humanTables(h)
		if f := h.FirstShown; f != nil {
			hv.FirstShown = fmt.Sprintf("Reviewers picked answer A in %s of %d non-tie labels (95%% CI %s; 0.5 without position bias).", num(f.Value), f.N, interval(f.Lo, f.Hi))
		}
		v.Reviews = append(v.Reviews, hv)
	}
	v.Windows = windowTable(r)
	v.Monitors = monitorTable(r)
	v.AB = abViews(r)
	v.Sandbox, v.SandboxIntro = sandboxTable(r), sandboxIntro
	v.DimensionIntro, v.JudgeRefusalIntro = dimensionIntro, judgeRefusalIntro

	// Rendered to a buffer so a failure leaves no half-written page behind.
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return err
	}
	_, err := buf.WriteTo(w)
	return err
}

// Chart geometry, in SVG user units.
const (
	chartLabelW = 180.0
	chartPlotW  = 300.0
	chartValueW = 170.0
	chartRowH   = 20.0
	chartBarH   = 12.0
	chartTop    = 6.0
	chartAxisH  = 20.0
)

// barData is one bar: a value in [0, 1] (or a little over) and its CI.
type barData struct {
	Label string
	Value float64
	// CI is nil for an estimate with no interval: no whisker is drawn,
	// rather than one of width 0 that would read as certainty.
	CI    *[2]float64
	Color int
}

// chart is a horizontal bar chart with CI whiskers, laid out for the
// template, which only prints the coordinates.
type chart struct {
	Name                   string
	Width, Height          float64
	Bars                   []bar
	HasRef                 bool
	RefX                   float64
	PlotTop, PlotBottom    float64
	AxisX0, AxisX1         float64
	Ticks                  []tick
	TickBottom, TickLabelY float64
}

type bar struct {
	Label, Value      string
	Color             int
	LabelX, ValueX    float64
	X, W, Y, H, TextY float64
	HasCI             bool
	Lo, Hi, Mid       float64
	CapTop, CapBottom float64
}

type tick struct {
	X     float64
	Label string
}

// onUnitScale reports whether every mean and interval of metric lies in
// [0, 1].
func onUnitScale(rows []document.Metric, metric string) bool {
	for _, r := range rows {
		if r.Metric == metric && r.Mean != nil && (*r.Mean < 0 || *r.Mean > 1 || (r.CI != nil && (r.CI[0] < 0 || r.CI[1] > 1))) {
			return false
		}
	}
	return true
}

// newChart lays out bars on a scale from 0 to 1, stretched when a value or
// CI goes beyond; ref (NaN for none) draws a dashed reference line.
func newChart(name string, data []barData, ref float64) chart {
	top := 1.0
	for _, d := range data {
		top = max(top, d.Value)
		if d.CI != nil {
			top = max(top, d.CI[1])
		}
	}
	x := func(v float64) float64 {
		return chartLabelW + math.Min(math.Max(v, 0), top)/top*chartPlotW
	}
	bottom := chartTop + float64(len(data))*chartRowH
	c := chart{
		Name:       name,
		Width:      chartLabelW + chartPlotW + chartValueW,
		Height:     bottom + chartAxisH,
		PlotTop:    chartTop,
		PlotBottom: bottom,
		AxisX0:     x(0),
		AxisX1:     x(top),
		TickBottom: bottom + 4,
		TickLabelY: bottom + 15,
	}
	for i, d := range data {
		y := chartTop + float64(i)*chartRowH + (chartRowH-chartBarH)/2
		mid := y + chartBarH/2
		b := bar{
			Label: d.Label, Value: fmt.Sprintf("%.3f", d.Value), Color: d.Color % 6,
			LabelX: chartLabelW - 6, ValueX: chartLabelW + chartPlotW + 8,
			X: x(0), W: x(d.Value) - x(0), Y: y, H: chartBarH, TextY: y + chartBarH - 2,
			Mid: mid, CapTop: mid - 4, CapBottom: mid + 4,
		}
		if d.CI != nil {
			b.Value, b.HasCI, b.Lo, b.Hi = withCI(d.Value, *d.CI), true, x(d.CI[0]), x(d.CI[1])
		}
		c.Bars = append(c.Bars, b)
	}
	if !math.IsNaN(ref) {
		c.HasRef, c.RefX = true, x(ref)
	}
	for _, t := range []float64{0, top / 2, top} {
		c.Ticks = append(c.Ticks, tick{x(t), strconv.FormatFloat(t, 'g', 3, 64)})
	}
	return c
}

// px formats a coordinate; a tenth of a unit is finer than any screen.
func px(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
