// Package infer is assay's inference stage: every variant of a run answers
// every sample through its OpenAI-compatible endpoint, with the run's pinned
// decoding, system prompt and template. Each (run, variant) has its own
// durable consumer on the run's samples, created when the run or a new
// variant appears, so each endpoint is throttled on its own and a variant
// added later reads the run's samples from the start.
//
// Before a variant's first call in a run its endpoint is checked (key set,
// endpoint answering, model served; see [llm.Client.Preflight]). A variant
// that fails the check has every sample answered at once with a failed
// generation naming the problem, without a call: the run ends quickly and
// its report says why, rather than reading like a model regression.
package infer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/nats-io/nats.go/jetstream"
)

// Config tunes the stage.
type Config struct {
	// Client replaces the LLM client (tests); it is used as built, without
	// the stage's ledger. Nil builds a ledger (see [llm.Ledger]) over
	// Cache: every answer and final failure is stored before its
	// generation is published, so a redelivered sample is never paid
	// twice.
	Client *llm.Client
	// Cache is where the ledger keeps answers and failures; nil is the
	// bus's assay_llm_cache.
	Cache llm.Cache
	// SkipPreflight calls a variant's endpoint without checking it first,
	// for tests that count every call: the stage always checks when it
	// runs in a service (the CLI's --no-preflight skips the CLI's check).
	SkipPreflight bool
	// Ahead is how many samples a variant's consumer hands out beyond its
	// concurrency: they wait in the stage for a free endpoint slot, so
	// that a slot is not idle while a sample is pulled and looked up in
	// the cache, and an answer stored and published (about 5% of a 200 ms
	// call on a busy machine). The endpoint still gets at most concurrency
	// calls from one infer process; with several replicas, at most
	// concurrency + Ahead in all. 0 is ⌈concurrency/8⌉; negative, none
	// (concurrency then caps the calls across every replica).
	Ahead int
}

// Service is the inference stage.
type Service struct {
	cfg     Config
	bus     *bus.Bus
	logger  *slog.Logger
	metrics *obs.Stage
	client  *llm.Client
	// chat is the ledger's Chat, or the client's when the stage was given
	// a client.
	chat llm.ChatFunc

	paramsCache sync.Map // run -> params fingerprint
	// latest knows where each variant's latest generations are, so that a
	// retry request is taken only for a generation that failed.
	latest     sync.Map // gens subject -> *bus.Latest
	preflights *llm.PreflightCache
	released   *bus.ReleaseMetrics
}

// New returns the stage.
func New(cfg Config, env *stage.Env) *Service {
	logger := env.Logger.With("stage", bus.StageInfer)
	s := &Service{cfg: cfg, bus: env.Bus, logger: logger, metrics: env.StageMetrics(bus.StageInfer)}
	cache := cfg.Cache
	if cache == nil && cfg.Client == nil {
		// An answer is needed until its generation is published and its
		// sample acked for good; then it is released, so that the cache
		// holds the samples in flight rather than every sample of the
		// last week.
		cache = env.Bus.LLMCache().ReleasedOnAck()
	}
	s.released = bus.NewReleaseMetrics(env.Registry, bus.StageInfer)
	s.client, s.chat = llm.StageClient(cfg.Client, cache, llm.WithLogger(logger), llm.WithEndpoints(env.Endpoints),
		llm.WithObserver(obs.NewEndpoints(env.Registry, bus.StageInfer, "variant")))
	s.preflights = &llm.PreflightCache{Client: s.client}
	return s
}

