package perturb

import (
	"slices"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// The spec accepts exactly the kinds this package makes.
func TestKindsMatchTheSpec(t *testing.T) {
	if !slices.Equal(slices.Concat(Kinds, ContextKinds), eval.PerturbationKinds) {
		t.Fatalf("perturb.Kinds %q, eval.PerturbationKinds %q", Kinds, eval.PerturbationKinds)
	}
}
