package render

import (
	"bytes"
	"html"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/golden"
	"github.com/assay-eval/assay/services/report/document"
)

type renderer func(io.Writer, *document.Report) error

var renderers = []struct {
	name   string
	render renderer
	golden string
}{
	{"markdown", Markdown, "report.md"},
	{"html", HTML, "report.html"},
	{"summary", Summary, "summary.txt"},
}

func render(t *testing.T, f renderer, r *document.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b, r); err != nil {
		t.Fatalf("render: %v", err)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, tc := range renderers {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.render, fixture())
			golden.Check(t, filepath.Join("testdata", tc.golden), []byte(got))
			// The same report must render to the same bytes every time.
			if again := render(t, tc.render, fixture()); again != got {
				t.Errorf("%s is not deterministic", tc.name)
			}
		})
	}
}

func TestHTMLEscapesUntrustedText(t *testing.T) {
	const payload = `<script>alert(1)</script>"><img src=x onerror=alert(1)>`
	ex := func(r *document.Report) *document.Example { return &r.Buckets[0].Examples[0] }
	tests := []struct {
		name string
		set  func(*document.Report)
	}{
		{"output", func(r *document.Report) { ex(r).Output = payload }},
		{"baseline output", func(r *document.Report) { ex(r).BaselineOutput = payload }},
		{"prompt", func(r *document.Report) { ex(r).Prompt = payload }},
		{"reason", func(r *document.Report) { ex(r).Reason = payload }},
		{"sample", func(r *document.Report) { ex(r).Sample = payload }},
		{"run", func(r *document.Report) { r.Run = payload }},
		{"warning", func(r *document.Report) { r.Warnings = append(r.Warnings, payload) }},
		{"suite problem", func(r *document.Report) { r.Suites[0].Problems = []string{payload} }},
		{"judge", func(r *document.Report) { r.Pairwise[0].Judge = payload }},
		{"metric", func(r *document.Report) { r.Metrics[0].Metric = payload }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.set(r)
			got := render(t, HTML, r)
			for _, raw := range []string{"<script", "<img", "alert(1)>"} {
				if strings.Contains(got, raw) {
					t.Errorf("HTML contains unescaped %q", raw)
				}
			}
			for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;"} {
				if !strings.Contains(got, escaped) {
					t.Errorf("HTML lacks the escaped payload %q", escaped)
				}
			}
		})
	}
}

