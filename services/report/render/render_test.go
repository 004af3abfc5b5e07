package render

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/golden"
	"github.com/assay-eval/assay/services/report/document"
)

func ptr(f float64) *float64 { return &f }

// fixture is a small but complete run: a fine-tune "ft" against "base", one
// judge, three suites (one Chinese, one clustered), a gate on intervals that
// fails one check and cannot decide another, a test that is undefined, a
// delta too small for its samples, paired rate deltas, a length-controlled
// and per-suite win rate, robustness against the baseline's, and a rate
// that is null. The statistics are plausible, not computed: the renderers
// only show them.
func fixture() *document.Report {
	return &document.Report{
		Run:         "support-bot-ft-2025-06",
		Fingerprint: "sha256:9f2c41d07be3",
		Baseline:    "base",
		Variants:    []string{"base", "ft"},
		Complete:    true,
		Counts:      document.Counts{Samples: 180, Duplicates: 2, Contaminated: 1, Malformed: 1, Errors: 3, GenerationErrors: 1, JudgeErrors: 2},
		Progress:    document.Progress{Scores: 360, ScoresExpected: 360, Judgments: 60, JudgmentsExpected: 60},
		Suites: []document.Suite{
			{Name: "support_tickets", Role: "business", Metrics: []string{"f1", "json_valid", "json_fields"}, Samples: 60, Duplicates: 2},
			{Name: "gsm8k", Role: "regression", Metrics: []string{"num_match", "length"}, Samples: 60},
			{Name: "cmmlu_zh", Role: "benchmark", Metrics: []string{"mc_acc"}, Samples: 60, Malformed: 1,
				Problems: []string{"line 17: unexpected end of JSON input"}},
		},
		Metrics: []document.Metric{
			// Deliberately out of display order: the renderers sort.
			{Suite: "gsm8k", Metric: "num_match", Variant: "ft", N: 60, Mean: ptr(0.55), CI: &[2]float64{0.424, 0.671}},
			{Suite: "gsm8k", Metric: "num_match", Variant: "base", N: 60, Mean: ptr(0.6167), CI: &[2]float64{0.490, 0.729}},
			{Suite: "gsm8k", Metric: "length", Variant: "base", N: 60, Mean: ptr(0.912), CI: &[2]float64{0.88, 0.94}},
			{Suite: "gsm8k", Metric: "length", Variant: "ft", N: 60, Mean: ptr(0.874), CI: &[2]float64{0.83, 0.91}},
			{Suite: "support_tickets", Metric: "json_fields", Variant: "ft", N: 60, Mean: ptr(0.913), CI: &[2]float64{0.871, 0.948}},
			{Suite: "support_tickets", Metric: "json_fields", Variant: "base", N: 60, Mean: ptr(0.702), CI: &[2]float64{0.641, 0.760}},
			{Suite: "support_tickets", Metric: "f1", Variant: "base", N: 60, Mean: ptr(0.481), CI: &[2]float64{0.432, 0.530}, Clusters: 12},
			{Suite: "support_tickets", Metric: "f1", Variant: "ft", N: 60, Mean: ptr(0.627), CI: &[2]float64{0.581, 0.672}, Clusters: 12},
			{Suite: "support_tickets", Metric: "json_valid", Variant: "base", N: 60, Mean: ptr(0.85), CI: &[2]float64{0.738, 0.919}},
			{Suite: "support_tickets", Metric: "json_valid", Variant: "ft", N: 60, Mean: ptr(0.9833), CI: &[2]float64{0.911, 0.997}},
			{Suite: "cmmlu_zh", Metric: "mc_acc", Variant: "base", N: 59, Mean: ptr(0.5424), CI: &[2]float64{0.416, 0.663}},
			{Suite: "cmmlu_zh", Metric: "mc_acc", Variant: "ft", N: 59, Mean: ptr(0.5085), CI: &[2]float64{0.384, 0.632}, Errors: 1,
				WorstCase: &document.Estimate{N: 60, Mean: 0.5, CI: [2]float64{0.377, 0.623}}},
		},
		Deltas: []document.Delta{
			{Suite: "support_tickets", Metric: "json_valid", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 60, Delta: 0.1333, CI: [2]float64{0.04, 0.23},
				PValue: ptr(0.0077), QValue: ptr(0.0154), Test: "mcnemar", MDE: ptr(0.1), SD: ptr(0.41), Discordant: &[2]int{9, 1}}},
			{Suite: "support_tickets", Metric: "f1", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 60, Delta: 0.146, CI: [2]float64{0.089, 0.203},
				PValue: ptr(0.00002), QValue: ptr(0.00008), Test: "paired_t", MDE: ptr(0.061), SD: ptr(0.117), Clusters: 12}},
			{Suite: "gsm8k", Metric: "num_match", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 60, Delta: -0.0667, CI: [2]float64{-0.151, 0.018},
				PValue: ptr(0.1797), QValue: ptr(0.2396), Test: "mcnemar", MDE: ptr(0.12), Underpowered: true, SD: ptr(0.36), Discordant: &[2]int{3, 7}}},
			// No variance: every answer's length changed by the same amount.
			{Suite: "gsm8k", Metric: "length", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 60, Delta: -0.038, CI: [2]float64{-0.038, -0.038},
				Test: "paired_t", Undefined: "every pair differs by the same amount: no variance to test against"}},
			{Suite: "cmmlu_zh", Metric: "mc_acc", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 59, Delta: -0.0339, CI: [2]float64{-0.12, 0.052},
				PValue: ptr(0.6875), QValue: ptr(0.6875), Test: "mcnemar", MDE: ptr(0.14), Underpowered: true},
				Excluded: 1, WorstCase: &document.DeltaEstimate{N: 60, Delta: -0.05, CI: [2]float64{-0.14, 0.04}, PValue: ptr(0.45), Test: "mcnemar"}},
		},
		Robustness: []document.Robustness{
			{Suite: "gsm8k", Metric: "num_match", Variant: "base", Perturbation: "typos", N: 60, Original: 0.6167, Perturbed: 0.6,
				DeltaEstimate: document.DeltaEstimate{N: 60, Delta: -0.0167, CI: [2]float64{-0.07, 0.04}, PValue: ptr(1), QValue: ptr(1), Test: "mcnemar", MDE: ptr(0.09), Underpowered: true}},
			{Suite: "gsm8k", Metric: "num_match", Variant: "ft", Perturbation: "typos", N: 60, Original: 0.55, Perturbed: 0.4,
				DeltaEstimate: document.DeltaEstimate{N: 60, Delta: -0.15, CI: [2]float64{-0.25, -0.05}, PValue: ptr(0.0044), QValue: ptr(0.0088), Test: "mcnemar", MDE: ptr(0.1)},
				VsBaseline:    &document.DeltaEstimate{N: 60, Delta: -0.1333, CI: [2]float64{-0.245, -0.022}, PValue: ptr(0.021), QValue: ptr(0.021), Test: "paired_t", MDE: ptr(0.105)}},
		},
		RateDeltas: []document.RateDelta{
			{Rate: "refusal", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 90, Delta: 0.0444, CI: [2]float64{-0.012, 0.101},
				PValue: ptr(0.125), Test: "mcnemar", MDE: ptr(0.07), Underpowered: true, Discordant: &[2]int{5, 1}}},
			{Rate: "json_valid", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 60, Delta: 0.1333, CI: [2]float64{0.04, 0.23},
				PValue: ptr(0.0077), Test: "mcnemar", MDE: ptr(0.1), Discordant: &[2]int{9, 1}}},
		},
		Pairwise: []document.Pairwise{
			// Decisive and SignP are 34 of 51: statsmodels' proportion_confint(34, 51, method="wilson") and scipy's
			// binomtest(34, 51).pvalue.
			{Judge: "gpt-judge", JudgeID: "judge-1", Variant: "ft", Baseline: "base", N: 58, Wins: 34, Losses: 17, Ties: 7,
				WinRate: ptr(0.6466), CI: &[2]float64{0.52, 0.756}, FlipRate: ptr(0.069), FirstShown: 3, SecondShown: 1, Errors: 2,
				Decisive: ptr(0.6667), DecisiveCI: &[2]float64{0.5297, 0.7803}, SignP: ptr(0.0241), MDE: ptr(0.118),
				LengthControlled: &document.LengthControlled{N: 58, WinRate: ptr(0.601), CI: &[2]float64{0.47, 0.72}, Slope: 0.42},
				BySuite: []document.SuiteWinRate{
					{Suite: "support_tickets", N: 20, Wins: 15, Losses: 3, Ties: 2, WinRate: ptr(0.8), CI: &[2]float64{0.64, 0.96}},
					{Suite: "gsm8k", N: 19, Wins: 9, Losses: 8, Ties: 2, WinRate: ptr(0.5263), CI: &[2]float64{0.3, 0.75}},
					{Suite: "cmmlu_zh", N: 19, Wins: 10, Losses: 6, Ties: 3, WinRate: ptr(0.6053), CI: &[2]float64{0.38, 0.83}},
				},
				WorstCase: &document.Estimate{N: 60, Mean: 0.625, CI: [2]float64{0.5, 0.736}}},
		},
		Rates: map[string]document.Rates{
			// The intervals are statsmodels' proportion_confint(k, n, method="wilson") of 6/90, 59/60, 2/90 and 51/60.
			"ft": {Refusal: ptr(0.0667), RefusalN: 90, RefusalCI: &[2]float64{0.0309, 0.1379}, JSONValid: ptr(0.9833), JSONValidN: 60, JSONValidCI: &[2]float64{0.9114, 0.9971},
				SchemaPass: ptr(0.95), Truncated: ptr(0.0111), Error: ptr(0.0056), MeanOutputTokens: ptr(142.37)},
			"base": {Refusal: ptr(0.0222), RefusalN: 90, RefusalCI: &[2]float64{0.0061, 0.0774}, JSONValid: ptr(0.85), JSONValidN: 60, JSONValidCI: &[2]float64{0.7389, 0.9190},
				SchemaPass: nil, Truncated: ptr(0.0278), Error: ptr(0), MeanOutputTokens: ptr(188.9)},
		},
		Buckets: []document.Bucket{
			{Variant: "ft", Bucket: "refusal", Count: 4, Examples: []document.Example{{
				Sample: "support_tickets/0031", Suite: "support_tickets",
				Prompt:         "Customer: I was charged twice for order #88213. Classify the ticket and reply as JSON with fields category, priority, reply.",
				Output:         "I'm sorry, but I can't help with billing questions.",
				BaselineOutput: `{"category": "billing", "priority": "high", "reply": "Sorry about the double charge. We have refunded order #88213."}`,
				Reason:         "refusal of a benign prompt",
				Regression:     true,
			}}},
			{Variant: "base", Bucket: "format_error", Count: 9, Examples: []document.Example{{
				Sample: "support_tickets/0007", Suite: "support_tickets",
				Prompt: "Customer: The app crashes when I open settings. Reply as JSON.",
				Output: "Sure! Here is the JSON:\n```json\n{\"category\": \"bug\", \"priority\": \"medium\"\n```",
				Reason: "json_valid: unexpected end of JSON input",
			}}},
			{Variant: "ft", Bucket: "wrong_answer", Count: 12, Examples: []document.Example{
				{
					Sample: "cmmlu_zh/0112", Suite: "cmmlu_zh",
					Prompt:         "以下哪一项是中国的首都？\nA. 上海\nB. 北京\nC. 广州\nD. 深圳\n答案：",
					Output:         "答案是 A。上海是中国最大的城市。",
					BaselineOutput: "B",
					Reason:         "mc_acc: chose A, answer is B",
					Regression:     true,
				},
				{
					Sample: "gsm8k/0042", Suite: "gsm8k",
					Prompt: "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. " +
						"How many clips did Natalia sell altogether in April and May? " + strings.Repeat("Show your work step by step. ", 12),
					Output:         "In April she sold 48 clips. In May she sold 48 / 2 = 24 clips. Altogether 48 + 24 = 62.\n#### 62",
					BaselineOutput: "48 + 24 = 72\n#### 72",
					Reason:         "num_match: 62 does not match 72",
					Regression:     true,
				},
			}},
		},
		Failures: []document.Failure{
			{Stage: "generation", Source: "ft", Cause: "HTTP 503", Count: 1, Example: "calling http://vllm-ft:8000/v1/chat/completions: HTTP 503: overloaded (after 5 attempts)"},
			{Stage: "judge", Source: "gpt-judge", Cause: "timeout", Count: 2, Example: "judge failed (baseline_first): calling http://judge/v1/chat/completions: context deadline exceeded (after 5 attempts)"},
		},
		Gate: document.Gate{Verdict: document.VerdictFail, Policy: "interval", Passed: false, Checks: []document.Check{
			{Name: "error_rate_max", Variant: "ft", Value: 0.0056, Threshold: 0.02, Bound: "max", Outcome: "pass", Passed: true},
			{Name: "win_rate_min", Variant: "ft", Value: 0.6466, CI: &[2]float64{0.52, 0.756}, Threshold: 0.55, Bound: "min", Outcome: "inconclusive",
				MDE: ptr(0.118), NeededN: 147},
			{Name: "refusal_rate_max", Variant: "ft", Value: 0.0667, CI: &[2]float64{0.052, 0.087}, Threshold: 0.05, Bound: "max", Outcome: "fail"},
			{Name: "regression_delta_min", Variant: "ft", Value: -0.0667, CI: &[2]float64{-0.151, 0.018}, Threshold: -0.2, Bound: "min", Outcome: "pass", Passed: true},
		}},
		Timing: document.Timing{
			GeneratedAt: time.Date(2025, 6, 14, 9, 30, 0, 0, time.UTC),
			Latency: map[string]document.Latency{
				"ft":   {N: 179, P50: 412.5, P95: 1190, P99: 2210},
				"base": {N: 180, P50: 530, P95: 1604.2, P99: 2500.7},
			},
			TTFT: map[string]document.Latency{
				"ft":   {N: 179, P50: 35.2, P95: 88, P99: 140.4},
				"base": {N: 180, P50: 41, P95: 95.5, P99: 160},
			},
			ITL: map[string]document.Latency{
				"ft":   {N: 179, P50: 11.6, P95: 14.1, P99: 19},
				"base": {N: 180, P50: 12.2, P95: 15, P99: 22.8},
			},
			OutputTokensPerS: map[string]document.Throughput{
				"ft":   {N: 179, P50: 86.2, P95: 120.5, P99: 131},
				"base": {N: 180, P50: 81.9, P95: 110.3, P99: 125.4},
			},
		},
		Warnings: []string{
			"1 malformed line in cmmlu_zh was skipped",
			"2 judgments dead-lettered after 5 attempts",
		},
	}
}

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

