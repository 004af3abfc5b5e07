package bus_test

import (
	"errors"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
)

// TestRetryStoredButNotReopenedWaits: a retry request whose attempt is
// stored whole (assay retry published it while a checkpoint had the run
// open) but that the run's status does not show yet is delivered again
// later, not refused; an attempt that is not stored is still refused.
func TestRetryStoredButNotReopenedWaits(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	const run = "pending"
	if err := b.PutStatus(ctx, &eval.RunStatus{Run: run, State: eval.StateRunning, Retry: 1}); err != nil {
		t.Fatal(err)
	}
	id := bus.MsgID(bus.StageInfer, run, "ft", "qa", "q1")
	if _, err := b.Publish(ctx, bus.GensSubject(run, "ft"), id, map[string]string{"error": "timeout"}); err != nil {
		t.Fatal(err)
	}
	req := eval.RetryRequest{Variant: "ft", Sample: eval.SampleRef{Suite: "qa", ID: "q1"}}
	for n := 1; n <= 2; n++ {
		if err := b.StartRetry(ctx, run, n, []eval.RetryRequest{req}); err != nil {
			t.Fatal(err)
		}
	}
	latest := b.FollowLatest(bus.StreamGens, bus.GensSubject(run, "ft"))
	failed := func([]byte) (bool, error) { return true, nil }
	ask := func(attempt int) error {
		r := req
		r.Run, r.Attempt, r.Last = run, attempt, true
		_, err := latest.Retryable(ctx, run, id, &r, failed)
		return err
	}
	var transient *bus.TransientError
	if err := ask(2); bus.IsPoison(err) || !errors.As(err, &transient) {
		t.Fatalf("a stored attempt the status does not show yet: %v, want a transient error", err)
	}
	if err := ask(3); !bus.IsPoison(err) {
		t.Fatalf("an attempt that is not stored: %v, want it refused", err)
	}
	if ok, err := latest.Retryable(ctx, run, id, &eval.RetryRequest{Run: run, Attempt: 1, Variant: "ft", Sample: req.Sample}, failed); !ok || err != nil {
		t.Fatalf("the run's current attempt: %v %v, want it retried", ok, err)
	}
}