// Run follows the runs in assay_runs and answers their samples until ctx
// ends.
func (s *Service) Run(ctx context.Context) error {
	rc := s.bus.NewRunConsumers(bus.StreamSamples, bus.StageInfer, s.logger, func(runs *bus.Runs, spec *eval.RunSpec) []bus.Member {
		var ms []bus.Member
		for _, v := range spec.Variants {
			ms = append(ms, bus.Member{
				// MaxAckPending is the variant's concurrency and the samples
				// taken ahead (see Config.Ahead): the server hands out no
				// more at once, however many infer replicas share the
				// consumer, and each process's client calls the endpoint
				// at most concurrency at a time.
				Config: jetstream.ConsumerConfig{
					Durable:       bus.InferConsumer(spec.Run, v.Name),
					FilterSubject: bus.RunSamples(spec.Run),
					DeliverPolicy: jetstream.DeliverAllPolicy,
					MaxAckPending: s.handedOut(v),
					Metadata:      map[string]string{"stage": bus.StageInfer, "run": spec.Run, "variant": v.Name},
				},
				Handler: func(ctx context.Context, m *bus.Msg) error {
					return s.handleMsg(ctx, runs, spec.Run, v.Name, m)
				},
				Options: bus.ConsumeOptions{Stage: bus.StageInfer, Workers: s.handedOut(v), Logger: s.logger, Observer: s.metrics,
					Release: true, ReleaseObserver: s.released,
					Keys: func(m *bus.Msg) bus.Keys {
						k := bus.SampleKeys(m)
						k.Variant = v.Name
						return k
					}},
				Log: []any{"run", spec.Run, "variant", v.Name, "model", v.Model, "concurrency", v.Concurrency},
			})
		}
		return ms
	})
	retries := s.bus.NewRunConsumers(bus.StreamEvents, bus.StageInferRetry, s.logger, s.retryMembers)
	errs := make(chan error, 1)
	go func() { errs <- retries.Run(ctx) }()
	err := rc.Run(ctx)
	if rerr := <-errs; err == nil {
		err = rerr
	}
	return err
}

// handedOut is how many of a run's samples variant v's consumer hands out
// at once: its concurrency and the samples taken ahead (Config.Ahead).
func (s *Service) handedOut(v eval.Variant) int { return stage.HandedOut(v.Concurrency, s.cfg.Ahead) }

// retryMembers are the consumers of a run's retry requests, one per
// variant, once assay retry has asked for a run's failures again: runs
// never retried cost no consumer.
func (s *Service) retryMembers(runs *bus.Runs, spec *eval.RunSpec) []bus.Member {
	if st := runs.Status(spec.Run); st == nil || st.Retry == 0 {
		return nil
	}
	var ms []bus.Member
	for _, v := range spec.Variants {
		ms = append(ms, bus.Member{
			Config: jetstream.ConsumerConfig{
				Durable:       bus.InferRetryConsumer(spec.Run, v.Name),
				FilterSubject: bus.RetrySubject(spec.Run, bus.StageInfer, v.Name),
				DeliverPolicy: jetstream.DeliverAllPolicy,
				MaxAckPending: s.handedOut(v),
				Metadata:      map[string]string{"stage": bus.StageInfer, "run": spec.Run, "variant": v.Name},
			},
			Handler: func(ctx context.Context, m *bus.Msg) error {
				return s.handleRetry(ctx, runs, spec.Run, v.Name, m)
			},
			Options: bus.ConsumeOptions{Stage: bus.StageInfer, Workers: s.handedOut(v), Logger: s.logger, Observer: s.metrics,
				Release: true, ReleaseObserver: s.released},
			Log: []any{"run", spec.Run, "variant", v.Name, "model", v.Model, "retries", true},
		})
	}
	return ms
}

// handleRetry asks variant again for the sample a retry request names:
// under [llm.Retrying], so that the ledger calls again what failed (and
// still answers from the cache what did not), and publishes the
// generation as the request's attempt.
func (s *Service) handleRetry(ctx context.Context, runs *bus.Runs, run, variant string, m *bus.Msg) error {
	var r eval.RetryRequest
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		return bus.Poisonf(bus.Keys{Run: run, Variant: variant}, "retry request does not decode: %v", err)
	}
	keys := bus.Keys{Run: run, Suite: r.Sample.Suite, Sample: r.Sample.ID, Variant: variant}
	if r.Run != run || r.Variant != variant || r.Judge != "" {
		return bus.Poisonf(keys, "retry request names run %q, variant %q, attempt %d on the subject of %s/%s", r.Run, r.Variant, r.Attempt, run, variant)
	}
	id := bus.MsgID(bus.StageInfer, run, variant, r.Sample.Suite, r.Sample.ID)
	if ok, err := s.retryable(ctx, run, bus.GensSubject(run, variant), id, &r); !ok || err != nil {
		return err
	}
	data, err := s.bus.GetMsg(ctx, bus.StreamSamples, r.Sample.Seq)
	if err != nil {
		return bus.PoisonIfNotFound(err, keys)
	}
	var sample eval.Sample
	if err := json.Unmarshal(data, &sample); err != nil || sample.Run != run || sample.Suite != r.Sample.Suite || sample.ID != r.Sample.ID {
		return bus.Poisonf(keys, "retry request names sample %s/%s at %d, which holds another message", r.Sample.Suite, r.Sample.ID, r.Sample.Seq)
	}
	return s.answer(llm.Retrying(ctx), runs, run, variant, &sample, r.Sample.Seq, r.Attempt)
}

