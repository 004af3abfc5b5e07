package score

import (
	"context"
	"log/slog"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/score/metric"
	"github.com/prometheus/client_golang/prometheus"
)

// embedClient builds the client semantic_sim calls the runs' embeddings
// endpoints with: under the process's endpoint policy, observed as
// assay_score_endpoint_* by the label "endpoint", and keeping vectors by
// content in cache (cfg.EmbedCache, else the bus's LLM cache), so that a
// reference answered by every variant, or scored again, is embedded once.
func embedClient(cfg Config, env *stage.Env, logger *slog.Logger) *llm.Client {
	cache := cfg.EmbedCache
	if cache == nil && env.Bus != nil {
		cache = env.Bus.LLMCache()
	}
	opts := []llm.Option{llm.WithLogger(logger), llm.WithEndpoints(env.Endpoints)}
	if cache != nil {
		opts = append(opts, llm.WithCache(cache))
	}
	if env.Registry != nil {
		opts = append(opts, llm.WithObserver(obs.NewEndpoints(env.Registry, bus.StageScore, "endpoint")))
	}
	return llm.New(opts...)
}

// embedder is the Embedder of spec's semantic_sim: nil when the spec has
// no embeddings endpoint. Calls are retried per the spec's retry policy;
// a final failure's error reads as its cause ("HTTP 503"), which the
// score records, and is counted.
func (s *Service) embedder(spec *eval.RunSpec) metric.Embedder {
	e := spec.Embeddings
	if e == nil {
		return nil
	}
	ep := llm.Endpoint{Name: "embeddings", BaseURL: e.BaseURL, KeyEnv: e.APIKeyEnv, KeySecret: e.APIKeySecret, Concurrency: e.Concurrency, Timeout: e.Timeout.D()}
	o := llm.EmbedOptions{Model: e.Model, Dimensions: e.Dimensions}
	policy := llm.Policy(spec.Retry)
	return func(ctx context.Context, texts []string) ([][][]float32, error) {
		var vs [][][]float32
		var err error
		if e.TokenEmbeddings {
			vs, err = s.embed.EmbedTokens(ctx, ep, o, texts, policy)
		} else {
			var flat [][]float32
			if flat, err = s.embed.Embed(ctx, ep, o, texts, policy); err == nil {
				vs = make([][][]float32, len(flat))
				for i, v := range flat {
					vs[i] = [][]float32{v}
				}
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("embeddings call failed; semantic_sim has no value for the answer", "run", spec.Run, "err", err)
			}
			return nil, &embedFailure{err}
		}
		return vs, nil
	}
}

// embedFailure reads as its error's cause: what a score records.
type embedFailure struct{ err error }

func (e *embedFailure) Error() string { return llm.Cause(e.err) }
func (e *embedFailure) Unwrap() error { return e.err }

// metricFailures counts the metrics that could not be computed for an
// answer: assay_score_metric_failures_total{metric}.
func metricFailures(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "assay_score_metric_failures_total",
		Help: "Metrics the score stage could not compute for an answer (semantic_sim whose embeddings call failed), by metric: those answers have no value for it.",
	}, []string{"metric"})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}
