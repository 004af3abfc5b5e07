package document

// Gate verdicts.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
	// VerdictInconclusive: no check failed, but at least one could not
	// be decided either way: its interval straddles the threshold.
	VerdictInconclusive = "inconclusive"
	VerdictError        = "error"
)

// The checks that say whether a run could be evaluated at all, not how
// good a variant is: comparisons of counts with gate.error_rate_max that
// make the verdict error, never fail.
const (
	// CheckErrorRateMax is a variant's share of failed generations.
	CheckErrorRateMax = "error_rate_max"
	// CheckJudgeErrorRateMax is a judge's share of a variant's pairs it
	// gave no verdict on.
	CheckJudgeErrorRateMax = "judge_error_rate_max"
	// CheckMalformedRateMax is the share of dataset records skipped as
	// malformed.
	CheckMalformedRateMax = "malformed_rate_max"
)

// IsValidityCheck reports whether the check named name is one of the
// checks on counts ([CheckErrorRateMax], [CheckJudgeErrorRateMax],
// [CheckMalformedRateMax]) that say whether the run could be evaluated.
func IsValidityCheck(name string) bool {
	switch name {
	case CheckErrorRateMax, CheckJudgeErrorRateMax, CheckMalformedRateMax:
		return true
	}
	return false
}

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

// Check is one gate condition for one variant (all variants when Variant
// is empty).
type Check struct {
	Name    string `json:"name"`
	Variant string `json:"variant"`
	// Judge is the judge whose verdicts a win_rate_min check reads, or
	// whose failures a judge_error_rate_max check counts; "" for the
	// other checks.
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
