package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// fakeAPI is an OpenAI-compatible server for preflight tests, shaped like
// the servers users run: models answers GET /v1/models (nil: 404, as
// servers without the endpoint do) and chat answers POST
// /v1/chat/completions for a model (nil: 404). It counts the calls and
// keeps their Authorization headers and chat bodies.
type fakeAPI struct {
	*httptest.Server
	models func(w http.ResponseWriter, n int)
	chat   func(w http.ResponseWriter, model string, n int)
	// auth, when set, is the key every request must bear.
	auth string
	// hang makes GET /models never answer.
	hang bool

	mu         sync.Mutex
	modelCalls int
	chatCalls  int
	chatBodies []ChatRequest
	authSeen   []string
}

func newFakeAPI(t *testing.T, f *fakeAPI) *fakeAPI {
	t.Helper()
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.authSeen = append(f.authSeen, r.Header.Get("Authorization"))
		f.mu.Unlock()
		if f.auth != "" && r.Header.Get("Authorization") != "Bearer "+f.auth {
			status(w, http.StatusUnauthorized)
			return
		}
		switch {
		case f.hang:
			<-r.Context().Done()
		case r.Method == http.MethodGet && r.URL.Path == "/v1/models" && f.models != nil:
			f.mu.Lock()
			f.modelCalls++
			n := f.modelCalls
			f.mu.Unlock()
			f.models(w, n)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions" && f.chat != nil:
			var req ChatRequest
			json.NewDecoder(r.Body).Decode(&req)
			f.mu.Lock()
			f.chatCalls++
			n := f.chatCalls
			f.chatBodies = append(f.chatBodies, req)
			f.mu.Unlock()
			f.chat(w, req.Model, n)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) base() string { return f.URL + "/v1" }

func (f *fakeAPI) counts() (models, chat int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.modelCalls, f.chatCalls
}

// list answers GET /models with ids, as vLLM and Ollama do.
func list(ids ...string) func(w http.ResponseWriter, n int) {
	return func(w http.ResponseWriter, _ int) {
		l := ModelList{Object: "list"}
		for _, id := range ids {
			l.Data = append(l.Data, ModelInfo{ID: id, Object: "model"})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(l)
	}
}

// serves answers chat calls for the given models, and for others as vLLM
// does for an unknown model.
func serves(ids ...string) func(w http.ResponseWriter, model string, n int) {
	return func(w http.ResponseWriter, model string, _ int) {
		if !slices.Contains(ids, model) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"object":"error","message":"The model `+"`%s`"+` does not exist.","type":"NotFoundError","param":null,"code":404}`, model)
			return
		}
		completion(w, "OK", "")
	}
}

// ollamaServes answers chat calls as Ollama does: it serves a model under
// its name without the ":latest" tag its list shows.
func ollamaServes(ids ...string) func(w http.ResponseWriter, model string, n int) {
	return func(w http.ResponseWriter, model string, _ int) {
		if !slices.Contains(ids, model) && !slices.Contains(ids, model+":latest") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":{"message":"model %q not found, try pulling it first","type":"api_error","param":null,"code":null}}`, model)
			return
		}
		completion(w, "OK", "")
	}
}

