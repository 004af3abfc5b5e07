package infer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// newService returns the stage without a bus, for Handle, with a client
// that does not cache.
func newService(t *testing.T, cfg Config) *Service {
	t.Helper()
	if cfg.Client == nil {
		cfg.Client = llm.New(llm.WithLogger(slog.New(slog.DiscardHandler)))
	}
	return New(cfg, &stage.Env{Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
}

func testSpec(run string, v eval.Variant, suites ...eval.Suite) *eval.RunSpec {
	if len(suites) == 0 {
		suites = []eval.Suite{{Name: "s", Metrics: []string{"length"}}}
	}
	return &eval.RunSpec{
		Run: run, Baseline: v.Name, Variants: []eval.Variant{v}, Suites: suites,
		Decoding: eval.Decoding{TopP: 1, MaxTokens: 16},
		Retry:    eval.Retry{MaxAttempts: 2, InitialBackoff: eval.Duration(time.Millisecond), MaxBackoff: eval.Duration(time.Millisecond)},
	}
}

func testSample(id, prompt string) *eval.Sample {
	return &eval.Sample{V: 1, ID: id, Suite: "s", Messages: []eval.Message{{Role: "user", Content: prompt}}}
}

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

// TestHandleFailureCauses checks that a failed generation carries its
// class, whether the preflight or the calls found the failure.
func TestHandleFailureCauses(t *testing.T) {
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "m", Accuracy: 1}, {Name: "down", Down: 1}}})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	for _, tc := range []struct {
		name     string
		v        eval.Variant
		skip     bool
		cause    string
		error    string // contained
		attempts int
	}{
		{name: "nothing listening", v: eval.Variant{Name: "ft", Model: "m"},
			cause: "preflight: unreachable: connection refused", error: "variant ft: http://127.0.0.1:"},
		{name: "nothing listening, no preflight", v: eval.Variant{Name: "ft", Model: "m"}, skip: true,
			cause: "connection refused", error: "connection refused (after 2 attempts)", attempts: 2},
		{name: "unknown model", v: eval.Variant{Name: "ft", BaseURL: hs.URL + "/v1", Model: "sft"},
			cause: `preflight: model "sft" is not served`, error: `model "sft" is not served (served: `},
		{name: "unknown model, no preflight", v: eval.Variant{Name: "ft", BaseURL: hs.URL + "/v1", Model: "sft"}, skip: true,
			cause: `HTTP 404: model "sft" does not exist`, error: `HTTP 404`, attempts: 1},
		{name: "5xx for good", v: eval.Variant{Name: "ft", BaseURL: hs.URL + "/v1", Model: "down"},
			cause: "HTTP 500", error: "HTTP 500: simulated failure", attempts: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			if v.BaseURL == "" {
				v.BaseURL = closedPort(t)
			}
			v.Concurrency = 1
			f := false
			v.Stream = &f
			s := newService(t, Config{SkipPreflight: tc.skip})
			g, err := s.Handle(t.Context(), testSpec("r", v), v, testSample("1", "2+2?"), 7)
			if err != nil {
				t.Fatal(err)
			}
			if g.Cause != tc.cause || !strings.Contains(g.Error, tc.error) || g.Attempts != tc.attempts || g.Output != "" {
				t.Errorf("generation: cause %q, error %q, attempts %d, output %q; want cause %q, error with %q, %d attempts",
					g.Cause, g.Error, g.Attempts, g.Output, tc.cause, tc.error, tc.attempts)
			}
			if g.Run != "r" || g.Variant != "ft" || g.Sample.ID != "1" || g.Sample.Seq != 7 || g.Params == "" {
				t.Errorf("generation does not say what failed: %+v", g)
			}
		})
	}
}

