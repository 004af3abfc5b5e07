package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
)

// holdOne publishes one message to a consumer named name (30-second ack
// wait) and consumes it with h, under a handler context; it returns once h
// runs, with the consumer and stop, which stops consuming and gives what
// Consume then returns.
func holdOne(t *testing.T, b *bus.Bus, name string, h func(hctx context.Context) error) (jetstream.Consumer, func() <-chan error) {
	t.Helper()
	c := consumer(t, b, name, jetstream.ConsumerConfig{AckWait: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(ctx, c, func(hctx context.Context, _ *bus.Msg) error {
			close(held)
			return h(hctx)
		}, bus.ConsumeOptions{Stage: "test"})
	}()
	publish(t, b, name, 1)
	<-held
	return c, func() <-chan error { cancel(); return done }
}

// TestShutdownHandsBackAtOnce: a consumer stopped while its handler runs
// (no grace) cancels the handler and hands the message back at once: the
// next consumer gets it long before the 30-second ack wait.
func TestShutdownHandsBackAtOnce(t *testing.T) {
	b := bustest.New(t)
	c, stop := holdOne(t, b, "stopped", func(hctx context.Context) error {
		<-hctx.Done()
		return hctx.Err()
	})
	if err := <-stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var got atomic.Int32
	consume(t, b, c, func(context.Context, *bus.Msg) error { got.Add(1); return nil })
	bustest.Eventually(t, 20*time.Second, func() error {
		if got.Load() == 0 {
			return errors.New("not redelivered yet")
		}
		return nil
	})
	if took := time.Since(stopped); took > 15*time.Second {
		t.Errorf("handed back after %v, want at once (ack wait 30 s)", took)
	}
}

// TestShutdownGraceFinishes: with a grace, a handler still running when
// its consumer is stopped may finish, and its message is acked, not
// handled again; Consume returns once it has.
func TestShutdownGraceFinishes(t *testing.T) {
	b := openWith(t, bustest.Server(t), bus.Options{ShutdownGrace: 20 * time.Second})
	release := make(chan struct{})
	var cut atomic.Bool
	c, stop := holdOne(t, b, "graceful", func(hctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-hctx.Done():
			cut.Store(true)
			return hctx.Err()
		}
	})
	done := stop()
	select {
	case <-done:
		t.Fatal("Consume returned while its handler ran, within the grace")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cut.Load() {
		t.Fatal("the handler was cancelled within the grace")
	}
	ackedOnce(t, c)
}

// TestShutdownAcksWhatFinished: a handler that finishes as its consumer is
// stopped (its work done, nothing failed) has its message acked, not
// handed back to be done again.
func TestShutdownAcksWhatFinished(t *testing.T) {
	b := bustest.New(t)
	c, stop := holdOne(t, b, "finished", func(hctx context.Context) error {
		<-hctx.Done()
		return nil
	})
	if err := <-stop(); err != nil {
		t.Fatal(err)
	}
	ackedOnce(t, c)
}

// ackedOnce waits until c's one message is acked, never redelivered.
func ackedOnce(t *testing.T, c jetstream.Consumer) {
	t.Helper()
	bustest.Eventually(t, 10*time.Second, func() error {
		info, err := c.Info(t.Context())
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumRedelivered != 0 || info.AckFloor.Consumer != 1 {
			return fmt.Errorf("consumer: %d pending ack, %d redelivered, ack floor %d", info.NumAckPending, info.NumRedelivered, info.AckFloor.Consumer)
		}
		return nil
	})
}
