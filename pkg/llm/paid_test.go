package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
		// Give the Ctrl-C time to reach the request before Do returns:
		// the answer, already on its way, must not be cut meanwhile.
		select {
		case <-r.Context().Done():
		case <-time.After(100 * time.Millisecond):
		}
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
				// The handler sends the headers (a stream: with its
				// last chunk, finish_reason and all, so that the answer is
				// complete however slowly the caller reads it), then holds
				// the rest of the answer until the caller has given up.
				srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
					if stream {
						w.Header().Set("Content-Type", "text/event-stream")
						w.WriteHeader(http.StatusOK)
						sse(w, `data: {"choices":[{"delta":{"content":"answer"},"finish_reason":"stop"}]}`)
					} else {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusOK)
						w.(http.Flusher).Flush()
					}
					select {
					case <-tr.canceled:
					case <-r.Context().Done():
						return
					}
					if stream {
						sse(w, "data: [DONE]")
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
// nothing: also after an informational (1xx) response, which is no answer,
// and within the short grace of a byte that came first after a redirect
// the client follows.
func TestCtrlCBeforeAnswerEndsCall(t *testing.T) {
	for _, first := range []int{0, http.StatusEarlyHints, http.StatusTemporaryRedirect} {
		t.Run(fmt.Sprint("first=", first), func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				switch {
				case first == http.StatusTemporaryRedirect && n == 1:
					w.Header().Set("Location", "/v1/chat/completions")
					w.WriteHeader(first)
					return
				case first == http.StatusEarlyHints:
					w.Header().Set("Link", "</style.css>; rel=preload")
					w.WriteHeader(first)
				}
				<-r.Context().Done()
			})
			cache := &kvCache{}
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := NewLedger(cache, WithLogger(slog.New(slog.DiscardHandler))).Chat(ctx, srv.endpoint(), request(), fastRetry, "run|ft")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want the context's", err)
			}
			// The context ends at 100 ms: a call given the paid grace
			// would take paidTimeout more. Half of it is room for a
			// busy machine.
			if el := time.Since(start); el >= paidTimeout/2 {
				t.Errorf("Chat took %v; want it to end with its context", el)
			}
			if len(cache.m) != 0 {
				t.Errorf("stored %d records for a call never answered", len(cache.m))
			}
		})
	}
}

