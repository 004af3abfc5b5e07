package metric

import (
	"context"
	"math"
	"slices"
	"strings"
)

// Embedder returns the vectors of texts for semantic_sim: for each text
// one vector, or, with token embeddings, one per token. Calling an
// embeddings endpoint is I/O, so the scoring service provides it
// (services/score) and this package stays pure. Its error's text is the
// failure's short cause, which a score records.
type Embedder func(ctx context.Context, texts []string) ([][][]float32, error)

// Cosine is the cosine similarity of a and b: their dot product over the
// product of their lengths; 0 when either has no length or they differ
// in dimension.
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// GreedyMatchF1 is a BERTScore-like F1 of two texts' token vectors (Zhang
// et al., "BERTScore: Evaluating Text Generation with BERT", ICLR 2020,
// eq. 1 to 3): each candidate token is matched with its most similar
// reference token (precision, the mean of those cosines) and each
// reference token with its most similar candidate token (recall), and F1
// is their harmonic mean. It is an approximation of BERTScore: no IDF
// weights, no baseline rescaling, and the model, layer and tokens are
// whatever the endpoint serves. 0 when either text has no token, or when
// precision and recall sum to 0 or less.
func GreedyMatchF1(cand, ref [][]float32) float64 {
	if len(cand) == 0 || len(ref) == 0 {
		return 0
	}
	rowBest := make([]float64, len(cand))
	colBest := make([]float64, len(ref))
	for i := range rowBest {
		rowBest[i] = math.Inf(-1)
	}
	for j := range colBest {
		colBest[j] = math.Inf(-1)
	}
	for i, c := range cand {
		for j, r := range ref {
			s := Cosine(c, r)
			rowBest[i] = max(rowBest[i], s)
			colBest[j] = max(colBest[j], s)
		}
	}
	p, r := mean(rowBest), mean(colBest)
	if p+r <= 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// semanticSim scores an answer's vectors against each reference's: the
// cosine of the two texts' vectors, or with token vectors their
// GreedyMatchF1; the best over the references, clipped to 0..1 (an
// answer pointing away from its reference is as unlike it as one at
// right angles, and the report reads similarities on a 0..1 scale).
func semanticSim(answer [][]float32, refs [][][]float32, tokens bool) float64 {
	best := 0.0
	for _, ref := range refs {
		var s float64
		if tokens {
			s = GreedyMatchF1(answer, ref)
		} else {
			s = Cosine(answer[0], ref[0])
		}
		best = max(best, s)
	}
	return min(best, 1)
}

// semanticSimOf is semantic_sim for an answer: no value without a
// reference; 0 for an empty answer, which shares no meaning with any
// (nothing is sent); else the endpoint's vectors compared. A failed call
// gives no value and the failure's cause; only ctx's end is an error.
func semanticSimOf(ctx context.Context, in Input, out string, answers []string) (v *float64, failed string, err error) {
	texts := []string{out}
	for _, a := range answers {
		if strings.TrimSpace(a) != "" {
			texts = append(texts, a)
		}
	}
	switch {
	case len(texts) == 1:
		return nil, "", nil
	case strings.TrimSpace(out) == "":
		return ptr(0.0), "", nil
	case in.Embed == nil:
		return nil, "no embeddings endpoint", nil
	}
	vs, err := in.Embed(ctx, texts)
	switch {
	case ctx.Err() != nil:
		return nil, "", ctx.Err()
	case err != nil:
		return nil, err.Error(), nil
	case len(vs) != len(texts) || slices.ContainsFunc(vs, func(v [][]float32) bool { return len(v) == 0 }):
		return nil, "the embedder gave the wrong number of vectors", nil
	}
	return ptr(semanticSim(vs[0], vs[1:], in.TokenEmbeddings)), "", nil
}
