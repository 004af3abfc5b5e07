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
	// Contamination gives each metric with and without the samples found
	// in the training data, when a contamination check flagged any; empty
	// otherwise.
	Contamination []ContaminationEffect `json:"contamination"`
	Pairwise      []Pairwise            `json:"pairwise"`
	// Agreement compares every two judges of the run on the pairs both
	// judged (a replay adds a judge).
	Agreement []Agreement `json:"agreement"`
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
	Gate     Gate      `json:"gate"`
	// Checkpoints is the series of variants added by checkpoint events.
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Windows are a continuous run's time windows, oldest first, by the
	// production queries' own timestamps.
	Windows []Window `json:"windows"`
	// Monitors are a continuous run's alert statistics: always-valid
	// p-values over the windows so far, valid however often they are
	// looked at.
	Monitors []Monitor `json:"monitors"`
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

// Metric is a metric's mean for one variant on one suite, over the answers
// that were scored: failed generations are counted in Errors, not in N.
// Mean and CI are null when N is 0.
type Metric struct {
	Suite   string      `json:"suite"`
	Metric  string      `json:"metric"`
	Variant string      `json:"variant"`
	N       int         `json:"n"`
	Mean    *float64    `json:"mean"`
	CI      *[2]float64 `json:"ci"`
	// Errors are the variant's samples of the suite whose generation
	// failed: left out of N and Mean.
	Errors int `json:"errors"`
	// WorstCase is the mean had every failed generation scored the
	// metric's minimum (null when nothing failed, and for length).
	WorstCase *Estimate `json:"worst_case"`
	// Undefined says why CI is null though N is not 0: one value, or no
	// variance among the values of a metric that is not 0/1, or fewer
	// than two clusters.
	Undefined string `json:"undefined"`
	// Clusters is the number of clusters when the suite groups its samples
	// (its cluster path), and CI is then cluster-robust; 0 otherwise.
	Clusters int `json:"clusters"`
	// Signature is sacreBLEU's signature of a BLEU or chrF mean.
	Signature string `json:"signature"`
}

// Estimate is a mean (or share) with its 95% interval over N values.
type Estimate struct {
	N    int        `json:"n"`
	Mean float64    `json:"mean"`
	CI   [2]float64 `json:"ci"`
}

// ContaminationEffect is a metric's mean for one variant with and without
// the samples found in the training data.
type ContaminationEffect struct {
	Suite   string `json:"suite"`
	Metric  string `json:"metric"`
	Variant string `json:"variant"`
	// N and Mean count every sample; Clean and CleanMean leave out the
	// contaminated ones.
	N         int      `json:"n"`
	Mean      float64  `json:"mean"`
	Clean     int      `json:"clean"`
	CleanMean *float64 `json:"clean_mean"`
}

// Robustness is a variant's score on robustness copies of a kind against
// its score on their originals, paired by original sample.
type Robustness struct {
	Suite        string `json:"suite"`
	Metric       string `json:"metric"`
	Variant      string `json:"variant"`
	Perturbation string `json:"perturbation"`
	// N counts the pairs: copies whose original was scored too. Errors
	// counts the copies whose generation failed, compared with nothing.
	N         int     `json:"n"`
	Errors    int     `json:"errors"`
	Original  float64 `json:"original"`
	Perturbed float64 `json:"perturbed"`
	// DeltaEstimate is perturbed minus original, with its CI and test
	// as for [Delta].
	DeltaEstimate
	// VsBaseline is, for a candidate, its drop under the perturbation
	// minus the baseline's on the same samples (a difference in
	// differences, paired by sample): below 0 when the candidate is less
	// robust than its base. Null for the baseline.
	VsBaseline *DeltaEstimate `json:"vs_baseline"`
}

// Delta is a variant's difference from the baseline on a metric, paired by
// sample over the samples both answered: a pair where either generation
// failed is left out and counted in Excluded.
type Delta struct {
	Suite    string `json:"suite"`
	Metric   string `json:"metric"`
	Variant  string `json:"variant"`
	Baseline string `json:"baseline"`
	DeltaEstimate
	// Excluded counts the pairs left out because a generation failed.
	Excluded int `json:"excluded"`
	// WorstCase is the delta had every failure counted against the
	// candidate (its failed answers scoring the metric's minimum, the
	// baseline's its maximum); null when no pair was excluded, and for
	// length.
	WorstCase *DeltaEstimate `json:"worst_case"`
}

