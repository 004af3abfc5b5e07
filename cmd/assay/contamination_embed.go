package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/services/ingest/contam"
	"github.com/spf13/pflag"
)

// embeddingEndpoint is the flags naming an embeddings endpoint and how
// to call it, which assay contamination and assay score share.
type embeddingEndpoint struct {
	url, model, keyEnv, cache, allow string
	concurrency                      int
}

// register adds the flags; use says what --embeddings is for.
func (e *embeddingEndpoint) register(f *pflag.FlagSet, use string) {
	f.StringVar(&e.url, "embeddings", "", use)
	f.StringVar(&e.model, "embeddings-model", "", "the embedding model (default: the one model the endpoint lists)")
	f.StringVar(&e.keyEnv, "embeddings-key-env", "", "environment variable holding the endpoint's API key")
	f.IntVar(&e.concurrency, "embeddings-concurrency", 4, "embeddings requests in flight at once")
	f.StringVar(&e.cache, "embeddings-cache", "", "directory keeping the vectors by endpoint, model and text, so that a text is embedded once across commands")
	f.StringVar(&e.allow, "endpoint-allow", "loopback", "host patterns the embeddings endpoint may be (comma-separated: api.openai.com, 10.0.0.0/8, private, loopback)")
}

// validate refuses the flags of others, named, without --embeddings,
// and values out of range, before anything is read.
func (e *embeddingEndpoint) validate(f *pflag.FlagSet, others ...string) error {
	if e.url == "" {
		for _, name := range append([]string{"embeddings-model", "embeddings-key-env", "embeddings-concurrency", "embeddings-cache", "endpoint-allow"}, others...) {
			if f.Changed(name) {
				return usagef("--%s needs --embeddings URL", name)
			}
		}
		return nil
	}
	switch {
	case eval.CheckEndpointURL(e.url) != nil:
		return usagef("--embeddings %s: %v", e.url, eval.CheckEndpointURL(e.url))
	case e.concurrency < 1:
		return usagef("--embeddings-concurrency %d: give 1 or more", e.concurrency)
	}
	return nil
}

// connect makes the client that calls the endpoint, under the policy of
// --endpoint-allow and with the cache of --embeddings-cache, and names
// the model: --embeddings-model, else the one model the endpoint lists.
// A refused endpoint or a model that cannot be told is a usage error.
func (e *embeddingEndpoint) connect(ctx context.Context) (*llm.Client, llm.Endpoint, string, error) {
	var ep llm.Endpoint
	policy, err := e.policy()
	if err != nil {
		return nil, ep, "", err
	}
	opts := []llm.Option{llm.WithEndpoints(policy), llm.WithLogger(slog.New(slog.DiscardHandler))}
	if e.cache != "" {
		opts = append(opts, llm.WithCache(llm.DirCache{Dir: e.cache}))
	}
	client := llm.New(opts...)
	ep = llm.Endpoint{Name: "embeddings", BaseURL: e.url, KeyEnv: e.keyEnv, Concurrency: e.concurrency}
	if err := policy.Admit(ctx, llm.Target{Kind: "embeddings", Name: "endpoint", BaseURL: e.url, Model: e.model, APIKeyEnv: e.keyEnv}); err != nil {
		return nil, ep, "", usagef("--embeddings: %v", err)
	}
	model := e.model
	if model == "" {
		served, err := client.ServedModels(ctx, ep)
		if err != nil {
			return nil, ep, "", fmt.Errorf("--embeddings: listing the models to pick one (name it with --embeddings-model): %w", err)
		}
		if len(served) != 1 {
			return nil, ep, "", usagef("--embeddings: the endpoint serves %d models (%s): name one with --embeddings-model", len(served), strings.Join(served, ", "))
		}
		model = served[0]
	}
	return client, ep, model, nil
}

