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
// samples while the run runs; when it completes, its consumers are deleted;
// a consumer left behind by a run that completed while nobody watched is
// deleted at start.
func TestRunConsumersFollowRuns(t *testing.T) {
	b := bustest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// An orphan: the consumer of a run that is already complete.
	old := spec("old")
	if err := b.SubmitRun(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := b.PutStatus(ctx, &eval.RunStatus{Run: "old", State: eval.StateComplete}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureConsumer(ctx, bus.StreamSamples, jetstream.ConsumerConfig{Durable: "test~old~base", FilterSubject: bus.RunSamples("old")}); err != nil {
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
		if _, err := b.Stream(bus.StreamSamples).Consumer(ctx, "test~old~base"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
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
	bustest.Eventually(t, 10*time.Second, func() error {
		for _, v := range []string{"base", "ft"} {
			if _, err := b.Stream(bus.StreamSamples).Consumer(ctx, "test~live~"+v); !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return fmt.Errorf("consumer of %s not deleted: %v", v, err)
			}
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
