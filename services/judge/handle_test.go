package judge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// endpoint is an OpenAI-compatible server for a test: api, or chat
// answered by chat when set, with every request counted.
type endpoint struct {
	URL string

	mu     sync.Mutex
	chats  map[string]int // model -> chat requests but 1-token probes
	probes map[string]int // model -> 1-token chat requests (preflight's)
	models int            // GET /models requests
}

func newEndpoint(t *testing.T, api http.Handler, chat http.HandlerFunc) *endpoint {
	t.Helper()
	e := &endpoint{chats: map[string]int{}, probes: map[string]int{}}
	inner := api
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/chat/completions"):
			body, _ := io.ReadAll(r.Body)
			var req struct {
				Model     string
				MaxTokens int `json:"max_tokens"`
			}
			_ = json.Unmarshal(body, &req)
			e.mu.Lock()
			if req.MaxTokens == 1 {
				e.probes[req.Model]++
			} else {
				e.chats[req.Model]++
			}
			e.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
			if chat != nil {
				chat(w, r)
				return
			}
		case strings.HasSuffix(r.URL.Path, "/models"):
			e.mu.Lock()
			e.models++
			e.mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.URL = srv.URL + "/v1"
	return e
}

// counts returns the chat requests for model (1-token probes apart) and
// the checks of the endpoint (model listings).
func (e *endpoint) counts(model string) (chats, checks int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.chats[model], e.models
}

func (e *endpoint) probeCount(model string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.probes[model]
}

func newService(t *testing.T) *Service {
	t.Helper()
	env := &stage.Env{Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
	return New(Config{Client: llm.New()}, env)
}

func runSpec(j eval.Judge) *eval.RunSpec {
	return &eval.RunSpec{Run: "r", Baseline: "base", Variants: []eval.Variant{{Name: "base"}, {Name: "ft"}},
		Judges: []eval.Judge{j}, Retry: eval.Retry{MaxAttempts: 1}}
}

func pairOf(candErr, candCause, baseErr string) (cand, base *eval.Generation) {
	ref := eval.SampleRef{ID: "1", Suite: "s"}
	return &eval.Generation{Variant: "ft", Sample: ref, Output: "four", Error: candErr, Cause: candCause},
		&eval.Generation{Variant: "base", Sample: ref, Output: "five", Error: baseErr}
}

// TestHandleAccountsForFailures checks what a pair that could not be
// judged records: whose failure it was (a generation's is no judge
// error), and its cause, by which the report counts failures.
func TestHandleAccountsForFailures(t *testing.T) {
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{
		{Name: "fair", Judge: true},
		{Name: "babbler", Judge: true, Garbage: 1},
	}})
	ep := newEndpoint(t, sim.Handler(), nil)
	down := newEndpoint(t, sim.Handler(), func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error": {"message": "overloaded"}}`, http.StatusServiceUnavailable)
	})
	for _, tc := range []struct {
		name             string
		url, model       string
		candErr, baseErr string
		candCause        string
		wantCause        string
		wantError        string
		generationFailed bool
		wantCalls        int
	}{
		{name: "candidate failed", url: ep.URL, model: "fair", candErr: "POST …: connection refused", candCause: "connection refused",
			wantCause: "candidate: connection refused", wantError: "candidate generation failed: POST …: connection refused", generationFailed: true},
		{name: "baseline failed, no cause recorded", url: ep.URL, model: "fair", baseErr: "HTTP 500",
			wantCause: "baseline: generation failed", wantError: "baseline generation failed: HTTP 500", generationFailed: true},
		{name: "both failed: the candidate's is named", url: ep.URL, model: "fair", candErr: "x", candCause: "timeout", baseErr: "y",
			wantCause: "candidate: timeout", wantError: "candidate generation failed: x", generationFailed: true},
		{name: "no verdict in the answer", url: ep.URL, model: "babbler",
			wantCause: causeNoVerdict, wantError: "judge failed (", wantCalls: 2},
		{name: "judge endpoint fails for good", url: down.URL, model: "fair",
			wantCause: "HTTP 503", wantError: "judge failed (", wantCalls: 2},
		{name: "judged", url: ep.URL, model: "fair", wantCalls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := eval.Judge{Name: "j-" + tc.model, BaseURL: tc.url, Model: tc.model, Mode: "pairwise", Concurrency: 2, Dimensions: eval.DefaultDimensions}
			svc := newService(t)
			cand, base := pairOf(tc.candErr, tc.candCause, tc.baseErr)
			// A distinct question per case keeps one case's answers out of
			// another's count.
			sample := testSample("What is 2+2? " + tc.name)
			e := ep
			if tc.url == down.URL {
				e = down
			}
			before, _ := e.counts(tc.model)
			jd, err := svc.Handle(t.Context(), runSpec(j), j, sample, cand, base)
			if err != nil {
				t.Fatal(err)
			}
			if jd.Cause != tc.wantCause || !strings.HasPrefix(jd.Error, tc.wantError) || jd.GenerationFailed != tc.generationFailed {
				t.Errorf("judgment: cause %q, error %q, generation failed %v; want %q, %q…, %v",
					jd.Cause, jd.Error, jd.GenerationFailed, tc.wantCause, tc.wantError, tc.generationFailed)
			}
			if tc.wantError == "" && (jd.Winner == "" || len(jd.Rounds) != 2) {
				t.Errorf("a judged pair has winner %q and %d rounds", jd.Winner, len(jd.Rounds))
			}
			if after, _ := e.counts(tc.model); after-before != tc.wantCalls {
				t.Errorf("the judge was asked %d times, want %d", after-before, tc.wantCalls)
			}
		})
	}
}

