package document

import (
	"time"
)

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
	// Folded: the window is older than the report's horizon, and its
	// figures are those it had when it was folded (results that arrive
	// for it later are counted in a warning only).
	Folded bool `json:"folded,omitempty"`
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

// Folded is what a continuous run's report keeps of its folded windows
// beyond their figures (see [Window.Folded]): the windows before Cutoff
// are folded, and results that arrive for them are late.
type Folded struct {
	Cutoff time.Time `json:"cutoff"`
	// Newest is the start of the latest window a result had arrived in.
	Newest time.Time `json:"newest"`
	// Looked counts the folded windows the monitors looked at.
	Looked int `json:"looked"`
	// Late counts the results that arrived for folded windows.
	Late int `json:"late"`
	// Taken counts the production samples of the folded windows, by
	// suite.
	Taken map[string]int `json:"taken"`
	// Monitors are the monitors' states after the folded windows.
	Monitors []MonitorState `json:"monitors"`
	// Counts are the results of the folded windows that progress counts.
	Counts []FoldedCount `json:"counts"`
}

// FoldedCount counts the scores of a variant (Judge empty), or the
// judgments of a judge (by its id) on a candidate, in a suite's folded
// windows.
type FoldedCount struct {
	Judge   string `json:"judge,omitempty"`
	Variant string `json:"variant"`
	Suite   string `json:"suite"`
	N       int    `json:"n"`
}

// MonitorState is a monitor's state after some windows: the count, sum
// and sum of squares of its observations about its null value, and its
// always-valid p-value so far.
type MonitorState struct {
	Variant    string  `json:"variant"`
	Statistic  string  `json:"statistic"`
	N          int     `json:"n"`
	Sum        float64 `json:"sum"`
	SumSquares float64 `json:"sum_squares"`
	PValue     float64 `json:"p_value"`
}
