package llm

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// serverPolicy builds a server's endpoint policy from an endpoints file's
// text and more allow patterns; the environment is env.
func serverPolicy(t *testing.T, file string, allowKeyEnv bool, getenv func(string) string, allow ...string) *Endpoints {
	t.Helper()
	cfg := EndpointsConfig{Allow: allow, AllowAPIKeyEnv: allowKeyEnv, Getenv: getenv}
	if file != "" {
		f, err := eval.ParseEndpointsFile("endpoints.yaml", []byte(file))
		if err != nil {
			t.Fatal(err)
		}
		cfg.File = f
	}
	e, err := NewEndpoints(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// localhostURL is s's base URL by the name localhost rather than its
// address: what the dialer sees is a name that resolves to loopback.
func localhostURL(s string) string { return strings.Replace(s, "127.0.0.1", "localhost", 1) + "/v1" }

// TestDialRefusesRefusedAddress: a call to a name whose address the policy
// refuses never connects, even when the name itself is allowed (as after
// DNS rebinding): the check is on the address dialed. Without the
// dialer's Control hook the call would reach the server.
func TestDialRefusesRefusedAddress(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow []string
		calls int32
	}{
		{"no allow list", nil, 0},
		{"name allowed, address loopback", []string{"localhost"}, 0},
		{"other host allowed", []string{"api.openai.com"}, 0},
		{"loopback allowed", []string{"loopback"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, ok("4"))
			c, _ := newClient(t, WithEndpoints(serverPolicy(t, "", false, nil, tc.allow...)))
			_, err := c.Chat(t.Context(), Endpoint{BaseURL: localhostURL(s.URL), Concurrency: 1}, request(), fastRetry, "")
			if got := s.calls.Load(); got != tc.calls {
				t.Fatalf("%d calls reached the server, want %d (err %v)", got, tc.calls, err)
			}
			if tc.calls > 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrPolicy) || Cause(err) != "endpoint policy refuses host localhost" {
				t.Fatalf("err %v (cause %q), want the endpoint policy's refusal of localhost", err, Cause(err))
			}
			if !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "--endpoint-allow") {
				t.Errorf("refusal %q does not say what is refused and what to change", err)
			}
		})
	}
}

func TestLocalEndpointsAllowEverything(t *testing.T) {
	s := newServer(t, ok("4"))
	t.Setenv("ASSAY_TEST_LOCAL_KEY", "local-key-1")
	c, _ := newClient(t, WithEndpoints(LocalEndpoints()))
	ep := Endpoint{BaseURL: localhostURL(s.URL), Concurrency: 1, KeyEnv: "ASSAY_TEST_LOCAL_KEY"}
	if _, err := c.Chat(t.Context(), ep, request(), fastRetry, ""); err != nil {
		t.Fatal(err)
	}
	if got := s.header(0).Get("Authorization"); got != "Bearer local-key-1" {
		t.Fatalf("Authorization %q", got)
	}
}

// TestSecretKeys: a secret reaches only the hosts it is allowed for, is
// read again when its file is rotated through a symlink (as Kubernetes
// does), and never appears in an error.
func TestSecretKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("v1", "sk-first-value\n")
	link := filepath.Join(dir, "openai")
	if err := os.Symlink(filepath.Join(dir, "v1"), link); err != nil {
		t.Fatal(err)
	}
	file := "secrets:\n  openai: {file: " + link + ", hosts: [loopback]}\n  elsewhere: {env: OTHER_KEY, hosts: [api.openai.com]}\n"
	getenv := func(k string) string {
		if k == "OTHER_KEY" {
			return "sk-other-value"
		}
		return ""
	}
	e := serverPolicy(t, file, false, getenv, "loopback")
	s := newServer(t, ok("4"))
	c, _ := newClient(t, WithEndpoints(e))
	call := func(secret string) error {
		_, err := c.Chat(t.Context(), Endpoint{BaseURL: s.URL + "/v1", Concurrency: 1, KeySecret: secret}, request(), fastRetry, "")
		return err
	}
	if err := call("openai"); err != nil {
		t.Fatal(err)
	}
	if got := s.header(0).Get("Authorization"); got != "Bearer sk-first-value" {
		t.Fatalf("Authorization %q, want the secret's value without its newline", got)
	}
	// Rotation: the link now points at a new file.
	write("v2", "sk-second-value")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "v2"), link); err != nil {
		t.Fatal(err)
	}
	if err := call("openai"); err != nil {
		t.Fatal(err)
	}
	if got := s.header(1).Get("Authorization"); got != "Bearer sk-second-value" {
		t.Fatalf("after rotation Authorization %q, want the new value", got)
	}
	for _, tc := range []struct{ secret, says string }{
		{"elsewhere", "secret elsewhere may not be sent to host 127.0.0.1"},
		{"unknown", "api_key_secret unknown is not configured"},
	} {
		err := call(tc.secret)
		if !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("secret %s: err %v, want one saying %q", tc.secret, err, tc.says)
		}
		if err != nil && strings.Contains(err.Error(), "sk-") {
			t.Errorf("error shows a key: %v", err)
		}
	}
	if got := s.calls.Load(); got != 2 {
		t.Fatalf("%d calls reached the server, want 2: refused keys send nothing", got)
	}
}

