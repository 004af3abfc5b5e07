// Package document is the report of a run as a document: the types behind
// report.json, whose keys are stable because CI gates read them. The
// Markdown and HTML renderings show the same data.
package document

import (
	"slices"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// Report is the machine-readable result of a run.
type Report struct {
	Run         string   `json:"run"`
	Fingerprint string   `json:"fingerprint"`
	Baseline    string   `json:"baseline"`
	Variants    []string `json:"variants"`
	// Complete is true once every expected score and judgment has arrived
	// or been recorded as an error.
	Complete bool `json:"complete"`
	// Continuous runs evaluate sampled production queries and never
	// complete: their gate is on what has been evaluated so far.
	Continuous bool     `json:"continuous"`
	Counts     Counts   `json:"counts"`
	Progress   Progress `json:"progress"`
	Suites     []Suite  `json:"suites"`
	Metrics    []Metric `json:"metrics"`
	Deltas     []Delta  `json:"deltas"`
	// Robustness compares robustness copies with their originals (suites
	// with perturbations).
	Robustness []Robustness `json:"robustness,omitempty"`
	// Contamination gives each metric with and without the samples found
	// in the training data, when a contamination check flagged any.
	Contamination []ContaminationEffect `json:"contamination,omitempty"`
	Pairwise      []Pairwise            `json:"pairwise"`
	// Agreement compares every two judges of the run on the pairs both
	// judged (a replay adds a judge).
	Agreement []Agreement      `json:"agreement"`
	Rates     map[string]Rates `json:"rates"`
	Buckets   []Bucket         `json:"buckets"`
	Gate      Gate             `json:"gate"`
	// Checkpoints is the series of variants added by checkpoint events.
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Windows are a continuous run's time windows, oldest first, by the
	// production queries' own timestamps.
	Windows []Window `json:"windows"`
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
	// Contaminated and Perturbed count flagged samples and robustness
	// copies (which Samples includes).
	Contaminated int      `json:"contaminated,omitempty"`
	Perturbed    int      `json:"perturbed,omitempty"`
	Problems     []string `json:"problems,omitempty"`
	// Dropped are the duplicates left out, each with the sample it
	// repeats (and, for a near-duplicate, how similar they are).
	Dropped []eval.DroppedDuplicate `json:"dropped,omitempty"`
}

// primaryMetrics are the metrics that best say whether a suite's answers are
// right, most telling first.
var primaryMetrics = []string{"em", "mc_acc", "num_match", "json_fields", "safety", "json_schema", "json_valid", "f1", "rougeL"}

// PrimaryMetric is the suite's headline metric: the first primary one it
// asks for, else its first.
func (s Suite) PrimaryMetric() string {
	for _, m := range primaryMetrics {
		if slices.Contains(s.Metrics, m) {
			return m
		}
	}
	if len(s.Metrics) > 0 {
		return s.Metrics[0]
	}
	return ""
}

// Metric is a metric's mean for one variant on one suite.
type Metric struct {
	Suite   string     `json:"suite"`
	Metric  string     `json:"metric"`
	Variant string     `json:"variant"`
	N       int        `json:"n"`
	Mean    float64    `json:"mean"`
	CI      [2]float64 `json:"ci"`
	// Signature is sacreBLEU's signature of a BLEU or chrF mean.
	Signature string `json:"signature,omitempty"`
}

// ContaminationEffect is a metric's mean for one variant with and without
// the samples found in the training data.
type ContaminationEffect struct {
	Suite   string `json:"suite"`
	Metric  string `json:"metric"`
	Variant string `json:"variant"`
	// N and Mean count every sample; Clean and CleanMean leave out the
	// contaminated ones.
	N         int     `json:"n"`
	Mean      float64 `json:"mean"`
	Clean     int     `json:"clean"`
	CleanMean float64 `json:"clean_mean"`
}

// Robustness is a variant's score on robustness copies of a kind against
// its score on their originals, paired by original sample.
type Robustness struct {
	Suite        string `json:"suite"`
	Metric       string `json:"metric"`
	Variant      string `json:"variant"`
	Perturbation string `json:"perturbation"`
	// N counts the pairs: copies whose original was scored too.
	N         int     `json:"n"`
	Original  float64 `json:"original"`
	Perturbed float64 `json:"perturbed"`
	// Delta is perturbed minus original, with its CI and test as for
	// [Delta].
	Delta  float64    `json:"delta"`
	CI     [2]float64 `json:"ci"`
	PValue float64    `json:"p_value"`
	Test   string     `json:"test"`
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

// Agreement is how two judges' verdicts on the same pairs agree: the share
// of pairs with the same verdict (win, loss or tie) and Cohen's kappa,
// agreement beyond chance (null when undefined: one verdict throughout).
type Agreement struct {
	Variant string   `json:"variant"`
	JudgeA  string   `json:"judge_a"`
	JudgeB  string   `json:"judge_b"`
	N       int      `json:"n"`
	Percent float64  `json:"percent_agreement"`
	Kappa   *float64 `json:"kappa"`
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
	// Variants is each gated variant's own verdict: its checks and the
	// run's all pass. A checkpoint's pipeline waits on its entry.
	Variants map[string]bool `json:"variants"`
}

// Checkpoint is one checkpoint of the run's series, in the order the
// checkpoints arrived: the trend a training job watches.
type Checkpoint struct {
	Seq     int       `json:"seq"`
	Variant string    `json:"variant"`
	Model   string    `json:"model"`
	Step    int64     `json:"step,omitempty"`
	AddedAt time.Time `json:"added_at"`
	// Judge is the judge whose win rate is shown (the gate's).
	Judge   string      `json:"judge,omitempty"`
	WinRate *float64    `json:"win_rate"`
	CI      *[2]float64 `json:"ci"`
	// Metrics are each suite's primary metric.
	Metrics    []CheckpointMetric `json:"metrics"`
	Refusal    *float64           `json:"refusal"`
	JSONValid  *float64           `json:"json_valid"`
	GatePassed bool               `json:"gate_passed"`
}

// Window is one time window of a continuous run: the production queries
// sampled in it and how each variant did on them. Nothing has a reference
// here: judges, refusal, format, length and latency carry the evaluation.
type Window struct {
	Start    time.Time       `json:"start"`
	End      time.Time       `json:"end"`
	Samples  int             `json:"samples"`
	Variants []WindowVariant `json:"variants"`
}

// WindowVariant is one variant in one window.
type WindowVariant struct {
	Variant string `json:"variant"`
	// WinRate against the baseline by the gate's judge (null for the
	// baseline, or before any verdict).
	WinRate          *float64    `json:"win_rate"`
	CI               *[2]float64 `json:"ci"`
	Judged           int         `json:"judged"`
	Refusal          *float64    `json:"refusal"`
	JSONValid        *float64    `json:"json_valid"`
	MeanOutputTokens *float64    `json:"mean_output_tokens"`
	LatencyP50       *float64    `json:"latency_p50_ms"`
	LatencyP95       *float64    `json:"latency_p95_ms"`
	Errors           int         `json:"errors"`
}

// CheckpointMetric is a suite's primary metric for one checkpoint.
type CheckpointMetric struct {
	Suite  string  `json:"suite"`
	Metric string  `json:"metric"`
	Mean   float64 `json:"mean"`
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