func fixed(code int, body string) func(w http.ResponseWriter, n int) {
	return func(w http.ResponseWriter, _ int) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestPreflight(t *testing.T) {
	type want struct {
		kind, detail string // detail: contained in the problem's
	}
	for _, tc := range []struct {
		name   string
		api    *fakeAPI // nil: nothing listening
		target Target   // BaseURL filled in from api
		opts   PreflightOptions
		want   []want
		// modelCalls, chatCalls: what the server saw.
		modelCalls, chatCalls int
		sleeps                int
	}{
		{
			name:   "vLLM lists the LoRA adapter",
			api:    &fakeAPI{models: list("base", "sft-lora"), chat: serves("base", "sft-lora")},
			target: Target{Model: "sft-lora"}, modelCalls: 1,
		},
		{
			name:       "served names cleaned and cut",
			api:        &fakeAPI{models: list("a\nb\x1b[2J", strings.Repeat("x", 300)), chat: serves("a")},
			target:     Target{Model: "sft"},
			want:       []want{{ProblemModel, `model "sft" is not served (served: a b[2J, ` + strings.Repeat("x", maxServedName) + "…)"}},
			modelCalls: 1, chatCalls: 1,
		},
		{
			name:       "vLLM, unknown model",
			api:        &fakeAPI{models: list("base", "sft-lora"), chat: serves("base", "sft-lora")},
			target:     Target{Model: "sft"},
			want:       []want{{ProblemModel, `model "sft" is not served (served: base, sft-lora)`}},
			modelCalls: 1, chatCalls: 1,
		},
		{
			name:   "adapter served but not listed",
			api:    &fakeAPI{models: list("base"), chat: serves("base", "sft-lora")},
			target: Target{Model: "sft-lora"}, modelCalls: 1, chatCalls: 1,
		},
		{
			name:   "Ollama serves a model its list tags :latest",
			api:    &fakeAPI{models: list("llama3:latest"), chat: ollamaServes("llama3:latest")},
			target: Target{Model: "llama3"}, modelCalls: 1, chatCalls: 1,
		},
		{
			name:       "Ollama, model not pulled",
			api:        &fakeAPI{models: list("llama3:latest"), chat: ollamaServes("llama3:latest")},
			target:     Target{Model: "mistral"},
			want:       []want{{ProblemModel, `model "mistral" is not served (served: llama3:latest)`}},
			modelCalls: 1, chatCalls: 1,
		},
		{
			name:   "no /models endpoint, model served",
			api:    &fakeAPI{chat: serves("m")},
			target: Target{Model: "m"}, chatCalls: 1,
		},
		{
			name:      "no /models endpoint, unknown model",
			api:       &fakeAPI{chat: serves("m")},
			target:    Target{Model: "x"},
			want:      []want{{ProblemModel, "model \"x\" is not served (the server says: The model `x` does not exist.)"}},
			chatCalls: 1,
		},
		{
			name:   "/models answers 405",
			api:    &fakeAPI{models: fixed(405, "method not allowed"), chat: serves("m")},
			target: Target{Model: "m"}, modelCalls: 1, chatCalls: 1,
		},
		{
			name:   "no API at base_url",
			api:    &fakeAPI{},
			target: Target{Model: "m"},
			want:   []want{{ProblemEndpoint, "no chat API here (GET /models: HTTP 404, POST /chat/completions: HTTP 404; does base_url end in /v1?)"}},
		},
		{
			name:       "a web page at base_url",
			api:        &fakeAPI{models: fixed(200, "<html>welcome</html>"), chat: func(w http.ResponseWriter, _ string, _ int) { io.WriteString(w, "<html>welcome</html>") }},
			target:     Target{Model: "m"},
			want:       []want{{ProblemEndpoint, "does not answer like an OpenAI-compatible API"}},
			modelCalls: 1, chatCalls: 1,
		},
		{
			name:   "401 with the key",
			api:    &fakeAPI{models: list("m"), chat: serves("m"), auth: "right"},
			target: Target{Model: "m", APIKeyEnv: "FT_KEY"},
			opts:   PreflightOptions{Getenv: env("FT_KEY", "wrong")},
			want:   []want{{ProblemCredentials, "credentials rejected (HTTP 401 with the key in FT_KEY: check its value"}},
		},
		{
			name:   "401 and no api_key_env",
			api:    &fakeAPI{models: list("m"), chat: serves("m"), auth: "right"},
			target: Target{Model: "m"},
			want:   []want{{ProblemCredentials, "credentials rejected (HTTP 401, and no api_key_env is set"}},
		},
		{
			name:       "the right key",
			api:        &fakeAPI{models: list("m"), chat: serves("m"), auth: "right"},
			target:     Target{Model: "m", APIKeyEnv: "FT_KEY"},
			opts:       PreflightOptions{Getenv: env("FT_KEY", "right")},
			modelCalls: 1,
		},
		{
			name:       "403 on the chat call",
			api:        &fakeAPI{models: list("base"), chat: func(w http.ResponseWriter, _ string, _ int) { status(w, 403) }},
			target:     Target{Model: "m", APIKeyEnv: "FT_KEY"},
			opts:       PreflightOptions{Getenv: env("FT_KEY", "k")},
			want:       []want{{ProblemCredentials, "forbidden (HTTP 403 with the key in FT_KEY"}},
			modelCalls: 1, chatCalls: 1,
		},
		{
			name:       "unset variable",
			api:        &fakeAPI{models: list("m"), chat: serves("m")},
			target:     Target{Model: "m", APIKeyEnv: "FT_KEY"},
			want:       []want{{ProblemKey, "api_key_env FT_KEY is not set or is empty"}},
			modelCalls: 1,
		},
		{
			name:       "empty variable",
			api:        &fakeAPI{models: list("m"), chat: serves("m")},
			target:     Target{Model: "m", APIKeyEnv: "FT_KEY"},
			opts:       PreflightOptions{Getenv: env("FT_KEY", "")},
			want:       []want{{ProblemKey, "api_key_env FT_KEY is not set or is empty (export it with the key"}},
			modelCalls: 1,
		},
		{
			name:   "unset variable, and the endpoint wants a key: one problem",
			api:    &fakeAPI{models: list("m"), chat: serves("m"), auth: "right"},
			target: Target{Model: "m", APIKeyEnv: "FT_KEY"},
			want:   []want{{ProblemKey, "api_key_env FT_KEY is not set or is empty"}},
		},
		{
			name:   "keys elsewhere: unset variable, 401",
			api:    &fakeAPI{models: list("m"), chat: serves("m"), auth: "right"},
			target: Target{Model: "m", APIKeyEnv: "FT_KEY"},
			opts:   PreflightOptions{KeysElsewhere: true},
		},
		{
			name:   "keys elsewhere: a set key rejected here may be right there",
			api:    &fakeAPI{models: list("m"), chat: serves("m"), auth: "right"},
			target: Target{Model: "m", APIKeyEnv: "FT_KEY"},
			opts:   PreflightOptions{KeysElsewhere: true, Getenv: env("FT_KEY", "local")},
		},
		{
			name:   "keys elsewhere: no api_key_env anywhere",
			api:    &fakeAPI{models: list("m"), chat: serves("m"), auth: "right"},
			target: Target{Model: "m"},
			opts:   PreflightOptions{KeysElsewhere: true},
			want:   []want{{ProblemCredentials, "no api_key_env is set"}},
		},
		{
			name:       "keys elsewhere: the model is still checked",
			api:        &fakeAPI{models: list("base"), chat: serves("base")},
			target:     Target{Model: "sft", APIKeyEnv: "FT_KEY"},
			opts:       PreflightOptions{KeysElsewhere: true},
			want:       []want{{ProblemModel, `model "sft" is not served (served: base)`}},
			modelCalls: 1, chatCalls: 1,
		},
		{
			name:   "nothing listening",
			target: Target{Model: "m"},
			want:   []want{{ProblemUnreachable, "unreachable: connection refused (is the server running, and is base_url right?)"}},
			sleeps: 2,
		},
		{
			name:   "no such host",
			target: Target{BaseURL: "http://assay-preflight.invalid/v1", Model: "m"},
			want:   []want{{ProblemUnreachable, "unreachable: no such host (is the host name in base_url right?)"}},
		},
		{
			name:   "not a URL",
			target: Target{BaseURL: "localhost:8000/v1", Model: "m"},
			want:   []want{{ProblemEndpoint, `base_url is not usable ("localhost:8000/v1" is not an http(s) URL`}},
		},
		{
			// Called, it would answer "unreachable": nothing listens.
			name:   "a query string",
			target: Target{BaseURL: "http://127.0.0.1:1/admin?x=", Model: "m"},
			want:   []want{{ProblemEndpoint, `base_url is not usable ("http://127.0.0.1:1/admin?x=" has a query string`}},
		},
		{
			name:   "credentials in the URL",
			target: Target{BaseURL: "http://u:hunter2@127.0.0.1:1/v1", Model: "m"},
			want:   []want{{ProblemEndpoint, `base_url is not usable ("http://xxxxx@127.0.0.1:1/v1" has credentials`}},
		},
		{
			name: "a server still starting",
			api: &fakeAPI{models: func(w http.ResponseWriter, n int) {
				if n < 3 {
					status(w, 503)
					return
				}
				list("m")(w, n)
			}, chat: serves("m")},
			target: Target{Model: "m"}, modelCalls: 3, sleeps: 2,
		},
		{
			name:       "a server that keeps failing",
			api:        &fakeAPI{models: fixed(500, "boom"), chat: func(w http.ResponseWriter, _ string, _ int) { status(w, 500) }},
			target:     Target{Model: "m"},
			want:       []want{{ProblemEndpoint, "a 1-token test call failed: HTTP 500 (after 3 attempts)"}},
			modelCalls: 3, chatCalls: 3, sleeps: 4,
		},
		{
			name:   "rate limited: busy, not broken",
			api:    &fakeAPI{models: list("base"), chat: func(w http.ResponseWriter, _ string, _ int) { status(w, 429) }},
			target: Target{Model: "m"}, modelCalls: 1, chatCalls: 3, sleeps: 2,
		},
		{
			name: "no answer in time",
			api: &fakeAPI{models: func(w http.ResponseWriter, _ int) {
				time.Sleep(2 * time.Second)
			}},
			target:     Target{Model: "m", Timeout: 100 * time.Millisecond},
			want:       []want{{ProblemUnreachable, "unreachable: timeout (no answer within 100ms)"}},
			modelCalls: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target
			target.Kind, target.Name = "variant", "ft"
			if tc.api != nil {
				newFakeAPI(t, tc.api)
				target.BaseURL = tc.api.base()
			} else if target.BaseURL == "" {
				target.BaseURL = closedPort(t)
			}
			c, sl := newClient(t)
			got := c.Preflight(t.Context(), []Target{target}, tc.opts)
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if got[i].Kind != w.kind || !strings.Contains(got[i].Detail, w.detail) || got[i].Target != target {
					t.Errorf("problem %d = %+v, want kind %s with %q", i, got[i], w.kind, w.detail)
				}
			}
			if tc.api != nil {
				m, ch := tc.api.counts()
				if m != tc.modelCalls || ch != tc.chatCalls {
					t.Errorf("server saw %d GET /models and %d chat calls, want %d and %d", m, ch, tc.modelCalls, tc.chatCalls)
				}
				tc.api.mu.Lock()
				defer tc.api.mu.Unlock()
				for _, b := range tc.api.chatBodies {
					if b.MaxTokens != 1 || b.Model != target.Model || b.Stream {
						t.Errorf("test chat call %+v: want max_tokens 1 for %q, not streamed", b, target.Model)
					}
				}
			}
			if n := len(sl.get()); n != tc.sleeps {
				t.Errorf("waited %d times between attempts, want %d", n, tc.sleeps)
			}
		})
	}
}

