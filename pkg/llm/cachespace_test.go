package llm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCacheKeySpaces: a scope's first field starts its keys (infer's
// "gen|…", the judge's "judge|…"), and an answer stored before the split,
// under the hash alone, is still read rather than paid for again.
func TestCacheKeySpaces(t *testing.T) {
	req := request()
	key := CacheKey("gen|run|ft", req)
	if !strings.HasPrefix(key, "gen.") || len(key) != len("gen.")+64 {
		t.Fatalf("key %q, want gen.<sha256>", key)
	}
	if k := CacheKey("judge|abc", req); !strings.HasPrefix(k, "judge.") {
		t.Fatalf("judge key %q", k)
	}
	if k := CacheKey("a.b|c", req); len(k) != 64 {
		t.Fatalf("a scope whose first field is no plain word gives %q, want the hash alone", k)
	}
	srv := newServer(t, ok("fresh"))
	cache := &memCache{m: map[string][]byte{legacyKey(key): []byte(`{"output":"stored before the split"}`)}}
	l := NewLedger(cache)
	r, err := l.Chat(t.Context(), Endpoint{BaseURL: srv.URL + "/v1", Concurrency: 1}, req, fastRetry, "gen|run|ft")
	if err != nil || r.Output != "stored before the split" || !r.Cached || srv.calls.Load() != 0 {
		t.Fatalf("Chat = %+v, %v after %d calls; want the answer stored under the old key", r, err, srv.calls.Load())
	}
}

// legacyMem is a memCache that says whether it holds legacy keys, and
// counts the keys it was asked for.
type legacyMem struct {
	memCache
	holds  bool
	err    error
	checks int
	asked  []string
}

func (c *legacyMem) HoldsLegacy(context.Context) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks++
	return c.holds, c.err
}

func (c *legacyMem) Get(ctx context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	c.asked = append(c.asked, key)
	c.mu.Unlock()
	return c.memCache.Get(ctx, key)
}

// TestLegacyKeysAreLookedUpOnlyWhileTheCacheMayHoldThem: a request new to
// the cache is looked up under its key and its failure key — two reads,
// and none more by the client — once the cache says it holds no key from
// before the split; while it may (it says so, or cannot tell), under
// their old forms too. A cache without legacy keys is not asked again; one
// that has them is asked again a minute later.
func TestLegacyKeysAreLookedUpOnlyWhileTheCacheMayHoldThem(t *testing.T) {
	srv := newServer(t, ok("fresh"))
	ep := Endpoint{BaseURL: srv.URL + "/v1", Concurrency: 4}
	ask := func(t *testing.T, l *Ledger, c *legacyMem, i int) []string {
		t.Helper()
		c.mu.Lock()
		c.asked = nil
		c.mu.Unlock()
		req := request()
		req.Messages[0].Content = fmt.Sprint("question ", i)
		if _, err := l.Chat(t.Context(), ep, req, fastRetry, "gen|run|ft"); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.asked
	}
	t.Run("none", func(t *testing.T) {
		c := &legacyMem{memCache: memCache{m: map[string][]byte{}}}
		l := NewLedger(c)
		for i := range 3 {
			asked := ask(t, l, c, i)
			if len(asked) != 2 || !strings.HasPrefix(asked[0], "gen.") || asked[1] != FailureKey(asked[0]) {
				t.Fatalf("request %d looked up %q; want its key and its failure key", i, asked)
			}
		}
		if c.checks != 1 {
			t.Errorf("the cache was asked %d times whether it holds legacy keys; want once", c.checks)
		}
	})
	for _, c := range []*legacyMem{
		{memCache: memCache{m: map[string][]byte{}}, holds: true},
		{memCache: memCache{m: map[string][]byte{}}, err: errors.New("no stream info")},
	} {
		t.Run(fmt.Sprintf("holds=%v/err=%v", c.holds, c.err), func(t *testing.T) {
			clock := time.Unix(1_700_000_000, 0)
			l := NewLedger(c)
			l.legacy.now = func() time.Time { return clock }
			for i := range 3 {
				asked := ask(t, l, c, i)
				if len(asked) != 4 || asked[2] != legacyKey(asked[0]) || asked[3] != legacyKey(asked[1]) {
					t.Fatalf("request %d looked up %q; want its two keys and their legacy forms", i, asked)
				}
			}
			if c.checks != 1 {
				t.Errorf("asked %d times within a minute; want once", c.checks)
			}
			clock = clock.Add(legacyCheckEvery)
			c.holds, c.err = false, nil
			if asked := ask(t, l, c, 9); len(asked) != 2 || c.checks != 2 {
				t.Errorf("a minute later, with no legacy key left: looked up %q after %d checks; want 2 keys after 2", asked, c.checks)
			}
		})
	}
}

// blockingHolder answers HoldsLegacy only once released.
type blockingHolder struct{ release chan struct{} }

func (h blockingHolder) HoldsLegacy(context.Context) (bool, error) {
	<-h.release
	return false, nil
}

// TestLegacyCheckHoldsNobodyUp: while one request asks the cache whether
// it holds legacy keys, the others do not wait for the answer: they look
// up the legacy forms too, as before any answer.
func TestLegacyCheckHoldsNobodyUp(t *testing.T) {
	h := blockingHolder{release: make(chan struct{})}
	c := &legacyCheck{holder: h, now: time.Now}
	first := make(chan bool)
	go func() { first <- c.holds(t.Context()) }()
	// Wait until the first caller is asking.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		asking := c.checking
		c.mu.Unlock()
		if asking {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first caller never asked the cache")
		}
		time.Sleep(time.Millisecond)
	}
	other := make(chan bool)
	go func() { other <- c.holds(t.Context()) }()
	select {
	case may := <-other:
		if !may {
			t.Error("a caller told there are no legacy keys before any answer")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a caller waited for another's check of legacy keys")
	}
	close(h.release)
	if <-first {
		t.Error("the check said there may be legacy keys; the cache said none")
	}
	if c.holds(t.Context()) {
		t.Error("after the answer, legacy keys are still looked up")
	}
}