// TestHandlePreflightRecheck checks that a failed preflight stands for
// llm.PreflightRecheck, during which samples fail without a call, and that a
// server fixed after it is noticed; a passed one is never checked again.
func TestHandlePreflightRecheck(t *testing.T) {
	var served atomic.Bool
	var modelsCalls, chatCalls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/models":
			modelsCalls.Add(1)
			if served.Load() {
				fmt.Fprint(w, `{"object":"list","data":[{"id":"sft"}]}`)
				return
			}
			fmt.Fprint(w, `{"object":"list","data":[{"id":"base"}]}`)
		case "/v1/chat/completions":
			chatCalls.Add(1)
			if !served.Load() {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"object":"error","message":"The model `+"`sft`"+` does not exist.","code":404}`)
				return
			}
			fmt.Fprint(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"4"},"finish_reason":"stop"}]}`)
		}
	}))
	t.Cleanup(hs.Close)
	f := false
	v := eval.Variant{Name: "ft", BaseURL: hs.URL + "/v1", Model: "sft", Concurrency: 1, Stream: &f}
	s := newService(t, Config{})
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s.preflights.Now = func() time.Time { return now }
	spec := testSpec("r", v)
	handle := func(i int) *eval.Generation {
		t.Helper()
		g, err := s.Handle(t.Context(), spec, v, testSample(fmt.Sprint(i), "2+2?"), uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for i := range 5 {
		if g := handle(i); g.Cause != `preflight: model "sft" is not served` {
			t.Fatalf("sample %d: cause %q", i, g.Cause)
		}
	}
	if m, c := modelsCalls.Load(), chatCalls.Load(); m != 1 || c != 1 {
		t.Errorf("5 samples of a failed variant made %d model lists and %d chat calls, want the preflight's 1 and 1", m, c)
	}
	served.Store(true)
	now = now.Add(llm.PreflightRecheck - time.Second)
	if g := handle(5); g.Error == "" || chatCalls.Load() != 1 {
		t.Errorf("within %v of the check: %+v, %d chat calls", llm.PreflightRecheck, g, chatCalls.Load())
	}
	now = now.Add(2 * time.Second)
	if g := handle(6); g.Error != "" || g.Output != "4" || g.Cause != "" {
		t.Errorf("after the re-check: %+v", g)
	}
	now = now.Add(time.Hour)
	handle(7)
	if m := modelsCalls.Load(); m != 2 {
		t.Errorf("model list asked %d times, want 2: a passed check is kept", m)
	}
	if c := chatCalls.Load(); c != 3 {
		t.Errorf("%d chat calls, want 3: the first preflight's and two samples'", c)
	}
}

// TestHandleTurnTimings checks that a conversation answered turn by turn
// is timed by its last turn: the first turn's answer is slow to start, the
// last's is not, and the generation's TTFT and ITL are the last's while
// its latency is the sum.
func TestHandleTurnTimings(t *testing.T) {
	// The first turn is slower than a busy 2-core machine makes the last
	// turn's first token: only the first turn's delay can explain a TTFT
	// this long.
	const slow = 3 * time.Second
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			fmt.Fprint(w, `{"object":"list","data":[{"id":"m"}]}`)
			return
		}
		var req llm.ChatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		first := len(req.Messages) == 1
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		if first {
			time.Sleep(slow)
		}
		for _, word := range []string{"one", " two", " three"} {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", word)
			fl.Flush()
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(hs.Close)
	v := eval.Variant{Name: "ft", BaseURL: hs.URL + "/v1", Model: "m", Concurrency: 1}
	spec := testSpec("r", v, eval.Suite{Name: "s", Metrics: []string{"length"}, GenerateTurns: true})
	if su, _ := spec.Suite("s"); !su.TurnByTurn() {
		t.Fatal("the suite is not answered turn by turn")
	}
	sample := &eval.Sample{V: 1, ID: "1", Suite: "s", Messages: []eval.Message{
		{Role: "user", Content: "first question"}, {Role: "assistant", Content: "recorded"}, {Role: "user", Content: "second question"}}}
	s := newService(t, Config{})
	g, err := s.Handle(t.Context(), spec, v, sample, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g.Error != "" || len(g.Turns) != 1 || g.Output != "one two three" {
		t.Fatalf("generation %+v", g)
	}
	slowMS := float64(slow.Milliseconds())
	if g.TTFTMS <= 0 || g.TTFTMS >= slowMS || g.ITLMS <= 0 || g.LatencyMS < slowMS {
		t.Errorf("TTFT %vms, ITL %vms, latency %vms: want the last turn's TTFT (< %v) and ITL (> 0), and a latency summing both turns (≥ %v)",
			g.TTFTMS, g.ITLMS, g.LatencyMS, slow, slow)
	}
}

// TestPreflightFailsTheVariantAtOnce runs the stage on a run whose
// fine-tune names a model the endpoint does not serve: every sample of it
// gets a failed generation with the preflight's cause, the endpoint never
// sees a chat call for a sample of it, and the base variant is answered as
// usual.
func TestPreflightFailsTheVariantAtOnce(t *testing.T) {
	const samples = 40
	b := bustest.New(t)
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "sim-base", Accuracy: 0.6}}})
	// The simulator counts calls of the models it serves only: count
	// every chat call on the way in.
	var mu sync.Mutex
	calls := map[string]int{} // model + "\x00" + last user message
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			body, _ := io.ReadAll(r.Body)
			var req llm.ChatRequest
			json.Unmarshal(body, &req)
			mu.Lock()
			calls[req.Model+"\x00"+req.Messages[len(req.Messages)-1].Content]++
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	url := hs.URL + "/v1"
	spec := &eval.RunSpec{
		Run: "pf", Baseline: "base",
		Variants: []eval.Variant{
			{Name: "base", BaseURL: url, Model: "sim-base", Concurrency: 4},
			{Name: "ft", BaseURL: url, Model: "sft", Concurrency: 4},
		},
		Suites:   []eval.Suite{{Name: "s", Metrics: []string{"length"}}},
		Decoding: eval.Decoding{TopP: 1, MaxTokens: 16},
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	prompts := make([]string, samples)
	for i := range samples {
		prompts[i] = fmt.Sprintf("question %d", i)
		s := eval.Sample{V: 1, Run: "pf", ID: fmt.Sprint(i), Suite: "s", Messages: []eval.Message{{Role: "user", Content: prompts[i]}}}
		if _, err := b.Publish(ctx, bus.SamplesSubject("pf", "s"), "sample-"+s.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	env := &stage.Env{Bus: b, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registry: obs.NewRegistry()}
	svc := New(Config{}, env)
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(rctx); err != nil && rctx.Err() == nil {
			t.Errorf("infer: %v", err)
		}
	}()
	t.Cleanup(func() { rcancel(); <-done })

	var gens []eval.Generation
	bustest.Eventually(t, 45*time.Second, func() error {
		gens = bustest.Stored[eval.Generation](t, b, bus.StreamGens)
		if len(gens) < 2*samples {
			return fmt.Errorf("%d of %d generations", len(gens), 2*samples)
		}
		return nil
	})
	failed := 0
	for _, g := range gens {
		switch g.Variant {
		case "ft":
			failed++
			if g.Cause != `preflight: model "sft" is not served` || !strings.Contains(g.Error, `variant ft: `+url+`: model "sft" is not served (served: sim-base, sim-embed)`) || g.Output != "" || g.Attempts != 0 {
				t.Errorf("ft generation %s: cause %q, error %q, output %q, attempts %d", g.Sample.ID, g.Cause, g.Error, g.Output, g.Attempts)
			}
		case "base":
			if g.Error != "" || g.Cause != "" || g.Output == "" {
				t.Errorf("base generation %s: %+v", g.Sample.ID, g)
			}
		}
	}
	if failed != samples {
		t.Errorf("%d failed ft generations, want %d", failed, samples)
	}
	mu.Lock()
	sftCalls := 0
	for k, n := range calls {
		if model, prompt, _ := strings.Cut(k, "\x00"); model == "sft" {
			sftCalls += n
			if slices.Contains(prompts, prompt) {
				t.Errorf("the endpoint was called %d times for %q as sft", n, prompt)
			}
		}
	}
	mu.Unlock()
	// The preflight's own 1-token call is all sft ever got (once more if
	// the run outlasted a re-check).
	if sftCalls < 1 || sftCalls > 2 {
		t.Errorf("sft got %d chat calls, want the preflight's", sftCalls)
	}
	if n := sim.Calls("sim-base"); n < samples {
		t.Errorf("sim-base answered %d calls for %d samples", n, samples)
	}
	if n := strings.Count(logs.String(), "preflight failed"); n != 1 {
		t.Errorf("the failure was logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "run=pf variant=ft") {
		t.Errorf("the failure is not logged at error level with run and variant:\n%s", logs.String())
	}
}

// syncBuffer is a log sink that handlers on several goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
