package llm

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// flakyCache is a memCache whose next puts or gets fail.
type flakyCache struct {
	memCache
	failPuts, failGets atomic.Int32
}

var errKVDown = errors.New("kv: no responders (node failing over)")

func (c *flakyCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if c.failGets.Add(-1) >= 0 {
		return nil, false, errKVDown
	}
	return c.memCache.Get(ctx, key)
}

func (c *flakyCache) Put(ctx context.Context, key string, val []byte) error {
	if c.failPuts.Add(-1) >= 0 {
		return errKVDown
	}
	return c.memCache.Put(ctx, key, val)
}

func newLedger(t *testing.T, c Cache) *Ledger {
	t.Helper()
	l := NewLedger(c, WithLogger(slog.New(slog.DiscardHandler)))
	l.store.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	l.client.sleep = l.store.sleep
	return l
}

// TestLedgerPaysOnce: whatever the cache does, a request is sent to the
// endpoint once; an outcome that could not be stored is not handed on
// until it is.
func TestLedgerPaysOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		// status is the endpoint's answer (200: an answer).
		status             int
		failPuts, failGets int32
		firstErr           error // errors.Is
		sent               int32 // calls after the first Chat
	}{
		{name: "answer stored", status: 200, sent: 1},
		{name: "answer stored after two failed writes", status: 200, failPuts: 2, sent: 1},
		{name: "answer not stored", status: 200, failPuts: 100, firstErr: ErrNotStored, sent: 1},
		{name: "failure recorded", status: 400, sent: 1},
		{name: "failure not recorded", status: 400, failPuts: 100, firstErr: ErrNotStored, sent: 1},
		{name: "cache unreadable", status: 200, failGets: 100, firstErr: ErrCacheUnavailable, sent: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if tc.status != 200 {
					status(w, tc.status)
					return
				}
				completion(w, "answer", "")
			})
			cache := &flakyCache{}
			cache.failPuts.Store(tc.failPuts)
			cache.failGets.Store(tc.failGets)
			l := newLedger(t, cache)
			req := request()
			first, err := l.Chat(t.Context(), srv.endpoint(), req, fastRetry, "run|ft")
			if tc.firstErr != nil && !errors.Is(err, tc.firstErr) {
				t.Fatalf("first Chat: %v, want %v", err, tc.firstErr)
			}
			if got := srv.calls.Load(); got != tc.sent {
				t.Fatalf("%d calls after the first Chat, want %d", got, tc.sent)
			}
			// The cache recovers; the request is made again (a redelivery).
			cache.failPuts.Store(0)
			cache.failGets.Store(0)
			again, err2 := l.Chat(t.Context(), srv.endpoint(), req, fastRetry, "run|ft")
			if got := srv.calls.Load(); got != 1 {
				t.Errorf("%d calls in all, want 1", got)
			}
			key := CacheKey("run|ft", req)
			if tc.status != 200 {
				key = FailureKey(key)
				var ce *CallError
				if !errors.As(err2, &ce) || ce.Attempts != 1 || RecordedCause(err2) != "HTTP 400: status 400" {
					t.Errorf("replayed failure %v (cause %q)", err2, RecordedCause(err2))
				}
				if tc.firstErr == nil && err2.Error() != err.Error() {
					t.Errorf("replayed failure reads %q, was %q", err2, err)
				}
			} else {
				if err2 != nil || again.Output != "answer" || again.Cached != (tc.sent == 1) {
					t.Errorf("again: %+v, %v", again, err2)
				}
				if tc.firstErr == nil && first.Output != "answer" {
					t.Errorf("first: %+v", first)
				}
			}
			if _, ok := cache.m[key]; !ok {
				t.Errorf("nothing stored under %s", key)
			}
		})
	}
}

// TestLedgerRetrying: under Retrying, a recorded failure is asked again
// (once), and its answer is then what every later Chat gets.
func TestLedgerRetrying(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			status(w, 400)
			return
		}
		completion(w, "answer", "")
	})
	l := newLedger(t, &flakyCache{})
	req := request()
	chat := func(ctx context.Context) (Response, error) {
		return l.Chat(ctx, srv.endpoint(), req, fastRetry, "run|ft")
	}
	for i, step := range []struct {
		ctx    context.Context
		output string // "" for the recorded failure
		calls  int32
	}{
		{t.Context(), "", 1},
		{t.Context(), "", 1},
		{Retrying(t.Context()), "answer", 2},
		{Retrying(t.Context()), "answer", 2},
		{t.Context(), "answer", 2},
	} {
		r, err := chat(step.ctx)
		if (step.output == "") != (err != nil) || r.Output != step.output || srv.calls.Load() != step.calls {
			t.Errorf("step %d: %q, %v after %d calls; want %q after %d", i, r.Output, err, srv.calls.Load(), step.output, step.calls)
		}
	}
}

// FuzzLedgerRecords stores anything under a request's answer and failure
// keys (the cache is a bucket anyone with access can write): Chat never
// panics, and it calls the endpoint at most once.
func FuzzLedgerRecords(f *testing.F) {
	f.Add([]byte(`{"output":"cached","attempts":1}`), []byte(nil))
	f.Add([]byte(nil), []byte(`{"endpoint":"http://x","attempts":2,"failure":{"error":"HTTP 400","cause":"HTTP 400"}}`))
	f.Add([]byte(`{`), []byte(`{"failure":null}`))
	f.Add([]byte(`null`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, answer, failure []byte) {
		srv := newServer(t, ok("answer"))
		cache := &flakyCache{}
		req := request()
		key := CacheKey("run|ft", req)
		cache.m = map[string][]byte{}
		if answer != nil {
			cache.m[key] = answer
		}
		if failure != nil {
			cache.m[FailureKey(key)] = failure
		}
		l := newLedger(t, cache)
		_, err := l.Chat(t.Context(), srv.endpoint(), req, fastRetry, "run|ft")
		if n := srv.calls.Load(); n > 1 {
			t.Fatalf("%d calls", n)
		}
		var ce *CallError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
