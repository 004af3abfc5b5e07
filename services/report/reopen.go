package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// errStillRunning delays a retry of a run that has not completed yet: its
// tracker already runs, and would not see the retry's requests.
var errStillRunning = errors.New("run still running: the retry reopens it once it completes")

// followRetries reopens a run when assay retry has stored the last request
// of a new attempt: the run goes back to running with Retry set, infer
// takes the requests, and a new tracker reads them before any result.
// Run statuses are the report stage's to write.
func (s *Service) followRetries(ctx context.Context) error {
	cons, err := s.bus.EnsureConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{
		Durable:       bus.ReportRetryConsumer,
		FilterSubject: bus.AllRetries,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
	})
	if err != nil {
		return fmt.Errorf("following retries: %w", err)
	}
	return s.bus.Consume(ctx, cons, s.reopen, bus.ConsumeOptions{Stage: bus.StageReport, Logger: s.logger, Observer: s.metrics})
}

func (s *Service) reopen(ctx context.Context, m *bus.Msg) error {
	var r eval.RetryRequest
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		return bus.Poisonf(bus.Keys{}, "retry request does not decode: %v", err)
	}
	if !r.Last {
		return nil
	}
	keys := bus.Keys{Run: r.Run, Suite: r.Sample.Suite, Sample: r.Sample.ID, Variant: r.Variant}
	if _, err := s.bus.Spec(ctx, r.Run); err != nil {
		return bus.PoisonIfNotFound(err, keys)
	}
	st, err := s.bus.Status(ctx, r.Run)
	if err != nil {
		return err
	}
	switch {
	case st.Retry >= r.Attempt || st.State == eval.StateError:
		return nil // reopened already, or nothing to retry in it
	case st.State == eval.StateRunning:
		return errStillRunning
	}
	s.logger.Info("run reopened for a retry", "run", r.Run, "attempt", r.Attempt)
	return s.bus.PutStatus(ctx, &eval.RunStatus{Run: r.Run, State: eval.StateRunning, Retry: r.Attempt})
}