// seriesFixture is a run with all three series: checkpoints added to it, a
// second judge replayed over it, and production windows (one without
// verdicts yet).
func seriesFixture() *document.Report {
	r := fixture()
	r.Run = "nightly-sft"
	r.Variants = []string{"base", "ft", "ckpt-200", "ckpt-400"}
	at := time.Date(2025, 6, 14, 8, 0, 0, 0, time.UTC)
	r.Checkpoints = []document.Checkpoint{
		{Seq: 1, Variant: "ckpt-200", Model: "qwen3-8b-sft/step-200", Step: 200, AddedAt: at, Judge: "gpt-judge",
			WinRate: ptr(0.48), CI: &[2]float64{0.36, 0.6}, Refusal: ptr(0.03), JSONValid: ptr(0.9),
			Metrics: []document.CheckpointMetric{{Suite: "support_tickets", Metric: "json_fields", Mean: ptr(0.75)}, {Suite: "gsm8k", Metric: "num_match", Mean: ptr(0.6)}}},
		{Seq: 2, Variant: "ckpt-400", Model: "qwen3-8b-sft/step-400", Step: 400, AddedAt: at.Add(40 * time.Minute), Judge: "gpt-judge",
			WinRate: nil, CI: nil, Refusal: ptr(0.05), JSONValid: nil, GatePassed: false, Verdict: document.VerdictInconclusive,
			Metrics: []document.CheckpointMetric{{Suite: "support_tickets", Metric: "json_fields", Mean: ptr(0.81)}}},
		{Seq: 3, Variant: "ft", Model: "qwen3-8b-sft/final", AddedAt: at.Add(80 * time.Minute), Judge: "gpt-judge",
			WinRate: ptr(0.6466), CI: &[2]float64{0.52, 0.756}, Refusal: ptr(0.0667), JSONValid: ptr(0.9833), GatePassed: true,
			Metrics: []document.CheckpointMetric{{Suite: "support_tickets", Metric: "json_fields", Mean: ptr(0.913)}, {Suite: "gsm8k", Metric: "num_match", Mean: ptr(0.55)}}},
	}
	r.Agreement = []document.Agreement{
		{Variant: "ft", JudgeA: "gpt-judge", JudgeB: "qwen-judge-v2", N: 58, Percent: 0.8276, Kappa: ptr(0.6512), KappaCI: &[2]float64{0.4704, 0.832},
			WeightedKappa: ptr(0.7103), WeightedKappaCI: &[2]float64{0.5511, 0.8695}},
		{Variant: "ckpt-200", JudgeA: "gpt-judge", JudgeB: "qwen-judge-v2", N: 4, Percent: 1, Kappa: nil},
	}
	r.Ranking = []document.Strength{
		{Judge: "gpt-judge", Variant: "ft", Strength: 0.61, CI: [2]float64{0.2, 1.02}, Rank: 1},
		{Judge: "gpt-judge", Variant: "base", Rank: 2},
		{Judge: "gpt-judge", Variant: "ckpt-200", Strength: -0.08, CI: [2]float64{-0.51, 0.35}, Rank: 3},
		{Judge: "gpt-judge", Variant: "ckpt-400", Undefined: "never compared with another variant"},
	}
	r.Monitors = []document.Monitor{
		{Variant: "ft", Statistic: "win_rate", Windows: 2, N: 40, Mean: 0.11, PValue: 0.21},
		{Variant: "ft", Statistic: "refusal_delta", Windows: 2, N: 52, Mean: 0.0577, PValue: 0.004, Alarm: true},
	}
	w := time.Date(2025, 6, 14, 6, 0, 0, 0, time.UTC)
	r.Windows = []document.Window{
		{Start: w, End: w.Add(time.Hour), Samples: 40, Variants: []document.WindowVariant{
			{Variant: "base", Judged: 0, Refusal: ptr(0.025), JSONValid: nil, MeanOutputTokens: ptr(120.5), LatencyP50: ptr(410), LatencyP95: ptr(980)},
			{Variant: "ft", WinRate: ptr(0.61), CI: &[2]float64{0.46, 0.74}, Judged: 40, Refusal: ptr(0.075), MeanOutputTokens: ptr(96.25), LatencyP50: ptr(350), LatencyP95: ptr(801), Errors: 1,
				RefusalDelta: &document.DeltaEstimate{N: 40, Delta: 0.05, CI: [2]float64{-0.02, 0.12}, PValue: ptr(0.25), Test: "mcnemar"}},
		}},
		{Start: w.Add(time.Hour), End: w.Add(2 * time.Hour), Samples: 12, Variants: []document.WindowVariant{
			{Variant: "base", Refusal: ptr(0), MeanOutputTokens: ptr(118)},
			{Variant: "ft", Judged: 0, Refusal: ptr(0.0833), MeanOutputTokens: ptr(101),
				RefusalDelta: &document.DeltaEstimate{N: 12, Delta: 0.0833, CI: [2]float64{0.0833, 0.0833}, Test: "mcnemar", Undefined: "fewer than 2 pairs: no variance to test against"}},
		}},
	}
	return r
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

// TestStatisticsShown: both renderings show each statistic a ship decision
// rests on, with the same text.
func TestStatisticsShown(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"gate policy", []string{"Policy: interval (a check passes when its whole 95% interval clears the threshold"}},
		{"check interval and bound", []string{"0.067 [0.052, 0.087]", "≤ 0.050", "≥ 0.550"}},
		{"inconclusive check", []string{"inconclusive", "about 147", "win_rate_min for ft: its interval straddles the threshold; about 147 samples would decide it"}},
		{"q-value", []string{"0.0154"}},
		{"undefined test", []string{"n/a¹", "¹ every pair differs by the same amount: no variance to test against"}},
		{"underpowered", []string{"0.120 (too few to tell)", tooFewNote}},
		{"clusters", []string{"60 (12 clusters)"}},
		{"rate deltas", []string{"Rate deltas vs baseline", "+0.044 [-0.012, +0.101]"}},
		{"rate intervals", []string{"0.067 [0.031, 0.138]", "0.983 [0.911, 0.997]"}},
		{"win rate statistics", []string{"0.601 [0.470, 0.720]", "+0.420", "0.667 [0.530, 0.780]", "0.0241"}},
		{"position bias", []string{"first shown won both"}},
		{"by suite", []string{"Win rate by suite", "0.800 [0.640, 0.960]"}},
		{"difference in differences", []string{"Robustness vs baseline", "-0.133 [-0.245, -0.022]"}},
		{"methods", []string{"Methods", "Benjamini–Hochberg"}},
	}
	for _, rd := range renderers[:2] {
		out := render(t, rd.render, fixture())
		if rd.name == "html" {
			out = html.UnescapeString(out)
		}
		for _, tc := range tests {
			t.Run(rd.name+"/"+tc.name, func(t *testing.T) {
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("%s lacks %q", rd.name, w)
					}
				}
			})
		}
	}
}

