package aggregate

import (
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// TestRefusedCheckpointWarningEndsOnceAdded: a refused announcement warns
// that the checkpoint is not in the run until the checkpoint is added
// (announced again with what the server accepts); then the old refusal
// says nothing.
func TestRefusedCheckpointWarningEndsOnceAdded(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	c.AddStagedDeadLetter(checkpointStage, &eval.DeadLetter{Run: "r1", Variant: "step-2", Reason: "api-key-env is not allowed"})
	refused := func() bool {
		var rep document.Report
		c.warnings(&rep)
		return slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "checkpoint step-2 was refused") })
	}
	if !refused() {
		t.Fatal("no warning for a refused checkpoint")
	}
	added := *spec
	added.Variants = append(slices.Clone(spec.Variants), eval.Variant{Name: "step-2", BaseURL: "http://ft:8000/v1", Model: "m-ft"})
	c.SetSpec(&added)
	if refused() {
		t.Fatal("the refusal is still warned about once the checkpoint is in the run")
	}
}
