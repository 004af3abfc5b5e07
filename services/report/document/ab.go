package document

import "time"

// ABExperiment is a live A/B experiment as its events stand at its latest
// look (once per window of event time).
type ABExperiment struct {
	Name string `json:"name"`
	// Looks counts the windows looked at; LastLook is the end of the last.
	Looks    int       `json:"looks"`
	LastLook time.Time `json:"last_look,omitzero"`
	Arms     []ABArm   `json:"arms"`
	// Comparisons are each treatment arm against the control on the
	// primary metric and every guardrail.
	Comparisons []ABComparison `json:"comparisons"`
	SRM         ABSRM          `json:"srm"`
	// Decisions are one per treatment arm: ramp, hold or rollback.
	Decisions []ABDecision `json:"decisions"`
	Events    ABCounts     `json:"events"`
	// Shadow is each arm's variant as the run's continuous evaluation
	// (sampled production queries answered offline by every variant) saw
	// it, beside what the arm's live users experienced.
	Shadow []ABShadow `json:"shadow,omitempty"`
}

// ABShadow is an arm's variant in the shadow evaluation of the same run:
// its refusal rate over benign queries, JSON validity and mean answer
// length in tokens, each with how many answers it rests on; and the live
// arm's refusal rate and mean completion tokens a served turn, to set
// beside them.
type ABShadow struct {
	Arm              string      `json:"arm"`
	Variant          string      `json:"variant"`
	Refusal          *float64    `json:"refusal"`
	RefusalN         int         `json:"refusal_n"`
	RefusalCI        *[2]float64 `json:"refusal_ci"`
	JSONValid        *float64    `json:"json_valid"`
	JSONValidN       int         `json:"json_valid_n"`
	MeanOutputTokens *float64    `json:"mean_output_tokens"`
	LiveTokens       *float64    `json:"live_tokens"`
	// LiveRefusal is the arm's refusal rate over the answers its users
	// were served, as the score stage read them.
	LiveRefusal *float64 `json:"live_refusal"`
}

// ABArm is one arm's units and its value of each metric read.
type ABArm struct {
	Name    string             `json:"name"`
	Variant string             `json:"variant"`
	Units   int64              `json:"units"`
	Metrics map[string]ABValue `json:"metrics"`
	// Quantiles are the arm's per-turn latency_ms and ttft_ms quantiles,
	// by measure, for the measures its turns gave.
	Quantiles map[string]ABQuantiles `json:"quantiles,omitempty"`
}

// ABQuantiles are quantiles of a per-turn measure over an arm's turns
// since its units' exposure, read from a DDSketch: each is within 1% of a
// value of that rank among the turns. They describe; the intervals and
// decisions are on the means (Metrics).
type ABQuantiles struct {
	Turns int64   `json:"turns"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	// Window is the same over the turns of the window the look closed.
	Window *ABQuantiles `json:"window,omitempty"`
}

// ABValue is an arm's value of a metric, with its 95% interval.
type ABValue struct {
	Value     float64    `json:"value"`
	CI        [2]float64 `json:"ci"`
	Undefined string     `json:"undefined,omitempty"`
}

// ABComparison is a treatment arm against the control on one metric.
type ABComparison struct {
	Arm    string `json:"arm"`
	Metric string `json:"metric"`
	// Role is primary or guardrail; Margin a guardrail's tolerated
	// worsening; Higher whether a higher value is better.
	Role   string  `json:"role"`
	Margin float64 `json:"margin,omitempty"`
	Higher bool    `json:"higher"`
	Delta  float64 `json:"delta"`
	Rel    float64 `json:"rel"`
	// CI is the fixed-sample interval (one look only), AlwaysValid the
	// confidence sequence decisions rest on, P its always-valid p-value.
	CI                [2]float64 `json:"ci"`
	AlwaysValid       [2]float64 `json:"always_valid"`
	P                 float64    `json:"p"`
	CUPED             bool       `json:"cuped,omitempty"`
	VarianceReduction float64    `json:"variance_reduction,omitempty"`
	Undefined         string     `json:"undefined,omitempty"`
}

// ABSRM is the sample-ratio check of the units first exposed under the
// current weights (Epoch), in arm order.
type ABSRM struct {
	Epoch   string    `json:"epoch"`
	Units   []int64   `json:"units"`
	Weights []float64 `json:"weights"`
	Chi2    float64   `json:"chi2"`
	P       float64   `json:"p"`
	Checked bool      `json:"checked"`
}

// ABDecision is a treatment arm's decision at the latest look.
type ABDecision struct {
	Arm      string   `json:"arm"`
	Decision string   `json:"decision"`
	Reasons  []string `json:"reasons"`
	Blocked  bool     `json:"blocked,omitempty"`
}

// ABCounts are what became of an experiment's events.
type ABCounts struct {
	// Events is every event read, Applied those that changed the totals.
	Events  int64 `json:"events"`
	Applied int64 `json:"applied"`
	// Duplicates are events whose id was already applied (for a unit's
	// exposures, every exposure after the first).
	Duplicates int64 `json:"duplicates"`
	// Late are events older than the horizon behind the newest when they
	// arrived: not applied.
	Late int64 `json:"late"`
	// OutOfOrder are events applied although a later one had arrived
	// first (within the horizon).
	OutOfOrder int64 `json:"out_of_order"`
	// Pending are events of units not exposed yet, held; Orphans those of
	// units never exposed within the horizon, dropped.
	Pending int64 `json:"pending"`
	Orphans int64 `json:"orphans"`
	// UnknownArm are exposures to no arm of the experiment; ArmMismatch
	// events naming another arm than their unit's (applied to the unit's).
	UnknownArm  int64 `json:"unknown_arm"`
	ArmMismatch int64 `json:"arm_mismatch"`
	// Unreadable are stored events that did not decode.
	Unreadable int64 `json:"unreadable"`
	// SpillErrors are events not applied because their unit's totals,
	// kept on disk while it was quiet, could not be read back; while
	// there are any, no decision is made.
	SpillErrors int64 `json:"spill_errors,omitempty"`
}