// retryable checks retry request r against the latest generation
// published with id on subject (see [bus.Latest.Retryable]).
func (s *Service) retryable(ctx context.Context, run, subject, id string, r *eval.RetryRequest) (bool, error) {
	l, _ := s.latest.LoadOrStore(subject, s.bus.FollowLatest(bus.StreamGens, subject))
	return l.(*bus.Latest).Retryable(ctx, run, id, r, func(data []byte) (bool, error) {
		var g eval.Generation
		err := json.Unmarshal(data, &g)
		return g.Error != "", err
	})
}

func (s *Service) handleMsg(ctx context.Context, runs *bus.Runs, run, variant string, m *bus.Msg) error {
	var sample eval.Sample
	if err := json.Unmarshal(m.Payload, &sample); err != nil {
		return bus.Poisonf(bus.Keys{Run: run, Variant: variant}, "sample does not decode: %v", err)
	}
	return s.answer(ctx, runs, run, variant, &sample, m.Seq(), 0)
}

// answer has variant answer sample (at seq) and publishes the generation
// as attempt retry of it (0: the run's own).
func (s *Service) answer(ctx context.Context, runs *bus.Runs, run, variant string, sample *eval.Sample, seq uint64, retry int) error {
	keys := bus.Keys{Run: run, Suite: sample.Suite, Sample: sample.ID, Variant: variant}
	spec, err := runs.Spec(ctx, run)
	if err != nil {
		return bus.PoisonIfNotFound(err, keys)
	}
	v, ok := spec.Variant(variant)
	if !ok {
		return bus.Poisonf(keys, "variant %q is no longer in run %q", variant, run)
	}
	g, err := s.Handle(ctx, spec, v, sample, seq)
	if err != nil {
		return err
	}
	g.Retry = retry
	id := bus.RetryMsgID(bus.MsgID(bus.StageInfer, run, variant, sample.Suite, sample.ID), retry)
	_, err = s.bus.Publish(ctx, bus.GensSubject(run, variant), id, g)
	return err
}

// params returns the fingerprint of the request parameters, which depend
// on the run's decoding and template only: it is computed once per run.
func (s *Service) params(spec *eval.RunSpec, req llm.ChatRequest) string {
	k := spec.Run
	if p, ok := s.paramsCache.Load(k); ok {
		return p.(string)
	}
	p := llm.ParamsFingerprint(req)
	s.paramsCache.Store(k, p)
	return p
}

// Handle asks variant v of spec to answer sample (found at sequence seq).
// An endpoint that fails for good yields a Generation with Error and Cause
// set, not an error: the sample is then reported as failed. So does a
// variant that fails its preflight, at once and without calling the
// endpoint. Only a cancelled ctx returns an error, and an outcome the
// ledger could not store ([llm.ErrNotStored], [llm.ErrCacheUnavailable]):
// the sample is then tried again later, and the stored outcome used.
func (s *Service) Handle(ctx context.Context, spec *eval.RunSpec, v eval.Variant, sample *eval.Sample, seq uint64) (*eval.Generation, error) {
	if !s.cfg.SkipPreflight {
		problems, err := s.preflight(ctx, spec.Run, v)
		if err != nil {
			return nil, err
		}
		if len(problems) > 0 {
			g := s.generation(spec, v, sample, seq, llm.Build(v.Model, sample.Messages, spec.Decoding, spec.Template), nil)
			g.Error, g.Cause = llm.ProblemsText(problems), problems[0].Cause()
			return g, nil
		}
	}
	ep := s.endpoint(v)
	policy := llm.Policy(spec.Retry)
	scope := "gen|" + spec.Run + "|" + v.Name
	// A conversation generated turn by turn is answered one user turn at
	// a time, the model's own answers (not recorded ones) before the next.
	var turns []string
	var earlier llm.Response
	msgs := sample.Messages
	if su, ok := spec.Suite(sample.Suite); ok && su.TurnByTurn() {
		var err error
		msgs, turns, earlier, err = s.earlierTurns(ctx, spec, v, ep, policy, scope, sample.Messages)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if unsettled(err) {
			return nil, err
		}
		if err != nil {
			return s.failed(spec, v, sample, seq, llm.Build(v.Model, sample.Messages, spec.Decoding, spec.Template), turns, err), nil
		}
	}
	req := llm.Build(v.Model, msgs, spec.Decoding, spec.Template)
	resp, err := s.chat(ctx, ep, req, policy, scope)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if unsettled(err) {
		return nil, err
	}
	if err == nil && len(turns) > 0 {
		resp.Usage.PromptTokens += earlier.Usage.PromptTokens
		resp.Usage.CompletionTokens += earlier.Usage.CompletionTokens
		resp.Usage.TotalTokens += earlier.Usage.TotalTokens
		resp.Latency += earlier.Latency
		resp.Cached = resp.Cached && earlier.Cached
	}
	if err != nil {
		return s.failed(spec, v, sample, seq, req, turns, err), nil
	}
	g := s.generation(spec, v, sample, seq, req, turns)
	if resp.Model != "" {
		g.Model = resp.Model
	}
	g.Output = resp.Output
	g.Reasoning = resp.Reasoning
	g.FinishReason = resp.FinishReason
	g.Usage = eval.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens, TotalTokens: resp.Usage.TotalTokens}
	g.LatencyMS = float64(resp.Latency.Microseconds()) / 1000
	// A conversation answered turn by turn is timed by its last turn:
	// TTFT and ITL are the last call's (latency is the sum).
	g.TTFTMS = float64(resp.TTFT.Microseconds()) / 1000
	g.ITLMS = float64(resp.ITL.Microseconds()) / 1000
	g.Attempts = resp.Attempts
	g.Cached = resp.Cached
	return g, nil
}