func TestAPIKeyEnvOnServer(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"SERVER_SECRET": "do-not-send"}[k] }
	s := newServer(t, ok("4"))
	ep := Endpoint{BaseURL: s.URL + "/v1", Concurrency: 1, KeyEnv: "SERVER_SECRET"}
	c, _ := newClient(t, WithEndpoints(serverPolicy(t, "", false, getenv, "loopback")))
	_, err := c.Chat(t.Context(), ep, request(), fastRetry, "")
	if !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "api_key_env SERVER_SECRET is not accepted") || !strings.Contains(err.Error(), "--allow-api-key-env") {
		t.Fatalf("err %v, want api_key_env refused naming --allow-api-key-env", err)
	}
	if s.calls.Load() != 0 {
		t.Fatal("a call was sent")
	}
	c, _ = newClient(t, WithEndpoints(serverPolicy(t, "", true, getenv, "loopback")))
	if _, err := c.Chat(t.Context(), ep, request(), fastRetry, ""); err != nil {
		t.Fatal(err)
	}
	if got := s.header(0).Get("Authorization"); got != "Bearer do-not-send" {
		t.Fatalf("with --allow-api-key-env Authorization is %q", got)
	}
}

func TestNewEndpointsUnreadableSecret(t *testing.T) {
	for _, tc := range []struct{ file, says string }{
		{"secrets:\n  openai: {file: /nonexistent/openai, hosts: [api.openai.com]}\n", "secret openai: file /nonexistent/openai cannot be read"},
		{"secrets:\n  vllm: {env: ASSAY_TEST_UNSET_KEY, hosts: [api.openai.com]}\n", "secret vllm: environment variable ASSAY_TEST_UNSET_KEY is not set"},
	} {
		f, err := eval.ParseEndpointsFile("e.yaml", []byte(tc.file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewEndpoints(EndpointsConfig{File: f, Getenv: func(string) string { return "" }})
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("err %v, want one saying %q", err, tc.says)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "empty")
	os.WriteFile(p, []byte("\n"), 0o600)
	f, _ := eval.ParseEndpointsFile("e.yaml", []byte("secrets:\n  k: {file: "+p+", hosts: [a.b]}\n"))
	if _, err := NewEndpoints(EndpointsConfig{File: f}); err == nil || !strings.Contains(err.Error(), "secret k: file "+p+" is empty") {
		t.Errorf("empty secret file: %v", err)
	}
}

func TestAdmit(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"K": "v"}[k] }
	e := serverPolicy(t, "allow: [loopback, api.openai.com]\nsecrets:\n  local: {env: K, hosts: [loopback]}\n  openai: {env: K, hosts: [api.openai.com]}\n", false, getenv)
	for _, tc := range []struct {
		name string
		t    Target
		says string // "" when admitted
	}{
		{"allowed", Target{BaseURL: "http://127.0.0.1:8000/v1", APIKeySecret: "local"}, ""},
		{"no key", Target{BaseURL: "http://[::1]:8000/v1"}, ""},
		{"localhost by loopback", Target{BaseURL: "http://localhost:8000/v1"}, ""},
		{"metadata", Target{BaseURL: "http://169.254.169.254/latest/meta-data"}, "endpoint policy refuses host 169.254.169.254"},
		{"private", Target{BaseURL: "http://10.0.0.1/v1"}, "a private address"},
		{"unknown secret", Target{BaseURL: "http://127.0.0.1:8000/v1", APIKeySecret: "nope"}, "api_key_secret nope is not configured"},
		{"secret for other host", Target{BaseURL: "http://127.0.0.1:8000/v1", APIKeySecret: "openai"}, "secret openai may not be sent to host 127.0.0.1"},
		{"api_key_env", Target{BaseURL: "http://127.0.0.1:8000/v1", APIKeyEnv: "HOME"}, "api_key_env HOME is not accepted"},
		{"unresolvable, not listed", Target{BaseURL: "http://no-such-host.invalid/v1"}, "not in the endpoint allow list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.t.Kind, tc.t.Name = "variant", "ft"
			err := e.Admit(context.Background(), tc.t)
			switch {
			case tc.says == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "variant ft: ")):
				t.Fatalf("err %v, want one naming variant ft and saying %q", err, tc.says)
			}
		})
	}
	if err := LocalEndpoints().Admit(context.Background(), Target{BaseURL: "http://169.254.169.254/", APIKeyEnv: "HOME"}); err != nil {
		t.Fatalf("a local run refused: %v", err)
	}
}

