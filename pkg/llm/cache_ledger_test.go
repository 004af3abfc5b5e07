package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
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

// slowGets is a memCache whose reads take a random while, so that a
// request's lookup and another identical request's call and store
// interleave every way they can.
type slowGets struct{ memCache }

func (c *slowGets) Get(ctx context.Context, key string) ([]byte, bool, error) {
	time.Sleep(time.Duration(rand.N(300)) * time.Microsecond)
	return c.memCache.Get(ctx, key)
}

func (c *slowGets) HoldsLegacy(context.Context) (bool, error) { return false, nil }

// TestLedgerPaysOnceForIdenticalRequestsAtOnce: identical requests made
// together, each looking the request up before it would call, pay for one
// call: one that looks up while another is calling waits for its answer,
// and one that looks up after finds it stored.
func TestLedgerPaysOnceForIdenticalRequestsAtOnce(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { completion(w, "answer", "") })
	l := newLedger(t, &slowGets{memCache{m: map[string][]byte{}}})
	ep := srv.endpoint()
	ep.Concurrency = 8
	for round := range 100 {
		req := request()
		req.Messages[0].Content = fmt.Sprint("question ", round)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				time.Sleep(time.Duration(rand.N(500)) * time.Microsecond)
				if r, err := l.Chat(t.Context(), ep, req, fastRetry, "gen|run|ft"); err != nil || r.Output != "answer" {
					t.Errorf("round %d: %+v, %v", round, r, err)
				}
			})
		}
		wg.Wait()
	}
	calls := map[string]int{}
	for _, b := range srv.bodies {
		calls[fmt.Sprint(b["messages"])]++
	}
	for q, n := range calls {
		if n != 1 {
			t.Errorf("a request was paid %d times: %s", n, q)
		}
	}
	if len(calls) != 100 {
		t.Errorf("%d distinct requests reached the endpoint, want 100", len(calls))
	}
}

// failFirstGets is a memCache whose first reads fail slowly, as a cache
// node failing over does.
type failFirstGets struct {
	memCache
	n atomic.Int32
}

func (c *failFirstGets) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if c.n.Add(1) <= 4 {
		time.Sleep(30 * time.Millisecond)
		return nil, false, errKVDown
	}
	return c.memCache.Get(ctx, key)
}

func (c *failFirstGets) HoldsLegacy(context.Context) (bool, error) { return false, nil }

// TestFailedFlightIsNotAStampede: when the request leading identical
// requests fails for its own reasons (its lookup could not read the
// cache), the others share the next call rather than each paying for one.
func TestFailedFlightIsNotAStampede(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		time.Sleep(20 * time.Millisecond)
		completion(w, "answer", "")
	})
	l := newLedger(t, &failFirstGets{memCache: memCache{m: map[string][]byte{}}})
	ep := srv.endpoint()
	ep.Concurrency = 8
	var wg sync.WaitGroup
	var answered atomic.Int32
	for range 8 {
		wg.Go(func() {
			r, err := l.Chat(t.Context(), ep, request(), fastRetry, "gen|run|ft")
			switch {
			case err == nil && r.Output == "answer":
				answered.Add(1)
			case err != nil && !errors.Is(err, ErrCacheUnavailable):
				t.Errorf("Chat: %v; want an answer, or the cache unavailable", err)
			}
		})
	}
	wg.Wait()
	if n := srv.calls.Load(); n != 1 {
		t.Errorf("the endpoint was called %d times for one request, want once", n)
	}
	if answered.Load() < 7 {
		t.Errorf("%d of 8 requests answered; want all but the one whose lookup failed", answered.Load())
	}
}

// TestReplayedFailureIsNotStoredAgain: a final failure read back from the
// cache is returned as it was recorded, without writing it again (a write
// that failed would turn it into ErrNotStored).
func TestReplayedFailureIsNotStoredAgain(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { status(w, http.StatusBadRequest) })
	cache := &flakyCache{}
	l := newLedger(t, cache)
	if _, err := l.Chat(t.Context(), srv.endpoint(), request(), fastRetry, "run|ft"); err == nil {
		t.Fatal("a 400 was answered")
	}
	puts := cache.puts
	cache.failPuts.Store(100)
	_, err := l.Chat(t.Context(), srv.endpoint(), request(), fastRetry, "run|ft")
	var ce *CallError
	if !errors.As(err, &ce) || errors.Is(err, ErrNotStored) {
		t.Errorf("replayed failure: %v; want the recorded call error", err)
	}
	if cache.puts != puts || srv.calls.Load() != 1 {
		t.Errorf("replaying the failure made %d writes and %d calls in all; want none and 1", cache.puts-puts, srv.calls.Load())
	}
}

