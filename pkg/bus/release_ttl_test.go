package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats.go/jetstream"
)

// openWith opens the bus on s with opts.
func openWith(t *testing.T, s *natsembed.Server, opts bus.Options) *bus.Bus {
	t.Helper()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, err := bus.Open(t.Context(), nc, opts)
	if err != nil {
		t.Fatalf("opening bus: %v", err)
	}
	return b
}

// pairsMaxAge is assay_pairs' age limit.
func pairsMaxAge(t *testing.T, b *bus.Bus) time.Duration {
	t.Helper()
	s, err := b.JS.Stream(t.Context(), "KV_"+bus.BucketPairs)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().Config.MaxAge
}

// TestPairsKeyNeverReleasedExpires: a message acked and asking for a
// release while an earlier message is in flight; its consumer stops
// before the ack floor passes it, so its release is lost with the
// consumer. Restarted, the consumer acks the earlier message: the key
// goes all the same, by the bucket's TTL.
func TestPairsKeyNeverReleasedExpires(t *testing.T) {
	b := openWith(t, bustest.Server(t), bus.Options{PairsTTL: 2 * time.Second})
	ctx := t.Context()
	c := consumer(t, b, "stop", jetstream.ConsumerConfig{})
	var seqs []uint64
	for i := range 2 {
		ack, err := b.Publish(ctx, bus.SamplesSubject("stop", "s"), fmt.Sprintf("stop-%d", i), payload{N: i})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	rev, err := b.Pairs.Put(ctx, "s.stop.k", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(h bus.Handler) (stop func()) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = b.Consume(cctx, c, h, bus.ConsumeOptions{Stage: "test", Workers: 2, Release: true})
		}()
		return func() { cancel(); <-done }
	}
	stop := run(func(ctx context.Context, m *bus.Msg) error {
		if m.Seq() == seqs[0] {
			<-ctx.Done() // in flight until the consumer stops
			return ctx.Err()
		}
		bus.ReleaseOnAck(ctx, bus.KVEntry(bus.BucketPairs, "s.stop.k", rev))
		return nil
	})
	bustest.Eventually(t, 30*time.Second, func() error {
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		if info.Delivered.Stream < seqs[1] || info.NumAckPending != 1 {
			return fmt.Errorf("delivered up to %d, %d pending", info.Delivered.Stream, info.NumAckPending)
		}
		return nil
	})
	stop()
	defer run(func(ctx context.Context, m *bus.Msg) error { return nil })()
	bustest.Eventually(t, 30*time.Second, func() error {
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		if info.AckFloor.Stream < seqs[1] {
			return fmt.Errorf("ack floor %d", info.AckFloor.Stream)
		}
		if _, err := b.Pairs.Get(ctx, "s.stop.k"); !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("the key is still there: %v", err)
		}
		return nil
	})
}

// TestPairsTTLOnAnExistingBucket: an assay_pairs created without an age
// limit (by an older version) gets the default; one given is applied to
// an existing bucket; one an operator set stays when none is given.
func TestPairsTTLOnAnExistingBucket(t *testing.T) {
	s := bustest.Server(t)
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: bus.BucketPairs, History: 1, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		given time.Duration
		want  time.Duration
	}{
		{"older bucket", 0, bus.DefaultPairsTTL},
		{"given", time.Hour, time.Hour},
		{"kept", 0, time.Hour},
	} {
		if got := pairsMaxAge(t, openWith(t, s, bus.Options{PairsTTL: tc.given})); got != tc.want {
			t.Errorf("%s: assay_pairs keeps keys for %v, want %v", tc.name, got, tc.want)
		}
	}
}
