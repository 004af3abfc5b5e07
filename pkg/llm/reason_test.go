package llm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
)

// secret stands for what an internal page shows that a report must not.
const secret = "s3cr3t-internal-admin-token"

// TestErrorBodyNotInError calls endpoints whose answers carry a secret
// outside a JSON error's message (an internal page reached through a
// base_url) and checks that nothing of it reaches the error, its cause or
// its ledger text, while the status and a JSON error's message do.
func TestErrorBodyNotInError(t *testing.T) {
	page := "<html><head><title>Admin</title></head><body>\n<pre>token=" + secret + "</pre>\n</body></html>"
	answer := func(code int, ctype, s string) handler {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(code)
			io.WriteString(w, s)
		}
	}
	for _, tc := range []struct {
		name   string
		h      handler
		stream bool
		want   string // contained in the error
	}{
		{name: "HTML 404", h: answer(404, "text/html", page), want: fmt.Sprintf("HTTP 404 (non-JSON body, %d bytes)", len(page))},
		{name: "HTML 500", h: answer(500, "text/html", page), want: fmt.Sprintf("HTTP 500 (non-JSON body, %d bytes)", len(page))},
		{name: "plain text 502", h: answer(502, "text/plain", secret), want: fmt.Sprintf("HTTP 502 (non-JSON body, %d bytes)", len(secret))},
		{name: "JSON 403 beside its message", h: answer(403, "application/json", `{"error":{"message":"forbidden here","type":"x"},"debug":"`+secret+`"}`), want: "HTTP 403: forbidden here"},
		{name: "JSON 400 without a message", h: answer(400, "application/json", `{"config":{"token":"`+secret+`"}}`), want: "HTTP 400 (JSON body without an error message"},
		{name: "HTML 200", h: answer(200, "text/html", page), want: fmt.Sprintf("the body is not JSON or is cut off (%d bytes, HTML or XML)", len(page))},
		{name: "200 cut off", h: answer(200, "application/json", `{"choices":[{"message":{"content":"`+secret), want: "JSON cut off or broken"},
		{name: "HTML stream event", stream: true, h: func(w http.ResponseWriter, _ *http.Request, _ int) { sse(w, "data: "+page[:40]+secret) }, want: "a stream event is not JSON"},
		{
			name: "JSON 422 long message", h: answer(422, "application/json", `{"detail":"`+strings.Repeat("too long ", 30)+secret+`"}`),
			want: "HTTP 422: " + clipBytes(strings.TrimSpace(strings.Repeat("too long ", 30)), reasonMax),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.h)
			c, _ := newClient(t)
			ep := srv.endpoint()
			ep.Stream = tc.stream
			_, err := c.Chat(t.Context(), ep, request(), RetryPolicy{MaxAttempts: 2}, "")
			var ce *CallError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *CallError", err)
			}
			for what, s := range map[string]string{"error": err.Error(), "cause": Cause(err), "ledger text": ce.Err.Error()} {
				if strings.Contains(s, secret) || strings.Contains(s, "<html") {
					t.Errorf("%s %q shows the body", what, s)
				}
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestErrorBodyKeepsClasses checks that sanitising does not change how a
// status is retried or classed.
func TestErrorBodyKeepsClasses(t *testing.T) {
	for _, tc := range []struct {
		code      int
		body      string
		retryable bool
		cause     string
	}{
		{404, "<html>not here</html>", false, "HTTP 404: not found"},
		{404, `{"error":{"message":"The model ` + "`sft`" + ` does not exist."}}`, false, "HTTP 404: The model `sft` does not exist."},
		{429, "slow down", true, "HTTP 429: rate limited"},
		{502, "<html>bad gateway</html>", true, "HTTP 502"},
		{503, `{"error":{"message":"overloaded"}}`, true, "HTTP 503"},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			srv := newServer(t, body(tc.code, tc.body))
			c, _ := newClient(t)
			_, err := c.Chat(t.Context(), srv.endpoint(), request(), RetryPolicy{MaxAttempts: 2}, "")
			var api *APIError
			if !errors.As(err, &api) || api.Retryable() != tc.retryable || Cause(err) != tc.cause {
				t.Errorf("error %v: retryable %v, cause %q; want %v, %q", err, api != nil && api.Retryable(), Cause(err), tc.retryable, tc.cause)
			}
		})
	}
}

