package llm

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// kvCache is a memCache that, like the KV bucket, refuses reads and writes
// under an ended context.
type kvCache struct{ memCache }

func (c *kvCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return c.memCache.Get(ctx, key)
}

func (c *kvCache) Put(ctx context.Context, key string, val []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.memCache.Put(ctx, key, val)
}

// cancelOnAnswer is a transport that ends the caller's context as soon as
// the endpoint's response headers are in: the moment of a Ctrl-C that
// lands while an answer is arriving.
type cancelOnAnswer struct {
	cancel   context.CancelFunc
	canceled chan struct{}
}

func (c *cancelOnAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.cancel()
		close(c.canceled)
	}
	return resp, err
}

// TestAnswerArrivingAtCtrlCIsKept: an answer the endpoint is sending when
// the caller's context ends (Ctrl-C) is read and stored all the same, and
// the next run gets it from the cache without calling the endpoint.
func TestAnswerArrivingAtCtrlCIsKept(t *testing.T) {
	for _, tc := range []struct {
		name string
		chat func(c Cache, h *http.Client) ChatFunc
	}{
		{"client", func(c Cache, h *http.Client) ChatFunc {
			return New(WithCache(c), WithHTTPClient(h), WithLogger(slog.New(slog.DiscardHandler))).Chat
		}},
		{"ledger", func(c Cache, h *http.Client) ChatFunc {
			return NewLedger(c, WithHTTPClient(h), WithLogger(slog.New(slog.DiscardHandler))).Chat
		}},
	} {
		for _, stream := range []bool{false, true} {
			name := tc.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				tr := &cancelOnAnswer{cancel: cancel, canceled: make(chan struct{})}
				// The handler sends the headers, then holds the answer
				// until the caller has given up.
				srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
					if stream {
						w.Header().Set("Content-Type", "text/event-stream")
					} else {
						w.Header().Set("Content-Type", "application/json")
					}
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
					select {
					case <-tr.canceled:
					case <-r.Context().Done():
						return
					}
					if stream {
						sse(w, `data: {"choices":[{"delta":{"content":"answer"},"finish_reason":"stop"}]}`, "data: [DONE]")
						return
					}
					completion(w, "answer", "")
				})
				ep := srv.endpoint()
				ep.Stream = stream
				cache := &kvCache{}
				req := request()

				first, err := tc.chat(cache, &http.Client{Transport: tr})(ctx, ep, req, fastRetry, "run|ft")
				if ctx.Err() == nil {
					t.Fatal("the context was not cancelled while the answer arrived")
				}
				if err != nil || first.Output != "answer" {
					t.Errorf("interrupted call: %+v, %v; want the answer it paid for", first, err)
				}

				// The next run: a new client over the same cache.
				again, err := tc.chat(cache, http.DefaultClient)(t.Context(), ep, req, fastRetry, "run|ft")
				if err != nil || again.Output != "answer" || !again.Cached {
					t.Errorf("next run: %+v, %v; want the stored answer", again, err)
				}
				if n := srv.calls.Load(); n != 1 {
					t.Errorf("the endpoint was called %d times, want once", n)
				}
			})
		}
	}
}

// TestCtrlCBeforeAnswerEndsCall: a context that ends before the endpoint
// answers ends the call at once, with the context's error, and stores
// nothing.
func TestCtrlCBeforeAnswerEndsCall(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
	cache := &kvCache{}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewLedger(cache, WithLogger(slog.New(slog.DiscardHandler))).Chat(ctx, srv.endpoint(), request(), fastRetry, "run|ft")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the context's", err)
	}
	if el := time.Since(start); el >= paidTimeout {
		t.Errorf("Chat took %v after its context ended", el)
	}
	if len(cache.m) != 0 {
		t.Errorf("stored %d records for a call never answered", len(cache.m))
	}
}
