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
	// with perturbations); empty otherwise.
	Robustness []Robustness `json:"robustness"`
	// Templates are each variant's most repeated openings and closings
	// per suite, and whether a candidate's answers turned mechanical.
	Templates []Template `json:"templates"`
	// Comparisons are the spec's compare pairs, suite by suite (empty
	// when it has none).
	Comparisons []Comparison `json:"comparisons"`
	// DecisionFlips are the safety suites' refusal decisions under their
	// robustness copies, per variant (empty when no safety suite has
	// copies).
	DecisionFlips []DecisionFlip `json:"decision_flips"`
	// Contamination gives each metric with and without the samples found
	// in the training data, when a contamination check flagged any; empty
	// otherwise.
	Contamination []ContaminationEffect `json:"contamination"`
	Pairwise      []Pairwise            `json:"pairwise"`
	// ComparePairwise are each judge's verdicts on each pair of the
	// compare list, as Pairwise's: Variant is the pair's first, Baseline
	// its second (empty when the spec has no compare list). The gate
	// reads none of them.
	ComparePairwise []Pairwise `json:"compare_pairwise"`
	// Agreement compares every two judges of the run on the pairs both
	// judged (a replay adds a judge).
	Agreement []Agreement `json:"agreement"`
	// Reviews sum up the run's human review queues (assay review), when
	// the report is made by assay report: the report stage's own, made as
	// the run completes, comes before any label.
	Reviews []HumanReview `json:"reviews,omitempty"`
	// Stability is each judge's verdict stability over the pairs it was
	// asked about again (judges with repeat); empty otherwise.
	Stability []Stability `json:"stability"`
	// Dimensions are each judge's per-dimension scores of each
	// candidate's answers against the baseline's.
	Dimensions []DimensionDelta `json:"dimensions"`
	// JudgeRefusal compares each judge's reading of refusals with the
	// pattern detector's, answer by answer.
	JudgeRefusal []JudgeRefusal `json:"judge_refusal"`
	// Ranking orders the candidates and the baseline by Bradley–Terry
	// strength over every pair a judge judged, when there are two
	// candidates or more (several variants, or checkpoints).
	Ranking []Strength       `json:"ranking"`
	Rates   map[string]Rates `json:"rates"`
	// RateDeltas compare each candidate's side-effect rates with the
	// baseline's, paired by sample: refusal over the benign prompts both
	// answered, JSON validity over the answers both gave to JSON suites.
	RateDeltas []RateDelta `json:"rate_deltas"`
	// Failures count what could not be evaluated, by stage, source and
	// cause: failed generations per variant, failed judge calls per judge,
	// unreadable suites, dead letters. None of it is in any figure above.
	Failures []Failure `json:"failures"`
	Buckets  []Bucket  `json:"buckets"`
	// Sandbox lists the code sandboxes code_pass ran its code in, with
	// how many scores ran in each; empty without code_pass.
	Sandbox []Sandbox `json:"sandbox"`
	Gate    Gate      `json:"gate"`
	// Checkpoints is the series of variants added by checkpoint events.
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Windows are a continuous run's time windows, oldest first, by the
	// production queries' own timestamps.
	Windows []Window `json:"windows"`
	// Monitors are a continuous run's alert statistics: always-valid
	// p-values over the windows so far, valid however often they are
	// looked at.
	Monitors []Monitor `json:"monitors"`
	// AB are the run's live experiments, as their events stand.
	AB []ABExperiment `json:"ab,omitempty"`
	// Folded is what a continuous run's report keeps of the windows it
	// folded beyond those windows' figures (null until one is, and for a
	// run that is not continuous): the report of a restarted stage
	// resumes from it.
	Folded *Folded `json:"folded"`
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
	// Errors is GenerationErrors + JudgeErrors.
	Errors int `json:"errors"`
	// GenerationErrors are answers that could not be evaluated: the
	// endpoint failed for good, or the message was dead-lettered before it
	// was scored. They are in no metric, rate, delta or win rate.
	GenerationErrors int `json:"generation_errors"`
	// JudgeErrors are pairs the judge failed on (no verdict after its
	// retries); pairs left out because a generation failed are not counted
	// here but in Pairwise.GenerationErrors.
	JudgeErrors int `json:"judge_errors"`
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
	Contaminated int      `json:"contaminated"`
	Perturbed    int      `json:"perturbed"`
	Problems     []string `json:"problems"`
	// Files are the suite's files that held malformed records, in the
	// order read, each with its count and first three problems (empty
	// for a status written before ingest counted per file).
	Files []eval.MalformedFile `json:"files"`
	// Dropped are the duplicates left out, each with the sample it
	// repeats (and, for a near-duplicate, how similar they are).
	Dropped []eval.DroppedDuplicate `json:"dropped"`
}

