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
	if err := r.ValidAttempt(); err != nil {
		return bus.Poisonf(bus.Keys{Run: r.Run}, "retry request of run %s refused: %v", r.Run, err)
	}
	if _, whole, err := retryAttempts(ctx, s.bus, r.Run); err != nil {
		return err
	} else if r.Attempt > whole {
		return bus.Poisonf(bus.Keys{Run: r.Run}, "retry request of run %s refused: attempt %d does not follow the run's retries (the latest is %d)", r.Run, r.Attempt, whole)
	}
	switch {
	case st.Retry >= r.Attempt || st.State == eval.StateError:
		return nil // reopened already, or nothing to retry in it
	case st.State == eval.StateRunning:
		// Its tracker would not see the requests; it reopens the run
		// for them once it completes (see reopenPending), however long
		// that takes, so the request is not held here until it is
		// dead-lettered.
		s.logger.Info("retry waits for its run to complete", "run", r.Run, "attempt", r.Attempt)
		return nil
	}
	return s.reopenFor(ctx, r.Run, r.Attempt)
}

func (s *Service) reopenFor(ctx context.Context, run string, attempt int) error {
	s.logger.Info("run reopened for a retry", "run", run, "attempt", attempt)
	return s.bus.PutStatus(ctx, &eval.RunStatus{Run: run, State: eval.StateRunning, Retry: attempt})
}

// reopenPending reopens a run that has just completed when a retry was
// requested while it ran (a checkpoint or replay reopened it between
// assay retry's check and the retry's last request). It reads the
// requests after the completed status is stored, so a request stored
// later finds the run complete and reopens it itself.
func (s *Service) reopenPending(ctx context.Context, st *eval.RunStatus) error {
	if st.State != eval.StateComplete {
		return nil
	}
	_, last, err := retryAttempts(ctx, s.bus, st.Run)
	if err != nil {
		return err
	}
	if last <= st.Retry {
		return nil
	}
	return s.reopenFor(ctx, st.Run, last)
}

// followRefusedCheckpoints rewrites the stored report of a run that is
// over when ingest refuses a checkpoint announced for it: the run does
// not change, but its report warns why the checkpoint was not added. A
// running run's tracker reads the dead letter itself.
func (s *Service) followRefusedCheckpoints(ctx context.Context) error {
	cons, err := s.bus.EnsureConsumer(ctx, bus.StreamDLQ, jetstream.ConsumerConfig{
		Durable:       bus.ReportCheckpointConsumer,
		FilterSubject: bus.DLQSubject(bus.StageCheckpoint, "*"),
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
	})
	if err != nil {
		return fmt.Errorf("following refused checkpoints: %w", err)
	}
	return s.bus.Consume(ctx, cons, s.warnRefused, bus.ConsumeOptions{Stage: bus.StageReport, Logger: s.logger, Observer: s.metrics})
}

func (s *Service) warnRefused(ctx context.Context, m *bus.Msg) error {
	run := bus.SubjectToken(m.Subject(), 3)
	st, err := s.bus.Status(ctx, run)
	if errors.Is(err, bus.ErrNotFound) {
		return nil // a run that does not exist has no report to warn in
	}
	if err != nil {
		return err
	}
	if st.State == eval.StateRunning || st.Report == "" {
		return nil
	}
	c, err := Collect(ctx, s.bus, run)
	if errors.Is(err, bus.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Release()
	_, err = s.store(ctx, c)
	return err
}
