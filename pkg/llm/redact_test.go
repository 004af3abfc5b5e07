package llm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestEchoedKeyRedacted: an endpoint that sends the request's
// Authorization header back, in an error's message (at any offset, even
// where the message is cut), in an error event of a stream, or in its
// answer, leaves no part of the key in the error, its cause or the
// answer: it reads [SECRET].
func TestEchoedKeyRedacted(t *testing.T) {
	const key = "sk-echoed-3f9a7c21d4e8b6"
	getenv := func(k string) string {
		if k == "ECHO_KEY" {
			return key
		}
		return ""
	}
	e := serverPolicy(t, "secrets:\n  echo: {env: ECHO_KEY, hosts: [loopback]}\n", false, getenv, "loopback")
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, tc := range []struct {
		name   string
		stream bool
		h      handler
	}{
		{"400 message", false, func(w http.ResponseWriter, r *http.Request, _ int) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error": {"message": %s}}`, quote("Incorrect API key provided: "+r.Header.Get("Authorization")))
		}},
		{"400 message cut inside the key", false, func(w http.ResponseWriter, r *http.Request, _ int) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error": {"message": %s}}`, quote(strings.Repeat("x", reasonMax-10)+" "+r.Header.Get("Authorization")))
		}},
		{"error object with 200", false, func(w http.ResponseWriter, r *http.Request, _ int) {
			fmt.Fprintf(w, `{"error": {"message": %s}}`, quote("bad key "+r.Header.Get("Authorization")))
		}},
		{"error event in a stream", true, func(w http.ResponseWriter, r *http.Request, _ int) {
			sse(w, `data: {"error": {"message": `+quote("bad key "+r.Header.Get("Authorization"))+`}}`)
		}},
		{"answer", false, func(w http.ResponseWriter, r *http.Request, _ int) {
			completion(w, "you sent "+r.Header.Get("Authorization"), "")
		}},
		{"streamed answer in pieces", true, func(w http.ResponseWriter, r *http.Request, _ int) {
			a := r.Header.Get("Authorization")
			sse(w, `data: {"choices":[{"index":0,"delta":{"content":`+quote("you sent "+a[:12])+`}}]}`,
				`data: {"choices":[{"index":0,"delta":{"content":`+quote(a[12:])+`},"finish_reason":"stop"}]}`, "data: [DONE]")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.h)
			c, _ := newClient(t, WithEndpoints(e))
			r, err := c.Chat(t.Context(), Endpoint{BaseURL: s.URL + "/v1", Concurrency: 1, KeySecret: "echo", Stream: tc.stream}, request(), RetryPolicy{MaxAttempts: 1}, "")
			if got := s.header(0).Get("Authorization"); got != "Bearer "+key {
				t.Fatalf("Authorization %q: the test's endpoint did not get the key", got)
			}
			texts := []string{r.Output, r.Raw, r.Reasoning}
			if err != nil {
				texts = append(texts, err.Error(), Cause(err))
			}
			shown := strings.Join(texts, "\n")
			for i := 0; i+minRedacted <= len(key); i++ {
				if strings.Contains(shown, key[i:i+minRedacted]) {
					t.Fatalf("a piece of the key (%q) is shown: %q", key[i:i+minRedacted], shown)
				}
			}
			if !strings.Contains(shown, SecretShown) && !strings.HasSuffix(shown, "…") {
				t.Fatalf("no %s where the key was: %q", SecretShown, shown)
			}
		})
	}
}

// TestRedactPolicySecrets: Endpoints.Redact replaces every configured
// secret's value, and leaves values too short to be keys alone.
func TestRedactPolicySecrets(t *testing.T) {
	getenv := func(k string) string {
		return map[string]string{"A_KEY": "sk-aaaa-1111", "B_KEY": "abc"}[k]
	}
	e := serverPolicy(t, "secrets:\n  a: {env: A_KEY, hosts: [loopback]}\n  b: {env: B_KEY, hosts: [loopback]}\n", false, getenv, "loopback")
	if got := e.Redact("Bearer sk-aaaa-1111 and abc"); got != "Bearer [SECRET] and abc" {
		t.Fatalf("Redact: %q", got)
	}
}