// DeltaEstimate is a paired difference with its interval and test.
type DeltaEstimate struct {
	N     int        `json:"n"`
	Delta float64    `json:"delta"`
	CI    [2]float64 `json:"ci"`
	// PValue is null when the test is undefined (Undefined says why: too
	// few pairs, or no variance to test against).
	PValue *float64 `json:"p_value"`
	// Test names the test behind CI and PValue, chosen by the metric's
	// type: mcnemar for a 0/1 metric (Newcombe's interval, mid-p),
	// paired_t otherwise.
	Test      string `json:"test"`
	Undefined string `json:"undefined"`
	// QValue is the Benjamini–Hochberg adjusted p-value over the
	// report's family of tests (every delta, or every robustness row);
	// stars are on it.
	QValue *float64 `json:"q_value"`
	// MDE is the minimum detectable effect: the smallest |delta| this N
	// and this variance detect with 80% power at the 5% level.
	MDE *float64 `json:"mde"`
	// Underpowered is "too few samples to tell": the MDE exceeds the
	// observed |delta| (and the gate's margin, where one is set).
	Underpowered bool `json:"underpowered"`
	// SD is the standard deviation of the paired differences, and
	// Discordant the pairs where only the candidate (first) or only the
	// baseline (second) scored 1 on a 0/1 metric: what a plan for a
	// larger run needs.
	SD         *float64 `json:"sd"`
	Discordant *[2]int  `json:"discordant"`
	// Clusters is the number of clusters when the interval is
	// cluster-robust (CR1, t on clusters − 1 degrees of freedom).
	Clusters int `json:"clusters"`
}

// RateDelta is a candidate's side-effect rate minus the baseline's,
// paired by sample.
type RateDelta struct {
	// Rate is refusal or json_valid.
	Rate     string `json:"rate"`
	Variant  string `json:"variant"`
	Baseline string `json:"baseline"`
	DeltaEstimate
}

// Pairwise is a judge's verdicts on a candidate against the baseline, over
// the pairs it judged. WinRate, CI and FlipRate are null when N is 0.
type Pairwise struct {
	Judge    string   `json:"judge"`
	JudgeID  string   `json:"judge_id"`
	Variant  string   `json:"variant"`
	Baseline string   `json:"baseline"`
	N        int      `json:"n"`
	Wins     int      `json:"wins"`
	Losses   int      `json:"losses"`
	Ties     int      `json:"ties"`
	WinRate  *float64 `json:"win_rate"`
	// CI is the t interval on the per-pair scores (1 win, ½ tie, 0 loss:
	// AlpacaEval's standard error), cluster-robust when Clusters > 0.
	CI *[2]float64 `json:"ci"`
	// Undefined says why WinRate has no interval (fewer than 2 pairs, or
	// every pair scored the same).
	Undefined string `json:"undefined"`
	Clusters  int    `json:"clusters"`
	// Decisive is W/(W+L), the win share among pairs that were not ties,
	// with its Wilson interval; SignP is the exact sign test of W against
	// L. Null when every pair was a tie.
	Decisive   *float64    `json:"decisive"`
	DecisiveCI *[2]float64 `json:"decisive_ci"`
	SignP      *float64    `json:"sign_p"`
	// MDE is the smallest |win rate − ½| this N detects with 80% power.
	MDE          *float64 `json:"mde"`
	Underpowered bool     `json:"underpowered"`
	// LengthControlled is the win rate the judge would give at equal
	// answer lengths (AlpacaEval 2's length-controlled win rate).
	LengthControlled *LengthControlled `json:"length_controlled"`
	// FlipRate is the share of pairs whose verdict changed with the order
	// of presentation (counted as ties); FirstShown and SecondShown split
	// those flips by the answer that won both orders: the one shown first
	// (position bias towards A) or the one shown second.
	FlipRate    *float64 `json:"flip_rate"`
	FirstShown  int      `json:"first_shown_wins_both"`
	SecondShown int      `json:"second_shown_wins_both"`
	// BySuite is the win rate per suite.
	BySuite []SuiteWinRate `json:"by_suite"`
	// Errors are pairs the judge failed on; GenerationErrors pairs never
	// shown to it because a generation failed. Neither is in N.
	Errors           int `json:"errors"`
	GenerationErrors int `json:"generation_errors"`
	// WorstCase is the win rate had every pair left out counted as a loss
	// (null when none was left out).
	WorstCase *Estimate `json:"worst_case"`
}

