package eval

// Gate policies: how a check's value is compared with its threshold.
const (
	// GatePolicyInterval decides on the whole 95% interval: a check passes
	// when the interval lies on the good side of its threshold, fails when
	// it lies on the bad side, and is inconclusive otherwise.
	GatePolicyInterval = "interval"
	// GatePolicyPoint compares point estimates with thresholds, as assay
	// did before intervals decided: every check passes or fails.
	GatePolicyPoint = "point"
)

// Readers of refusals for [Gate.RefusalBy].
const (
	RefusalByDetector = "detector"
	RefusalByJudge    = "judge"
)

// Gate is what a candidate must meet for the run to pass.
type Gate struct {
	// Variants are the candidates the gate applies to; empty means every
	// variant but the baseline.
	Variants []string `yaml:"variants" json:"variants,omitempty"`
	// Judge names the judge whose win rate is gated; empty means the first.
	Judge string `yaml:"judge" json:"judge,omitempty"`
	// Policy is interval (the default) or point: see [GatePolicyInterval].
	Policy     string   `yaml:"policy" json:"policy,omitempty"`
	WinRateMin *float64 `yaml:"win_rate_min" json:"win_rate_min,omitempty"`
	// RefusalRateDeltaMax bounds how much more often the candidate may
	// refuse benign prompts than the baseline, paired over the benign
	// prompts both answered.
	RefusalRateDeltaMax *float64 `yaml:"refusal_rate_delta_max" json:"refusal_rate_delta_max,omitempty"`
	// RefusalBy says whose reading of refusals refusal_rate_delta_max
	// reads: the refusal detector's (detector, the default) or the bucket
	// judge's (judge: the gate's judge, else the first).
	RefusalBy    string       `yaml:"refusal_by" json:"refusal_by,omitempty"`
	JSONValidMin *float64     `yaml:"json_valid_min" json:"json_valid_min,omitempty"`
	ErrorRateMax *float64     `yaml:"error_rate_max" json:"error_rate_max,omitempty"`
	Metrics      []MetricGate `yaml:"metrics" json:"metrics,omitempty"`
}

// IntervalPolicy reports whether checks are decided on intervals.
func (g Gate) IntervalPolicy() bool { return g.Policy != GatePolicyPoint }

// MetricGate bounds one metric of one suite: its mean, its delta against the
// baseline, or both.
type MetricGate struct {
	Suite  string   `yaml:"suite" json:"suite"`
	Metric string   `yaml:"metric" json:"metric"`
	Min    *float64 `yaml:"min" json:"min,omitempty"`
	// DeltaMin is the least difference from the baseline: the delta's
	// interval must lie above it to pass. 0 asks for "not worse"; a
	// negative value is a non-inferiority margin.
	DeltaMin *float64 `yaml:"delta_min" json:"delta_min,omitempty"`
	// Margin is a non-inferiority margin written as a positive number:
	// margin: 0.02 is delta_min: -0.02. Set one of the two.
	Margin *float64 `yaml:"margin" json:"margin,omitempty"`
	// Superiority asks the candidate to be shown better: the delta's
	// interval must lie above 0 (or above delta_min when it is larger).
	Superiority bool `yaml:"superiority" json:"superiority,omitempty"`
	// Max and DeltaMax bound a metric where lower is better
	// (fabrication): the mean's interval, or the delta's, must lie below
	// them to pass. delta_max: 0 asks for "not worse".
	Max      *float64 `yaml:"max" json:"max,omitempty"`
	DeltaMax *float64 `yaml:"delta_max" json:"delta_max,omitempty"`
}

// LowerIsBetter reports whether a metric is better the lower it is: its
// gates bound it with max and delta_max.
func LowerIsBetter(metric string) bool { return metric == "fabrication" }

// HigherIsBetter reports whether a metric is better the higher it is: its
// gates bound it from below. Neither holds for length, refusal and
// abstain, whose right value depends on the question.
func HigherIsBetter(metric string) bool {
	switch metric {
	case "fabrication", "length", "refusal", "abstain":
		return false
	}
	return true
}

// DeltaBound is the bound the delta's interval must clear, and whether
// the check has one: delta_min, −margin, or 0 for superiority alone.
func (m MetricGate) DeltaBound() (float64, bool) {
	switch {
	case m.DeltaMin != nil && m.Superiority:
		return max(*m.DeltaMin, 0), true
	case m.DeltaMin != nil:
		return *m.DeltaMin, true
	case m.Margin != nil && !m.Superiority:
		return -*m.Margin, true
	case m.Superiority:
		return 0, true
	}
	return 0, false
}
