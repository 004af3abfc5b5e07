// Package judge is assay's LLM-judge stage: each candidate's answer is
// compared with the baseline's answer to the same sample by each of the
// run's judges, in both presentation orders, and a Judgment is published per
// pair and judge. The pairs of the spec's compare list that leave the
// baseline out are judged alike, their first variant in the candidate's
// place and their second in the baseline's.
//
// The two generations of a pair arrive separately and in any order, possibly
// at different replicas. They meet through the assay_pairs bucket (see
// join.go): each arrival records where its generation is, looks for its
// partner, and whoever completes the pair claims it with an atomic create,
// so a pair is judged once however many replicas run.
//
// A pair that cannot be judged still gets its Judgment, with Error and a
// short Cause by which the report counts it: a generation's failure
// (GenerationFailed; the judge is never asked), a judge whose endpoint
// failed its preflight (see preflight.go; never asked either), or the
// judge's own failure.
package judge

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/judge/verdict"
	"github.com/nats-io/nats.go/jetstream"
)

// Config tunes the stage.
type Config struct {
	// Client replaces the LLM client (tests); it is used as built, without
	// the stage's ledger. Nil builds a ledger (see [llm.Ledger]) over
	// Cache: every verdict and final failure is stored before its judgment
	// is published, so a redelivered pair is never paid twice.
	Client *llm.Client
	// Cache is where the ledger keeps answers and failures; nil is the
	// bus's assay_llm_cache.
	Cache llm.Cache
	// SkipPreflight calls a judge's endpoint without checking it first
	// (see preflight.go), for tests that count every call: the stage
	// always checks when it runs in a service.
	SkipPreflight bool
	// Ahead is how many generations a judge's consumer hands out beyond
	// its concurrency, waiting in the stage for a free endpoint slot (see
	// stage.HandedOut): a pair's two calls and its join's round trips then
	// overlap other pairs' calls. One judge process calls an endpoint at
	// most concurrency at a time; 0 is ⌈concurrency/8⌉, negative none.
	Ahead int
}

// Service is the judge stage.
type Service struct {
	cfg     Config
	bus     *bus.Bus
	logger  *slog.Logger
	metrics *obs.Stage
	client  *llm.Client
	// chat is the ledger's Chat, or the client's when the stage was given
	// a client.
	chat llm.ChatFunc

	preflights *llm.PreflightCache
	// latest knows where each judge's latest judgments are, so that a
	// retry request is taken only for a judgment that failed.
	latest   sync.Map // judgments subject -> *bus.Latest
	released *bus.ReleaseMetrics
	// storedIdx indexes generations whose records were released, while
	// late arrivals need them (see stored.go).
	storedIdx sync.Map // subject -> *storedIndex
	// judged finds the judgments of pairs judged before, by pair key
	// (see judged.go).
	judged judgedIndex
	// judgedWarned is when a failed lookup was last logged (Unix ns), and
	// repeatWarned when a repeat that could not be made was.
	judgedWarned atomic.Int64
	repeatWarned atomic.Int64
	// legacyRuns says of each run whether it holds records kept before
	// sample groups (see [Service.legacy]).
	legacyRuns sync.Map // run -> legacyCheck
	// now is the clock (tests move it).
	now func() time.Time
}

// New returns the stage.
func New(cfg Config, env *stage.Env) *Service {
	logger := env.Logger.With("stage", bus.StageJudge)
	s := &Service{cfg: cfg, bus: env.Bus, logger: logger, metrics: env.StageMetrics(bus.StageJudge), now: time.Now}
	cache := cfg.Cache
	if cache == nil && cfg.Client == nil {
		cache = env.Bus.LLMCache()
	}
	s.client, s.chat = llm.StageClient(cfg.Client, cache, llm.WithLogger(logger), llm.WithEndpoints(env.Endpoints),
		llm.WithObserver(obs.NewEndpoints(env.Registry, bus.StageJudge, "judge")))
	s.preflights = &llm.PreflightCache{Client: s.client, Options: llm.PreflightOptions{Getenv: os.Getenv}}
	s.released = bus.NewReleaseMetrics(env.Registry, bus.StageJudge)
	return s
}