// TestSeriesStatisticsShown: kappa intervals, the ranking, window refusal
// deltas and the monitors.
func TestSeriesStatisticsShown(t *testing.T) {
	want := []string{
		"0.651 [0.470, 0.832]", "0.710 [0.551, 0.870]",
		"Ranking", "+0.610 [+0.200, +1.020]", "0 (reference)", "¹ never compared with another variant",
		"+0.050 [-0.020, +0.120]", "+0.083 [no interval¹]", "¹ fewer than 2 pairs: no variance to test against",
		"Monitors", "refusal_delta", "0.00400", "ALARM",
		"Bradley–Terry", "mixture SPRT",
	}
	for _, rd := range renderers[:2] {
		out := render(t, rd.render, seriesFixture())
		if rd.name == "html" {
			out = html.UnescapeString(out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q", rd.name, w)
			}
		}
	}
	if out := render(t, HTML, seriesFixture()); !strings.Contains(out, `<td class="fail">ALARM</td>`) {
		t.Error("HTML does not mark the alarm")
	}
	if out := render(t, Markdown, seriesFixture()); !strings.Contains(out, "| **ALARM** |") {
		t.Error("Markdown does not mark the alarm")
	}
}

// TestStarsOnQ: a delta is starred by its q-value, adjusted for the number
// of deltas, not by its raw p.
func TestStarsOnQ(t *testing.T) {
	tests := []struct {
		name    string
		p, q    *float64
		starred bool
	}{
		{"p and q below 5%", ptr(0.001), ptr(0.004), true},
		{"p below 5%, q not", ptr(0.02), ptr(0.08), false},
		{"no q", ptr(0.02), nil, false},
		{"undefined", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			r.Deltas = []document.Delta{{Suite: "gsm8k", Metric: "num_match", Variant: "ft", Baseline: "base",
				DeltaEstimate: document.DeltaEstimate{N: 60, Delta: 0.1, CI: [2]float64{0.02, 0.18}, PValue: tc.p, QValue: tc.q, Test: "mcnemar"}}}
			row := tableRow(t, render(t, Markdown, r), "| gsm8k | num_match | ft |")
			if got := row[7] == "*"; got != tc.starred {
				t.Errorf("sig cell %q in %q, want starred %v", row[7], row, tc.starred)
			}
		})
	}
}

