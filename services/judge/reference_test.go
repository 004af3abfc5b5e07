package judge

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestReferenceTextOfAnUnanswerableQuestion: the judge is told that a
// question marked should_abstain is to be declined or corrected, not
// answered; an answerable look-alike shows its reference as before.
func TestReferenceTextOfAnUnanswerableQuestion(t *testing.T) {
	yes, no := true, false
	if got := referenceText(&eval.Reference{ShouldAbstain: &yes}); !strings.Contains(got, "false premise") || !strings.Contains(got, "instead of making one up") {
		t.Errorf("unanswerable: %q", got)
	}
	if got := referenceText(&eval.Reference{ShouldAbstain: &yes, Answers: []string{"Einstein won one Nobel Prize, in 1921."}}); !strings.Contains(got, "false premise") ||
		!strings.HasSuffix(got, "The facts: Einstein won one Nobel Prize, in 1921.") {
		t.Errorf("unanswerable with the true fact: %q", got)
	}
	if got := referenceText(&eval.Reference{ShouldAbstain: &no, Answers: []string{"Lima"}}); got != "Lima" {
		t.Errorf("answerable: %q", got)
	}
	if got := referenceText(&eval.Reference{ShouldAbstain: &no}); got != "" {
		t.Errorf("answerable without a reference: %q", got)
	}
}
