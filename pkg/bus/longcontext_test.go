package bus_test

import (
	"errors"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
)

// TestResubmitLongContext: a run submitted again with its long_context
// padding written out as the defaults it had is the same run; with other
// tokens or another position its copies would be other samples, and it is
// refused.
func TestResubmitLongContext(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	mk := func(lc *eval.LongContext) *eval.RunSpec {
		s := spec("lc")
		s.Suites[0].Perturbations = []string{"long_context"}
		s.Suites[0].LongContext = lc
		return s
	}
	if err := b.SubmitRun(ctx, mk(nil)); err != nil {
		t.Fatal(err)
	}
	if err := b.SubmitRun(ctx, mk(&eval.LongContext{Tokens: eval.DefaultLongContextTokens, Position: eval.LongContextBefore})); err != nil {
		t.Fatalf("the defaults written out: %v", err)
	}
	for _, lc := range []*eval.LongContext{{Tokens: 8000}, {Position: eval.LongContextAfter}} {
		if err := b.SubmitRun(ctx, mk(lc)); !errors.Is(err, bus.ErrRunExists) {
			t.Errorf("long_context %+v: %v, want the run refused", lc, err)
		}
	}
}

// TestResubmitWritesAMissingStatus: a submission that stored its spec and
// failed before the run's status (NATS electing a leader) is made whole by
// the next: the status is written.
func TestResubmitWritesAMissingStatus(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	s := spec("half")
	if err := b.SubmitRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := b.Runs.Delete(ctx, bus.StatusKey("half")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Status(ctx, "half"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("status after its deletion: %v", err)
	}
	if err := b.SubmitRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	if st, err := b.Status(ctx, "half"); err != nil || st.State != eval.StateRunning {
		t.Fatalf("status %+v, %v; want running", st, err)
	}
}