// Run follows the runs in assay_runs and judges their pairs until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	rc := s.bus.NewRunConsumers(bus.StreamGens, bus.StageJudge, s.logger, func(runs *bus.Runs, spec *eval.RunSpec) []bus.Member {
		if len(spec.Variants) < 2 {
			return nil // nothing to compare
		}
		var ms []bus.Member
		for _, j := range spec.Judges {
			ms = append(ms, bus.Member{
				Config: jetstream.ConsumerConfig{
					Durable:       bus.JudgeConsumer(spec.Run, j.Name),
					FilterSubject: bus.RunGens(spec.Run),
					DeliverPolicy: jetstream.DeliverAllPolicy,
					MaxAckPending: stage.HandedOut(j.Concurrency, s.cfg.Ahead),
					Metadata:      map[string]string{"stage": bus.StageJudge, "run": spec.Run, "judge": j.Name},
				},
				Handler: func(ctx context.Context, m *bus.Msg) error {
					return s.handleMsg(ctx, runs, spec.Run, j.Name, m)
				},
				Options: bus.ConsumeOptions{Stage: bus.StageJudge, Workers: stage.HandedOut(j.Concurrency, s.cfg.Ahead), Logger: s.logger, Observer: s.metrics,
					Release: true, ReleaseObserver: s.released,
					Keys: func(m *bus.Msg) bus.Keys {
						k := bus.GenerationKeys(m)
						k.Judge = j.Name
						return k
					}},
				Log: []any{"run", spec.Run, "judge", j.Name, "judge_id", j.ID(), "model", j.Model},
			})
		}
		return ms
	})
	retries := s.bus.NewRunConsumers(bus.StreamEvents, bus.StageJudgeRetry, s.logger, s.retryMembers)
	go s.dropIdleStored(ctx)
	errs := make(chan error, 1)
	go func() { errs <- retries.Run(ctx) }()
	err := rc.Run(ctx)
	if rerr := <-errs; err == nil {
		err = rerr
	}
	return err
}

func (s *Service) handleMsg(ctx context.Context, runs *bus.Runs, run, judgeName string, m *bus.Msg) error {
	var g eval.Generation
	if err := json.Unmarshal(m.Payload, &g); err != nil {
		return bus.Poisonf(bus.Keys{Run: run, Judge: judgeName}, "generation does not decode: %v", err)
	}
	keys := bus.Keys{Run: run, Suite: g.Sample.Suite, Sample: g.Sample.ID, Variant: g.Variant, Judge: judgeName}
	spec, err := runs.Spec(ctx, run)
	if err != nil {
		return bus.PoisonIfNotFound(err, keys)
	}
	if _, ok := spec.Variant(g.Variant); !ok {
		// The watch may lag behind a spec that just gained a variant.
		if spec, err = s.bus.Spec(ctx, run); err != nil {
			return bus.PoisonIfNotFound(err, keys)
		}
		if _, ok := spec.Variant(g.Variant); !ok {
			return bus.Poisonf(keys, "variant %q is not in run %q", g.Variant, run)
		}
	}
	j, ok := spec.Judge(judgeName)
	if !ok {
		return bus.Poisonf(keys, "judge %q is no longer in run %q", judgeName, run)
	}
	pairs, err := s.arrive(ctx, spec, j, &g, m.Seq())
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if err := s.judgePair(ctx, spec, j, p, &g, 0); err != nil {
			return err
		}
	}
	return nil
}

// pair is a candidate/baseline pair ready to judge: where both generations
// are in ASSAY_GENS. For a pair of the compare list, baseline is its second
// variant.
type pair struct {
	candidate   string
	baseline    string
	sample      eval.SampleRef
	candSeq     uint64
	baselineSeq uint64
}

