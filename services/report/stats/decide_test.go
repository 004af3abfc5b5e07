package stats

import (
	"math"
	"testing"
)

func TestDecide(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name      string
		ci        [2]float64
		threshold float64
		atLeast   bool
		want      Outcome
	}{
		{"at least: all above", [2]float64{0.01, 0.05}, 0, true, OutcomePass},
		{"at least: lower bound on it", [2]float64{0, 0.05}, 0, true, OutcomePass},
		{"at least: rounding meets it", [2]float64{0.3 - 0.2, 0.5}, 0.1, true, OutcomePass},
		{"at least: straddles", [2]float64{-0.01, 0.05}, 0, true, OutcomeInconclusive},
		{"at least: upper bound on it", [2]float64{-0.05, 0}, 0, true, OutcomeInconclusive},
		{"at least: all below", [2]float64{-0.05, -0.01}, 0, true, OutcomeFail},
		{"at least: just below past tolerance", [2]float64{-0.05, -1e-8}, 0, true, OutcomeFail},
		{"at least: large threshold, rounding", [2]float64{2000 * (1 - 1e-13), 2100}, 2000, true, OutcomePass},
		{"at most: all below", [2]float64{0.01, 0.05}, 0.1, false, OutcomePass},
		{"at most: upper bound on it", [2]float64{0.01, 0.1}, 0.1, false, OutcomePass},
		{"at most: rounding meets it", [2]float64{0, 0.1 + 0.2}, 0.3, false, OutcomePass},
		{"at most: straddles", [2]float64{0.05, 0.15}, 0.1, false, OutcomeInconclusive},
		{"at most: lower bound on it", [2]float64{0.1, 0.15}, 0.1, false, OutcomeInconclusive},
		{"at most: all above", [2]float64{0.11, 0.15}, 0.1, false, OutcomeFail},
		{"undefined interval", [2]float64{nan, nan}, 0, true, OutcomeInconclusive},
		{"half undefined", [2]float64{nan, -1}, 0, true, OutcomeInconclusive},
		{"NaN threshold", [2]float64{1, 2}, nan, false, OutcomeInconclusive},
		{"infinite interval", [2]float64{math.Inf(-1), math.Inf(1)}, 0, true, OutcomeInconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.ci, tt.threshold, tt.atLeast); got != tt.want {
				t.Errorf("Decide(%v, %v, %v) = %q, want %q", tt.ci, tt.threshold, tt.atLeast, got, tt.want)
			}
		})
	}
}
