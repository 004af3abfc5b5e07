package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// memCache is the smallest Cache: a map.
type memCache struct {
	mu         sync.Mutex
	m          map[string][]byte
	gets, puts int
	getErr     error
	putErr     error
}

func (c *memCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	if c.getErr != nil {
		return nil, false, c.getErr
	}
	v, ok := c.m[key]
	return v, ok, nil
}

func (c *memCache) Put(_ context.Context, key string, val []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	if c.putErr != nil {
		return c.putErr
	}
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	c.m[key] = val
	return nil
}

func TestChatCache(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		completion(w, fmt.Sprintf("<think>plan %d</think>answer %d", n, n), "")
	})
	cache := &memCache{}
	c, _ := newClient(t, WithCache(cache))
	ep := srv.endpoint()
	req := request()
	first, err := c.Chat(t.Context(), ep, req, fastRetry, "run/ft")
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || first.Output != "answer 1" || cache.puts != 1 {
		t.Fatalf("first call = %+v, puts %d", first, cache.puts)
	}
	second, err := c.Chat(t.Context(), ep, req, fastRetry, "run/ft")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cache.m[CacheKey("run/ft", req)]; !ok {
		t.Error("the response is not stored under CacheKey(scope, request)")
	}
	if !second.Cached || srv.calls.Load() != 1 {
		t.Errorf("second call: cached %v, server calls %d; want a cache hit", second.Cached, srv.calls.Load())
	}
	second.Cached = false
	if second != first {
		t.Errorf("cached response differs:\n%+v\n%+v", second, first)
	}

	t.Run("another scope reaches the server", func(t *testing.T) {
		r, err := c.Chat(t.Context(), ep, req, fastRetry, "run/base")
		if err != nil || r.Cached || r.Output != "answer 2" {
			t.Errorf("response %+v, %v", r, err)
		}
	})
	t.Run("no scope, no cache", func(t *testing.T) {
		gets := cache.gets
		r, err := c.Chat(t.Context(), ep, req, fastRetry, "")
		if err != nil || r.Cached || cache.gets != gets {
			t.Errorf("response %+v, %v; cache read %d times", r, err, cache.gets-gets)
		}
	})
	t.Run("a corrupt entry is ignored", func(t *testing.T) {
		cache.m[CacheKey("bad", req)] = []byte("{")
		r, err := c.Chat(t.Context(), ep, req, fastRetry, "bad")
		if err != nil || r.Cached {
			t.Errorf("response %+v, %v", r, err)
		}
	})
	t.Run("failures are not cached", func(t *testing.T) {
		fail := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { status(w, 400) })
		puts := cache.puts
		if _, err := c.Chat(t.Context(), fail.endpoint(), req, fastRetry, "k400"); err == nil {
			t.Fatal("no error")
		}
		if cache.puts != puts {
			t.Error("a failure was cached")
		}
	})
}

func TestChatCacheFailing(t *testing.T) {
	srv := newServer(t, ok("answer"))
	cache := &memCache{getErr: errors.New("kv down"), putErr: errors.New("kv down")}
	c, _ := newClient(t, WithCache(cache))
	r, err := c.Chat(t.Context(), srv.endpoint(), request(), fastRetry, "k")
	if err != nil || r.Output != "answer" || r.Cached {
		t.Errorf("a failing cache must not fail the call: %+v, %v", r, err)
	}
	if cache.gets != 1 || cache.puts != 1 {
		t.Errorf("gets %d, puts %d", cache.gets, cache.puts)
	}
}

// TestChatSharedFlight checks that identical requests in flight at once
// share one call: the first pays, the others get its answer as cached.
func TestChatSharedFlight(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-release
		completion(w, fmt.Sprintf("answer %d", n), "")
	})
	c, _ := newClient(t, WithCache(&memCache{}))
	ep := srv.endpoint()
	req := request()

	const n = 10
	resps := make([]Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			if resps[i], err = c.Chat(t.Context(), ep, req, fastRetry, "run/ft"); err != nil {
				t.Error(err)
			}
		})
	}
	// Release the answer only once every call has joined the flight: a
	// call that came later would find the answer in the cache, and the
	// test would not show that calls in flight share one.
	deadline := time.Now().Add(30 * time.Second)
	for srv.calls.Load() == 0 || c.waiting() < n-1 {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("after 30 s, %d calls reached the server and %d wait on a flight: identical calls do not share one", srv.calls.Load(), c.waiting())
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if got := srv.calls.Load(); got != 1 {
		t.Errorf("server saw %d calls, want 1", got)
	}
	paid := 0
	for _, r := range resps {
		if r.Output != "answer 1" {
			t.Errorf("output %q", r.Output)
		}
		if !r.Cached {
			paid++
		}
	}
	if paid != 1 {
		t.Errorf("%d responses not marked cached, want 1", paid)
	}
}

// waiting counts the calls waiting on another's flight.
func (c *Client) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.flights {
		n += f.waiters
	}
	return n
}