// LengthControlled is a win rate at equal answer lengths: a logistic model
// of the judge's preference on tanh of the normalised difference in
// visible-answer length, predicted at zero difference (Dubois et al. 2024).
type LengthControlled struct {
	N       int         `json:"n"`
	WinRate *float64    `json:"win_rate"`
	CI      *[2]float64 `json:"ci"`
	// Slope is the model's length coefficient: above 0 when the judge
	// prefers the longer answer.
	Slope     float64 `json:"slope"`
	Undefined string  `json:"undefined"`
}

// SuiteWinRate is a judge's win rate on one suite.
type SuiteWinRate struct {
	Suite   string      `json:"suite"`
	N       int         `json:"n"`
	Wins    int         `json:"wins"`
	Losses  int         `json:"losses"`
	Ties    int         `json:"ties"`
	WinRate *float64    `json:"win_rate"`
	CI      *[2]float64 `json:"ci"`
}

// Strength is a variant's Bradley–Terry strength: log odds of being
// preferred over the baseline (0), with a bootstrap interval over the
// judged pairs.
type Strength struct {
	Judge   string `json:"judge"`
	Variant string `json:"variant"`
	// Strength and CI are null when Undefined says why there is none.
	Strength  *float64    `json:"strength"`
	CI        *[2]float64 `json:"ci"`
	Rank      int         `json:"rank"`
	Undefined string      `json:"undefined"`
}

// Monitor is an always-valid test of one of a continuous run's
// statistics over its windows so far (mixture SPRT): its p-value may be
// read after every window without inflating false alarms.
type Monitor struct {
	Variant string `json:"variant"`
	// Statistic is win_rate (per-pair score − ½) or refusal_delta.
	Statistic string  `json:"statistic"`
	Windows   int     `json:"windows"`
	N         int     `json:"n"`
	Mean      float64 `json:"mean"`
	PValue    float64 `json:"p_value"`
	Alarm     bool    `json:"alarm"`
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
	// KappaCI is kappa's asymptotic 95% interval; WeightedKappa is
	// linear-weighted over loss < tie < win, with its interval.
	KappaCI         *[2]float64 `json:"kappa_ci"`
	WeightedKappa   *float64    `json:"weighted_kappa"`
	WeightedKappaCI *[2]float64 `json:"weighted_kappa_ci"`
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
	JSONValidClusters int      `json:"json_valid_clusters"`
	SchemaPass        *float64 `json:"schema_pass"`
	Truncated         *float64 `json:"truncated"`
	Error             *float64 `json:"error"`
	MeanOutputTokens  *float64 `json:"mean_output_tokens"`
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
}

// Gate verdicts.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
	// VerdictInconclusive: no check failed, but at least one could not
	// be decided either way: its interval straddles the threshold.
	VerdictInconclusive = "inconclusive"
	VerdictError        = "error"
)

// Gate is the verdict CI reads.
type Gate struct {
	// Verdict is pass, fail, inconclusive (no check failed, some could
	// not be decided at this sample size), or error: the run could not be
	// evaluated (it is incomplete, ingest failed, or more calls failed
	// than gate.error_rate_max allows), so it neither passes nor fails.
	Verdict string `json:"verdict"`
	// Policy is interval (checks are decided on their 95% intervals) or
	// point (on point estimates).
	Policy string `json:"policy"`
	// Errors say why the verdict is error.
	Errors []string `json:"errors"`
	// Passed is Verdict == pass.
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
	// Variants is each gated variant's own verdict: its checks and the
	// run's all pass. A checkpoint's pipeline waits on its entry.
	Variants map[string]bool `json:"variants"`
	// Verdicts is each gated variant's verdict as pass, fail,
	// inconclusive or error.
	Verdicts map[string]string `json:"verdicts"`
}

