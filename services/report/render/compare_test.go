package render

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/report/document"
)

// TestComparePairwiseShown: each judge's verdicts on each compare pair are
// a line of the comparisons in Markdown and HTML, with the pairs the
// judge never decided counted, and a pair not judged yet says so; a
// report with no compare list has no such section.
func TestComparePairwiseShown(t *testing.T) {
	r := fixture()
	r.ComparePairwise = []document.Pairwise{
		{Judge: "j", Variant: "ft-lora", Baseline: "ft-merged", N: 100, Wins: 12, Losses: 9, Ties: 79, WinRate: ptr(0.515), CI: &[2]float64{0.44, 0.59},
			Errors: 2, GenerationErrors: 1},
		{Judge: "j2", Variant: "ft-lora", Baseline: "ft-merged"},
	}
	for _, tc := range renderers[:2] {
		got := render(t, tc.render, r)
		for _, want := range []string{
			"ft-lora vs ft-merged (judge j): wins 12, losses 9, ties 79, win rate 51.5% [44.0%, 59.0%]; 2 not judged (the judge failed); 1 not judged (a generation failed)",
			"ft-lora vs ft-merged (judge j2): no pair judged",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("%s does not say %q", tc.name, want)
			}
		}
	}
	if got := render(t, Markdown, fixture()); strings.Contains(got, "(judge ") {
		t.Error("a compare line without a compare list")
	}
}