// slowPuts is a memCache whose writes take a while, as a replicated
// write does.
type slowPuts struct{ memCache }

func (c *slowPuts) Put(ctx context.Context, key string, val []byte) error {
	time.Sleep(5 * time.Millisecond)
	return c.memCache.Put(ctx, key, val)
}

func (c *slowPuts) HoldsLegacy(context.Context) (bool, error) { return false, nil }

// TestFailureIsSharedByIdenticalRequests: identical requests in flight
// together whose call fails for good share the failure — the endpoint is
// asked once, also by requests retrying failed ones — rather than asking
// again, one after the other, before the failure is recorded.
func TestFailureIsSharedByIdenticalRequests(t *testing.T) {
	for _, retry := range []bool{false, true} {
		t.Run(fmt.Sprint("retrying=", retry), func(t *testing.T) {
			release := make(chan struct{})
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				<-release
				status(w, http.StatusBadRequest)
			})
			l := newLedger(t, &slowPuts{memCache{m: map[string][]byte{}}})
			ep := srv.endpoint()
			ep.Concurrency = 8
			ctx := t.Context()
			if retry {
				ctx = Retrying(ctx)
			}
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					var ce *CallError
					if _, err := l.Chat(ctx, ep, request(), fastRetry, "gen|run|ft"); !errors.As(err, &ce) {
						t.Errorf("Chat: %v; want the call's failure", err)
					}
				})
			}
			// The failure comes once every request has joined the call.
			deadline := time.Now().Add(30 * time.Second)
			for srv.calls.Load() == 0 || l.client.waiting() < 7 {
				if time.Now().After(deadline) {
					close(release)
					t.Fatalf("after 30 s, %d calls and %d requests waiting on one", srv.calls.Load(), l.client.waiting())
				}
				time.Sleep(time.Millisecond)
			}
			close(release)
			wg.Wait()
			if n := srv.calls.Load(); n != 1 {
				t.Errorf("the endpoint was asked %d times, want once", n)
			}
		})
	}
}

// TestFailureIsRecordedBeforeTheFlightEnds: a request made while the
// failure of an identical one is being recorded waits for the record,
// rather than finding neither a call in flight nor a record and asking
// the endpoint again.
func TestFailureIsRecordedBeforeTheFlightEnds(t *testing.T) {
	answered := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		status(w, http.StatusBadRequest)
		if n == 1 {
			close(answered)
		}
	})
	cache := &slowRecord{memCache: memCache{m: map[string][]byte{}}, writing: make(chan struct{})}
	l := newLedger(t, cache)
	first := make(chan error)
	go func() {
		_, err := l.Chat(t.Context(), srv.endpoint(), request(), fastRetry, "gen|run|ft")
		first <- err
	}()
	<-answered
	<-cache.writing // the failure is being recorded
	var ce *CallError
	if _, err := l.Chat(t.Context(), srv.endpoint(), request(), fastRetry, "gen|run|ft"); !errors.As(err, &ce) {
		t.Errorf("second request: %v; want the recorded failure", err)
	}
	if err := <-first; !errors.As(err, &ce) {
		t.Errorf("first request: %v", err)
	}
	if n := srv.calls.Load(); n != 1 {
		t.Errorf("the endpoint was asked %d times, want once", n)
	}
}

// slowRecord is a memCache whose writes of failures take a while, and
// say when one begins.
type slowRecord struct {
	memCache
	writing chan struct{}
	once    sync.Once
}

func (c *slowRecord) Put(ctx context.Context, key string, val []byte) error {
	if strings.HasSuffix(key, ".failed") {
		c.once.Do(func() { close(c.writing) })
		time.Sleep(200 * time.Millisecond)
	}
	return c.memCache.Put(ctx, key, val)
}

func (c *slowRecord) HoldsLegacy(context.Context) (bool, error) { return false, nil }