// judgePair judges p as attempt judgeRetry of assay retry (0: the run's
// own); arrived, when not nil, is the generation whose arrival completed
// it, so only its partner is read from the stream.
func (s *Service) judgePair(ctx context.Context, spec *eval.RunSpec, j eval.Judge, p pair, arrived *eval.Generation, judgeRetry int) error {
	load := func(seq uint64) (*eval.Generation, error) {
		if arrived != nil && (arrived.Variant == p.baseline && seq == p.baselineSeq || arrived.Variant == p.candidate && seq == p.candSeq) {
			return arrived, nil
		}
		data, err := s.bus.GetMsg(ctx, bus.StreamGens, seq)
		if err != nil {
			return nil, err
		}
		var g eval.Generation
		if err := json.Unmarshal(data, &g); err != nil {
			return nil, fmt.Errorf("generation at %d does not decode: %w", seq, err)
		}
		return &g, nil
	}
	cand, err := load(p.candSeq)
	if err != nil {
		return err
	}
	base, err := load(p.baselineSeq)
	if err != nil {
		return err
	}
	data, err := s.bus.GetMsg(ctx, bus.StreamSamples, p.sample.Seq)
	if err != nil {
		return err
	}
	var sample eval.Sample
	if err := json.Unmarshal(data, &sample); err != nil {
		return bus.Poisonf(bus.Keys{Run: spec.Run, Suite: p.sample.Suite, Sample: p.sample.ID, Variant: spec.PairName(p.candidate, p.baseline), Judge: j.Name}, "sample does not decode: %v", err)
	}
	jd, key, err := s.handle(ctx, spec, j, &sample, cand, base)
	if err != nil {
		return err
	}
	jd.CandidateRetry, jd.BaselineRetry, jd.JudgeRetry = cand.Retry, base.Retry, judgeRetry
	if err := s.publish(ctx, spec, j, p, jd, key); err != nil {
		return err
	}
	// Repeats measure the judge on the baseline's pairs; a compare pair
	// is not asked again.
	if jd.Error != "" || p.sample.Perturbation != nil || p.baseline != spec.Baseline || !j.Repeats(spec.Run, p.sample.Suite, p.sample.ID, p.candidate) {
		return nil
	}
	// Repeats are a measure of the judge: one that cannot be made is
	// left out (stability counts what was published), and never fails
	// the message whose verdict is published already.
	if err := s.repeat(ctx, spec, j, p, &sample, cand, base, jd); err != nil && ctx.Err() == nil {
		if now, last := time.Now().UnixNano(), s.repeatWarned.Load(); now-last > int64(time.Minute) && s.repeatWarned.CompareAndSwap(last, now) {
			s.logger.Warn("asking the judge again failed: the pair's repeats are left out of its stability", "run", spec.Run, "judge", j.Name, "err", err)
		}
	}
	return nil
}

// RepeatSuffix ends the subject of a judge's repeats: the judge's own
// subject is its verdicts'.
const RepeatSuffix = ".repeat"

// StageRepeat heads the message ids of a judge's repeats.
const StageRepeat = "judge-repeat"

// repeat asks the judge about pair p again, j.Repeat times, each under a
// cache scope of its own (so that the answer cached for the judgment is
// not read back, while a redelivery reads each repeat's), and publishes
// every repeat, failed ones included, on the judge's repeat subject.
func (s *Service) repeat(ctx context.Context, spec *eval.RunSpec, j eval.Judge, p pair, sample *eval.Sample, cand, base *eval.Generation, jd *eval.Judgment) error {
	of := make([]eval.Winner, len(jd.Rounds))
	for i, r := range jd.Rounds {
		of[i] = r.Winner
	}
	policy := llm.Policy(spec.Retry)
	reqs := pairRequests(j, sample, cand, base)
	for k := 1; k <= j.Repeat; k++ {
		// Its own stage in the id, k before the sample's: no repeat's id is
		// any judgment's, whatever the sample ids hold.
		id := bus.RetryMsgID(bus.MsgID(StageRepeat, spec.Run, jd.JudgeID, p.candidate, strconv.Itoa(k), p.sample.Suite, p.sample.ID), jd.CandidateRetry, jd.BaselineRetry, jd.JudgeRetry)
		scope := judgeScope(j.Hash()) + fmt.Sprintf("|repeat-%d", k)
		rj := &eval.Judgment{V: jd.V, Run: jd.Run, Sample: jd.Sample, Judge: jd.Judge, JudgeID: jd.JudgeID, Candidate: jd.Candidate,
			Baseline: jd.Baseline, Fingerprint: jd.Fingerprint, CandidateRetry: jd.CandidateRetry, BaselineRetry: jd.BaselineRetry,
			JudgeRetry: jd.JudgeRetry, Repeat: k, RepeatOf: of}
		var causes []string
		var err error
		if rj.Rounds, causes, err = s.askBoth(ctx, j, scope, policy, reqs); err != nil {
			return err
		}
		if rj.Error, rj.Cause = failedRound(rj.Rounds, causes); rj.Error == "" {
			rj.Winner, rj.Consistent = combine(rj.Rounds)
		}
		if _, err := s.bus.Publish(ctx, bus.JudgmentsSubject(spec.Run, j.Name)+RepeatSuffix, id, rj); err != nil {
			return err
		}
		for _, r := range reqs {
			bus.ReleaseOnAck(ctx, bus.KVEntry(bus.BucketLLMCache, llm.CacheKey(scope, r), 0))
		}
	}
	return nil
}