// TestCtrlCCutsStreamStillGenerating: a stream still generating when the
// caller gives up is cut within its short grace, not read on for
// paidTimeout, and nothing is stored; the endpoint sees the request end.
func TestCtrlCCutsStreamStillGenerating(t *testing.T) {
	sent, gone := make(chan int, 1), make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		defer close(gone)
		w.Header().Set("Content-Type", "text/event-stream")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 1; i <= 200; i++ { // 20 s of generation
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
			sse(w, `data: {"choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}`)
			select {
			case sent <- i:
			default:
			}
		}
		sse(w, `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, "data: [DONE]")
	})
	ep := srv.endpoint()
	ep.Stream = true
	cache := &kvCache{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var canceled time.Time
	go func() {
		// Ctrl-C once the stream is well under way (about 0.5 s).
		for n := range sent {
			if n >= 5 {
				canceled = time.Now()
				cancel()
				return
			}
		}
	}()
	_, err := NewLedger(cache, WithLogger(slog.New(slog.DiscardHandler))).Chat(ctx, ep, request(), fastRetry, "run|ft")
	el := time.Since(canceled)
	if ctx.Err() == nil {
		t.Fatalf("Chat returned %v before the context was cancelled", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want the context's", err)
	}
	// Cut after streamGrace; paidTimeout would mean the stream was taken
	// for paid. Half of it is room for a busy machine.
	if el >= paidTimeout/2 {
		t.Errorf("Chat returned %v after Ctrl-C; want a generating stream cut within %v", el, streamGrace)
	}
	if len(cache.m) != 0 {
		t.Errorf("stored %d records for a stream cut while generating", len(cache.m))
	}
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Error("the endpoint still streams 10 s after the call ended")
	}
}

// cancelOnFinish is a transport that ends the caller's context once the
// response body has handed the client a finish_reason: a Ctrl-C that lands
// after a stream finished, before its end.
type cancelOnFinish struct{ cancel context.CancelFunc }

func (c *cancelOnFinish) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &readCanceler{ReadCloser: resp.Body, cancel: c.cancel}
	}
	return resp, err
}

type readCanceler struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (r *readCanceler) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if bytes.Contains(p[:n], []byte(`"finish_reason":"stop"`)) {
		r.cancel()
	}
	return n, err
}

// TestCtrlCKeepsFinishedStream: a stream that has delivered its finish
// when the caller gives up is paid for: it is read to its end although
// the end comes later than a generating stream's grace, and stored.
func TestCtrlCKeepsFinishedStream(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		sse(w, `data: {"choices":[{"index":0,"delta":{"content":"answer"},"finish_reason":"stop"}]}`)
		// The usage and [DONE] come late: after a generating stream's
		// grace, well within paidTimeout.
		select {
		case <-time.After(3 * streamGrace):
		case <-r.Context().Done():
			return
		}
		sse(w, `data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`, "data: [DONE]")
	})
	ep := srv.endpoint()
	ep.Stream = true
	cache := &kvCache{}
	h := &http.Client{Transport: &cancelOnFinish{cancel: cancel}}
	got, err := NewLedger(cache, WithHTTPClient(h), WithLogger(slog.New(slog.DiscardHandler))).Chat(ctx, ep, request(), fastRetry, "run|ft")
	if ctx.Err() == nil {
		t.Fatal("the context was not cancelled after the finish arrived")
	}
	if err != nil || got.Output != "answer" || got.Usage.TotalTokens != 6 {
		t.Fatalf("interrupted call: %+v, %v; want the finished answer with its usage", got, err)
	}
	again, err := NewLedger(cache, WithLogger(slog.New(slog.DiscardHandler))).Chat(t.Context(), ep, request(), fastRetry, "run|ft")
	if err != nil || !again.Cached || again.Output != "answer" {
		t.Errorf("next call: %+v, %v; want the stored answer", again, err)
	}
	if n := srv.calls.Load(); n != 1 {
		t.Errorf("the endpoint was called %d times, want once", n)
	}
}

// TestStreamFinished: the events that end an answer, and those that do not.
func TestStreamFinished(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"data: [DONE]", true},
		{"data:[DONE]\r", true},
		{`data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}`, true},
		{`data: {"choices":[{"delta":{},"finish_reason":"length"}]}`, true},
		{`data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`, false},
		{`data: {"choices":[{"index":1,"delta":{},"finish_reason":"stop"}]}`, false},
		{`data: {"choices":[{"index":0,"finish_reason":""}]}`, false},
		{`data: {"choices":[{"finish_reason":`, false},
		{": keep-alive", false},
		{`event: {"finish_reason":"stop"}`, false},
	} {
		if got := streamFinished([]byte(tc.line)); got != tc.want {
			t.Errorf("streamFinished(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

// FuzzFinishWatch: any stream body, read in any pieces, passes through
// unchanged, and finishes exactly when one of its whole lines ends the
// answer.
func FuzzFinishWatch(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n"), uint8(3))
	f.Add([]byte("data: {\"choices\":[{\"finish_reason\":null}]}\n"), uint8(1))
	f.Add([]byte(": ping\r\ndata:[DONE]\r\n"), uint8(7))
	f.Fuzz(func(t *testing.T, body []byte, piece uint8) {
		want := false
		lines := bytes.Split(body, []byte("\n"))
		for _, l := range lines[:len(lines)-1] { // the last has no newline
			want = want || streamFinished(l)
		}
		n := 0
		w := &finishWatch{r: &pieces{b: body, n: int(piece)%16 + 1}, finished: func() { n++ }}
		got, err := io.ReadAll(w)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("read %q, %v; want %q", got, err, body)
		}
		if want != (n == 1) || n > 1 {
			t.Errorf("finished %d times, want %v", n, want)
		}
	})
}

// pieces reads b n bytes at a time.
type pieces struct {
	b []byte
	n int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	k := copy(b[:min(len(b), p.n)], p.b)
	p.b = p.b[k:]
	return k, nil
}

// TestEndlessInformationalResponsesEndTheCall: an endpoint that sends
// informational (1xx) responses without end is refused after max1xx of
// them, instead of holding the call until its timeout.
func TestEndlessInformationalResponsesEndTheCall(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		for range 2 * max1xx {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
		}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := New(WithLogger(slog.New(slog.DiscardHandler))).Chat(ctx, srv.endpoint(), request(), fastRetry, "")
	if !errors.Is(err, ErrBadResponse) {
		t.Errorf("error = %v, want a bad response", err)
	}
}
