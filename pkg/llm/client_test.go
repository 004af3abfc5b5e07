package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
)

// server is an OpenAI-compatible endpoint written for the tests: each call
// is answered by the handler for its number (from 1), and every request
// body is kept.
type server struct {
	*httptest.Server
	calls atomic.Int32

	mu      sync.Mutex
	bodies  []map[string]any
	headers []http.Header
}

type handler func(w http.ResponseWriter, r *http.Request, call int)

func newServer(t *testing.T, h handler) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "not found: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		h(w, r, int(s.calls.Add(1)))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) endpoint() Endpoint { return Endpoint{BaseURL: s.URL + "/v1", Concurrency: 4} }

func (s *server) header(i int) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[i]
}

func (s *server) body(t *testing.T, i int) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.bodies) {
		t.Fatalf("request %d not received (%d were)", i, len(s.bodies))
	}
	return s.bodies[i]
}

// completion writes a non-streamed answer.
func completion(w http.ResponseWriter, content, reasoning string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ChatResponse{
		ID: "c1", Object: "chat.completion", Model: "served-model",
		Choices: []ChatChoice{{Message: ReplyMessage{Role: "assistant", Content: content, ReasoningContent: reasoning}, FinishReason: "stop"}},
		Usage:   &WireUsage{PromptTokens: 5, CompletionTokens: 3, TotalTokens: 8},
	})
}

func ok(content string) handler {
	return func(w http.ResponseWriter, _ *http.Request, _ int) { completion(w, content, "") }
}

// sse writes a streamed answer event by event, flushing each so that the
// client sees them arrive apart.
func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	for _, e := range events {
		fmt.Fprintf(w, "%s\n\n", e)
		fl.Flush()
	}
}

// sleeps records the waits the client asks for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

func newClient(t *testing.T, opts ...Option) (*Client, *sleeps) {
	t.Helper()
	c := New(opts...)
	sl := &sleeps{}
	c.sleep = sl.sleep
	return c, sl
}

func request() ChatRequest {
	return Build("m", []eval.Message{{Role: "user", Content: "2+2?"}}, eval.Decoding{TopP: 1, MaxTokens: 16}, eval.Template{})
}

var fastRetry = RetryPolicy{MaxAttempts: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}

func TestChatRequestBody(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if stream {
					sse(w, `data: {"choices":[{"index":0,"delta":{"content":"4"},"finish_reason":"stop"}]}`, "data: [DONE]")
					return
				}
				completion(w, "4", "")
			})
			c, _ := newClient(t)
			d := eval.Decoding{Temperature: 0, TopP: 1, MaxTokens: 32, TopK: ptr(20), MinP: ptr(0.05)}
			tm := eval.Template{System: "Be brief.", Thinking: ptr(false)}
			req := Build("qwen", []eval.Message{{Role: "user", Content: "2+2?"}}, d, tm)
			ep := srv.endpoint()
			ep.BaseURL += "/" // a trailing slash is common in configs
			ep.APIKey = "sk-test"
			ep.Stream = stream
			r, err := c.Chat(t.Context(), ep, req, fastRetry, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Output != "4" || r.Attempts != 1 || r.Cached {
				t.Errorf("response = %+v", r)
			}
			body := srv.body(t, 0)
			if v, present := body["temperature"]; !present || v != 0.0 {
				t.Errorf("temperature = %v (present %v): 0 must be sent, not left to the server's default", v, present)
			}
			if body["top_k"] != 20.0 || body["min_p"] != 0.05 || body["max_tokens"] != 32.0 || body["model"] != "qwen" {
				t.Errorf("body = %v", body)
			}
			if kw, _ := body["chat_template_kwargs"].(map[string]any); kw["enable_thinking"] != false {
				t.Errorf("chat_template_kwargs = %v", body["chat_template_kwargs"])
			}
			msgs, _ := body["messages"].([]any)
			if len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" || msgs[0].(map[string]any)["content"] != "Be brief." {
				t.Errorf("messages = %v", msgs)
			}
			h := srv.header(0)
			if h.Get("Authorization") != "Bearer sk-test" || h.Get("Content-Type") != "application/json" {
				t.Errorf("headers = %v", h)
			}
			if stream {
				so, _ := body["stream_options"].(map[string]any)
				if body["stream"] != true || so["include_usage"] != true || h.Get("Accept") != "text/event-stream" {
					t.Errorf("streamed request: stream %v, stream_options %v, accept %q", body["stream"], body["stream_options"], h.Get("Accept"))
				}
			} else if _, present := body["stream"]; present {
				t.Errorf("stream sent on a plain request: %v", body)
			}
		})
	}
}

