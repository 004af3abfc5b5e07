package offline

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/score/metric"
)

// simEmbeddings serves the simulator's embeddings over real HTTP; a
// request whose body holds fail is answered 503, counted.
func simEmbeddings(t *testing.T, fail string) (url string, failed *atomic.Int64) {
	t.Helper()
	h := llmsim.New(llmsim.Options{Seed: 3}).Handler()
	failed = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if fail != "" && bytes.Contains(b, []byte(fail)) {
			failed.Add(1)
			http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1", failed
}

func simEndpoint(url string, tokens bool) *Embeddings {
	return &Embeddings{
		Client:   llm.New(),
		Endpoint: llm.Endpoint{Name: "embeddings", BaseURL: url, Concurrency: 2},
		Embed:    llm.EmbedOptions{Model: llmsim.DefaultEmbedModel},
		Tokens:   tokens,
		Retry:    llm.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond},
	}
}

// TestScoreSemanticSim scores semantic_sim through the simulator's
// embeddings over HTTP: each value is the cosine of the simulator's own
// vectors for the output and its best reference (their greedy token F1
// with token embeddings), computed here apart from the endpoint. A line
// whose call fails for good has no value, says why in "failed", is
// counted in the summary and left out of the mean, and the error wraps
// ErrUnscored; the other metrics of that line are scored.
func TestScoreSemanticSim(t *testing.T) {
	url, failed := simEmbeddings(t, "OUTAGE")
	sim := llmsim.NewEmbedder(3, llmsim.DefaultEmbedModel, 0)
	type line struct {
		id, output string
		refs       []string
	}
	lines := []line{
		{"same", "The cat sat on the mat.", []string{"The cat sat on the mat."}},
		{"para", "I want to buy a cheap car.", []string{"I wish to purchase an inexpensive automobile."}},
		{"best", "Paris is the capital of France.", []string{"Bake the cake slowly.", "The capital of France is Paris."}},
		{"other", "The stock market fell today.", []string{"Water boils at 100 degrees."}},
		{"empty", "", []string{"Anything at all."}},
		{"down", "OUTAGE of the endpoint", []string{"An answer."}},
	}
	var in strings.Builder
	for _, l := range lines {
		b, _ := json.Marshal(map[string]any{"id": l.id, "output": l.output, "reference": l.refs})
		in.Write(append(b, '\n'))
	}
	for _, tokens := range []bool{false, true} {
		name := map[bool]string{false: "cosine", true: "token F1"}[tokens]
		t.Run(name, func(t *testing.T) {
			failed.Store(0)
			var out bytes.Buffer
			sum, err := Score(t.Context(), strings.NewReader(in.String()), &out, Options{
				Metrics: []string{"em", "semantic_sim"}, Embeddings: simEndpoint(url, tokens),
			}, nil)
			if !errors.Is(err, ErrUnscored) || errors.Is(err, ErrLinesFailed) {
				t.Fatalf("err = %v, want ErrUnscored alone", err)
			}
			want := func(l line) float64 {
				if l.output == "" {
					return 0
				}
				best := 0.0
				for _, r := range l.refs {
					var s float64
					if tokens {
						s = metric.GreedyMatchF1(sim.Tokens(l.output), sim.Tokens(r))
					} else {
						s = metric.Cosine(sim.Vector(l.output), sim.Vector(r))
					}
					best = max(best, s)
				}
				return min(best, 1)
			}
			var got []map[string]any
			for raw := range bytes.Lines(out.Bytes()) {
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				got = append(got, m)
			}
			if len(got) != len(lines) {
				t.Fatalf("%d output lines for %d", len(got), len(lines))
			}
			var total float64
			for i, l := range lines {
				scores := got[i]["scores"].(map[string]any)
				if _, ok := scores["em"]; !ok {
					t.Errorf("%s: em not scored: %v", l.id, got[i])
				}
				v, ok := scores["semantic_sim"].(float64)
				if l.id == "down" {
					if ok || got[i]["failed"].(map[string]any)["semantic_sim"] != "HTTP 503" {
						t.Errorf("down: %v, want no value and failed HTTP 503", got[i])
					}
					continue
				}
				if _, has := got[i]["failed"]; !ok || has || math.Abs(v-want(l)) > 1e-5 {
					t.Errorf("%s: semantic_sim %v (present %v), want %v: %v", l.id, v, ok, want(l), got[i])
				}
				total += v
			}
			if v := got[0]["scores"].(map[string]any)["semantic_sim"]; math.Abs(v.(float64)-1) > 1e-5 {
				t.Errorf("an output equal to its reference: %v, want 1", v)
			}
			if sum.N != 6 || sum.Count["semantic_sim"] != 5 || sum.UnscoredLines("semantic_sim") != 1 || sum.Unscored["semantic_sim"]["HTTP 503"] != 1 ||
				math.Abs(sum.Mean["semantic_sim"]-total/5) > 1e-9 {
				t.Errorf("summary %+v, want 6 lines, semantic_sim over 5 (mean %v) and 1 × HTTP 503 unscored", sum, total/5)
			}
			if failed.Load() != 2 {
				t.Errorf("%d failed requests, want 2 (one line, retried once)", failed.Load())
			}
		})
	}
	if _, err := Score(t.Context(), strings.NewReader(in.String()), io.Discard, Options{Metrics: []string{"semantic_sim"}}, nil); !errors.Is(err, ErrNoEmbeddings) {
		t.Errorf("semantic_sim without embeddings: %v, want ErrNoEmbeddings", err)
	}
}