// judgeOrders are the two orders a pair is shown in; singleOrders the
// rounds of a judge in single mode, which grades each answer alone.
var (
	judgeOrders  = [2]string{eval.OrderCandidateFirst, eval.OrderBaselineFirst}
	singleOrders = [2]string{eval.OrderCandidateAlone, eval.OrderBaselineAlone}
)

// ordersOf are judge j's rounds of a pair.
func ordersOf(j eval.Judge) [2]string {
	if j.Single() {
		return singleOrders
	}
	return judgeOrders
}

// knownOrders reports whether two rounds are a judgment's, in order.
func knownOrders(first, second string) bool {
	o := [2]string{first, second}
	return o == judgeOrders || o == singleOrders
}

// pairRequests are the judge's requests about the pair of cand and base
// on sample, one per round of ordersOf(j).
func pairRequests(j eval.Judge, sample *eval.Sample, cand, base *eval.Generation) [2]llm.ChatRequest {
	if j.Single() {
		return [2]llm.ChatRequest{singleRequest(j, sample, cand), singleRequest(j, sample, base)}
	}
	var reqs [2]llm.ChatRequest
	for i, order := range judgeOrders {
		a, b := cand, base
		if order == eval.OrderBaselineFirst {
			a, b = b, a
		}
		reqs[i] = request(j, sample, a, b)
	}
	return reqs
}

