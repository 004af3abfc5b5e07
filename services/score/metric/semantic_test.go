package metric

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// The reference values below were computed with NumPy 1.24.2 in float64,
// from the same vectors: the cosine as a@b / sqrt((a@a) * (b@b)); the
// greedy F1 by normalising each token vector (rows of C and R), taking
// S = C @ R.T, precision S.max(axis=1).mean(), recall S.max(axis=0).mean()
// and 2pr/(p+r) — BERTScore's equations 1 to 3 without IDF weights.

func TestCosine(t *testing.T) {
	for _, tc := range []struct {
		a, b []float32
		want float64
	}{
		{[]float32{1, 2, 3}, []float32{4, 5, 6}, 0.9746318461970762},
		{[]float32{1, 0}, []float32{0, 1}, 0},
		{[]float32{1, 2}, []float32{-1, -2}, -1},
		{[]float32{0.3, -0.2, 0.9, 0.1}, []float32{0.25, -0.1, 0.8, 0.4}, 0.9391210912703261},
		{[]float32{3, 4}, []float32{6, 8}, 1},
		{[]float32{0, 0}, []float32{1, 1}, 0},
		{[]float32{1, 2}, []float32{1, 2, 3}, 0},
	} {
		if got := Cosine(tc.a, tc.b); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("Cosine(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestGreedyMatchF1(t *testing.T) {
	for _, tc := range []struct {
		cand, ref [][]float32
		want      float64
	}{
		{[][]float32{{1, 0}, {0, 1}}, [][]float32{{1, 0}, {0, 1}}, 1},
		{[][]float32{{1, 0}, {1, 1}}, [][]float32{{1, 0}}, 0.9209914264407282},
		{[][]float32{{1, 2, 0}, {0, 1, 1}, {2, 0, 1}}, [][]float32{{1, 1, 1}, {0, 2, 1}}, 0.8613421281610496},
		{[][]float32{{0.5, -0.2, 0.1, 0.9}}, [][]float32{{0.4, 0.1, 0.3, 0.8}, {-0.5, 0.2, 0.1, 0.1}, {0.1, 0.9, -0.3, 0.2}}, 0.34090446835357574},
		{nil, [][]float32{{1}}, 0},
		{[][]float32{{1, 0}}, [][]float32{{-1, 0}}, 0},
	} {
		if got := GreedyMatchF1(tc.cand, tc.ref); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("GreedyMatchF1(%v, %v) = %v, want %v", tc.cand, tc.ref, got, tc.want)
		}
	}
}

// vectorsFor is an Embedder whose vectors are set by text; a text it does
// not know fails the call.
func vectorsFor(m map[string][][]float32, calls *int) Embedder {
	return func(_ context.Context, texts []string) ([][][]float32, error) {
		*calls++
		out := make([][][]float32, len(texts))
		for i, t := range texts {
			v, ok := m[t]
			if !ok {
				return nil, errors.New("HTTP 503")
			}
			out[i] = v
		}
		return out, nil
	}
}

// TestScoreSemanticSim: semantic_sim is the best cosine over the
// references, clipped to 0..1, or the greedy F1 of token vectors; an
// empty answer scores 0 without a call; a sample without a reference has
// no value; a failed call gives no value and its cause, never 0; a call
// cut by the caller is an error.
func TestScoreSemanticSim(t *testing.T) {
	vecs := map[string][][]float32{
		"answer": {{1, 2, 3}}, "close": {{4, 5, 6}}, "far": {{-1, -2, -3}},
		"tok a": {{1, 0}, {1, 1}}, "tok r": {{1, 0}},
	}
	s := NewScorer(nil)
	for _, tc := range []struct {
		name    string
		out     string
		refs    []string
		tokens  bool
		embed   bool
		want    *float64
		failed  string
		calls   int
		wantErr bool
	}{
		{name: "best reference", out: "answer", refs: []string{"far", "close"}, embed: true, want: ptr(0.9746318461970762), calls: 1},
		{name: "clipped at 0", out: "answer", refs: []string{"far"}, embed: true, want: ptr(0.0), calls: 1},
		{name: "tokens", out: "tok a", refs: []string{"tok r"}, tokens: true, embed: true, want: ptr(0.9209914264407282), calls: 1},
		{name: "empty answer", out: " \n", refs: []string{"close"}, embed: true, want: ptr(0.0)},
		{name: "no reference", out: "answer", refs: []string{" "}, embed: true},
		{name: "failed call", out: "answer", refs: []string{"unknown"}, embed: true, failed: "HTTP 503", calls: 1},
		{name: "no endpoint", out: "answer", refs: []string{"close"}, failed: "no embeddings endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			in := Input{Output: tc.out, Reference: &eval.Reference{Answers: tc.refs}, Metrics: []string{"semantic_sim", "length"}, TokenEmbeddings: tc.tokens}
			if tc.embed {
				in.Embed = vectorsFor(vecs, &calls)
			}
			r, err := s.Score(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := r.Metrics["semantic_sim"]
			switch {
			case tc.want == nil && ok:
				t.Errorf("semantic_sim %v, want no value", got)
			case tc.want != nil && (!ok || math.Abs(got-*tc.want) > 1e-6):
				t.Errorf("semantic_sim %v (%v), want %v", got, ok, *tc.want)
			}
			if r.Failed["semantic_sim"] != tc.failed {
				t.Errorf("failed %q, want %q", r.Failed["semantic_sim"], tc.failed)
			}
			if calls != tc.calls {
				t.Errorf("%d calls, want %d", calls, tc.calls)
			}
			if _, ok := r.Metrics["length"]; !ok {
				t.Error("the other metrics were not scored")
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := 0
	if _, err := s.Score(ctx, Input{Output: "answer", Reference: &eval.Reference{Answers: []string{"unknown"}}, Metrics: []string{"semantic_sim"}, Embed: vectorsFor(vecs, &calls)}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v", err)
	}
}
