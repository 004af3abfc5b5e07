package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// releaseCounts is a ReleaseObserver that keeps its counts.
type releaseCounts struct {
	mu                    sync.Mutex
	deleted, failed, held int
}

func (c *releaseCounts) Released(deleted, failed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted += deleted
	c.failed += failed
}

func (c *releaseCounts) Held(delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held += delta
}

func (c *releaseCounts) check(t *testing.T, when string, deleted, failed, held int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deleted != deleted || c.failed != failed || c.held != held {
		t.Errorf("%s: %d deleted, %d failed, %d held; want %d, %d, %d", when, c.deleted, c.failed, c.held, deleted, failed, held)
	}
}

// testReleaser is a releaser whose ack floor has passed every message and
// whose clock the test moves.
func testReleaser(b *Bus) (*releaser, *releaseCounts, *time.Time) {
	counts := &releaseCounts{}
	now := time.Now()
	r := newReleaser(b, nil, ConsumeOptions{Logger: slog.New(slog.DiscardHandler), ReleaseObserver: counts})
	r.floor = func(ctx context.Context) (uint64, bool, error) { return 1 << 40, false, nil }
	r.now = func() time.Time { return now }
	return r, counts, &now
}

// TestReleaseWaitsForTheGrace: an entry whose message the ack floor has
// passed stays until the release grace has passed too, so that an ack
// the server had not yet committed, lost, finds it again; the floor is
// not even read before.
func TestReleaseWaitsForTheGrace(t *testing.T) {
	b := openBus(t)
	ctx := t.Context()
	rev, err := b.Cache.Put(ctx, "gen.a", []byte("answer"))
	if err != nil {
		t.Fatal(err)
	}
	r, counts, now := testReleaser(b)
	floor, reads := r.floor, 0
	r.floor = func(ctx context.Context) (uint64, bool, error) { reads++; return floor(ctx) }
	r.add(5, []held{{e: KVEntry(BucketLLMCache, "gen.a", rev)}})
	counts.check(t, "handed over", 0, 0, 1)
	for _, d := range []time.Duration{0, releaseGrace - time.Millisecond} {
		*now = now.Add(d)
		r.flush(ctx, false)
		if _, err := b.Cache.Get(ctx, "gen.a"); err != nil {
			t.Fatalf("%v into the grace: %v", d, err)
		}
	}
	if reads != 0 {
		t.Errorf("the ack floor was read %d times while no entry's grace was over", reads)
	}
	*now = now.Add(time.Millisecond)
	r.flush(ctx, false)
	if _, err := b.Cache.Get(ctx, "gen.a"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("once the grace is over: %v", err)
	}
	counts.check(t, "released", 1, 0, 0)
}

// TestReleaseRetriesAFailedPurge: a purge that fails is tried again after
// a pause, and counted failed (left to the bucket's TTL) only after its
// last try; a consumer that stops counts what it still held as failed.
func TestReleaseRetriesAFailedPurge(t *testing.T) {
	b := openBus(t)
	ctx := t.Context()
	r, counts, now := testReleaser(b)
	*now = now.Add(-releaseGrace)
	// Its stream does not exist yet: the purge fails.
	r.add(5, []held{{e: Entry{Stream: "LATE", Subject: "late.x"}}, {e: Entry{Stream: "NEVER", Subject: "never.x"}}})
	*now = now.Add(releaseGrace)
	r.flush(ctx, false)
	counts.check(t, "first tries", 0, 0, 2)
	if _, err := b.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "LATE", Subjects: []string{"late.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.JS.Publish(ctx, "late.x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	msgs := func() uint64 {
		s, err := b.JS.Stream(ctx, "LATE")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	r.flush(ctx, false)
	if n := msgs(); n != 1 {
		t.Fatalf("tried again before its pause: %d messages left", n)
	}
	*now = now.Add(releaseRetry)
	r.flush(ctx, false)
	if n := msgs(); n != 0 {
		t.Fatalf("after its pause: %d messages left", n)
	}
	counts.check(t, "second tries", 1, 0, 1)
	for range releaseTries {
		*now = now.Add(releaseRetry << releaseTries)
		r.flush(ctx, false)
	}
	counts.check(t, "tries exhausted", 1, 1, 0)

	// Stopping with an entry in its grace: left to the TTL, counted.
	r.add(6, []held{{e: Entry{Stream: "LATE", Subject: "late.y"}}})
	r.flush(ctx, true)
	counts.check(t, "stopped", 1, 2, 0)
}

// BenchmarkReleaserHeld measures the heap a releaser holds per entry in
// its grace: an answer's key of the LLM cache, as infer hands over one per
// sample. At rate r samples/s a consumer holds r × releaseGrace of them.
func BenchmarkReleaserHeld(b *testing.B) {
	const n = 50_000
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for range b.N {
		r := newReleaser(nil, nil, ConsumeOptions{Logger: slog.New(slog.DiscardHandler)})
		before := heap()
		for i := range n {
			r.add(uint64(i), []held{{e: KVEntry(BucketLLMCache, fmt.Sprintf("%s.%064x", CacheSpaceInfer, i), uint64(i))}})
		}
		after := heap()
		b.ReportMetric(float64(after-before)/n, "B/entry")
		runtime.KeepAlive(r)
	}
}
