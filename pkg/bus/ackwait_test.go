package bus_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
)

// TestKilledConsumerRedeliversWithinSeconds holds messages in a consumer
// whose connection then dies, as a killed process's does, and starts a new
// instance of the consumer: it gets the messages once the default ack wait
// has passed, a few seconds after the kill rather than tens.
func TestKilledConsumerRedeliversWithinSeconds(t *testing.T) {
	srv := bustest.Server(t)
	b1 := bustest.Open(t, srv)
	const n = 4
	c1 := consumer(t, b1, "killed", jetstream.ConsumerConfig{})
	var held atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	consume(t, b1, c1, func(ctx context.Context, m *bus.Msg) error {
		held.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	publish(t, b1, "killed", n)
	bustest.Eventually(t, 10*time.Second, func() error {
		if h := held.Load(); h < n {
			return fmt.Errorf("%d of %d messages held", h, n)
		}
		return nil
	})
	b1.NC.Close()
	killed := time.Now()

	b2 := bustest.Open(t, srv)
	c2 := consumer(t, b2, "killed", jetstream.ConsumerConfig{})
	var mu sync.Mutex
	var last time.Duration
	seen := map[uint64]bool{}
	consume(t, b2, c2, func(ctx context.Context, m *bus.Msg) error {
		mu.Lock()
		defer mu.Unlock()
		seen[m.Seq()] = true
		last = time.Since(killed)
		return nil
	})
	bustest.Eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) < n {
			return fmt.Errorf("%d of %d messages redelivered", len(seen), n)
		}
		return nil
	})
	mu.Lock()
	took := last
	mu.Unlock()
	t.Logf("redelivered %v after the kill (ack wait %v)", took, bus.DefaultAckWait)
	// Generous for a busy machine, and still short of the 10 s a crash
	// used to cost.
	if took > 8*time.Second {
		t.Errorf("the killed consumer's messages came back after %v, want a few seconds", took)
	}
}

// TestEnsureConsumerUpdatesAnOldAckWait: a consumer created with a long ack
// wait (an older version's data directory) takes the default when its
// stage ensures it again.
func TestEnsureConsumerUpdatesAnOldAckWait(t *testing.T) {
	b := bustest.New(t)
	old := jetstream.ConsumerConfig{Durable: "old", FilterSubject: bus.RunSamples("old"),
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 10 * time.Second}
	if _, err := b.Stream(bus.StreamSamples).CreateConsumer(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	c := consumer(t, b, "old", jetstream.ConsumerConfig{})
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.AckWait != bus.DefaultAckWait {
		t.Fatalf("ack wait %v after ensuring the consumer, want %v", info.Config.AckWait, bus.DefaultAckWait)
	}
}
