package bus_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
)

// cacheState is what the LLM cache's stream holds: messages and subjects.
func cacheState(t testing.TB, b *bus.Bus) (msgs, subjects uint64) {
	t.Helper()
	s, err := b.JS.Stream(t.Context(), "KV_"+bus.BucketLLMCache)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs, info.State.NumSubjects
}

// TestReleaseLeavesNoSubject: a released entry leaves neither its message
// nor its subject, where a KV delete leaves a marker on the subject; a
// release names a revision, and a key written again since keeps its new
// value.
func TestReleaseLeavesNoSubject(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	revs := map[string]uint64{}
	for _, k := range []string{"gen.a", "gen.b", "gen.c", "gen.d"} {
		rev, err := b.Cache.Put(ctx, k, []byte("answer"))
		if err != nil {
			t.Fatal(err)
		}
		revs[k] = rev
	}
	newer, err := b.Cache.Put(ctx, "gen.c", []byte("written again"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Cache.Delete(ctx, "gen.d"); err != nil {
		t.Fatal(err)
	}
	entries := []bus.Entry{bus.KVEntry(bus.BucketLLMCache, "gen.a", revs["gen.a"]), bus.KVEntry(bus.BucketLLMCache, "gen.b", revs["gen.b"]),
		bus.KVEntry(bus.BucketLLMCache, "gen.c", revs["gen.c"]),
		// Released twice, or already gone: no failure.
		bus.KVEntry(bus.BucketLLMCache, "gen.a", revs["gen.a"]), bus.KVEntry(bus.BucketLLMCache, "gen.x", 1)}
	if failed := b.Release(ctx, entries); failed != 0 {
		t.Errorf("%d releases failed", failed)
	}
	// gen.c's newer value, and gen.d's delete marker.
	if msgs, subjects := cacheState(t, b); msgs != 2 || subjects != 2 {
		t.Errorf("the cache holds %d messages on %d subjects, want 2 on 2 (gen.c written again, gen.d's marker)", msgs, subjects)
	}
	e, err := b.Cache.Get(ctx, "gen.c")
	if err != nil || e.Revision() != newer || string(e.Value()) != "written again" {
		t.Errorf("gen.c after releasing its older revision: %v, %v", e, err)
	}
	for _, k := range []string{"gen.a", "gen.b"} {
		if _, err := b.Cache.Get(ctx, k); err != jetstream.ErrKeyNotFound {
			t.Errorf("%s after its release: %v", k, err)
		}
	}
}

// TestReleaseWaitsForTheAckFloor: what a handler asks to release goes
// once the consumer's ack floor passes its message — and, for an entry
// two messages meet through, the other message too — never before.
func TestReleaseWaitsForTheAckFloor(t *testing.T) {
	b := bustest.New(t)
	c := consumer(t, b, "floor", jetstream.ConsumerConfig{})
	var seqs []uint64
	for i := range 2 {
		ack, err := b.Publish(t.Context(), bus.SamplesSubject("floor", "s"), fmt.Sprintf("floor-%d", i), payload{N: i})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	put := func(key string) bus.Entry {
		rev, err := b.Cache.Put(t.Context(), key, []byte("answer"))
		if err != nil {
			t.Fatal(err)
		}
		return bus.KVEntry(bus.BucketLLMCache, key, rev)
	}
	own, shared := put("gen.own"), put("gen.shared")
	second := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Consume(ctx, c, func(ctx context.Context, m *bus.Msg) error {
			if m.Seq() == seqs[1] {
				select {
				case <-second:
				case <-ctx.Done():
					return ctx.Err()
				}
				return nil
			}
			bus.ReleaseOnAck(ctx, own)
			bus.ReleaseAfterAck(ctx, shared, seqs[1])
			return nil
		}, bus.ConsumeOptions{Stage: "test", Workers: 2, Release: true})
	}()
	t.Cleanup(func() { cancel(); <-done })
	gone := func(key string) bool {
		_, err := b.Cache.Get(t.Context(), key)
		return errors.Is(err, jetstream.ErrKeyNotFound)
	}
	bustest.Eventually(t, 30*time.Second, func() error {
		if !gone("gen.own") {
			return errors.New("the first message's own entry is still there")
		}
		return nil
	})
	if gone("gen.shared") {
		t.Fatal("the entry shared with the second message went before the second message was acked")
	}
	close(second)
	bustest.Eventually(t, 30*time.Second, func() error {
		if !gone("gen.shared") {
			return errors.New("the shared entry is still there")
		}
		return nil
	})
}

// BenchmarkServerHeapPerKey measures the embedded server's heap per key of
// the LLM cache (100k keys, as a 100k-sample run writes): held, after a KV
// delete (markers), and after a release. Run with -benchtime 1x; the
// figures are B/key-held, B/key-deleted and B/key-released.
func BenchmarkServerHeapPerKey(b *testing.B) {
	const n = 100_000
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	perKey := func(after, before uint64) float64 { return (float64(after) - float64(before)) / n }
	for range b.N {
		for _, how := range []string{"deleted", "released"} {
			bs := bustest.New(b)
			ctx := b.Context()
			base := heap()
			entries := make([]bus.Entry, 0, n)
			for i := range n {
				k := fmt.Sprintf("gen.%064x", i)
				rev, err := bs.Cache.Put(ctx, k, []byte(`{"output":"an answer of some length","usage":{"total_tokens":8}}`))
				if err != nil {
					b.Fatal(err)
				}
				entries = append(entries, bus.KVEntry(bus.BucketLLMCache, k, rev))
			}
			held := heap()
			if how == "deleted" {
				for _, e := range entries {
					if err := bs.Cache.Delete(ctx, e.Subject[len("$KV."+bus.BucketLLMCache+"."):]); err != nil {
						b.Fatal(err)
					}
				}
			} else if failed := bs.Release(ctx, entries); failed != 0 {
				b.Fatalf("%d releases failed", failed)
			}
			entries = nil
			after := heap()
			msgs, subjects := cacheState(b, bs)
			b.ReportMetric(perKey(held, base), "B/key-held")
			b.ReportMetric(perKey(after, base), "B/key-"+how)
			b.Logf("%s: %d messages on %d subjects left; heap %d MB → %d MB → %d MB", how, msgs, subjects, base>>20, held>>20, after>>20)
		}
	}
}
