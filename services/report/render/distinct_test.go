package render

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/report/document"
)

// TestDistinctShown: the Markdown and HTML reports show each variant's
// distinct-1/2 beside its openings, an estimate marked ≈, a candidate's
// difference with its interval, and why a figure is missing.
func TestDistinctShown(t *testing.T) {
	r := fixture()
	edges := []document.Edge{{Text: "as a helpful", Count: 8, Share: 0.8}}
	r.Templates = []document.Template{
		{Suite: "qa", Variant: "base", N: 10, Openings: edges, Closings: edges,
			Distinct: document.Distinct{N: 10, Tokens: 120, Bigrams: 110, Distinct1: ptr(0.5), Distinct2: ptr(0.9), Exact: true}},
		{Suite: "qa", Variant: "ft", N: 10, Openings: edges, Closings: edges, Mechanical: true, Why: "its distinct-2 0.30 against the baseline's 0.90",
			Distinct: document.Distinct{N: 10, Tokens: 100, Bigrams: 90, Distinct1: ptr(0.25), Distinct2: ptr(0.3125), RelError: ptr(0.008)},
			DistinctVsBaseline: &document.DistinctDelta{N: 10, Tokens: 100, BaselineTokens: 120, Groups: 8,
				Distinct1: document.DistinctDiff{Candidate: ptr(0.25), Baseline: ptr(0.5), Delta: ptr(-0.25), CI: &[2]float64{-0.4, -0.1}},
				Distinct2: document.DistinctDiff{Candidate: ptr(0.3125), Baseline: ptr(0.9), Delta: ptr(-0.5875), Undefined: "fewer than 2 groups of samples: no interval"}}},
		{Suite: "zh", Variant: "ft", N: 3, Openings: edges, Closings: edges,
			Distinct: document.Distinct{Undefined: "not measured for a continuous run: its answers' texts are not read at every report"}},
	}
	for _, tc := range renderers[:2] {
		got := render(t, tc.render, r)
		for _, want := range []string{"Distinct-1 and distinct-2", "0.500", "≈0.250", "≈0.312", "-0.250 [-0.400, -0.100]", "-0.588¹",
			"fewer than 2 groups of samples: no interval", "—²", "not measured for a continuous run", "delete-a-group jackknife over 20 groups"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s does not show %q", tc.name, want)
			}
		}
	}
}