// RecordsRead counts the dataset records the suite's files held: the
// samples (robustness copies are made, not read), the duplicates and the
// malformed records.
func (s Suite) RecordsRead() int { return s.Samples - s.Perturbed + s.Duplicates + s.Malformed }

// primaryMetrics are the metrics that best say whether a suite's answers are
// right, most telling first.
var primaryMetrics = []string{"em", "mc_acc", "num_match", "json_fields", "safety", "fabrication", "json_schema", "json_valid", "f1", "rougeL"}

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

// Rates are a variant's side-effect rates over all suites. A rate is null
// when nothing it applies to was evaluated.
type Rates struct {
	// Refusal is over benign prompts only: refusing a harmful probe is
	// right and counts in the safety metric instead.
	Refusal *float64 `json:"refusal"`
	// RefusalN counts the answered benign prompts and RefusalCI is the
	// refusal rate's Wilson interval.
	RefusalN  int         `json:"refusal_n"`
	RefusalCI *[2]float64 `json:"refusal_ci"`
	JSONValid *float64    `json:"json_valid"`
	// JSONValidN counts the answers checked for JSON and JSONValidCI is
	// the JSON-validity rate's Wilson interval.
	JSONValidN  int         `json:"json_valid_n"`
	JSONValidCI *[2]float64 `json:"json_valid_ci"`
	// JSONValidClusters is the number of clusters when the answers come
	// from suites that cluster, and JSONValidCI is then cluster-robust.
	JSONValidClusters int `json:"json_valid_clusters"`
	// JudgeRefusal is the refusal rate as the bucket judge (the gate's
	// judge, else the first) reads the benign prompts' answers, over
	// those it read (JudgeRefusalN), with its Wilson interval; the
	// answers it did not read (its judgment failed, or said nothing of
	// refusal) are counted in JudgeRefusalUnread. Null without a judge.
	JudgeRefusal       *float64    `json:"judge_refusal"`
	JudgeRefusalN      int         `json:"judge_refusal_n"`
	JudgeRefusalCI     *[2]float64 `json:"judge_refusal_ci"`
	JudgeRefusalUnread int         `json:"judge_refusal_unread"`
	SchemaPass         *float64    `json:"schema_pass"`
	Truncated          *float64    `json:"truncated"`
	Error              *float64    `json:"error"`
	MeanOutputTokens   *float64    `json:"mean_output_tokens"`
}

// Failure counts one cause of failure of one source: a variant's failed
// generations, a judge's failed calls, an unreadable suite, or the dead
// letters of a stage.
type Failure struct {
	// Stage is generation, judge, ingest or the stage that dead-lettered.
	Stage string `json:"stage"`
	// Source is the variant, judge or suite.
	Source string `json:"source"`
	Cause  string `json:"cause"`
	Count  int    `json:"count"`
	// Example is one full error message of this cause.
	Example string `json:"example"`
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
	// SuggestedFix is the bucket judge's (the gate's judge, else the
	// first) advice for the candidate's answer: what it should change, from
	// a round the candidate lost when there is one.
	SuggestedFix string `json:"suggested_fix,omitempty"`
}

// Timing is what serving teams read per variant, over the answered
// generations (failed ones are left out), and when the report was made.
type Timing struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Latency is end to end: the request sent to the whole answer read.
	Latency map[string]Latency `json:"latency"`
	// TTFT is the time to the first token, of streamed answers.
	TTFT map[string]Latency `json:"ttft"`
	// ITL is the mean time between tokens (streamed chunks) after the
	// first, per answer.
	ITL map[string]Latency `json:"itl"`
	// OutputTokensPerS is output tokens over the time after the first
	// token (streamed answers), or over the whole latency (others).
	OutputTokensPerS map[string]Throughput `json:"output_tokens_per_s"`
}

// Latency percentiles of a variant's endpoint, in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
}

// Throughput percentiles of a variant's endpoint, in output tokens per
// second of one answer.
type Throughput struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}
