package bus

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// Member is one durable consumer a stage keeps for a run: infer has one per
// variant, judge one per judge.
type Member struct {
	Config  jetstream.ConsumerConfig
	Handler Handler
	Options ConsumeOptions
	// Log is what the start of the member is logged with.
	Log []any
}

// RunConsumers keeps, for every run that is not complete, the durable
// consumers its stage needs, consuming each until the run completes, then
// deletes them. Replicas of a stage share the consumers.
type RunConsumers struct {
	b      *Bus
	stream string
	stage  string
	logger *slog.Logger
	// members lists a run's consumers; runs is the watch their handlers
	// look specs up in.
	members func(runs *Runs, spec *eval.RunSpec) []Member
	runs    *Runs

	mu     sync.Mutex
	active map[string]context.CancelFunc
	wg     sync.WaitGroup
}

// NewRunConsumers returns the keeper of stage's consumers on stream.
func (b *Bus) NewRunConsumers(stream, stage string, logger *slog.Logger, members func(*Runs, *eval.RunSpec) []Member) *RunConsumers {
	return &RunConsumers{b: b, stream: stream, stage: stage, logger: logger, members: members, active: map[string]context.CancelFunc{}}
}

// resync is how often every known run is reconciled again, so that a
// consumer that failed to start or stopped is started again.
const resync = 30 * time.Second

// Run follows the runs until ctx ends.
func (rc *RunConsumers) Run(ctx context.Context) error {
	runs, updates, err := rc.b.WatchRuns(ctx)
	if err != nil {
		return err
	}
	rc.runs = runs
	defer rc.wg.Wait()
	rc.removeOrphans(ctx, runs)
	tick := time.NewTicker(resync)
	defer tick.Stop()
	for {
		select {
		case u, ok := <-updates:
			if !ok {
				return ctx.Err()
			}
			rc.reconcile(ctx, u)
		case <-tick.C:
			for _, u := range runs.All() {
				rc.reconcile(ctx, u)
			}
		}
	}
}

func (rc *RunConsumers) reconcile(ctx context.Context, u RunUpdate) {
	if u.Spec == nil {
		return
	}
	complete := u.Status != nil && u.Status.State == eval.StateComplete
	for _, m := range rc.members(rc.runs, u.Spec) {
		name := m.Config.Durable
		rc.mu.Lock()
		stop, running := rc.active[name]
		rc.mu.Unlock()
		switch {
		case complete && running:
			stop()
			rc.delete(ctx, name)
		case !complete && !running:
			if err := rc.start(ctx, m); err != nil {
				rc.logger.Error("starting consumer failed; will retry", "stage", rc.stage, "consumer", name, "err", err)
			}
		}
	}
}

func (rc *RunConsumers) start(ctx context.Context, m Member) error {
	name := m.Config.Durable
	cons, err := rc.b.EnsureConsumer(ctx, rc.stream, m.Config)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	rc.mu.Lock()
	rc.active[name] = cancel
	rc.mu.Unlock()
	rc.logger.Info("consuming", append([]any{"stage", rc.stage, "consumer", name}, m.Log...)...)
	rc.wg.Add(1)
	go func() {
		defer rc.wg.Done()
		defer func() {
			// A member that ended is started again by the next
			// reconciliation if its run still needs it.
			rc.mu.Lock()
			delete(rc.active, name)
			rc.mu.Unlock()
			cancel()
		}()
		if err := rc.b.Consume(cctx, cons, m.Handler, m.Options); err != nil {
			rc.logger.Error("consumer stopped", "stage", rc.stage, "consumer", name, "err", err)
		}
	}()
	return nil
}

func (rc *RunConsumers) delete(ctx context.Context, name string) {
	err := rc.b.Stream(rc.stream).DeleteConsumer(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		rc.logger.Warn("deleting consumer failed", "stage", rc.stage, "consumer", name, "err", err)
	}
}

// removeOrphans deletes this stage's consumers whose run is complete or
// gone: a process that was down when its runs completed left them behind.
func (rc *RunConsumers) removeOrphans(ctx context.Context, runs *Runs) {
	prefix := rc.stage + sep
	names := rc.b.Stream(rc.stream).ConsumerNames(ctx)
	for name := range names.Name() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		run, _, _ := strings.Cut(strings.TrimPrefix(name, prefix), sep)
		if runs.Complete(run) || !runs.Known(run) {
			rc.delete(ctx, name)
		}
	}
	if err := names.Err(); err != nil {
		rc.logger.Warn("listing consumers failed", "stage", rc.stage, "err", err)
	}
}
