package llm

import (
	"strings"
	"testing"
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
