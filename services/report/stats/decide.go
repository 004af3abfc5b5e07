package stats

import "math"

// Outcome is the decision of a gate check on an interval.
type Outcome string

// The outcomes of [Decide].
const (
	OutcomePass         Outcome = "pass"
	OutcomeFail         Outcome = "fail"
	OutcomeInconclusive Outcome = "inconclusive"
)

// decideTol is the tolerance, relative to the threshold's magnitude (and
// absolute below 1), within which a bound meets its threshold, so that a
// delta of 0.3 − 0.2 meets a minimum of 0.1.
const decideTol = 1e-9

// Decide is the three-state decision of a check that a value is at least
// threshold (atLeast) or at most threshold (!atLeast), given the value's
// interval ci. At least: pass when the whole interval meets the threshold
// (ci[0] ≥ threshold), fail when none of it does (ci[1] < threshold),
// otherwise inconclusive; at most, the mirror image. An interval with a NaN
// bound (an undefined test) is inconclusive.
func Decide(ci [2]float64, threshold float64, atLeast bool) Outcome {
	if math.IsNaN(ci[0]) || math.IsNaN(ci[1]) || math.IsNaN(threshold) {
		return OutcomeInconclusive
	}
	tol := decideTol * math.Max(1, math.Abs(threshold))
	lo, hi := ci[0], ci[1]
	if !atLeast {
		// Value ≤ threshold is −value ≥ −threshold.
		lo, hi, threshold = -hi, -lo, -threshold
	}
	switch {
	case lo >= threshold-tol:
		return OutcomePass
	case hi < threshold-tol:
		return OutcomeFail
	}
	return OutcomeInconclusive
}