func TestChatNoAPIKey(t *testing.T) {
	srv := newServer(t, ok("x"))
	c, _ := newClient(t)
	if _, err := c.Chat(t.Context(), srv.endpoint(), request(), fastRetry, ""); err != nil {
		t.Fatal(err)
	}
	if h := srv.header(0).Get("Authorization"); h != "" {
		t.Errorf("Authorization = %q without a key", h)
	}
}

// status answers with code, headers and an OpenAI error body.
func status(w http.ResponseWriter, code int, header ...string) {
	for i := 0; i+1 < len(header); i += 2 {
		w.Header().Set(header[i], header[i+1])
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"message":"status %d","type":"x","code":%d}}`, code, code)
}

func TestChatRetries(t *testing.T) {
	date := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	for _, tc := range []struct {
		name   string
		h      handler
		policy RetryPolicy
		// want is the attempts of a success, or of the CallError.
		want      int
		wantErr   bool
		status    int // of the final APIError
		calls     int
		sleepsMin []time.Duration // one per sleep, with sleepsMax
		sleepsMax []time.Duration
	}{
		{
			name: "503 then 200",
			h: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					status(w, 503)
					return
				}
				completion(w, "4", "")
			},
			policy: fastRetry, want: 2, calls: 2,
			sleepsMin: []time.Duration{50 * time.Millisecond}, sleepsMax: []time.Duration{100 * time.Millisecond},
		},
		{
			name: "429 with Retry-After seconds",
			h: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					status(w, 429, "Retry-After", "2")
					return
				}
				completion(w, "4", "")
			},
			policy: fastRetry, want: 2, calls: 2,
			sleepsMin: []time.Duration{2 * time.Second}, sleepsMax: []time.Duration{2 * time.Second},
		},
		{
			name: "429 with Retry-After as an HTTP date",
			h: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					status(w, 429, "Retry-After", date(3*time.Second))
					return
				}
				completion(w, "4", "")
			},
			// The date has whole seconds and time passes: between 1s and 3s.
			policy: fastRetry, want: 2, calls: 2,
			sleepsMin: []time.Duration{time.Second}, sleepsMax: []time.Duration{3 * time.Second},
		},
		{
			name: "Retry-After capped",
			h: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					status(w, 503, "Retry-After", "3600")
					return
				}
				completion(w, "4", "")
			},
			policy: RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxRetryAfter: 10 * time.Second}, want: 2, calls: 2,
			sleepsMin: []time.Duration{10 * time.Second}, sleepsMax: []time.Duration{10 * time.Second},
		},
		{
			name: "Retry-After in the past falls back to backoff",
			h: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					status(w, 503, "Retry-After", date(-time.Hour))
					return
				}
				completion(w, "4", "")
			},
			policy: fastRetry, want: 2, calls: 2,
			sleepsMin: []time.Duration{50 * time.Millisecond}, sleepsMax: []time.Duration{100 * time.Millisecond},
		},
		{
			name: "400 is not retried",
			h: func(w http.ResponseWriter, r *http.Request, n int) {
				status(w, 400, "Retry-After", "1")
			},
			policy: fastRetry, want: 1, wantErr: true, status: 400, calls: 1,
		},
		{
			name: "401 is not retried",
			h: func(w http.ResponseWriter, r *http.Request, n int) {
				status(w, 401)
			},
			policy: fastRetry, want: 1, wantErr: true, status: 401, calls: 1,
		},
		{
			name: "attempts exhausted",
			h: func(w http.ResponseWriter, r *http.Request, n int) {
				status(w, 500)
			},
			policy: RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond},
			want:   4, wantErr: true, status: 500, calls: 4,
			// Doubling from 100ms, capped at 300ms, with jitter in the upper half.
			sleepsMin: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond},
			sleepsMax: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.h)
			c, sl := newClient(t)
			r, err := c.Chat(t.Context(), srv.endpoint(), request(), tc.policy, "")
			if tc.wantErr {
				var ce *CallError
				if !errors.As(err, &ce) {
					t.Fatalf("error = %v, want a *CallError", err)
				}
				if ce.Attempts != tc.want || !strings.Contains(ce.Endpoint, "/v1/chat/completions") {
					t.Errorf("CallError = %+v, want %d attempts", ce, tc.want)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("after %d attempts", tc.want)) {
					t.Errorf("error %q does not count the attempts", err)
				}
				var api *APIError
				if tc.status != 0 && (!errors.As(err, &api) || api.Status != tc.status || api.Message != fmt.Sprintf("status %d", tc.status)) {
					t.Errorf("APIError = %+v, want status %d with the server's message", api, tc.status)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if r.Attempts != tc.want || r.Output != "4" {
					t.Errorf("response = %+v, want %d attempts", r, tc.want)
				}
			}
			if got := int(srv.calls.Load()); got != tc.calls {
				t.Errorf("server saw %d calls, want %d", got, tc.calls)
			}
			got := sl.get()
			if len(got) != len(tc.sleepsMin) {
				t.Fatalf("slept %v, want %d sleeps", got, len(tc.sleepsMin))
			}
			for i, d := range got {
				if d < tc.sleepsMin[i] || d > tc.sleepsMax[i] {
					t.Errorf("sleep %d = %v, want %v..%v", i, d, tc.sleepsMin[i], tc.sleepsMax[i])
				}
			}
		})
	}
}

// TestChatRealSleep checks the unreplaced sleep: Retry-After is honoured by
// actually waiting, here a short fractional one.
func TestChatRealSleep(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			status(w, 429, "Retry-After", "0.2")
			return
		}
		completion(w, "4", "")
	})
	c := New()
	start := time.Now()
	r, err := c.Chat(t.Context(), srv.endpoint(), request(), fastRetry, "")
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 200*time.Millisecond || r.Attempts != 2 {
		t.Errorf("took %v and %d attempts, want ≥200ms and 2", el, r.Attempts)
	}
}

func TestChatContextCanceledWhileWaiting(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) { status(w, 503, "Retry-After", "60") })
	c := New()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Chat(ctx, srv.endpoint(), request(), fastRetry, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the context's", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Chat waited %v after its context ended", el)
	}
}

func TestChatReasoning(t *testing.T) {
	for _, tc := range []struct {
		name               string
		content, reasoning string
		field              string // the server's name for the reasoning field
		output, want       string
	}{
		{"inline only", "<think>plan</think>\n\nanswer", "", "reasoning_content", "answer", "plan"},
		{"server only", "answer", "server plan", "reasoning_content", "answer", "server plan"},
		{"server field named reasoning", "answer", "server plan", "reasoning", "answer", "server plan"},
		{"both merged", "<think>inline plan</think>answer", "server plan", "reasoning_content", "answer", "server plan\ninline plan"},
		{"lone close", "plan</think>answer", "", "reasoning_content", "answer", "plan"},
		{"unclosed", "<think>never finished", "", "reasoning_content", "", "never finished"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				msg := map[string]any{"role": "assistant", "content": tc.content}
				if tc.reasoning != "" {
					msg[tc.field] = tc.reasoning
				}
				json.NewEncoder(w).Encode(map[string]any{"model": "m", "choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": "stop"}}})
			})
			c, _ := newClient(t)
			r, err := c.Chat(t.Context(), srv.endpoint(), request(), fastRetry, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Output != tc.output || r.Reasoning != tc.want || r.Raw != tc.content {
				t.Errorf("output %q, reasoning %q, raw %q; want %q, %q, %q", r.Output, r.Reasoning, r.Raw, tc.output, tc.want, tc.content)
			}
			if r.Usage != (WireUsage{}) || r.TTFT != 0 || r.Latency <= 0 {
				t.Errorf("usage %+v, ttft %v, latency %v", r.Usage, r.TTFT, r.Latency)
			}
		})
	}
}

func TestChatConcurrencyLimit(t *testing.T) {
	var inflight, peak atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		completion(w, "x", "")
	})
	c, _ := newClient(t)
	ep := srv.endpoint()
	ep.Concurrency = 3
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := c.Chat(t.Context(), ep, request(), fastRetry, ""); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak in flight = %d, want 3", p)
	}
	if n := srv.calls.Load(); n != 20 {
		t.Errorf("server saw %d calls", n)
	}
}

// TestChatConcurrencyPerModel checks that the limit is per base URL and
// model: a second model on the same server has its own slots.
func TestChatConcurrencyPerModel(t *testing.T) {
	release := make(chan struct{})
	var entered atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		entered.Add(1)
		<-release
		completion(w, "x", "")
	})
	c, _ := newClient(t)
	ep := srv.endpoint()
	ep.Concurrency = 1
	var wg sync.WaitGroup
	for _, model := range []string{"a", "b"} {
		req := request()
		req.Model = model
		wg.Go(func() {
			if _, err := c.Chat(t.Context(), ep, req, fastRetry, ""); err != nil {
				t.Error(err)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for entered.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if entered.Load() != 2 {
		t.Error("the second model waited for the first one's slot")
	}
}

func TestRetryPolicyWait(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()
	if p.MaxAttempts != DefaultRetry.MaxAttempts || p.MaxRetryAfter != DefaultRetry.MaxRetryAfter {
		t.Errorf("withDefaults = %+v", p)
	}
	for _, tc := range []struct {
		name    string
		err     error
		attempt int
		retry   bool
		lo, hi  time.Duration
	}{
		{"network error, first", errors.New("connection refused"), 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"network error, third", errors.New("connection refused"), 3, true, 200 * time.Millisecond, 400 * time.Millisecond},
		{"capped", errors.New("x"), 30, true, 500 * time.Millisecond, time.Second},
		{"timeout", context.DeadlineExceeded, 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"408", &APIError{Status: 408}, 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"409", &APIError{Status: 409}, 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"502", &APIError{Status: 502}, 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"504", &APIError{Status: 504}, 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"retry-after", &APIError{Status: 429, RetryAfter: 7 * time.Second}, 1, true, 7 * time.Second, 7 * time.Second},
		{"retry-after capped", &APIError{Status: 429, RetryAfter: time.Hour}, 1, true, 5 * time.Minute, 5 * time.Minute},
		{"wrapped", fmt.Errorf("calling: %w", &APIError{Status: 503}), 1, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"400", &APIError{Status: 400}, 1, false, 0, 0},
		{"404", &APIError{Status: 404}, 1, false, 0, 0},
		{"422", &APIError{Status: 422}, 1, false, 0, 0},
		{"501", &APIError{Status: 501}, 1, false, 0, 0},
		{"bad response", fmt.Errorf("%w: x", ErrBadResponse), 1, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 { // the jitter is random
				d, retry := p.wait(tc.attempt, tc.err)
				if retry != tc.retry || d < tc.lo || d > tc.hi {
					t.Fatalf("wait(%d, %v) = %v, %v; want %v in %v..%v", tc.attempt, tc.err, d, retry, tc.retry, tc.lo, tc.hi)
				}
			}
		})
	}
	t.Run("huge max backoff", func(t *testing.T) {
		p := RetryPolicy{InitialBackoff: 3 << 61, MaxBackoff: 1<<63 - 1}.withDefaults()
		for attempt := 1; attempt <= 70; attempt++ {
			d, retry := p.wait(attempt, errors.New("x"))
			if !retry || d <= 0 {
				t.Fatalf("wait(%d) = %v, %v: want a positive wait", attempt, d, retry)
			}
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{" 2 ", 2 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"1.5", 1500 * time.Millisecond},
		{"soon", 0},
		{"NaN", 0},
		{"Inf", retryAfterForever},
		{"1e300", retryAfterForever},
		{"9223372037", retryAfterForever}, // just over the largest Duration
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-90 * time.Second).Format(http.TimeFormat), 0},
		{now.Add(time.Minute).Format(time.RFC850), time.Minute},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := parseRetryAfter(tc.in, now); got != tc.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestReadAPIError(t *testing.T) {
	long := `{"error":{"message":"a` + strings.Repeat("é", 400) + `"}}` // two bytes a rune: byte 160 is mid-rune
	for _, tc := range []struct {
		name, body string
		want       string
		withheld   string
	}{
		{"openai envelope", `{"error":{"message":"model not found","type":"invalid_request_error","code":"404"}}`, "model not found", ""},
		{"numeric code", `{"error":{"message":"overloaded","code":503}}`, "overloaded", ""},
		{"error string", `{"error":"model 'x' not found"}`, "model 'x' not found", ""},
		{"vllm envelope", `{"object":"error","message":"busy"}`, "busy", ""},
		{"fastapi detail", `{"detail":"Not Found"}`, "Not Found", ""},
		{"JSON without a message", `{"detail":[{"loc":["body"],"msg":"x"}]}`, "", "JSON body without an error message, 39 bytes"},
		{"plain text", "  upstream connect error \n", "", "non-JSON body, 26 bytes"},
		{"empty", "", "", ""},
		{"long", long, "a" + strings.Repeat("é", 79) + "…", ""},
		{"lines and escapes", `{"error":{"message":"line one\nline two\u001b[31m red\u202e"}}`, "line one line two[31m red", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.WriteHeader(503)
			rec.WriteString(tc.body)
			err := readAPIError(rec.Result(), redactor{})
			var api *APIError
			if !errors.As(err, &api) || api.Status != 503 {
				t.Fatalf("error = %v", err)
			}
			if api.Message != tc.want || api.Withheld != tc.withheld || !utf8.ValidString(api.Message) {
				t.Errorf("message, withheld = %q, %q, want %q, %q", api.Message, api.Withheld, tc.want, tc.withheld)
			}
			if !strings.HasPrefix(err.Error(), "HTTP 503") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}