func (s *Service) generation(spec *eval.RunSpec, v eval.Variant, sample *eval.Sample, seq uint64, req llm.ChatRequest, turns []string) *eval.Generation {
	return &eval.Generation{
		V:           eval.Version,
		Run:         spec.Run,
		Sample:      sample.Ref(seq),
		Variant:     v.Name,
		Model:       v.Model,
		Fingerprint: sample.Fingerprint,
		Params:      s.params(spec, req),
		At:          time.Now().UTC(),
		Turns:       turns,
	}
}

// failed is the Generation of an endpoint that failed for good.
func (s *Service) failed(spec *eval.RunSpec, v eval.Variant, sample *eval.Sample, seq uint64, req llm.ChatRequest, turns []string, err error) *eval.Generation {
	g := s.generation(spec, v, sample, seq, req, turns)
	g.Error, g.Cause = err.Error(), llm.RecordedCause(err)
	var ce *llm.CallError
	if errors.As(err, &ce) {
		g.Attempts = ce.Attempts
	}
	s.logger.Warn("generation failed", "run", spec.Run, "variant", v.Name, "sample", sample.ID, "cause", g.Cause, "err", err)
	return g
}

// earlierTurns answers every user turn of a conversation but the last, in
// order, and returns the conversation to send for the last: the system
// messages, each user turn and the model's own answer to it. Recorded
// assistant turns are left out: the model's answers replace them. The
// answers are returned too, and the calls' usage and latency summed.
func (s *Service) earlierTurns(ctx context.Context, spec *eval.RunSpec, v eval.Variant, ep llm.Endpoint, policy llm.RetryPolicy, scope string, conv []eval.Message) ([]eval.Message, []string, llm.Response, error) {
	last := -1
	for i, m := range conv {
		if m.Role == "user" {
			last = i
		}
	}
	var sum llm.Response
	sum.Cached = true
	var msgs []eval.Message
	var turns []string
	for i, m := range conv {
		switch {
		case m.Role == "assistant":
			continue // the model's own answer takes its place
		case m.Role != "user" || i == last:
			msgs = append(msgs, m)
			continue
		}
		msgs = append(msgs, m)
		resp, err := s.chat(ctx, ep, llm.Build(v.Model, msgs, spec.Decoding, spec.Template), policy, scope)
		if err != nil {
			return nil, turns, sum, fmt.Errorf("turn %d: %w", len(turns)+1, err)
		}
		turns = append(turns, resp.Output)
		msgs = append(msgs, eval.Message{Role: "assistant", Content: resp.Output})
		sum.Usage.PromptTokens += resp.Usage.PromptTokens
		sum.Usage.CompletionTokens += resp.Usage.CompletionTokens
		sum.Usage.TotalTokens += resp.Usage.TotalTokens
		sum.Latency += resp.Latency
		sum.Cached = sum.Cached && resp.Cached
	}
	return msgs, turns, sum, nil
}

// unsettled reports whether err is an outcome the ledger could not store
// or look up: the sample must not be answered now, but tried again.
func unsettled(err error) bool {
	return errors.Is(err, llm.ErrNotStored) || errors.Is(err, llm.ErrCacheUnavailable)
}