func TestHTMLSelfContained(t *testing.T) {
	got := strings.ToLower(render(t, HTML, fixture()))
	// Failure examples quote endpoint URLs as text; what must not appear
	// is anything a browser would fetch.
	for _, s := range []string{`href="http`, `href='http`, "src=", "<link", "<script", "url(", "@import"} {
		if strings.Contains(got, s) {
			t.Errorf("HTML contains %q; it must load nothing from outside", s)
		}
	}
	for _, s := range []string{"<svg", `class="badge failed"`, "<details>"} {
		if !strings.Contains(got, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
}

func TestMarkdownFenceHolds(t *testing.T) {
	r := fixture()
	r.Buckets[0].Examples[0].Output = "ok\n```\n# INJECTED\n````\n~~~\n```\nafter"
	got := render(t, Markdown, r)

	// Walk the document as a CommonMark reader would: a line starting
	// with three backticks opens or closes a fence.
	fence := regexp.MustCompile("^ {0,3}```")
	in, seen := false, false
	for _, line := range strings.Split(got, "\n") {
		if fence.MatchString(line) {
			in = !in
			continue
		}
		if strings.Contains(line, "# INJECTED") {
			seen = true
			if !in {
				t.Errorf("%q escaped its fence", line)
			}
		}
	}
	if !seen {
		t.Fatal("the example output is missing from the markdown")
	}
	if in {
		t.Error("a fence is left open at the end")
	}
}

func TestDefuse(t *testing.T) {
	for _, in := range []string{"", "plain", "`code`", "``", "```", "````", "a```b```c", "``````````"} {
		got := defuse(in)
		if strings.Contains(got, "```") {
			t.Errorf("defuse(%q) = %q still has a fence", in, got)
		}
		if strings.ReplaceAll(got, zwsp, "") != in {
			t.Errorf("defuse(%q) = %q changed the visible text", in, got)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"trailing\n\n", 20, "trailing"},
		{"0123456789", 4, "0123 …[clipped]"},
		{"以下哪一项是中国的首都", 3, "以下哪 …[clipped]"},
	}
	for _, tc := range tests {
		if got := clip(tc.in, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestPValue(t *testing.T) {
	tests := []struct {
		p         float64
		want, sig string
	}{
		{0.0123, "0.0123", "*"},
		{0.00099, "<0.001", "*"},
		{0.001, "0.00100", "*"},
		{0.05, "0.0500", ""},
		{0.5, "0.500", ""},
		{1, "1.00", ""},
	}
	for _, tc := range tests {
		if got := pvalue(&tc.p); got != tc.want {
			t.Errorf("pvalue(%v) = %q, want %q", tc.p, got, tc.want)
		}
		if got := sig(&tc.p); got != tc.sig {
			t.Errorf("sig(%v) = %q, want %q", tc.p, got, tc.sig)
		}
	}
}

func TestPrimaryMetric(t *testing.T) {
	tests := []struct {
		metrics []string
		want    string
	}{
		{[]string{"f1", "json_valid", "json_fields"}, "json_fields"},
		{[]string{"rougeL", "f1"}, "f1"},
		{[]string{"length", "num_match"}, "num_match"},
		{[]string{"length"}, "length"},
		{nil, ""},
	}
	for _, tc := range tests {
		if got := (document.Suite{Metrics: tc.metrics}).PrimaryMetric(); got != tc.want {
			t.Errorf("PrimaryMetric(%v) = %q, want %q", tc.metrics, got, tc.want)
		}
	}
}

func TestSummaryGate(t *testing.T) {
	tests := []struct {
		name string
		set  func(*document.Report)
		want string
	}{
		{"failed", func(*document.Report) {}, "gate: FAILED (refusal_rate_max for ft)\n"},
		{"passed", func(r *document.Report) { r.Gate = document.Gate{Passed: true} }, "gate: PASSED\n"},
		{"incomplete", func(r *document.Report) {
			r.Complete = false
			r.Gate = document.Gate{Verdict: document.VerdictError, Errors: []string{"the run is incomplete: 10 of 360 scores"}}
		}, "gate: ERROR (the run could not be evaluated; see above)\n"},
		{"incomplete, before verdicts", func(r *document.Report) { r.Complete, r.Gate.Verdict = false, "" }, "gate: not evaluated (run incomplete)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.set(r)
			if got := render(t, Summary, r); !strings.HasSuffix(got, "\n"+tc.want) {
				t.Errorf("summary ends\n%s\nwant last line %q", got, tc.want)
			}
		})
	}
}

func TestEmptyReport(t *testing.T) {
	reports := map[string]*document.Report{
		"zero":          {},
		"variants only": {Baseline: "base", Variants: []string{"base", "ft"}, Rates: map[string]document.Rates{"ft": {}}},
	}
	for name, r := range reports {
		for _, tc := range renderers {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				if got := render(t, tc.render, r); got == "" {
					t.Error("empty output")
				}
			})
		}
	}
}

func TestNilReport(t *testing.T) {
	for _, tc := range renderers {
		if err := tc.render(io.Discard, nil); err == nil {
			t.Errorf("%s(nil) did not fail", tc.name)
		}
	}
}

func TestMDText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a|b", `a\|b`},
		{"two\nlines\r\nhere", "two lines here"},
		{"<script>x</script>", "&lt;script>x&lt;/script>"},
		{"<0.001", "<0.001"},
	}
	for _, tc := range tests {
		if got := mdText(tc.in); got != tc.want {
			t.Errorf("mdText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCountsGetTheirOwnChart keeps a count such as length, whose mean is in
// the tens, off the 0–1 chart of the suite's rates.
func TestCountsGetTheirOwnChart(t *testing.T) {
	r := &document.Report{Run: "r", Baseline: "base", Variants: []string{"base"},
		Suites: []document.Suite{{Name: "writing", Metrics: []string{"rougeL", "length"}}},
		Metrics: []document.Metric{
			{Suite: "writing", Metric: "rougeL", Variant: "base", N: 10, Mean: ptr(0.4), CI: &[2]float64{0.3, 0.5}},
			{Suite: "writing", Metric: "length", Variant: "base", N: 10, Mean: ptr(80), CI: &[2]float64{60, 100}},
		}}
	out := render(t, HTML, r)
	for _, want := range []string{`aria-label="metric means on writing"`, `aria-label="length on writing"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no chart %s", want)
		}
	}
}

func TestSeriesGolden(t *testing.T) {
	for _, tc := range renderers {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.render, seriesFixture())
			golden.Check(t, filepath.Join("testdata", "series-"+tc.golden), []byte(got))
		})
	}
}

// TestSeriesSectionsOnlyWhenPresent keeps an ordinary run's report free of
// empty checkpoint, agreement and window sections.
func TestSeriesSectionsOnlyWhenPresent(t *testing.T) {
	plain := render(t, Markdown, fixture())
	series := render(t, Markdown, seriesFixture())
	for _, h := range []string{"## Checkpoints", "## Judge agreement", "## Windows"} {
		if strings.Contains(plain, h) {
			t.Errorf("plain report has %q", h)
		}
		if !strings.Contains(series, h) {
			t.Errorf("series report lacks %q", h)
		}
	}
}

func TestContinuousGateIsShown(t *testing.T) {
	r := seriesFixture()
	r.Complete, r.Continuous = false, true
	r.Gate = document.Gate{Passed: true}
	if got := render(t, Summary, r); !strings.HasSuffix(got, "\ngate: PASSED\n") {
		t.Errorf("continuous summary:\n%s", got)
	}
	if got := render(t, Summary, r); !strings.Contains(got, "latest window 2025-06-14 07:00–08:00 UTC (12 samples): base refusal 0.000; ft refusal 0.083\n") {
		t.Errorf("continuous summary lacks the latest window:\n%s", got)
	}
	if got := render(t, Markdown, r); !strings.Contains(got, "**Status:** continuous (judged so far) · gate **PASSED**") {
		t.Errorf("continuous markdown status:\n%s", got[:200])
	}
	if got := render(t, HTML, r); !strings.Contains(got, `class="badge passed"`) {
		t.Error("continuous HTML gate badge is not passed")
	}
}

func TestLineChart(t *testing.T) {
	// A missing value breaks the line and its band; the reference line
	// sits at 0.5 of a 0–1 scale.
	c := newLineChart("x", []string{"a", "b", "c", "d"}, []seriesData{{
		Label:  "s",
		Values: []*float64{ptr(0), ptr(1), nil, ptr(0.5)},
		CIs:    []*[2]float64{{0, 0.2}, {0.8, 1}, nil, nil},
	}}, 0.5)
	s := c.Series[0]
	if got := strings.Count(s.Path, "M"); got != 2 {
		t.Errorf("path %q has %d segments, want 2", s.Path, got)
	}
	if got := strings.Count(s.Band, "Z"); got != 1 {
		t.Errorf("band %q has %d parts, want 1", s.Band, got)
	}
	if len(s.Points) != 3 {
		t.Errorf("%d points, want 3", len(s.Points))
	}
	if mid := (c.PlotTop + c.PlotBottom) / 2; !c.HasRef || c.RefY != mid {
		t.Errorf("reference at %v, want %v", c.RefY, mid)
	}
	if s.Points[0].Y != c.PlotBottom || s.Points[1].Y != c.PlotTop {
		t.Errorf("0 and 1 at y=%v and %v, want %v and %v", s.Points[0].Y, s.Points[1].Y, c.PlotBottom, c.PlotTop)
	}
	// Many windows keep every point but thin the axis labels.
	labels := make([]string, 100)
	values := make([]*float64, 100)
	for i := range labels {
		labels[i], values[i] = itoa(i), ptr(0.5)
	}
	c = newLineChart("many", labels, []seriesData{{Label: "s", Values: values}}, math.NaN())
	if len(c.Series[0].Points) != 100 || len(c.XTicks) > lineMaxTick+1 {
		t.Errorf("%d points and %d labels", len(c.Series[0].Points), len(c.XTicks))
	}
}

func TestSeriesHTMLEscapes(t *testing.T) {
	const payload = `<script>alert(1)</script>`
	r := seriesFixture()
	r.Checkpoints[0].Model = payload
	r.Checkpoints[1].Variant = payload
	r.Agreement[0].JudgeB = payload
	r.Windows[0].Variants[1].Variant = payload
	got := render(t, HTML, r)
	if strings.Contains(got, "<script") {
		t.Error("HTML contains an unescaped script tag")
	}
	if strings.Count(got, "&lt;script&gt;") < 4 {
		t.Errorf("the payload shows escaped %d times, want at least 4", strings.Count(got, "&lt;script&gt;"))
	}
}

func TestSignaturesShown(t *testing.T) {
	r := fixture()
	sig := "case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0"
	r.Metrics = append(r.Metrics,
		document.Metric{Suite: r.Metrics[0].Suite, Metric: "bleu", Variant: r.Metrics[0].Variant, N: 3, Mean: ptr(41.5), Signature: sig},
		document.Metric{Suite: r.Metrics[0].Suite, Metric: "bleu", Variant: "other", N: 3, Mean: ptr(40), Signature: sig})
	for _, tc := range renderers {
		if tc.name == "summary" {
			continue
		}
		got := render(t, tc.render, r)
		if n := strings.Count(got, sig); n != 1 {
			t.Errorf("%s shows the BLEU signature %d times, want once for the suite", tc.name, n)
		}
	}
}

func TestRobustnessShown(t *testing.T) {
	r := fixture()
	r.Robustness = []document.Robustness{{Suite: "qa", Metric: "em", Variant: "ft", Perturbation: "typos", Original: 1, Perturbed: 1.0 / 3, DeltaEstimate: document.DeltaEstimate{N: 3, Delta: -2.0 / 3, CI: [2]float64{-1, -0.1}, PValue: ptr(0.25), Test: "mcnemar"}}}
	for _, tc := range renderers[:2] {
		got := render(t, tc.render, r)
		if !strings.Contains(got, "Robustness") || !strings.Contains(got, "typos") || !strings.Contains(got, "0.333") {
			t.Errorf("%s does not show the robustness row", tc.name)
		}
	}
	r.Contamination = []document.ContaminationEffect{{Suite: "qa", Metric: "em", Variant: "ft", N: 30, Mean: 0.6, Clean: 27, CleanMean: ptr(0.5556)}}
	for _, tc := range renderers[:2] {
		if got := render(t, tc.render, r); !strings.Contains(got, "Contamination") || !strings.Contains(got, "0.556") {
			t.Errorf("%s does not show the contamination row", tc.name)
		}
	}
	// Without perturbations there is no section.
	r = fixture()
	r.Robustness = nil
	if got := render(t, Markdown, r); strings.Contains(got, "## Robustness") {
		t.Error("an empty robustness section")
	}
}

// TestNothingEvaluated: a run whose every generation failed shows why on
// the first line of the summary, n/a for every estimate over nothing, and
// never a verdict of pass or fail or a 0.000 [0.000, 0.000].
func TestNothingEvaluated(t *testing.T) {
	why := "ft: 100.0% of generations failed (138 × connection refused), more than error_rate_max 0.02 allows"
	r := &document.Report{
		Run: "broken", Baseline: "base", Variants: []string{"base", "ft"}, Complete: true,
		Counts: document.Counts{Samples: 138, GenerationErrors: 138, Errors: 138},
		Suites: []document.Suite{{Name: "qa", Metrics: []string{"em"}, Samples: 138}},
		Metrics: []document.Metric{
			{Suite: "qa", Metric: "em", Variant: "base", N: 138, Mean: ptr(0.5), CI: &[2]float64{0.42, 0.58}},
			{Suite: "qa", Metric: "em", Variant: "ft", N: 0, Errors: 138, WorstCase: &document.Estimate{N: 138, Mean: 0, CI: [2]float64{0, 0.027}}},
		},
		Pairwise: []document.Pairwise{{Judge: "j", Variant: "ft", Baseline: "base", GenerationErrors: 138,
			WorstCase: &document.Estimate{N: 138, Mean: 0, CI: [2]float64{0, 0.027}}}},
		Rates:    map[string]document.Rates{"base": {Error: ptr(0)}, "ft": {Error: ptr(1)}},
		Failures: []document.Failure{{Stage: "generation", Source: "ft", Cause: "connection refused", Count: 138, Example: "calling http://127.0.0.1:9/v1/chat/completions: dial tcp 127.0.0.1:9: connect: connection refused (after 5 attempts)"}},
		Gate: document.Gate{Verdict: document.VerdictError, Errors: []string{why}, Checks: []document.Check{
			{Name: "error_rate_max", Variant: "ft", Value: 1, Threshold: 0.02, Error: why}}},
	}
	for _, rd := range renderers {
		t.Run(rd.name, func(t *testing.T) {
			out := render(t, rd.render, r)
			for _, bad := range []string{"0.000 [0.000, 0.000]", "PASSED", "FAILED"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s shows %q:\n%s", rd.name, bad, out)
				}
			}
			for _, want := range []string{na, "connection refused", "ERROR"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s does not show %q:\n%s", rd.name, want, out)
				}
			}
		})
	}
	var b strings.Builder
	if err := Summary(&b, r); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(b.String(), "\n"); first != "the run could not be evaluated: "+why {
		t.Errorf("the summary's first line is %q, want the cause", first)
	}
}

// TestDeltaOverNothingShown: a delta whose every pair was left out keeps
// its row, over no pair: n/a rather than +0.000 [+0.000, +0.000], with
// its excluded pairs and worst case.
func TestDeltaOverNothingShown(t *testing.T) {
	r := &document.Report{
		Run: "broken", Baseline: "base", Variants: []string{"base", "ft"}, Complete: true,
		Suites: []document.Suite{{Name: "qa", Metrics: []string{"em"}, Samples: 4}},
		Deltas: []document.Delta{{Suite: "qa", Metric: "em", Variant: "ft", Baseline: "base", Excluded: 4,
			DeltaEstimate: document.DeltaEstimate{Undefined: "no pair to compare: in each, a generation failed"},
			WorstCase:     &document.DeltaEstimate{N: 4, Delta: -0.75, CI: [2]float64{-1, -0.2}, Test: "mcnemar"}}},
		Rates: map[string]document.Rates{"base": {}, "ft": {}},
	}
	row := strings.Join([]string{"qa", "em", "ft", "0", na, na + "¹", na, "", none, na, "4", "-0.750 [-1.000, -0.200]"}, " | ")
	shownOverNothing(t, r, row)
}

// shownOverNothing fails unless the Markdown and HTML of r show row (cells
// joined by " | "), with why it is over no pair and no zero estimate.
func shownOverNothing(t *testing.T, r *document.Report, row string) {
	t.Helper()
	for _, rd := range renderers[:2] {
		out := render(t, rd.render, r)
		if rd.name == "html" {
			out = html.UnescapeString(regexp.MustCompile(`</t[dh]>\s*<t[dh][^>]*>`).ReplaceAllString(out, " | "))
		}
		if !strings.Contains(out, row) || strings.Contains(out, "+0.000 [+0.000, +0.000]") || !strings.Contains(out, "no pair to compare") {
			t.Errorf("%s: no row %q:\n%s", rd.name, row, out)
		}
	}
}

// TestRateDeltaOverNothingShown: a rate delta whose every pair was left
// out keeps its row, over no pair: n/a rather than +0.000 [+0.000,
// +0.000], with why.
func TestRateDeltaOverNothingShown(t *testing.T) {
	r := &document.Report{
		Run: "broken", Baseline: "base", Variants: []string{"base", "ft"}, Complete: true,
		Suites: []document.Suite{{Name: "qa", Metrics: []string{"em"}, Samples: 4}},
		RateDeltas: []document.RateDelta{{Rate: "refusal", Variant: "ft", Baseline: "base",
			DeltaEstimate: document.DeltaEstimate{Undefined: "no pair to compare: in each, a generation failed"}}},
		Rates: map[string]document.Rates{"base": {}, "ft": {}},
	}
	row := strings.Join([]string{"refusal", "ft", "base", "0", na, na + "¹", na, "", none, na}, " | ")
	shownOverNothing(t, r, row)
}
