// Package score is assay's scoring stage: it reads every generation, scores
// it against its sample's reference with the metrics its suite asks for
// (package metric), and publishes a Score.
package score

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/score/codeexec"
	"github.com/assay-eval/assay/services/score/metric"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes the stage.
type Config struct {
	// Workers is how many generations are scored at once (default
	// 16 × GOMAXPROCS: scoring waits mostly on the bus).
	Workers int
	// CodeWorkers is how many generated programs run at once for the
	// metric code_pass (default GOMAXPROCS).
	CodeWorkers int
	// CodeLimits bound each program (zero fields: codeexec's defaults).
	CodeLimits codeexec.Limits
	// EmbedCache keeps semantic_sim's vectors by content; nil is the
	// bus's LLM cache (none without a bus).
	EmbedCache llm.Cache
}

// Service is the scoring stage.
type Service struct {
	cfg     Config
	bus     *bus.Bus
	logger  *slog.Logger
	metrics *obs.Stage
	scorer  *metric.Scorer
	samples *sampleCache
	// embed calls the runs' embeddings endpoints (semantic_sim); failures
	// counts the metrics that could not be computed.
	embed    *llm.Client
	failures *prometheus.CounterVec
}

// New returns the stage.
func New(cfg Config, env *stage.Env) *Service {
	if cfg.Workers < 1 {
		cfg.Workers = 16 * runtime.GOMAXPROCS(0)
	}
	if cfg.CodeWorkers < 1 {
		cfg.CodeWorkers = runtime.GOMAXPROCS(0)
	}
	logger := env.Logger.With("stage", bus.StageScore)
	return &Service{
		cfg:      cfg,
		bus:      env.Bus,
		logger:   logger,
		metrics:  env.StageMetrics(bus.StageScore),
		scorer:   metric.NewScorer(CodeRunner(cfg.CodeWorkers, cfg.CodeLimits)),
		samples:  newSampleCache(recentSamples),
		embed:    embedClient(cfg, env, logger),
		failures: metricFailures(env.Registry),
	}
}

// Run scores generations until ctx ends. Each run has a durable consumer
// per scoring (its metrics): re-scoring a run (assay replay --metrics)
// starts a new consumer that reads the run's generations from the start.
func (s *Service) Run(ctx context.Context) error {
	s.logger.Info("code sandbox", "sandbox", codeexec.Describe())
	rc := s.bus.NewRunConsumers(bus.StreamGens, bus.StageScore, s.logger, func(runs *bus.Runs, spec *eval.RunSpec) []bus.Member {
		scoring := spec.Scoring()
		// current is the spec last found to have this scoring: the
		// scoring is a hash of the spec's suites, worth computing once per
		// change of the spec rather than for every generation.
		var current atomic.Pointer[eval.RunSpec]
		current.Store(spec)
		return []bus.Member{{
			Config: jetstream.ConsumerConfig{
				Durable:       bus.ScoreConsumer(spec.Run, scoring),
				FilterSubject: bus.RunGens(spec.Run),
				DeliverPolicy: jetstream.DeliverAllPolicy,
				MaxAckPending: s.cfg.Workers * 4,
				Metadata:      map[string]string{"stage": bus.StageScore, "run": spec.Run, "scoring": scoring},
			},
			Handler: func(ctx context.Context, m *bus.Msg) error {
				return s.handleMsg(ctx, runs, scoring, &current, m)
			},
			Options: bus.ConsumeOptions{Stage: bus.StageScore, Workers: s.cfg.Workers, Logger: s.logger, Observer: s.metrics, Keys: bus.GenerationKeys},
			Log:     []any{"run", spec.Run, "scoring", scoring},
		}}
	})
	served := s.bus.NewRunConsumers(bus.StreamAB, bus.StageScore, s.logger, s.abMembers)
	errs := make(chan error, 1)
	go func() { errs <- served.Run(ctx) }()
	err := rc.Run(ctx)
	if serr := <-errs; err == nil {
		err = serr
	}
	return err
}