func TestSanitizeReason(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"model not found", "model not found"},
		{"  two\r\nlines\tand   spaces ", "two lines and spaces"},
		{"bell\a esc\x1b[2J nul\x00", "bell esc[2J nul"},
		{"bidi \u202eevil\u202c zero\u200bwidth", "bidi evil zerowidth"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{strings.Repeat("x", 200), strings.Repeat("x", reasonMax) + "…"},
		{strings.Repeat("日", 100), strings.Repeat("日", reasonMax/3) + "…"},
	} {
		if got := sanitizeReason(tc.in); got != tc.want {
			t.Errorf("sanitizeReason(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

var withheldRE = regexp.MustCompile(`^(non-JSON body|JSON body without an error message), [0-9]+ bytes$`)

// FuzzErrorReason checks on any body that the reason kept is short, valid
// UTF-8 on one line without control characters, and that a body which is
// not a JSON object is never quoted.
func FuzzErrorReason(f *testing.F) {
	for _, s := range []string{
		``, `<html>` + secret + `</html>`, `{"error":{"message":"x\ny"}}`, `{"error":"plain"}`, `{"message":"m"}`,
		`{"detail":"d"}`, `{"detail":[1]}`, `{"error":{"message":""},"message":"m2"}`, "{\"error\":\"\xff\u202e\"}", `[1]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		reason, withheld := errorReason(b)
		if len(reason) > reasonMax+len("…") || !utf8.ValidString(reason) {
			t.Fatalf("reason %q: too long or not UTF-8", reason)
		}
		if reason != "" && withheld != "" {
			t.Fatalf("both a reason %q and withheld %q", reason, withheld)
		}
		for _, r := range reason {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') {
				t.Fatalf("reason %q has %U", reason, r)
			}
		}
		if strings.HasPrefix(reason, " ") || strings.HasSuffix(reason, " ") {
			t.Fatalf("reason %q not trimmed", reason)
		}
		if withheld != "" && !withheldRE.MatchString(withheld) {
			t.Fatalf("withheld %q is more than a kind and a size", withheld)
		}
		if s := sanitizeReason(string(b)); len(s) > reasonMax+len("…") || !utf8.ValidString(s) {
			t.Fatalf("sanitizeReason: %q", s)
		}
	})
}

func TestCallErrorHidesPassword(t *testing.T) {
	srv := newServer(t, body(500, `{"error":{"message":"down"}}`))
	c, _ := newClient(t)
	ep := srv.endpoint()
	ep.BaseURL = strings.Replace(ep.BaseURL, "http://", "http://"+secret+":"+secret+"@", 1)
	_, err := c.Chat(t.Context(), ep, request(), RetryPolicy{MaxAttempts: 1}, "")
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "//xxxxx@") {
		t.Errorf("error = %v, want the userinfo hidden", err)
	}
}

// TestChatRefusesBaseURL checks that a base_url which could aim the call
// elsewhere than its chat API is never called.
func TestChatRefusesBaseURL(t *testing.T) {
	for _, suffix := range []string{"/admin?x=", "/admin#", "/v1?"} {
		t.Run(suffix, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				calls.Add(1)
				io.WriteString(w, "<html>"+secret+"</html>")
			}))
			t.Cleanup(srv.Close)
			c, _ := newClient(t)
			_, err := c.Chat(t.Context(), Endpoint{BaseURL: srv.URL + suffix}, request(), RetryPolicy{MaxAttempts: 1}, "")
			if !errors.Is(err, eval.ErrEndpointURL) || Cause(err) != "bad base_url" || calls.Load() != 0 {
				t.Errorf("error %v (cause %q) after %d requests, want a refused base_url and no request", err, Cause(err), calls.Load())
			}
		})
	}
}

// TestRedirects checks that a redirect is followed on the host called only:
// one to another server (an internal one, say) is refused without a request
// to it, and not retried.
func TestRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(500)
		io.WriteString(w, `{"error":{"message":"`+secret+`"}}`)
	}))
	t.Cleanup(other.Close)
	for _, tc := range []struct {
		name  string
		to    func(self string) string // where /old/chat/completions redirects
		want  error
		calls int32 // requests to /old
	}{
		{name: "same host", to: func(self string) string { return self + "/v1/chat/completions" }, calls: 1},
		{name: "another host", to: func(string) string { return other.URL + "/v1/chat/completions" }, want: ErrRedirect, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var old atomic.Int32
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/old/chat/completions" {
					old.Add(1)
					http.Redirect(w, r, tc.to(srv.URL), http.StatusTemporaryRedirect)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"choices":[{"message":{"content":"4"},"finish_reason":"stop"}]}`)
			}))
			t.Cleanup(srv.Close)
			c, _ := newClient(t)
			r, err := c.Chat(t.Context(), Endpoint{BaseURL: srv.URL + "/old"}, request(), RetryPolicy{MaxAttempts: 3}, "")
			switch {
			case tc.want == nil && (err != nil || r.Output != "4"):
				t.Errorf("Chat = %+v, %v; want the answer", r, err)
			case tc.want != nil && (!errors.Is(err, tc.want) || Cause(err) != "redirected elsewhere" || strings.Contains(err.Error(), secret)):
				t.Errorf("error %v (cause %q), want %v", err, Cause(err), tc.want)
			}
			if old.Load() != tc.calls || elsewhere.Load() != 0 {
				t.Errorf("%d requests to the base_url (want %d), %d elsewhere (want 0)", old.Load(), tc.calls, elsewhere.Load())
			}
		})
	}
}
