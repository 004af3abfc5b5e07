package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestSubmitRetrying: a submission that NATS answers as a cluster electing
// a leader does is tried again until it is stored; a refusal is returned
// at once, and waiting ends at its limit with the last error.
func TestSubmitRetrying(t *testing.T) {
	spec := &eval.RunSpec{Run: "r"}
	calls := 0
	flaky := func(errs ...error) func(context.Context, *eval.RunSpec) error {
		calls = 0
		return func(_ context.Context, s *eval.RunSpec) error {
			if s != spec {
				t.Fatal("another spec submitted")
			}
			calls++
			if calls <= len(errs) {
				return errs[calls-1]
			}
			return nil
		}
	}
	leaderless := fmt.Errorf("storing run spec: %w", jetstream.ErrNoStreamResponse)
	if err := submitRetrying(t.Context(), flaky(leaderless, nats.ErrTimeout, leaderless), spec, time.Minute); err != nil || calls != 4 {
		t.Fatalf("through an election: %v after %d calls, want stored at the 4th", err, calls)
	}
	refused := fmt.Errorf("storing run spec: %w", nats.ErrPermissionViolation)
	if err := submitRetrying(t.Context(), flaky(refused, leaderless), spec, time.Minute); !errors.Is(err, nats.ErrPermissionViolation) || calls != 1 {
		t.Fatalf("refused: %v after %d calls, want the refusal at once", err, calls)
	}
	always := make([]error, 100)
	for i := range always {
		always[i] = leaderless
	}
	began := time.Now()
	if err := submitRetrying(t.Context(), flaky(always...), spec, 600*time.Millisecond); !errors.Is(err, jetstream.ErrNoStreamResponse) || calls < 2 {
		t.Fatalf("no leader for good: %v after %d calls", err, calls)
	}
	if d := time.Since(began); d > 30*time.Second {
		t.Fatalf("waited %v past a limit of 600ms", d)
	}
}
