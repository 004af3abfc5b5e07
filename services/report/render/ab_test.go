package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/services/report/document"
)

func TestLiveExperimentSection(t *testing.T) {
	refusal := 0.031
	r := &document.Report{Run: "live", Baseline: "base", Continuous: true, AB: []document.ABExperiment{{
		Name: "support-ft", Looks: 7, LastLook: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
		Arms: []document.ABArm{
			{Name: "control", Variant: "base", Units: 800, Metrics: map[string]document.ABValue{"ticket": {Value: 0.048, CI: [2]float64{0.036, 0.060}}, "success": {Value: 0.28, CI: [2]float64{0.25, 0.30}}}},
			{Name: "treatment", Variant: "ft", Units: 790, Metrics: map[string]document.ABValue{"ticket": {Value: 0.134, CI: [2]float64{0.114, 0.153}}, "success": {Value: 0.31, CI: [2]float64{0.28, 0.33}}}},
		},
		Comparisons: []document.ABComparison{
			{Arm: "treatment", Metric: "success", Role: "primary", Higher: true, Delta: 0.026, CI: [2]float64{-0.01, 0.06}, AlwaysValid: [2]float64{-0.04, 0.09}, P: 0.8},
			{Arm: "treatment", Metric: "ticket", Role: "guardrail", Margin: 0.02, Delta: 0.086, CI: [2]float64{0.063, 0.108}, AlwaysValid: [2]float64{0.05, 0.12}, P: 1e-6, CUPED: true, VarianceReduction: 0.12},
		},
		SRM:       document.ABSRM{Units: []int64{800, 790}, Weights: []float64{1, 1}, Chi2: 0.06, P: 0.8, Checked: true},
		Decisions: []document.ABDecision{{Arm: "treatment", Decision: "rollback", Reasons: []string{"guardrail ticket worsened by more than its margin 0.02"}}},
		Events:    document.ABCounts{Events: 5000, Applied: 4990, Duplicates: 10, Orphans: 3},
		Shadow:    []document.ABShadow{{Arm: "treatment", Variant: "ft", Refusal: &refusal, RefusalN: 640}},
	}}}
	var md, page bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Live experiment support-ft", "**rollback**", "guardrail ticket worsened", "3 orphans", "CUPED: variance −12%", "p 0.8", "| control | base | 800 |", "Beside the shadow evaluation", "0.031 of 640"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{"<h2>Live experiment support-ft</h2>", "rollback", "guardrail ticket worsened"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