func (s *Service) handleMsg(ctx context.Context, runs *bus.Runs, scoring string, current *atomic.Pointer[eval.RunSpec], m *bus.Msg) error {
	g, err := decodeGeneration(m.Payload)
	if err != nil {
		return bus.Poisonf(bus.Keys{}, "generation does not decode: %v", err)
	}
	keys := bus.Keys{Run: g.Run, Suite: g.Sample.Suite, Sample: g.Sample.ID, Variant: g.Variant}
	spec, err := runs.Spec(ctx, g.Run)
	if err != nil {
		return bus.PoisonIfNotFound(err, keys)
	}
	if current.Load() != spec {
		if spec.Scoring() != scoring {
			return nil // the run was re-scored: this consumer is on its way out
		}
		current.Store(spec)
	}
	sample := s.samples.get(g.Sample.Seq)
	if sample == nil {
		data, err := s.bus.GetMsg(ctx, bus.StreamSamples, g.Sample.Seq)
		if err != nil {
			return bus.PoisonIfNotFound(fmt.Errorf("reading sample %s: %w", g.Sample.ID, err), keys)
		}
		if sample, err = decodeSample(data); err != nil {
			return bus.Poisonf(keys, "sample at sequence %d does not decode: %v", g.Sample.Seq, err)
		}
		s.samples.put(g.Sample.Seq, sample)
	}
	if sample.ID != g.Sample.ID || sample.Run != g.Run {
		return bus.Poisonf(keys, "sample at sequence %d is not %s of run %s", g.Sample.Seq, g.Sample.ID, g.Run)
	}
	sc, err := s.handle(ctx, spec, scoring, sample, g)
	if err != nil {
		if ctx.Err() != nil {
			return err // shutting down: redelivered later
		}
		return bus.Poison(err, keys)
	}
	sc.GenSeq = m.Seq()
	id := bus.RetryMsgID(bus.MsgID(bus.StageScore, g.Run, scoring, g.Variant, sample.Suite, sample.ID), g.Retry)
	// Returning acks the generation, so only once the score is stored:
	// many workers' publishes share one subscription for their
	// acknowledgements, and a failed one redelivers the generation.
	if _, err := s.bus.PublishAsync(ctx, bus.ScoresSubject(g.Run, g.Variant), id, sc); err != nil {
		return err
	}
	return nil
}

// Handle scores one generation of sample under spec.
func (s *Service) Handle(ctx context.Context, spec *eval.RunSpec, sample *eval.Sample, g *eval.Generation) (*eval.Score, error) {
	return s.handle(ctx, spec, spec.Scoring(), sample, g)
}

// handle is Handle under the spec's scoring, known already.
func (s *Service) handle(ctx context.Context, spec *eval.RunSpec, scoring string, sample *eval.Sample, g *eval.Generation) (*eval.Score, error) {
	suite, ok := spec.Suite(sample.Suite)
	if !ok {
		return nil, fmt.Errorf("suite %q is not in run %q", sample.Suite, spec.Run)
	}
	prompt := eval.LastUserMessage(sample.Messages)
	if p := sample.Perturbation; p != nil && p.Question != "" {
		// A long_context or instruction_conflict copy is scored against
		// its original's question, not the prose or override around it.
		prompt = p.Question
	}
	r, err := s.scorer.Score(ctx, metric.Input{
		Output:           g.Output,
		Prompt:           prompt,
		FinishReason:     g.FinishReason,
		Error:            g.Error,
		CompletionTokens: g.Usage.CompletionTokens,
		Reference:        sample.Reference,
		Metrics:          suite.Metrics,
		Lang:             metric.Lang(suite.Lang),
		Stem:             suite.Stem,
		Format:           suite.Format,
		Embed:            s.embedder(spec),
		TokenEmbeddings:  spec.Embeddings != nil && spec.Embeddings.TokenEmbeddings,
	})
	if err != nil {
		return nil, err
	}
	for m := range r.Failed {
		s.failures.WithLabelValues(m).Inc()
	}
	var hash, opening, closing string
	if g.Error == "" {
		hash = eval.OutputHash(g.Output)
		o, c := eval.Edges(g.Output)
		opening, closing = eval.EdgeHash(o), eval.EdgeHash(c)
	}
	// On every score of an unanswerable question, a failed one's too.
	r.Checks.Unanswerable = sample.Reference != nil && sample.Reference.ShouldAbstain != nil && *sample.Reference.ShouldAbstain
	return &eval.Score{
		V:            eval.Version,
		Run:          g.Run,
		Sample:       g.Sample,
		Variant:      g.Variant,
		Fingerprint:  g.Fingerprint,
		Scoring:      scoring,
		Metrics:      r.Metrics,
		Checks:       r.Checks,
		Bucket:       r.Bucket,
		Reason:       r.Reason,
		OutputTokens: r.OutputTokens,
		OutputChars:  utf8.RuneCountInString(g.Output),
		OutputHash:   hash,
		OpeningHash:  opening,
		ClosingHash:  closing,
		RefChars:     refChars(sample.Reference),
		LatencyMS:    g.LatencyMS,
		TTFTMS:       g.TTFTMS,
		ITLMS:        g.ITLMS,
		Model:        g.Model,
		Params:       g.Params,
		Cause:        g.Cause,
		Retry:        g.Retry,
		Sandbox:      r.Sandbox,
		Failed:       r.Failed,
	}, nil
}

// refChars is the length of a reference's longest free text, the answer
// a verbose answer is compared with: its answers, its expected JSON, or
// its correct choice with the letter; 0 when it has none.
func refChars(r *eval.Reference) int {
	if r == nil {
		return 0
	}
	n := utf8.RuneCount(r.JSON)
	for _, a := range r.Answers {
		n = max(n, utf8.RuneCountInString(a))
	}
	if r.Label != "" && int(r.Label[0]-'A') < len(r.Choices) {
		n = max(n, utf8.RuneCountInString(r.Choices[r.Label[0]-'A'])+4) // "(B) "
	}
	return n
}