// askBoth asks the judge reqs (one per order of judgeOrders) under scope,
// both at once: a round that failed says so in its Round, with its
// failure's class in causes; err is ctx's, or an outcome the ledger could
// not store.
func (s *Service) askBoth(ctx context.Context, j eval.Judge, scope string, policy llm.RetryPolicy, reqs [2]llm.ChatRequest) (rounds []eval.Round, causes []string, err error) {
	rounds, causes = make([]eval.Round, len(reqs)), make([]string, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, order := range ordersOf(j) {
		wg.Go(func() {
			rounds[i], causes[i], errs[i] = s.round(ctx, j, scope, policy, reqs[i], order)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return rounds, causes, nil
}

// failedRound is the error and cause of the first round that failed, or
// "" when both gave a verdict.
func failedRound(rounds []eval.Round, causes []string) (msg, cause string) {
	for i, r := range rounds {
		if r.Error != "" {
			return "judge failed (" + r.Order + "): " + r.Error, causes[i]
		}
	}
	return "", ""
}

// publish publishes judgment jd of pair p by j, with its pair key when
// both rounds succeeded (key is not nil).
func (s *Service) publish(ctx context.Context, spec *eval.RunSpec, j eval.Judge, p pair, jd *eval.Judgment, key *[16]byte) error {
	id := bus.RetryMsgID(judgmentID(spec, jd.JudgeID, p.candidate, p.baseline, p.sample), jd.CandidateRetry, jd.BaselineRetry, jd.JudgeRetry)
	var h map[string]string
	if key != nil {
		h = map[string]string{PairKeyHeader: hex.EncodeToString(key[:])}
	}
	_, err := s.bus.PublishWith(ctx, bus.JudgmentsSubject(spec.Run, j.Name), id, jd, h)
	return err
}

// judgmentID is the message id of the judgment of cand against base by
// the judge of judgeID on sample (before retries): a pair of the compare list
// names both variants in one field ([eval.RunSpec.PairName]), so no id of
// a baseline's pair is ever one of its ids.
func judgmentID(spec *eval.RunSpec, judgeID, cand, base string, sample eval.SampleRef) string {
	return bus.MsgID(bus.StageJudge, spec.Run, judgeID, spec.PairName(cand, base), sample.Suite, sample.ID)
}

// Handle judges candidate against baseline on sample, in both orders. A
// pair that could not be judged yields a Judgment with Error and Cause set:
// GenerationFailed when a generation failed (the judge is not asked), a
// preflight cause when the judge's endpoint is known to be unusable (the
// judge is not asked either), the judge's failure otherwise. Only a
// cancelled ctx returns an error, and a judge's outcome the ledger could
// not store ([llm.ErrNotStored], [llm.ErrCacheUnavailable]): the pair is
// then judged again later, from the stored outcome.
func (s *Service) Handle(ctx context.Context, spec *eval.RunSpec, j eval.Judge, sample *eval.Sample, cand, base *eval.Generation) (*eval.Judgment, error) {
	jd, _, err := s.handle(ctx, spec, j, sample, cand, base)
	return jd, err
}

// handle is [Service.Handle], with the pair key of a judgment whose two
// rounds succeeded (nil otherwise). A pair with the same two requests
// judged before (see judged.go) is not asked again: its rounds are that
// judgment's, marked cached.
func (s *Service) handle(ctx context.Context, spec *eval.RunSpec, j eval.Judge, sample *eval.Sample, cand, base *eval.Generation) (*eval.Judgment, *[16]byte, error) {
	hash := j.Hash()
	jd := &eval.Judgment{
		V: eval.Version, Run: spec.Run, Sample: cand.Sample, Judge: j.Name, JudgeID: j.Name + "@" + hash,
		Candidate: cand.Variant, Baseline: base.Variant, Fingerprint: cand.Fingerprint,
	}
	for _, side := range []struct {
		name string
		g    *eval.Generation
	}{{"candidate", cand}, {"baseline", base}} {
		if side.g.Error != "" {
			jd.Error = side.name + " generation failed: " + side.g.Error
			jd.Cause = side.name + ": " + cmp.Or(side.g.Cause, "generation failed")
			jd.GenerationFailed = true
			return jd, nil, nil
		}
	}
	reqs := pairRequests(j, sample, cand, base)
	scope := judgeScope(hash)
	key := pairKey(scope, reqs)
	if earlier, ok, err := s.judgmentOf(ctx, key, hash); err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		// The index could not be read: the judge is asked, as the
		// ledger would have been; said once a minute, not per pair.
		if now, last := time.Now().UnixNano(), s.judgedWarned.Load(); now-last > int64(time.Minute) && s.judgedWarned.CompareAndSwap(last, now) {
			s.logger.Warn("pairs judged before could not be looked up: asking the judge", "err", err)
		}
	} else if ok {
		// The judge's answers are read again, as answers from the cache
		// were: a verdict is what today's parser makes of them.
		jd.Rounds = make([]eval.Round, len(judgeOrders))
		for i, order := range ordersOf(j) {
			var cause string
			if jd.Rounds[i], cause = roundOf(order, earlier.Rounds[i].Raw, true); cause != "" {
				jd.Error = "judge failed (" + order + "): " + jd.Rounds[i].Error
				jd.Cause = cause
				return jd, nil, nil
			}
		}
		jd.Winner, jd.Consistent = combine(jd.Rounds)
		return jd, &key, nil
	}
	if problem, cause := s.preflight(ctx, spec.Run, j); problem != "" {
		jd.Error, jd.Cause = problem, cause
		return jd, nil, nil
	}
	rounds, causes, err := s.askBoth(ctx, j, scope, llm.Policy(spec.Retry), reqs)
	if err != nil {
		return nil, nil, err
	}
	jd.Rounds = rounds
	if jd.Error, jd.Cause = failedRound(rounds, causes); jd.Error != "" {
		// The rounds' responses stay in the LLM cache for its TTL:
		// assay retry asks only what failed.
		return jd, nil, nil
	}
	jd.Winner, jd.Consistent = combine(jd.Rounds)
	// Once the judgment is published and its message acked for good, the
	// judgment answers for the pair (by its key): the calls' cache
	// entries go.
	for _, r := range reqs {
		bus.ReleaseOnAck(ctx, bus.KVEntry(bus.BucketLLMCache, llm.CacheKey(scope, r), 0))
	}
	return jd, &key, nil
}

// judgeScope is the ledger's scope of a judge's calls: its hash, not its
// name, so that a judge replayed under another name asks what it asked.
func judgeScope(hash string) string { return "judge|" + hash }

// causeNoVerdict is the failure class of a judge's answer that holds no
// verdict.
const causeNoVerdict = "no verdict in the judge's answer"

// request is the judge request for one order: a shown as Assistant A, b as
// Assistant B.
func request(j eval.Judge, sample *eval.Sample, a, b *eval.Generation) llm.ChatRequest {
	req := llm.Build(j.Model, buildMessages(j, sample, a, b), j.Decoding, eval.Template{})
	if j.WantsResponseFormat() {
		req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: "verdict", Schema: verdictSchema(false, dimsFor(j, sample))}}
	}
	return req
}

// singleRequest is the single-mode request grading g alone.
func singleRequest(j eval.Judge, sample *eval.Sample, g *eval.Generation) llm.ChatRequest {
	req := llm.Build(j.Model, buildSingleMessages(j, sample, g), j.Decoding, eval.Template{})
	if j.WantsResponseFormat() {
		req.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: "grade", Schema: verdictSchema(true, dimsFor(j, sample))}}
	}
	return req
}

