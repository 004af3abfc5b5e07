package score

import (
	"context"
	"encoding/json"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/score/metric"
	"github.com/nats-io/nats.go/jetstream"
)

// abMembers are the consumers of a continuous run's live experiments'
// events: each served answer a turn carries is read by the refusal
// detector, measured, checked as JSON when the product asked for JSON and
// against the experiment's format checks when it declares any, and the
// readings stored beside it as an event of kind score, which the report
// folds into the arms' refusal, length, json_valid and format rates.
func (s *Service) abMembers(_ *bus.Runs, spec *eval.RunSpec) []bus.Member {
	if spec.Continuous == nil {
		return nil
	}
	var ms []bus.Member
	for _, e := range spec.AB {
		run, name, format := spec.Run, e.Name, e.Format
		ms = append(ms, bus.Member{
			Config: jetstream.ConsumerConfig{
				Durable:       bus.ScoreABConsumer(run, name),
				FilterSubject: bus.ABStoredSubject(run, name),
				DeliverPolicy: jetstream.DeliverAllPolicy,
				MaxAckPending: s.cfg.Workers * 4,
				Metadata:      map[string]string{"stage": bus.StageScore, "run": run, "experiment": name},
			},
			Handler: func(ctx context.Context, m *bus.Msg) error { return s.scoreServed(ctx, run, name, format, m) },
			Options: bus.ConsumeOptions{Stage: bus.StageScore, Workers: s.cfg.Workers, Logger: s.logger, Observer: s.metrics,
				Keys: func(*bus.Msg) bus.Keys { return bus.Keys{Run: run} }},
			Log: []any{"run", run, "experiment", name},
		})
	}
	return ms
}

// scoreServed reads one stored event of a live experiment: a turn with an
// answer gets its score event (checked against format, when the
// experiment declares checks); anything else (exposures, outcomes, the
// scores themselves) is passed over.
func (s *Service) scoreServed(ctx context.Context, run, experiment string, format *eval.FormatChecks, m *bus.Msg) error {
	var ev ab.Event
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		return bus.Poisonf(bus.Keys{Run: run}, "live experiment %s's event does not decode: %v", experiment, err)
	}
	if ev.Kind != ab.KindTurn || ev.Answer == "" {
		return nil
	}
	refused := metric.IsRefusalTo(ev.Query, ev.Answer)
	chars := int64(metric.AnswerChars(ev.Answer))
	sc := ab.Event{ID: "score-" + ev.ID, Kind: ab.KindScore, Unit: ev.Unit, Conversation: ev.Conversation, At: ev.At, Refused: &refused, Chars: &chars}
	if ev.JSONExpected {
		_, ok := metric.ExtractJSON(ev.Answer)
		sc.JSONValid = &ok
	}
	if format != nil {
		f, tokens := *format, 0
		if ev.CompletionTokens != nil {
			tokens = int(*ev.CompletionTokens)
		} else {
			// A turn that does not say its tokens is not held to token
			// bounds it cannot be measured against.
			f.MinTokens, f.MaxTokens = 0, 0
		}
		ok := s.scorer.CheckFormat(&f, ev.Answer, tokens) == ""
		sc.FormatOK = &ok
	}
	// Returning acks the turn, so only once its score is stored; the id
	// stores a redelivered turn's score once.
	_, err := s.bus.PublishAsync(ctx, bus.ABStoredSubject(run, experiment), bus.MsgID("ab", run, experiment, sc.Unit, sc.Conversation, sc.ID), sc)
	return err
}