// TestPreflightAnswersPairsWithoutCallingTheJudge has a judge whose model
// the endpoint does not serve: every pair gets the problem as its error at
// once, the endpoint is checked once however many pairs arrive together,
// again only after llm.PreflightRecheck, and the judge is used as soon as a
// check passes.
func TestPreflightAnswersPairsWithoutCallingTheJudge(t *testing.T) {
	without := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "sim-judge", Judge: true}, {Name: "sim-base"}}})
	with := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "gpt-5-judge", Judge: true}}})
	// The server starts serving the judge's model mid-run.
	var served atomic.Bool
	withAPI, withoutAPI := with.Handler(), without.Handler()
	ep := newEndpoint(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Load() {
			withAPI.ServeHTTP(w, r)
			return
		}
		withoutAPI.ServeHTTP(w, r)
	}), nil)
	j := eval.Judge{Name: "judge-v1", BaseURL: ep.URL, Model: "gpt-5-judge", Mode: "pairwise", Concurrency: 4, Dimensions: eval.DefaultDimensions}
	svc := newService(t)
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	svc.preflights.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	judgeAll := func(n int) []*eval.Judgment {
		out := make([]*eval.Judgment, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cand, base := pairOf("", "", "")
				jd, err := svc.Handle(t.Context(), runSpec(j), j, testSample(fmt.Sprintf("question %d", i)), cand, base)
				if err != nil {
					t.Error(err)
				}
				out[i] = jd
			}()
		}
		wg.Wait()
		return out
	}

	for _, jd := range judgeAll(20) {
		if !strings.HasPrefix(jd.Cause, "preflight: ") || !strings.Contains(jd.Error, `"gpt-5-judge"`) || jd.GenerationFailed || len(jd.Rounds) != 0 {
			t.Fatalf("judgment of a pair whose judge is not served: cause %q, error %q, generation failed %v, %d rounds",
				jd.Cause, jd.Error, jd.GenerationFailed, len(jd.Rounds))
		}
	}
	chats, checks := ep.counts("gpt-5-judge")
	if chats != 0 || without.Calls("gpt-5-judge") != 0 {
		t.Errorf("the unserved judge model was asked to judge %d times, want none", chats)
	}
	// Preflight lists the models, then, the judge's not being listed, may
	// try one 1-token call (a LoRA adapter may be served unlisted).
	if checks != 1 || ep.probeCount("gpt-5-judge") > 1 {
		t.Errorf("the endpoint was checked %d times (%d test calls) for 20 pairs, want once", checks, ep.probeCount("gpt-5-judge"))
	}

	served.Store(true)
	advance(llm.PreflightRecheck - time.Second)
	for _, jd := range judgeAll(5) {
		if !strings.HasPrefix(jd.Cause, "preflight: ") {
			t.Fatalf("within %v of a failed check, a pair was judged: cause %q, error %q", llm.PreflightRecheck, jd.Cause, jd.Error)
		}
	}
	if chats, checks := ep.counts("gpt-5-judge"); checks != 1 || chats != 0 {
		t.Errorf("within %v of a failed check: %d checks, %d judge calls", llm.PreflightRecheck, checks, chats)
	}

	advance(time.Second)
	for _, jd := range judgeAll(3) {
		if jd.Error != "" || jd.Cause != "" || jd.Winner == "" {
			t.Fatalf("judgment once the judge is served: winner %q, cause %q, error %q", jd.Winner, jd.Cause, jd.Error)
		}
	}
	chats, checks = ep.counts("gpt-5-judge")
	if checks != 2 || chats != 6 {
		t.Errorf("once served: %d checks and %d judge calls for 3 pairs in two orders, want 2 and 6", checks, chats)
	}
}

func TestSkipPreflightCallsTheJudge(t *testing.T) {
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "sim-judge", Judge: true}}})
	ep := newEndpoint(t, sim.Handler(), nil)
	j := eval.Judge{Name: "judge-v1", BaseURL: ep.URL, Model: "gpt-5-judge", Mode: "pairwise", Concurrency: 2, Dimensions: eval.DefaultDimensions}
	env := &stage.Env{Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
	svc := New(Config{Client: llm.New(), SkipPreflight: true}, env)
	cand, base := pairOf("", "", "")
	jd, err := svc.Handle(t.Context(), runSpec(j), j, testSample("q"), cand, base)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(jd.Cause, "HTTP 404") || strings.HasPrefix(jd.Cause, "preflight") {
		t.Errorf("cause %q, want the judge call's HTTP 404", jd.Cause)
	}
	if chats, models := ep.counts("gpt-5-judge"); chats != 2 || models != 0 {
		t.Errorf("%d chat requests and %d model listings, want 2 and 0", chats, models)
	}
}
