package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRunConsumersFollowRuns: a member per variant consumes the run's
// samples while the run runs; when it completes, its consumers stay, idle,
// and resume where they stopped when the run reopens; a consumer whose run
// is gone is deleted at start.
func TestRunConsumersFollowRuns(t *testing.T) {
	b := bustest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// An orphan: the consumer of a run whose spec is gone.
	if _, err := b.EnsureConsumer(ctx, bus.StreamSamples, jetstream.ConsumerConfig{Durable: "test~gone~base", FilterSubject: bus.RunSamples("gone")}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	seen := map[string]int{}
	rc := b.NewRunConsumers(bus.StreamSamples, "test", slog.New(slog.DiscardHandler), func(_ *bus.Runs, s *eval.RunSpec) []bus.Member {
		var ms []bus.Member
		for _, v := range s.Variants {
			ms = append(ms, bus.Member{
				Config: jetstream.ConsumerConfig{Durable: "test~" + s.Run + "~" + v.Name, FilterSubject: bus.RunSamples(s.Run), DeliverPolicy: jetstream.DeliverAllPolicy},
				Handler: func(_ context.Context, m *bus.Msg) error {
					mu.Lock()
					seen[v.Name]++
					mu.Unlock()
					return nil
				},
				Options: bus.ConsumeOptions{Stage: "test", Workers: 2},
			})
		}
		return ms
	})
	done := make(chan error, 1)
	go func() { done <- rc.Run(ctx) }()

	bustest.Eventually(t, 10*time.Second, func() error {
		if _, err := b.Stream(bus.StreamSamples).Consumer(ctx, "test~gone~base"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("the orphan is still there: %v", err)
		}
		return nil
	})

	r := spec("live")
	r.Variants = append(r.Variants, eval.Variant{Name: "ft", BaseURL: "http://x/v1", Model: "m2"})
	if err := b.SubmitRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "live", 10)
	bustest.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if seen["base"] != 10 || seen["ft"] != 10 {
			return fmt.Errorf("seen %v", seen)
		}
		return nil
	})
	if err := b.PutStatus(ctx, &eval.RunStatus{Run: "live", State: eval.StateComplete}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the members stop
	for i := range 5 {
		if _, err := b.Publish(ctx, bus.SamplesSubject("live", "s"), fmt.Sprint("late-", i), payload{N: 100 + i}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	if seen["base"] != 10 {
		t.Errorf("a complete run's member consumed: %v", seen)
	}
	mu.Unlock()
	// Reopened, the members resume where they stopped: the five new
	// samples, not the first ten again.
	if err := b.PutStatus(ctx, &eval.RunStatus{Run: "live", State: eval.StateRunning}); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if seen["base"] != 15 || seen["ft"] != 15 {
			return fmt.Errorf("seen %v", seen)
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	if seen["base"] != 15 || seen["ft"] != 15 {
		t.Errorf("reopening handled samples again: %v", seen)
	}
	mu.Unlock()
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
