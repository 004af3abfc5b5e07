package infer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// countingEndpoint is an OpenAI-compatible endpoint that counts the calls
// for each prompt (the last user message): a prompt starting with "fail"
// gets a 400, which is final; any other gets a fixed answer.
type countingEndpoint struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newCountingEndpoint(t *testing.T) *countingEndpoint {
	t.Helper()
	e := &countingEndpoint{calls: map[string]int{}}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req llm.ChatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		prompt := req.Messages[len(req.Messages)-1].Content
		e.mu.Lock()
		e.calls[prompt]++
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(prompt, "fail") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":"prompt refused"}}`)
			return
		}
		json.NewEncoder(w).Encode(llm.ChatResponse{ID: "c", Object: "chat.completion", Model: req.Model,
			Choices: []llm.ChatChoice{{Message: llm.ReplyMessage{Role: "assistant", Content: "answer to " + prompt}, FinishReason: "stop"}},
			Usage:   &llm.WireUsage{PromptTokens: 5, CompletionTokens: 3, TotalTokens: 8}})
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *countingEndpoint) counts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[string]int, len(e.calls))
	for k, v := range e.calls {
		m[k] = v
	}
	return m
}

// failingCache is the bus's cache whose first writes of every key fail,
// as during a NATS node failover.
type failingCache struct {
	llm.Cache
	first  int // writes of each key that fail
	mu     sync.Mutex
	puts   map[string]int
	failed atomic.Int32
}

func (c *failingCache) Put(ctx context.Context, key string, val []byte) error {
	c.mu.Lock()
	c.puts[key]++
	n := c.puts[key]
	c.mu.Unlock()
	if n <= c.first {
		c.failed.Add(1)
		return errors.New("nats: timeout (stream leader changing)")
	}
	return c.Cache.Put(ctx, key, val)
}

// runStage runs a stage on b with cfg until its run's generations are all
// stored, and returns them by variant and sample.
func runStage(t *testing.T, b *bus.Bus, cfg Config, spec *eval.RunSpec, prompts []string) map[string]eval.Generation {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	defer startStage(ctx, t, b, cfg, spec, prompts)()
	want := len(prompts) * len(spec.Variants)
	var gens []eval.Generation
	bustest.Eventually(t, 45*time.Second, func() error {
		gens = bustest.Stored[eval.Generation](t, b, bus.StreamGens, bus.RunGens(spec.Run))
		if len(gens) < want {
			return fmt.Errorf("%d of %d generations", len(gens), want)
		}
		return nil
	})
	out := map[string]eval.Generation{}
	for _, g := range gens {
		k := g.Variant + "/" + g.Sample.ID
		if _, dup := out[k]; dup {
			t.Errorf("generation %s published twice", k)
		}
		out[k] = g
	}
	return out
}

// visible is what a report reads of a generation.
func visible(g eval.Generation) string {
	return fmt.Sprintf("output=%q error=%q cause=%q attempts=%d usage=%+v finish=%q",
		g.Output, g.Error, g.Cause, g.Attempts, g.Usage, g.FinishReason)
}

// TestPaidOnceWhenTheCacheFails runs the stage while every cache write of
// the first delivery of each sample fails: no generation is published
// then, the samples come back, and the stored outcome is used. Each
// prompt's endpoint is called exactly once, answers and failures alike,
// and the generations read as those of a run whose cache never failed.
// A new stage (a restarted process) answering the samples again pays
// nothing either.
func TestPaidOnceWhenTheCacheFails(t *testing.T) {
	b := bustest.New(t)
	prompts := []string{"q0", "q1", "fail q2", "q3", "q4", "fail q5", "q6", "q7"}
	retry := eval.Retry{MaxAttempts: 2, InitialBackoff: eval.Duration(time.Millisecond), MaxBackoff: eval.Duration(time.Millisecond)}
	spec := func(run, url string) *eval.RunSpec {
		return &eval.RunSpec{Run: run, Baseline: "base",
			Variants: []eval.Variant{{Name: "base", BaseURL: url, Model: "m-base", Concurrency: 4}},
			Suites:   []eval.Suite{{Name: "s", Metrics: []string{"length"}}},
			Decoding: eval.Decoding{TopP: 1, MaxTokens: 16}, Retry: retry}
	}

	faulty := newCountingEndpoint(t)
	// Eight failed writes: the client's four tries and the ledger's four.
	cache := &failingCache{Cache: b.LLMCache(), first: 8, puts: map[string]int{}}
	got := runStage(t, b, Config{Cache: cache, SkipPreflight: true}, spec("faulty", faulty.URL+"/v1"), prompts)
	if cache.failed.Load() < int32(8*len(prompts)) {
		t.Errorf("only %d cache writes failed: the fault was not injected", cache.failed.Load())
	}

	clean := newCountingEndpoint(t)
	want := runStage(t, b, Config{SkipPreflight: true}, spec("clean", clean.URL+"/v1"), prompts)

	for name, e := range map[string]*countingEndpoint{"faulty": faulty, "clean": clean} {
		counts := e.counts()
		for _, p := range prompts {
			if counts[p] != 1 {
				t.Errorf("%s run: %q was sent %d times, want once", name, p, counts[p])
			}
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, w := got[k], want[k]
		g.Error = strings.ReplaceAll(g.Error, faulty.URL, "URL")
		w.Error = strings.ReplaceAll(w.Error, clean.URL, "URL")
		if visible(g) != visible(w) {
			t.Errorf("%s:\n got %s\nwant %s", k, visible(g), visible(w))
		}
	}
	for k, g := range got {
		if strings.HasPrefix(prompts[mustAtoi(t, g.Sample.ID)], "fail") != (g.Error != "") {
			t.Errorf("%s: error %q", k, g.Error)
		}
	}

	// A restarted stage answers the same samples from the cache, failures
	// included: nothing is sent.
	restarted := New(Config{SkipPreflight: true}, &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
	sp := spec("faulty", faulty.URL+"/v1")
	for i, p := range prompts {
		g, err := restarted.Handle(t.Context(), sp, sp.Variants[0], &eval.Sample{V: 1, ID: fmt.Sprint(i), Suite: "s", Messages: []eval.Message{{Role: "user", Content: p}}}, uint64(i+1))
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		if visible(*g) != visible(got["base/"+fmt.Sprint(i)]) {
			t.Errorf("%q answered again as %s, was %s", p, visible(*g), visible(got["base/"+fmt.Sprint(i)]))
		}
	}
	for p, n := range faulty.counts() {
		if n != 1 {
			t.Errorf("after a restart, %q was sent %d times", p, n)
		}
	}
}

// startStage submits spec, publishes prompts as its samples (suite s) and
// runs the stage on b; stop ends it.
func startStage(ctx context.Context, t *testing.T, b *bus.Bus, cfg Config, spec *eval.RunSpec, prompts []string) (stop func()) {
	t.Helper()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for i, p := range prompts {
		s := eval.Sample{V: 1, Run: spec.Run, ID: fmt.Sprint(i), Suite: "s", Messages: []eval.Message{{Role: "user", Content: p}}}
		if _, err := b.Publish(ctx, bus.SamplesSubject(spec.Run, "s"), spec.Run+"-sample-"+s.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	env := &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := New(cfg, env).Run(rctx); err != nil && rctx.Err() == nil {
			t.Errorf("infer: %v", err)
		}
	}()
	return func() { rcancel(); <-done }
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