// policy is the endpoint policy of --endpoint-allow.
func (e *embeddingEndpoint) policy() (*llm.Endpoints, error) {
	policy, err := llm.NewEndpoints(llm.EndpointsConfig{Allow: eval.SplitPatterns(e.allow), AllowAPIKeyEnv: true})
	if err != nil {
		return nil, usagef("--endpoint-allow: %v", err)
	}
	return policy, nil
}

// embeddingFlags are assay contamination's --embeddings flags.
type embeddingFlags struct {
	embeddingEndpoint
	threshold float64
	batch     int
}

func (e *embeddingFlags) register(f *pflag.FlagSet) {
	e.embeddingEndpoint.register(f, "also compare embeddings from the OpenAI-compatible endpoint at URL (e.g. http://localhost:8000/v1)")
	f.Float64Var(&e.threshold, "embeddings-threshold", contam.DefaultEmbeddingThreshold, "cosine from which an item is contaminated, above 0 and at most 1 (it depends on the model)")
	f.IntVar(&e.batch, "embeddings-batch", llm.DefaultEmbedBatch, "texts sent in one embeddings request")
}

func (e *embeddingFlags) validate(f *pflag.FlagSet) error {
	if err := e.embeddingEndpoint.validate(f, "embeddings-threshold", "embeddings-batch"); err != nil || e.url == "" {
		return err
	}
	switch {
	case !(e.threshold > 0 && e.threshold <= 1):
		return usagef("--embeddings-threshold %v: give a cosine above 0 and at most 1", e.threshold)
	case e.batch < 1:
		return usagef("--embeddings-batch %d: give 1 or more", e.batch)
	}
	return nil
}

// index embeds the eval items at the endpoint and builds their index.
func (e *embeddingFlags) index(ctx context.Context, items []contam.Doc) (*contam.EmbedIndex, error) {
	client, ep, model, err := e.connect(ctx)
	if err != nil {
		return nil, err
	}
	ix, err := contam.NewEmbedIndex(ctx, items, contam.EmbedOptions{
		Client:    client,
		Endpoint:  ep,
		Embed:     llm.EmbedOptions{Model: model, BatchSize: e.batch},
		Threshold: e.threshold,
	})
	if err != nil {
		return nil, fmt.Errorf("--embeddings: %w", err)
	}
	return ix, nil
}

// printEmbeddingSummary says what the embedding check did, and reports
// whether it was incomplete: texts whose embeddings could not be had.
func printEmbeddingSummary(w io.Writer, st *contam.EmbedStats, ix *contam.EmbedIndex) bool {
	opt := ix.Options()
	search, recall := ix.Search()
	fmt.Fprintf(w, "  embeddings (%s at %s): %d items flagged at cosine %g; %d items and %d training documents (%d windows) compared, %s search",
		opt.Embed.Model, opt.Endpoint.BaseURL, st.Flagged, opt.Threshold, st.Checked, st.Docs, st.Windows, search)
	if search == "exact" {
		fmt.Fprintf(w, " (the HNSW graph found %.0f%% of the items looking themselves up)", 100*recall)
	}
	fmt.Fprintln(w)
	if empty := st.Unchecked - st.UncheckedFailed; empty > 0 {
		fmt.Fprintf(w, "  %d items have no text to embed\n", empty)
	}
	incomplete := false
	if st.UncheckedFailed > 0 {
		fmt.Fprintf(w, "%d eval items could not be embedded (%s) and were not checked by embeddings (\"embedding_checked\": false): fix the endpoint and check again\n", st.UncheckedFailed, st.EvalFailure)
		incomplete = true
	}
	if st.FailedDocs > 0 {
		fmt.Fprintf(w, "%d training documents could not be embedded (%d requests failed: %s) and were not checked by embeddings: fix the endpoint and check again\n",
			st.FailedDocs, st.FailedBatches, strings.Join(st.CausesByCount(), ", "))
		incomplete = true
	}
	return incomplete
}