// round asks the judge req, about one order, and returns the round and,
// when it failed, the failure's class; an error only when the outcome
// could not be stored. Its responses are cached by content under the
// judge's scope.
func (s *Service) round(ctx context.Context, j eval.Judge, scope string, policy llm.RetryPolicy, req llm.ChatRequest, order string) (eval.Round, string, error) {
	r := eval.Round{Order: order}
	ep := s.endpoint(j)
	resp, err := s.chat(ctx, ep, req, policy, scope)
	if errors.Is(err, llm.ErrNotStored) || errors.Is(err, llm.ErrCacheUnavailable) {
		return r, "", err
	}
	if err != nil {
		r.Error = err.Error()
		r.Parse = "failed"
		return r, llm.RecordedCause(err), nil
	}
	r, cause := roundOf(order, resp.Output, resp.Cached)
	return r, cause, nil
}

// roundOf reads the judge's answer raw to one order as a round, with the
// failure's class when it holds no verdict.
func roundOf(order, raw string, cached bool) (eval.Round, string) {
	r := eval.Round{Order: order, Raw: raw, Cached: cached}
	if side, alone := aloneSide(order); alone {
		g, err := verdict.ParseGrade(raw)
		if err != nil {
			r.Error = err.Error()
			r.Parse = "failed"
			return r, causeNoVerdict
		}
		r.Parse, r.Reason, r.Rating = g.Parse, g.Reason, g.Rating
		if g.Fix != "" {
			r.Fix = map[string]string{side: g.Fix}
		}
		if g.Scores != nil {
			r.Scores = map[string]map[string]float64{side: g.Scores}
		}
		if g.OffTopic != nil {
			r.OffTopic = map[string]bool{side: *g.OffTopic}
		}
		if g.Refusal != nil {
			r.Refusal = map[string]bool{side: *g.Refusal}
		}
		return r, ""
	}
	v, err := verdict.Parse(raw)
	if err != nil {
		r.Error = err.Error()
		r.Parse = "failed"
		return r, causeNoVerdict
	}
	r.Parse, r.Reason = v.Parse, v.Reason
	r.Winner = verdict.ForCandidate(v.Winner, order)
	cand, base := "A", "B"
	if order == eval.OrderBaselineFirst {
		cand, base = "B", "A"
	}
	if v.Scores != nil {
		r.Scores = map[string]map[string]float64{"candidate": v.Scores[cand], "baseline": v.Scores[base]}
	}
	r.OffTopic = bySide(v.OffTopic, cand, base)
	r.Refusal = bySide(v.Refusal, cand, base)
	r.Fix = bySide(v.Fix, cand, base)
	return r, ""
}

// bySide keys a judge's reading of answers A and B by the side each was.
func bySide[T any](m map[string]T, cand, base string) map[string]T {
	var out map[string]T
	for side, shown := range map[string]string{"candidate": cand, "baseline": base} {
		if b, ok := m[shown]; ok {
			if out == nil {
				out = map[string]T{}
			}
			out[side] = b
		}
	}
	return out
}

// aloneSide is the side a single-mode round grades.
func aloneSide(order string) (string, bool) {
	switch order {
	case eval.OrderCandidateAlone:
		return "candidate", true
	case eval.OrderBaselineAlone:
		return "baseline", true
	}
	return "", false
}

// combine is a judgment's verdict from its two rounds: the orders'
// verdicts combined ([verdict.Combine]), or in single mode the higher
// rating, which no order can make inconsistent.
func combine(rounds []eval.Round) (eval.Winner, bool) {
	if _, alone := aloneSide(rounds[0].Order); alone {
		return verdict.Compare(rounds[0].Rating, rounds[1].Rating), true
	}
	return verdict.Combine(rounds[0].Winner, rounds[1].Winner)
}
