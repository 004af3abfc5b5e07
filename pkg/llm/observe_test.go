package llm

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// attempts records what an Observer is told.
type attempts struct {
	mu  sync.Mutex
	got []attempt
}

type attempt struct {
	name, outcome string
	latency, ttft time.Duration
}

func (a *attempts) Attempt(name, outcome string, latency, ttft time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, attempt{name, outcome, latency, ttft})
}

func (a *attempts) outcomes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, x := range a.got {
		out = append(out, x.name+" "+x.outcome)
	}
	return out
}

// TestObserverSeesEveryAttempt: each request of a call, the retried ones
// included, is told with its outcome's class and the endpoint's name; an
// answer with its latency, and a streamed one with its time to first
// token; an answer from the cache is no request.
func TestObserverSeesEveryAttempt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   handler
		stream bool
		want   []string
	}{
		{"rate limited", func(w http.ResponseWriter, _ *http.Request, _ int) {
			http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
		}, false, []string{"ft rate_limited", "ft ok"}},
		{"server error", func(w http.ResponseWriter, _ *http.Request, _ int) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}, true, []string{"ft server_error", "ft ok"}},
		{"stream cut", func(w http.ResponseWriter, _ *http.Request, _ int) {
			sse(w, `data: {"choices":[{"index":0,"delta":{"content":"par"}}]}`)
		}, true, []string{"ft server_error", "ft ok"}},
		{"malformed", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id": "x", "choices": [`))
		}, false, []string{"ft failed", "ft ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				switch {
				case n == 1:
					tc.fail(w, r, n)
				case tc.stream:
					sse(w, `data: {"choices":[{"index":0,"delta":{"content":"4"}}]}`, `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, "data: [DONE]")
				default:
					completion(w, "4", "")
				}
			})
			var seen attempts
			c, _ := newClient(t, WithObserver(&seen), WithCache(&memCache{m: map[string][]byte{}}))
			ep := srv.endpoint()
			ep.Name, ep.Stream = "ft", tc.stream
			if _, err := c.Chat(t.Context(), ep, request(), fastRetry, "run|ft"); err != nil {
				t.Fatal(err)
			}
			// Answered from the cache: no request, nothing told.
			if r, err := c.Chat(t.Context(), ep, request(), fastRetry, "run|ft"); err != nil || !r.Cached {
				t.Fatalf("second call: %+v, %v; want a cached answer", r, err)
			}
			if got := seen.outcomes(); !slices.Equal(got, tc.want) {
				t.Fatalf("attempts %q, want %q", got, tc.want)
			}
			last := seen.got[len(seen.got)-1]
			if last.latency <= 0 || (last.ttft > 0) != tc.stream || last.ttft > last.latency {
				t.Errorf("answer timed %v, TTFT %v; want a latency, and a TTFT within it when streamed", last.latency, last.ttft)
			}
			if first := seen.got[0]; first.latency != 0 || first.ttft != 0 {
				t.Errorf("a failed attempt timed %+v", first)
			}
		})
	}
}

func TestAttemptOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&APIError{Status: 429}, AttemptRateLimited},
		{&APIError{Status: 502, Message: streamCut}, AttemptServerError},
		{&APIError{Status: 404, Message: "The model `sft` does not exist."}, AttemptClientError},
		{&CallError{Err: &APIError{Status: 401}}, AttemptClientError},
		{ErrMalformed, AttemptFailed},
		{timeoutErr{}, AttemptTimeout},
	} {
		if got := attemptOutcome(tc.err); got != tc.want {
			t.Errorf("attemptOutcome(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// timeoutErr is a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