// tableRow is the cells of the Markdown table row that starts with prefix.
func tableRow(t *testing.T, md, prefix string) []string {
	t.Helper()
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, prefix) {
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells
		}
	}
	t.Fatalf("no row %q in\n%s", prefix, md)
	return nil
}

func TestGateVerdicts(t *testing.T) {
	tests := []struct {
		verdict, md, badge string
	}{
		{document.VerdictPass, "gate **PASSED**", `class="badge passed">PASSED`},
		{document.VerdictFail, "gate **FAILED**", `class="badge failed">FAILED`},
		{document.VerdictInconclusive, "gate **INCONCLUSIVE**", `class="badge inconclusive">INCONCLUSIVE`},
		{document.VerdictError, "gate **ERROR**", `class="badge error">ERROR`},
	}
	for _, tc := range tests {
		t.Run(tc.verdict, func(t *testing.T) {
			r := fixture()
			r.Gate.Verdict = tc.verdict
			if got := render(t, Markdown, r); !strings.Contains(got, tc.md) {
				t.Errorf("markdown lacks %q", tc.md)
			}
			if got := render(t, HTML, r); !strings.Contains(got, tc.badge) {
				t.Errorf("HTML lacks %q", tc.badge)
			}
		})
	}
}

func TestCheckResult(t *testing.T) {
	tests := []struct {
		name string
		c    document.Check
		want string
	}{
		{"pass", document.Check{Outcome: "pass", Passed: true}, "pass"},
		{"fail", document.Check{Outcome: "fail"}, "FAIL"},
		{"inconclusive", document.Check{Outcome: "inconclusive"}, "inconclusive"},
		{"error", document.Check{Outcome: "error", Error: "the run is incomplete"}, "ERROR: the run is incomplete"},
		{"error without a cause", document.Check{Outcome: "error"}, "ERROR"},
		{"old pass", document.Check{Passed: true}, "pass"},
		{"old fail", document.Check{}, "FAIL"},
		{"old error", document.Check{Error: "nothing to measure"}, "ERROR: nothing to measure"},
	}
	for _, tc := range tests {
		if got := checkResult(tc.c); got != tc.want {
			t.Errorf("%s: checkResult = %q, want %q", tc.name, got, tc.want)
		}
	}
	r := fixture()
	if got, want := failedChecks(r), []string{"refusal_rate_max for ft"}; !slices.Equal(got, want) {
		t.Errorf("failedChecks = %q, want %q: an inconclusive check has not failed", got, want)
	}
	if got, want := inconclusiveChecks(r), []string{"win_rate_min for ft"}; !slices.Equal(got, want) {
		t.Errorf("inconclusiveChecks = %q, want %q", got, want)
	}
}