// TestPreflightTargets checks what holds across targets: problems in
// target order, one check for identical targets, keys sent, the problem's
// text and cause.
func TestPreflightTargets(t *testing.T) {
	api := newFakeAPI(t, &fakeAPI{models: list("base", "sft-lora"), chat: serves("base", "sft-lora"), auth: "k"})
	down := closedPort(t)
	targets := []Target{
		{Kind: "variant", Name: "base", BaseURL: api.base(), Model: "base", APIKeyEnv: "KEY"},
		{Kind: "variant", Name: "ft", BaseURL: api.base() + "/", Model: "sft", APIKeyEnv: "KEY"},
		{Kind: "variant", Name: "int4", BaseURL: down, Model: "q"},
		{Kind: "judge", Name: "j", BaseURL: api.base(), Model: "base", APIKeyEnv: "JUDGE_KEY"},
		{Kind: "judge", Name: "j2", BaseURL: api.base(), Model: "sft", APIKeyEnv: "KEY"},
	}
	c, _ := newClient(t)
	got := c.Preflight(t.Context(), targets, PreflightOptions{Getenv: env("KEY", "k", "JUDGE_KEY", "k")})
	var lines []string
	for _, p := range got {
		lines = append(lines, p.Error())
	}
	wantLines := []string{
		"variant ft: " + api.base() + `/: model "sft" is not served (served: base, sft-lora)`,
		"variant int4: " + down + ": unreachable: connection refused (is the server running, and is base_url right?)",
		"judge j2: " + api.base() + `: model "sft" is not served (served: base, sft-lora)`,
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	// base (twice, under two variables holding the same key) and sft
	// (twice, one with a trailing slash) are two checks.
	if m, ch := api.counts(); m != 2 || ch != 1 {
		t.Errorf("server saw %d GET /models and %d chat calls, want 2 and 1", m, ch)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, a := range api.authSeen {
		if a != "Bearer k" {
			t.Errorf("Authorization %q, want the key", a)
		}
	}
	if len(got) > 0 {
		if c := got[0].Cause(); c != `preflight: model "sft" is not served` {
			t.Errorf("Cause() = %q", c)
		}
		if c := Cause(fmt.Errorf("sample 3: %w", got[1])); c != "preflight: unreachable: connection refused" {
			t.Errorf("Cause of a wrapped problem = %q", c)
		}
	}
	if got := c.Preflight(t.Context(), nil, PreflightOptions{}); got != nil {
		t.Errorf("no targets: %v", got)
	}
}

func TestSpecTargets(t *testing.T) {
	spec := &eval.RunSpec{
		Variants: []eval.Variant{
			{Name: "base", BaseURL: "http://a/v1", Model: "m", APIKeyEnv: "K"},
			{Name: "ft", BaseURL: "http://b/v1", Model: "sft"},
		},
		Judges: []eval.Judge{{Name: "j", BaseURL: "http://c/v1", Model: "judge", APIKeyEnv: "J"}},
	}
	want := []Target{
		{Kind: "variant", Name: "base", BaseURL: "http://a/v1", Model: "m", APIKeyEnv: "K"},
		{Kind: "variant", Name: "ft", BaseURL: "http://b/v1", Model: "sft"},
		{Kind: "judge", Name: "j", BaseURL: "http://c/v1", Model: "judge", APIKeyEnv: "J"},
	}
	if got := SpecTargets(spec); !slices.Equal(got, want) {
		t.Errorf("SpecTargets = %+v\nwant %+v", got, want)
	}
}

// TestPreflightCache checks how long results stand: a failure for
// Recheck, a pass for the scope; that workers share one check; and that
// each new outcome is reported as changed once.
func TestPreflightCache(t *testing.T) {
	var served atomic.Bool
	api := newFakeAPI(t, &fakeAPI{
		models: func(w http.ResponseWriter, n int) {
			if served.Load() {
				list("base", "sft")(w, n)
				return
			}
			list("base")(w, n)
		},
		chat: serves("base"),
	})
	c, _ := newClient(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	pc := &PreflightCache{Client: c, Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now }}
	advance := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }
	target := Target{Kind: "variant", Name: "ft", BaseURL: api.base(), Model: "sft"}
	check := func(scope string) ([]Problem, bool) {
		t.Helper()
		ps, changed, err := pc.Check(t.Context(), scope, target)
		if err != nil {
			t.Fatal(err)
		}
		return ps, changed
	}
	calls := func() int { m, ch := api.counts(); return m + ch }

	// Workers of a stage need the target at once: one check.
	var wg sync.WaitGroup
	var changes atomic.Int32
	for range 8 {
		wg.Go(func() {
			ps, changed, err := pc.Check(t.Context(), "run1", target)
			if err != nil || len(ps) != 1 || ps[0].Kind != ProblemModel {
				t.Errorf("problems %v, %v", ps, err)
			}
			if changed {
				changes.Add(1)
			}
		})
	}
	wg.Wait()
	if n := calls(); n != 2 {
		t.Errorf("8 workers made %d requests, want one check's 2 (list and chat)", n)
	}
	if n := changes.Load(); n != 1 {
		t.Errorf("the first failure was reported %d times, want once", n)
	}
	served.Store(true)
	advance(PreflightRecheck - time.Second)
	if ps, changed := check("run1"); len(ps) != 1 || changed || calls() != 2 {
		t.Errorf("within Recheck: %v, changed %v, %d requests", ps, changed, calls())
	}
	if ps, changed := check("run2"); len(ps) != 0 || changed {
		t.Errorf("another scope is checked on its own: %v, changed %v", ps, changed)
	}
	advance(2 * time.Second)
	if ps, changed := check("run1"); len(ps) != 0 || !changed {
		t.Errorf("after Recheck, served: %v, changed %v; want a pass reported", ps, changed)
	}
	n := calls()
	advance(24 * time.Hour)
	served.Store(false)
	if ps, changed := check("run1"); len(ps) != 0 || changed || calls() != n {
		t.Errorf("a pass stands for the scope: %v, changed %v, %d more requests", ps, changed, calls()-n)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if ps, _, err := pc.Check(ctx, "run3", target); !errors.Is(err, context.Canceled) || ps != nil {
		t.Errorf("cancelled: %v, %v", ps, err)
	}
	if ps, changed := check("run3"); len(ps) != 1 || !changed {
		t.Errorf("a cancelled check is no result: %v, changed %v", ps, changed)
	}
}

func TestProblemsText(t *testing.T) {
	ps := []Problem{
		{Target: Target{Kind: "variant", Name: "ft", BaseURL: "http://h/v1"}, Kind: ProblemKey, Detail: "api_key_env K is not set (export it)"},
		{Target: Target{Kind: "variant", Name: "ft", BaseURL: "http://h/v1"}, Kind: ProblemModel, Detail: `model "sft" is not served (served: base)`},
	}
	want := `variant ft: http://h/v1: api_key_env K is not set (export it); variant ft: http://h/v1: model "sft" is not served (served: base)`
	if got := ProblemsText(ps); got != want {
		t.Errorf("ProblemsText = %q\nwant %q", got, want)
	}
	if got := ProblemsText(nil); got != "" {
		t.Errorf("ProblemsText(nil) = %q", got)
	}
}
