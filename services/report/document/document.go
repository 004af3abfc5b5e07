// Package document is the report of a run as a document: the types behind
// report.json, whose keys are stable because CI gates read them. The
// Markdown and HTML renderings show the same data.
package document

import "time"

// Report is the machine-readable result of a run.
type Report struct {
	Run         string   `json:"run"`
	Fingerprint string   `json:"fingerprint"`
	Baseline    string   `json:"baseline"`
	Variants    []string `json:"variants"`
	// Complete is true once every expected score and judgment has arrived
	// or been recorded as an error.
	Complete bool             `json:"complete"`
	Counts   Counts           `json:"counts"`
	Progress Progress         `json:"progress"`
	Suites   []Suite          `json:"suites"`
	Metrics  []Metric         `json:"metrics"`
	Deltas   []Delta          `json:"deltas"`
	Pairwise []Pairwise       `json:"pairwise"`
	Rates    map[string]Rates `json:"rates"`
	Buckets  []Bucket         `json:"buckets"`
	Gate     Gate             `json:"gate"`
	// Timing is measured, not evaluated: it differs between runs of the same
	// spec, so comparisons of reports leave it out.
	Timing Timing `json:"timing"`
	// Warnings are problems that do not stop the report but qualify it
	// (mixed fingerprints, dead-lettered messages, malformed lines).
	Warnings []string `json:"warnings"`
}

// Counts are the run's sizes.
type Counts struct {
	Samples      int `json:"samples"`
	Duplicates   int `json:"duplicates"`
	Contaminated int `json:"contaminated"`
	Malformed    int `json:"malformed"`
	// Errors are generations, scores and judgments that failed for good.
	Errors int `json:"errors"`
}

// Progress counts arrivals against expectations.
type Progress struct {
	Scores            int `json:"scores"`
	ScoresExpected    int `json:"scores_expected"`
	Judgments         int `json:"judgments"`
	JudgmentsExpected int `json:"judgments_expected"`
}

// Suite is one suite's ingest result.
type Suite struct {
	Name       string   `json:"name"`
	Role       string   `json:"role"`
	Metrics    []string `json:"metrics"`
	Samples    int      `json:"samples"`
	Duplicates int      `json:"duplicates"`
	Malformed  int      `json:"malformed"`
	Problems   []string `json:"problems,omitempty"`
}

// Metric is a metric's mean for one variant on one suite.
type Metric struct {
	Suite   string     `json:"suite"`
	Metric  string     `json:"metric"`
	Variant string     `json:"variant"`
	N       int        `json:"n"`
	Mean    float64    `json:"mean"`
	CI      [2]float64 `json:"ci"`
}

// Delta is a variant's difference from the baseline on a metric, paired by
// sample.
type Delta struct {
	Suite    string     `json:"suite"`
	Metric   string     `json:"metric"`
	Variant  string     `json:"variant"`
	Baseline string     `json:"baseline"`
	N        int        `json:"n"`
	Delta    float64    `json:"delta"`
	CI       [2]float64 `json:"ci"`
	PValue   float64    `json:"p_value"`
	// Test names the test behind CI and PValue: mcnemar for 0/1 metrics,
	// paired_t otherwise.
	Test string `json:"test"`
}

// Pairwise is a judge's verdicts on a candidate against the baseline.
type Pairwise struct {
	Judge    string     `json:"judge"`
	JudgeID  string     `json:"judge_id"`
	Variant  string     `json:"variant"`
	Baseline string     `json:"baseline"`
	N        int        `json:"n"`
	Wins     int        `json:"wins"`
	Losses   int        `json:"losses"`
	Ties     int        `json:"ties"`
	WinRate  float64    `json:"win_rate"`
	CI       [2]float64 `json:"ci"`
	// FlipRate is the share of pairs whose verdict changed with the order
	// of presentation (counted as ties).
	FlipRate float64 `json:"flip_rate"`
	// Errors are pairs that could not be judged (not in N).
	Errors int `json:"errors"`
}

// Rates are a variant's side-effect rates over all suites. A rate is null
// when nothing it applies to was evaluated.
type Rates struct {
	// Refusal is over benign prompts only: refusing a harmful probe is
	// right and counts in the safety metric instead.
	Refusal          *float64 `json:"refusal"`
	JSONValid        *float64 `json:"json_valid"`
	SchemaPass       *float64 `json:"schema_pass"`
	Truncated        *float64 `json:"truncated"`
	Error            *float64 `json:"error"`
	MeanOutputTokens *float64 `json:"mean_output_tokens"`
}

// Bucket is how many of a variant's answers failed one way, with the top
// failing cases: regressions (the baseline got the sample right) first.
type Bucket struct {
	Variant  string    `json:"variant"`
	Bucket   string    `json:"bucket"`
	Count    int       `json:"count"`
	Examples []Example `json:"examples"`
}

// Example is one failing case.
type Example struct {
	Sample         string `json:"sample"`
	Suite          string `json:"suite"`
	Prompt         string `json:"prompt"`
	Output         string `json:"output"`
	BaselineOutput string `json:"baseline_output"`
	Reason         string `json:"reason"`
	// Regression is true when the baseline's answer was fine.
	Regression bool `json:"regression"`
}

// Gate is the pass/fail verdict CI reads.
type Gate struct {
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
}

// Check is one gate condition for one variant.
type Check struct {
	Name      string  `json:"name"`
	Variant   string  `json:"variant"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Passed    bool    `json:"passed"`
}

// Timing is latency per variant, and when the report was made.
type Timing struct {
	GeneratedAt time.Time          `json:"generated_at"`
	Latency     map[string]Latency `json:"latency"`
}

// Latency percentiles of a variant's endpoint, in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
}