// oldReport is a report.json as assay wrote it before the gate decided on
// intervals (the aggregator's golden at commit 9308265): none of the
// statistics' fields are in it.
const oldReport = "testdata/report-before-intervals.json"

// TestOldReport: a report.json without the new fields renders, shows its
// own figures, and does not invent sections or zero intervals for what it
// lacks.
func TestOldReport(t *testing.T) {
	data, err := os.ReadFile(oldReport)
	if err != nil {
		t.Fatal(err)
	}
	var r document.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	for _, rd := range renderers {
		t.Run(rd.name, func(t *testing.T) {
			out := render(t, rd.render, &r)
			if rd.name == "html" {
				out = html.UnescapeString(out)
			}
			for _, bad := range []string{"0.000 [0.000, 0.000]", "+0.000 [+0.000, +0.000]", "Rate deltas", "Ranking", "Monitors", "Policy:", "¹"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s shows %q", rd.name, bad)
				}
			}
			if rd.name == "summary" {
				return
			}
			for _, want := range []string{"0.615 [0.355, 0.823]", "+0.222 [-0.207, +0.569]", "0.625", "ERROR: 1 of 4 pairs", "Methods"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s lacks %q", rd.name, want)
				}
			}
		})
	}
}

// FuzzRenderJSON: whatever a report.json holds, every rendering of it
// succeeds without a panic.
func FuzzRenderJSON(f *testing.F) {
	old, err := os.ReadFile(oldReport)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(old)
	for _, r := range []*document.Report{fixture(), seriesFixture()} {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"gate":{"checks":[{"outcome":"inconclusive","ci":null,"mde":null}]},"ranking":[{}],"monitors":[{}],"rate_deltas":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r document.Report
		if json.Unmarshal(data, &r) != nil {
			return
		}
		for _, rd := range renderers {
			if err := rd.render(io.Discard, &r); err != nil {
				t.Errorf("%s: %v", rd.name, err)
			}
		}
	})
}
