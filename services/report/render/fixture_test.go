package render

import (
	"strings"
	"time"

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
		{Judge: "gpt-judge", Variant: "ft", Strength: ptr(0.61), CI: &[2]float64{0.2, 1.02}, Rank: 1},
		{Judge: "gpt-judge", Variant: "base", Rank: 2},
		{Judge: "gpt-judge", Variant: "ckpt-200", Strength: ptr(-0.08), CI: &[2]float64{-0.51, 0.35}, Rank: 3},
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