// Checkpoint is one checkpoint of the run's series, in the order the
// checkpoints arrived: the trend a training job watches.
type Checkpoint struct {
	Seq     int       `json:"seq"`
	Variant string    `json:"variant"`
	Model   string    `json:"model"`
	Step    int64     `json:"step"`
	AddedAt time.Time `json:"added_at"`
	// Judge is the judge whose win rate is shown (the gate's).
	Judge   string      `json:"judge"`
	WinRate *float64    `json:"win_rate"`
	CI      *[2]float64 `json:"ci"`
	// Metrics are each suite's primary metric.
	Metrics    []CheckpointMetric `json:"metrics"`
	Refusal    *float64           `json:"refusal"`
	JSONValid  *float64           `json:"json_valid"`
	GatePassed bool               `json:"gate_passed"`
	// Verdict is the checkpoint's gate verdict: pass, fail, inconclusive
	// or error.
	Verdict string `json:"verdict"`
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
	WinRate *float64    `json:"win_rate"`
	CI      *[2]float64 `json:"ci"`
	Judged  int         `json:"judged"`
	Refusal *float64    `json:"refusal"`
	// RefusalDelta is the window's refusal rate minus the baseline's,
	// paired over the queries both answered (null for the baseline).
	RefusalDelta     *DeltaEstimate `json:"refusal_delta"`
	JSONValid        *float64       `json:"json_valid"`
	MeanOutputTokens *float64       `json:"mean_output_tokens"`
	LatencyP50       *float64       `json:"latency_p50_ms"`
	LatencyP95       *float64       `json:"latency_p95_ms"`
	// Errors are the failed generations, ErrorRate their share, and
	// JudgeErrors the pairs the gate's judge failed on: an alert on the
	// win rate says nothing when no verdict comes.
	Errors      int      `json:"errors"`
	ErrorRate   *float64 `json:"error_rate"`
	JudgeErrors int      `json:"judge_errors"`
}

// CheckpointMetric is a suite's primary metric for one checkpoint (Mean is
// null when none of its answers was scored).
type CheckpointMetric struct {
	Suite  string   `json:"suite"`
	Metric string   `json:"metric"`
	Mean   *float64 `json:"mean"`
}

// Check is one gate condition for one variant (all variants when Variant
// is empty).
type Check struct {
	Name    string `json:"name"`
	Variant string `json:"variant"`
	// Judge is the judge whose verdicts a win_rate_min check reads; ""
	// for the other checks.
	Judge     string  `json:"judge"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Bound is min when Value must be at least Threshold, max when at
	// most.
	Bound string `json:"bound"`
	// CI is Value's 95% interval, which decides the check under the
	// interval policy (null for checks on counts: error and malformed
	// rates).
	CI *[2]float64 `json:"ci"`
	// Outcome is pass, fail, inconclusive (the interval straddles the
	// threshold) or error.
	Outcome string `json:"outcome"`
	// MDE is the smallest effect the check's sample detects with 80%
	// power, and NeededN the sample size (pairs or answers) at which an
	// interval of today's spread would clear the threshold: what an
	// inconclusive check needs.
	MDE     *float64 `json:"mde"`
	NeededN int      `json:"needed_n"`
	Passed  bool     `json:"passed"`
	// Error says why the check could not be evaluated: the run is
	// incomplete, too many calls failed, or there is nothing to measure.
	// Such a check makes the verdict error, not fail.
	Error string `json:"error"`
}

// AppliesTo reports whether the check bears on variant's verdict: it is
// the variant's own, the run's, or the baseline's, which every comparison
// rests on.
func (c Check) AppliesTo(variant, baseline string) bool {
	return c.Variant == "" || c.Variant == variant || c.Variant == baseline
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
