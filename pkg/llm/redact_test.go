package llm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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

// TestRedactCases: longer keys are replaced first, so that a key holding
// another leaves no tail in clear; weak keys (short, or placeholders local
// servers are given) are left alone, since they are words and numbers an
// answer may hold.
func TestRedactCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
		in   string
		want string
	}{
		{"one key", []string{"sk-live-0123456789"}, "key sk-live-0123456789.", "key [SECRET]."},
		{"a key holding another, shorter added first", []string{"sk-abcdefgh", "sk-abcdefgh-tail-1234"}, "x sk-abcdefgh-tail-1234 y sk-abcdefgh", "x [SECRET] y [SECRET]"},
		{"a key holding another, longer added first", []string{"sk-abcdefgh-tail-1234", "sk-abcdefgh"}, "x sk-abcdefgh-tail-1234", "x [SECRET]"},
		{"too short", []string{"123456"}, "the answer is 123456", "the answer is 123456"},
		{"ollama", []string{"ollama"}, "run ollama serve", "run ollama serve"},
		{"lm-studio", []string{"lm-studio"}, "open lm-studio", "open lm-studio"},
		{"EMPTY", []string{"EMPTY"}, "EMPTY set", "EMPTY set"},
		{"none", []string{"none"}, "none of them", "none of them"},
		{"sk-no-key-required", []string{"sk-no-key-required"}, "send sk-no-key-required", "send sk-no-key-required"},
		{"dummy", []string{"dummy"}, "a dummy", "a dummy"},
		{"token", []string{"token"}, "one token", "one token"},
		{"placeholder in capitals", []string{"NOT-NEEDED"}, "not-needed NOT-NEEDED", "not-needed NOT-NEEDED"},
		{"eight digits", []string{"12345678"}, "n=12345678", "n=[SECRET]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r redactor
			for _, k := range tc.keys {
				r.add(k)
			}
			if got := r.text(tc.in); got != tc.want {
				t.Fatalf("text(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := string(r.bytes([]byte(tc.in))); got != tc.want {
				t.Fatalf("bytes(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestDigitKeyKeepsJSON: a key made of digits that also occurs in a
// number of a successful answer (its created time) does not break the
// answer: the body is decoded as sent, and only its texts are redacted,
// streamed or not.
func TestDigitKeyKeepsJSON(t *testing.T) {
	const key = "1712345678"
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			s := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if stream {
					sse(w, `data: {"created": 1712345678901, "choices":[{"index":0,"delta":{"content":"you sent 1712345678"},"finish_reason":"stop"}]}`, "data: [DONE]")
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1712345678901,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"you sent 1712345678"},"finish_reason":"stop"}]}`)
			})
			c, _ := newClient(t)
			r, err := c.Chat(t.Context(), Endpoint{BaseURL: s.URL + "/v1", Concurrency: 1, APIKey: key, Stream: stream}, request(), RetryPolicy{MaxAttempts: 1}, "")
			if err != nil {
				t.Fatalf("a digit key broke the answer: %v", err)
			}
			if r.Output != "you sent "+SecretShown {
				t.Fatalf("output %q, want the key replaced", r.Output)
			}
		})
	}
}

// TestWeakSecretsNamed: the policy names its secrets too weak to be
// redacted, and only those, so that a server can say so at start.
func TestWeakSecretsNamed(t *testing.T) {
	getenv := func(k string) string {
		return map[string]string{"A_KEY": "sk-aaaa-1111", "B_KEY": "ollama", "C_KEY": "abc"}[k]
	}
	e := serverPolicy(t, "secrets:\n  a: {env: A_KEY, hosts: [loopback]}\n  b: {env: B_KEY, hosts: [loopback]}\n  c: {env: C_KEY, hosts: [loopback]}\n", false, getenv, "loopback")
	if got := e.WeakSecrets(); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("WeakSecrets = %q, want [b c]", got)
	}
}

// FuzzRedact: the redactor never panics, and what it returns holds no
// key it replaces (a key without brackets: one made of [SecretShown]'s
// characters could be formed again by the replacement itself).
func FuzzRedact(f *testing.F) {
	f.Add("Bearer sk-abcdefgh-tail-1234", "sk-abcdefgh", "sk-abcdefgh-tail-1234")
	f.Add(`{"created": 1712345678901}`, "1712345678", "ollama")
	f.Add("aaaaaaaaaaaaaaaaaaaa", "aaaaaaaa", "aaaaaaaaa")
	f.Add("[SECRET]]SECRET[", "SECRET]]", "")
	f.Fuzz(func(t *testing.T, s, k1, k2 string) {
		var r redactor
		r.add(k1)
		r.add(k2)
		out, outb := r.text(s), string(r.bytes([]byte(s)))
		if out != outb {
			t.Fatalf("text %q and bytes %q differ", out, outb)
		}
		for _, k := range []string{k1, k2} {
			if weakKey(k) || strings.ContainsAny(k, "[]") {
				continue
			}
			if strings.Contains(out, k) {
				t.Fatalf("key %q left in %q (from %q)", k, out, s)
			}
		}
	})
}
