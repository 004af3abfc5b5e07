package main

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats.go/jetstream"
)

// TestWaitSeesCompletionAfterNATSRestarts waits for a run while its NATS
// server is killed and started again on the same store, as when `assay up`
// is killed and restarted, and marks the run complete afterwards: --wait
// must return within a few seconds of the status being stored. The watch
// alone lost its server-side consumer with the server and noticed only
// after two missed 5 s heartbeats (10–20 s).
func TestWaitSeesCompletionAfterNATSRestarts(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	opts := natsembed.Options{Dir: dir, Port: port}
	srv, err := natsembed.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	b := connect(t, ctx, url)
	const run = "restarted"
	if err := b.PutStatus(ctx, &eval.RunStatus{Run: run, State: eval.StateRunning, ScoresExpected: 10}); err != nil {
		t.Fatal(err)
	}
	var progress syncBuffer
	type result struct {
		st  *eval.RunStatus
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		st, err := waitRun(ctx, b, run, &progress)
		done <- result{st, err, time.Now()}
	}()
	bustest.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(progress.String(), run+": scores 0/10") {
			return errors.New("the waiter has not seen the run yet")
		}
		return nil
	})

	srv.Shutdown()
	srv, err = natsembed.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	other := connect(t, ctx, url)
	// The waiter's connection is back too before the run completes.
	bustest.Eventually(t, 30*time.Second, func() error {
		if !b.NC.IsConnected() {
			return errors.New("the waiter has not reconnected yet")
		}
		return nil
	})
	if err := other.PutStatus(ctx, &eval.RunStatus{Run: run, State: eval.StateComplete, Scores: 10, ScoresExpected: 10}); err != nil {
		t.Fatal(err)
	}
	stored := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the waiter did not return within a minute of the run completing")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.st.State != eval.StateComplete || r.st.Scores != 10 {
		t.Fatalf("returned status %+v", *r.st)
	}
	took := r.at.Sub(stored)
	t.Logf("returned %v after the status was stored", took)
	if took > 5*time.Second {
		t.Errorf("--wait returned %v after the run completed, want within a few seconds", took)
	}
}

// TestWaitSeesCompletionWithoutAWatch: a watch whose creation is never
// answered (its request lost while the runs bucket's leader fails over)
// must not hold --wait: the status read every second sees the run
// complete, and the watch is tried again meanwhile. A wait that needed
// its watch first returned only at its deadline (a cluster test waited
// its 2 minutes on a run stored complete).
func TestWaitSeesCompletionWithoutAWatch(t *testing.T) {
	b := bustest.New(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var tries atomic.Int32
	real := watchKey
	t.Cleanup(func() { watchKey = real })
	watchKey = func(ctx context.Context, b *bus.Bus, key string) (jetstream.KeyWatcher, error) {
		if tries.Add(1) == 1 {
			<-ctx.Done() // never answered
			return nil, ctx.Err()
		}
		return nil, errors.New("injected: no watch")
	}
	const run = "unwatched"
	if err := b.PutStatus(ctx, &eval.RunStatus{Run: run, State: eval.StateRunning, ScoresExpected: 10}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var got *eval.RunStatus
	go func() {
		st, err := waitRun(ctx, b, run, io.Discard)
		got = st
		done <- err
	}()
	if err := b.PutStatus(ctx, &eval.RunStatus{Run: run, State: eval.StateComplete, Scores: 10, ScoresExpected: 10}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the waiter did not return within a minute of the run completing")
	}
	if got.State != eval.StateComplete || got.Scores != 10 {
		t.Fatalf("returned status %+v", *got)
	}
}
