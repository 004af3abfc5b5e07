package report

import (
	"testing"

	"github.com/assay-eval/assay/services/report/document"
)

// TestShadowBesideLive: each arm's variant's figures in the run's own
// shadow evaluation are set beside the arm, with the live arm's tokens.
func TestShadowBesideLive(t *testing.T) {
	ref, json, tokens := 0.031, 0.97, 212.0
	rep := &document.Report{
		Rates: map[string]document.Rates{"ft": {Refusal: &ref, RefusalN: 640, RefusalCI: &[2]float64{0.02, 0.047}, JSONValid: &json, JSONValidN: 88, MeanOutputTokens: &tokens}},
		AB: []document.ABExperiment{{Name: "x", Arms: []document.ABArm{
			{Name: "control", Variant: "base", Metrics: map[string]document.ABValue{"tokens": {Undefined: "no unit has a denominator"}}},
			{Name: "treatment", Variant: "ft", Metrics: map[string]document.ABValue{"tokens": {Value: 198}, "refusal": {Value: 0.045}}},
		}}},
	}
	shadowOf(rep)
	sh := rep.AB[0].Shadow
	if len(sh) != 2 || sh[0].Refusal != nil || sh[0].LiveTokens != nil {
		t.Fatalf("shadow %+v", sh)
	}
	if s := sh[1]; s.Variant != "ft" || *s.Refusal != ref || s.RefusalN != 640 || *s.JSONValid != json || *s.MeanOutputTokens != tokens || *s.LiveTokens != 198 || *s.LiveRefusal != 0.045 {
		t.Errorf("treatment's shadow %+v", s)
	}
	shadowOf(rep) // computed again for every stored report: not doubled
	if len(rep.AB[0].Shadow) != 2 {
		t.Errorf("shadow doubled: %+v", rep.AB[0].Shadow)
	}
}
