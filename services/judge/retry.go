package judge

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/nats-io/nats.go/jetstream"
)

// retryMembers are the consumers of a run's judge retry requests, one per
// judge, once assay retry has asked for a run's failures again: runs never
// retried cost no consumer.
func (s *Service) retryMembers(runs *bus.Runs, spec *eval.RunSpec) []bus.Member {
	if st := runs.Status(spec.Run); st == nil || st.Retry == 0 || len(spec.Variants) < 2 {
		return nil
	}
	var ms []bus.Member
	for _, j := range spec.Judges {
		ms = append(ms, bus.Member{
			Config: jetstream.ConsumerConfig{
				Durable:       bus.JudgeRetryConsumer(spec.Run, j.Name),
				FilterSubject: bus.RetrySubject(spec.Run, bus.StageJudge, j.Name),
				DeliverPolicy: jetstream.DeliverAllPolicy,
				MaxAckPending: stage.HandedOut(j.Concurrency, s.cfg.Ahead),
				Metadata:      map[string]string{"stage": bus.StageJudge, "run": spec.Run, "judge": j.Name},
			},
			Handler: func(ctx context.Context, m *bus.Msg) error {
				return s.handleRetry(ctx, runs, spec.Run, j.Name, m)
			},
			Options: bus.ConsumeOptions{Stage: bus.StageJudge, Workers: stage.HandedOut(j.Concurrency, s.cfg.Ahead), Logger: s.logger, Observer: s.metrics},
			Log:     []any{"run", spec.Run, "judge", j.Name, "judge_id", j.ID(), "retries", true},
		})
	}
	return ms
}

// handleRetry judges again the pair a retry request names (a candidate
// and the baseline, or a compare pair), with both
// generations as they are recorded now, under [llm.Retrying]: the judge
// calls that failed are made again (answers already stored are used), and
// the judgment is published as the request's attempt.
func (s *Service) handleRetry(ctx context.Context, runs *bus.Runs, run, judgeName string, m *bus.Msg) error {
	var r eval.RetryRequest
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		return bus.Poisonf(bus.Keys{Run: run, Judge: judgeName}, "retry request does not decode: %v", err)
	}
	keys := bus.Keys{Run: run, Suite: r.Sample.Suite, Sample: r.Sample.ID, Variant: r.Variant, Judge: judgeName}
	if r.Run != run || r.Judge != judgeName {
		return bus.Poisonf(keys, "retry request names run %q, judge %q, attempt %d on the subject of %s/%s", r.Run, r.Judge, r.Attempt, run, judgeName)
	}
	spec, err := runs.Spec(ctx, run)
	if err != nil {
		return bus.PoisonIfNotFound(err, keys)
	}
	j, ok := spec.Judge(judgeName)
	if !ok {
		return bus.Poisonf(keys, "judge %q is no longer in run %q", judgeName, run)
	}
	base := cmp.Or(r.Baseline, spec.Baseline)
	if !slices.Contains(spec.JudgedPairs(), eval.Pair{A: r.Variant, B: base}) {
		if r.Baseline == "" {
			return bus.Poisonf(keys, "%q is not a candidate of run %q", r.Variant, run)
		}
		return bus.Poisonf(keys, "[%s, %s] is not a compare pair of run %q", r.Variant, r.Baseline, run)
	}
	subject := bus.JudgmentsSubject(run, judgeName)
	l, _ := s.latest.LoadOrStore(subject, s.bus.FollowLatest(bus.StreamJudgments, subject))
	id := judgmentID(spec, j.ID(), r.Variant, base, r.Sample)
	retry, err := l.(*bus.Latest).Retryable(ctx, run, id, &r, func(data []byte) (bool, error) {
		var jd eval.Judgment
		err := json.Unmarshal(data, &jd)
		// A pair whose generation failed is asked again through the
		// generation, not the judge.
		return jd.Error != "" && !jd.GenerationFailed, err
	})
	if !retry || err != nil {
		return err
	}
	p := pair{candidate: r.Variant, baseline: base, sample: r.Sample}
	var found [2]bool
	for i, v := range []string{r.Variant, base} {
		// Released once the pair was claimed: then in ASSAY_GENS.
		rec, ok, err := s.record(ctx, run, judgeName, r.Sample.Suite, r.Sample.ID, v)
		if err == nil && !ok {
			rec, ok, err = s.storedGen(ctx, run, v, r.Sample.Suite, r.Sample.ID)
		}
		if err != nil {
			return err
		}
		found[i] = ok
		if i == 0 {
			p.candSeq = rec.seq
		} else {
			p.baselineSeq = rec.seq
		}
	}
	if !found[0] || !found[1] {
		return bus.Poisonf(keys, "the pair of %s and %s on %s/%s has no recorded generations: nothing to judge again", r.Variant, base, r.Sample.Suite, r.Sample.ID)
	}
	return s.judgePair(llm.Retrying(ctx), spec, j, p, nil, r.Attempt)
}
