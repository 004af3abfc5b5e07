package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// closedPort returns a base URL on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

// hangUp answers by closing the connection, with a reset when rst is set.
func hangUp(rst bool) handler {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok && rst {
			tc.SetLinger(0)
		}
		conn.Close()
	}
}

func body(code int, s string) handler {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, s)
	}
}

// TestCause classes real failures: each case is a call against a server
// written to fail that way (or no server at all), and the class is read
// from the error Chat returns.
func TestCause(t *testing.T) {
	for _, tc := range []struct {
		name    string
		h       handler                                 // the server's answer; nil: no server
		base    func(t *testing.T, srv *server) string  // the base URL; nil: the server's
		setup   func(ep *Endpoint, cancel func())       // adjusts the endpoint
		client  func(t *testing.T, srv *server) *Client // nil: a plain client
		want    string
		wantErr string // contained in the error, when the cause alone would hide a mistake
	}{
		{name: "nothing listening", base: func(t *testing.T, _ *server) string { return closedPort(t) }, want: "connection refused"},
		{name: "no such host", base: func(*testing.T, *server) string { return "http://assay-preflight.invalid/v1" }, want: "no such host"},
		{name: "not a URL", base: func(*testing.T, *server) string { return "localhost:8000/v1" }, want: "bad base_url"},
		{
			name: "timeout",
			h: func(w http.ResponseWriter, r *http.Request, _ int) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			setup: func(ep *Endpoint, _ func()) { ep.Timeout = 50 * time.Millisecond },
			want:  "timeout",
		},
		{name: "connection closed", h: hangUp(false), want: "connection closed"},
		{name: "connection reset", h: hangUp(true), want: "connection reset"},
		{name: "401", h: func(w http.ResponseWriter, _ *http.Request, _ int) { status(w, 401) }, want: "HTTP 401: credentials rejected"},
		{name: "403", h: func(w http.ResponseWriter, _ *http.Request, _ int) { status(w, 403) }, want: "HTTP 403: forbidden"},
		{name: "404 from vLLM", h: body(404, `{"object":"error","message":"The model `+"`sft`"+` does not exist.","type":"NotFoundError","param":null,"code":404}`), want: "HTTP 404: The model `sft` does not exist."},
		{name: "404 from Ollama", h: body(404, `{"error":{"message":"model \"sft\" not found, try pulling it first","type":"api_error"}}`), want: `HTTP 404: model "sft" not found, try pulling it first`},
		{name: "404 without a message", h: body(404, ``), want: "HTTP 404: not found"},
		{name: "404 with a request id", h: body(404, `{"error":{"message":"No deployment for sft (request req_8f3a9c2b1d7e4f60)"}}`), want: "HTTP 404: No deployment for sft (request …)"},
		{name: "404 with a UUID", h: body(404, `{"error":{"message":"adapter 0b6f9a7e-52c1-4c1e-9a43-3f0d8f1e2a77 not found"}}`), want: "HTTP 404: adapter … not found"},
		{
			name: "400 keeps the first sentence only",
			h:    body(400, `{"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested 5123 tokens (5000 in the messages, 123 in the completion)."}}`),
			want: "HTTP 400: This model's maximum context length is 4096 tokens.",
		},
		{
			name: "a long message is clipped",
			h:    body(422, `{"error":{"message":"`+strings.Repeat("field required ", 20)+`"}}`),
			want: "HTTP 422: " + strings.TrimSpace(strings.Repeat("field required ", 5)) + " …",
		},
		{name: "429", h: func(w http.ResponseWriter, _ *http.Request, _ int) { status(w, 429) }, want: "HTTP 429: rate limited"},
		{name: "500", h: body(500, `Traceback (most recent call last): request 1234`), want: "HTTP 500"},
		{name: "503", h: func(w http.ResponseWriter, _ *http.Request, _ int) { status(w, 503) }, want: "HTTP 503"},
		{name: "malformed", h: body(200, `{"id": "x", "choices": [`), want: "malformed response"},
		{name: "no choices", h: body(200, `{"id": "x", "choices": []}`), want: "not a chat completion"},
		{
			name: "stream cut",
			h: func(w http.ResponseWriter, _ *http.Request, _ int) {
				sse(w, `data: {"choices":[{"index":0,"delta":{"content":"The"}}]}`)
			},
			setup: func(ep *Endpoint, _ func()) { ep.Stream = true },
			want:  "stream ended before [DONE]",
		},
		{
			name: "error in stream",
			h: func(w http.ResponseWriter, _ *http.Request, _ int) {
				sse(w, `data: {"error":{"message":"engine died 0x7f3a"}}`)
			},
			setup: func(ep *Endpoint, _ func()) { ep.Stream = true },
			want:  "error in stream",
		},
		{
			name: "TLS, untrusted certificate",
			base: func(t *testing.T, _ *server) string {
				s := httptest.NewUnstartedServer(http.NotFoundHandler())
				s.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake
				s.StartTLS()
				t.Cleanup(s.Close)
				return s.URL + "/v1"
			},
			want: "TLS error",
		},
		{
			name: "TLS, plain server",
			h:    ok("x"),
			base: func(t *testing.T, srv *server) string {
				return strings.Replace(srv.URL, "http://", "https://", 1) + "/v1"
			},
			want: "TLS error",
		},
		{
			name: "context canceled",
			h: func(w http.ResponseWriter, r *http.Request, _ int) {
				<-r.Context().Done()
			},
			setup: func(_ *Endpoint, cancel func()) { time.AfterFunc(50*time.Millisecond, cancel) },
			want:  "context canceled",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srv *server
			if tc.h != nil {
				srv = newServer(t, tc.h)
			}
			ep := Endpoint{Concurrency: 1}
			if tc.base != nil {
				ep.BaseURL = tc.base(t, srv)
			} else {
				ep.BaseURL = srv.URL + "/v1"
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.setup != nil {
				tc.setup(&ep, cancel)
			}
			c, _ := newClient(t)
			_, err := c.Chat(ctx, ep, request(), RetryPolicy{MaxAttempts: 1}, "")
			if err == nil {
				t.Fatal("no error")
			}
			if got := Cause(err); got != tc.want {
				t.Errorf("Cause(%v) = %q, want %q", err, got, tc.want)
			}
		})
	}
}

// TestCauseKnownErrors covers what no server test makes: wrapping, a
// reset connection's errno, a preflight problem, nil.
func TestCauseKnownErrors(t *testing.T) {
	p := Problem{Target: Target{Kind: "variant", Name: "ft"}, Kind: ProblemModel, Detail: `model "sft" is not served (served: base, sft-lora)`}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{p, `preflight: model "sft" is not served`},
		{&p, `preflight: model "sft" is not served`},
		{fmt.Errorf("turn 1: %w", &CallError{Err: &APIError{Status: 401}}), "HTTP 401: credentials rejected"},
		{&net.OpError{Op: "read", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", Name: "x"}}, "DNS error"},
		{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, "network error"},
		{&APIError{Status: 418}, "HTTP 418: i'm a teapot"},
		{errors.New("something new"), causeOther},
	} {
		if got := Cause(tc.err); got != tc.want {
			t.Errorf("Cause(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
