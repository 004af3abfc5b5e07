package score

import (
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSemanticSim scores semantic_sim through the simulator's embeddings
// over HTTP: a paraphrase scores its cosine, the reference's vector is
// kept in the cache and not asked for again by the next variant's
// answer; token embeddings give the greedy F1; an endpoint that fails
// gives no value, the failure's cause on the score and a count, never 0.
func TestSemanticSim(t *testing.T) {
	sim := llmsim.New(llmsim.Options{Seed: 7})
	var down atomic.Bool
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if down.Load() {
			io.Copy(io.Discard, r.Body)
			http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
			return
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	reg := obs.NewRegistry()
	cache := llm.NewMemoryCache()
	s := New(Config{EmbedCache: cache}, &stage.Env{Logger: slog.New(slog.DiscardHandler), Registry: reg})
	spec := &eval.RunSpec{Run: "r", Retry: eval.Retry{MaxAttempts: 2, InitialBackoff: eval.Duration(1), MaxBackoff: eval.Duration(1)},
		Suites:     []eval.Suite{{Name: "qa", Metrics: []string{"semantic_sim", "em"}}},
		Embeddings: &eval.Embeddings{BaseURL: srv.URL + "/v1", Model: llmsim.DefaultEmbedModel, Concurrency: 2}}
	sample := &eval.Sample{Run: "r", ID: "1", Suite: "qa", Reference: &eval.Reference{Answers: []string{"I want to buy a cheap car."}}}
	score := func(output string) *eval.Score {
		t.Helper()
		g := &eval.Generation{Run: "r", Variant: "ft", Output: output, Sample: sample.Ref(1)}
		sc, err := s.Handle(t.Context(), spec, sample, g)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	e := llmsim.NewEmbedder(7, llmsim.DefaultEmbedModel, 0)
	want := 0.0
	a, b := e.Vector("I wish to purchase an inexpensive automobile."), e.Vector("I want to buy a cheap car.")
	for i := range a {
		want += float64(a[i]) * float64(b[i])
	}
	sc := score("I wish to purchase an inexpensive automobile.")
	if got := sc.Metrics["semantic_sim"]; math.Abs(got-want) > 1e-5 || got < 0.85 {
		t.Errorf("paraphrase: semantic_sim %v, want %v", got, want)
	}
	before := requests.Load()
	if sc := score("Something else entirely about the weather."); sc.Metrics["semantic_sim"] > 0.6 || requests.Load() != before+1 {
		t.Errorf("unrelated: %v after %d requests; want one request, the reference's vector from the cache", sc.Metrics, requests.Load()-before)
	}

	spec.Embeddings.TokenEmbeddings = true
	spec.Embeddings.BaseURL = srv.URL // vLLM serves /pooling at its root
	if got := score("I wish to purchase an inexpensive automobile.").Metrics["semantic_sim"]; got < 0.85 || got > 1 {
		t.Errorf("token embeddings: semantic_sim %v", got)
	}

	before = requests.Load()
	down.Store(true)
	sc = score("A new answer the cache does not hold.")
	if v, ok := sc.Metrics["semantic_sim"]; ok {
		t.Errorf("a failed endpoint scored semantic_sim %v", v)
	}
	if sc.Failed["semantic_sim"] != "HTTP 503" || sc.Metrics["em"] != 0 || len(sc.Metrics) != 1 {
		t.Errorf("score %+v, failed %v", sc.Metrics, sc.Failed)
	}
	if n := testutil.ToFloat64(s.failures.WithLabelValues("semantic_sim")); n != 1 {
		t.Errorf("%v failures counted, want 1", n)
	}
	if n := requests.Load() - before; n != 2 {
		t.Errorf("%d requests to the failing endpoint, want 2: the retry policy's attempts", n)
	}
}
