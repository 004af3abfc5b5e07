package offline

import (
	"context"
	"errors"

	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/services/score/metric"
)

// Embeddings is the endpoint semantic_sim calls for the outputs' and the
// references' vectors, as a run's embeddings section names it.
type Embeddings struct {
	// Client calls the endpoint under the process's endpoint policy,
	// with its cache, if any: a reference several lines share is
	// embedded once.
	Client   *llm.Client
	Endpoint llm.Endpoint
	Embed    llm.EmbedOptions
	// Tokens asks for one vector per token (vLLM's pooling API) and
	// makes semantic_sim a BERTScore-like F1 of greedily matched tokens.
	Tokens bool
	Retry  llm.RetryPolicy
}

// ErrNoEmbeddings is returned by [Score] asked for semantic_sim without
// [Options.Embeddings].
var ErrNoEmbeddings = errors.New("semantic_sim needs an embeddings endpoint")

// embedder is semantic_sim's [metric.Embedder] through e: the output and
// its references in one request, retried per e.Retry. A call that fails
// for good reads as its cause ("HTTP 503"), which the line records in
// "failed" and the summary counts.
func (e *Embeddings) embedder() metric.Embedder {
	return func(ctx context.Context, texts []string) ([][][]float32, error) {
		if e.Tokens {
			vs, err := e.Client.EmbedTokens(ctx, e.Endpoint, e.Embed, texts, e.Retry)
			if err != nil {
				return nil, errors.New(llm.Cause(err))
			}
			return vs, nil
		}
		flat, err := e.Client.Embed(ctx, e.Endpoint, e.Embed, texts, e.Retry)
		if err != nil {
			return nil, errors.New(llm.Cause(err))
		}
		vs := make([][][]float32, len(flat))
		for i, v := range flat {
			vs[i] = [][]float32{v}
		}
		return vs, nil
	}
}