// TestPreflightPolicy: under a server's policy a refused target is a
// policy problem whose cause names the host, and nothing is sent to it.
func TestPreflightPolicy(t *testing.T) {
	f := newFakeAPI(t, &fakeAPI{models: list("m"), chat: serves("m")})
	c := New(WithEndpoints(serverPolicy(t, "", false, nil)))
	problems := c.Preflight(t.Context(), []Target{{Kind: "variant", Name: "ft", BaseURL: f.base(), Model: "m"}}, PreflightOptions{})
	if len(problems) != 1 || problems[0].Kind != ProblemPolicy || problems[0].Cause() != "preflight: endpoint policy refuses host 127.0.0.1" {
		t.Fatalf("problems %+v", problems)
	}
	if m, ch := f.counts(); m+ch != 0 || len(f.authSeen) != 0 {
		t.Fatalf("preflight sent %d requests", m+ch)
	}
	c = New(WithEndpoints(serverPolicy(t, "", false, nil, "loopback")))
	if problems := c.Preflight(t.Context(), []Target{{Kind: "variant", Name: "ft", BaseURL: f.base(), Model: "m"}}, PreflightOptions{}); len(problems) != 0 {
		t.Fatalf("allowed target: %v", problems)
	}
	_ = http.StatusOK
}

// TestPreflightCacheKeyHasSecret: the same endpoint named with another
// secret is checked anew, not passed on the strength of the first key.
func TestPreflightCacheKeyHasSecret(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"GOOD": "good-key", "BAD": "bad-key"}[k] }
	e := serverPolicy(t, "secrets:\n  good: {env: GOOD, hosts: [loopback]}\n  bad: {env: BAD, hosts: [loopback]}\n", false, getenv, "loopback")
	api := newFakeAPI(t, &fakeAPI{models: list("m"), chat: serves("m"), auth: "good-key"})
	pc := &PreflightCache{Client: New(WithEndpoints(e))}
	target := Target{Kind: "variant", Name: "ft", BaseURL: api.base(), Model: "m", APIKeySecret: "good"}
	if ps, _, err := pc.Check(t.Context(), "run", target); err != nil || len(ps) != 0 {
		t.Fatalf("good secret: %v %v", ps, err)
	}
	target.APIKeySecret = "bad"
	ps, _, err := pc.Check(t.Context(), "run", target)
	if err != nil || len(ps) != 1 || ps[0].Kind != ProblemCredentials || !strings.Contains(ps[0].Detail, "secret bad") {
		t.Fatalf("another secret for the same endpoint: %v %v", ps, err)
	}
}

// TestNameSecretsOnly: where runs are only admitted (ingest), a secret is
// checked by name and hosts, and its file need not exist there.
func TestNameSecretsOnly(t *testing.T) {
	f, err := eval.ParseEndpointsFile("e.yaml", []byte("allow: [loopback]\nsecrets:\n  openai: {file: /nonexistent/openai, hosts: [loopback]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEndpoints(EndpointsConfig{File: f, NameSecretsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Admit(ctx, Target{Kind: "variant", Name: "v", BaseURL: "http://127.0.0.1:8000/v1", APIKeySecret: "openai"}); err != nil {
		t.Fatalf("an allowed secret refused: %v", err)
	}
	if err := e.Admit(ctx, Target{Kind: "variant", Name: "v", BaseURL: "http://127.0.0.1:8000/v1", APIKeySecret: "other"}); err == nil {
		t.Fatal("an unknown secret admitted")
	}
	if _, err := NewEndpoints(EndpointsConfig{File: f}); err == nil {
		t.Fatal("a stage that sends keys started without its secret")
	}
}
