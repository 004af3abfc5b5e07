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
// consumers its stage needs, consuming each until the run completes.
// Replicas of a stage share the consumers. A complete run's consumers stay
// on the server, idle: when the run is reopened (a checkpoint adds a
// variant, a replay adds a judge) they resume where they stopped, so nothing
// already done is done again. A member that leaves the list (the run was
// re-scored) is deleted.
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
	byRun  map[string]map[string]bool // run -> consumer names started
	wg     sync.WaitGroup
}

// NewRunConsumers returns the keeper of stage's consumers on stream.
func (b *Bus) NewRunConsumers(stream, stage string, logger *slog.Logger, members func(*Runs, *eval.RunSpec) []Member) *RunConsumers {
	return &RunConsumers{b: b, stream: stream, stage: stage, logger: logger, members: members,
		active: map[string]context.CancelFunc{}, byRun: map[string]map[string]bool{}}
}

// resync is how often every known run is reconciled again, so that a
// consumer that failed to start or stopped (a node failing over) is
// started again within seconds; a reconciliation of a running member
// costs no request.
const resync = 5 * time.Second

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
	listed := map[string]bool{}
	for _, m := range rc.members(rc.runs, u.Spec) {
		name := m.Config.Durable
		listed[name] = true
		rc.mu.Lock()
		stop, running := rc.active[name]
		rc.mu.Unlock()
		switch {
		case complete && running:
			stop()
		case !complete && !running:
			if err := rc.start(ctx, u.Run, m); err != nil {
				rc.logger.Error("starting consumer failed; will retry", "consumer", name, "err", err)
			}
		}
	}
	rc.mu.Lock()
	var gone []string
	for name := range rc.byRun[u.Run] {
		if !listed[name] {
			gone = append(gone, name)
			if stop, ok := rc.active[name]; ok {
				stop()
			}
			delete(rc.byRun[u.Run], name)
		}
	}
	rc.mu.Unlock()
	for _, name := range gone {
		rc.delete(ctx, name)
	}
}

func (rc *RunConsumers) start(ctx context.Context, run string, m Member) error {
	name := m.Config.Durable
	cons, err := rc.b.EnsureConsumer(ctx, rc.stream, m.Config)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	rc.mu.Lock()
	rc.active[name] = cancel
	if rc.byRun[run] == nil {
		rc.byRun[run] = map[string]bool{}
	}
	rc.byRun[run][name] = true
	rc.mu.Unlock()
	rc.logger.Info("consuming", append([]any{"consumer", name}, m.Log...)...)
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
			rc.logger.Error("consumer stopped", "consumer", name, "err", err)
		}
	}()
	return nil
}

func (rc *RunConsumers) delete(ctx context.Context, name string) {
	err := rc.b.Stream(rc.stream).DeleteConsumer(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		rc.logger.Warn("deleting consumer failed", "consumer", name, "err", err)
	}
}

// removeOrphans deletes this stage's consumers that no run needs any more:
// their run is gone, or it was re-scored while this stage was down.
func (rc *RunConsumers) removeOrphans(ctx context.Context, runs *Runs) {
	needed := map[string]bool{}
	for _, u := range runs.All() {
		for _, m := range rc.members(runs, u.Spec) {
			needed[m.Config.Durable] = true
		}
	}
	prefix := rc.stage + sep
	names := rc.b.Stream(rc.stream).ConsumerNames(ctx)
	for name := range names.Name() {
		if strings.HasPrefix(name, prefix) && !needed[name] {
			rc.delete(ctx, name)
		}
	}
	if err := names.Err(); err != nil {
		rc.logger.Warn("listing consumers failed", "err", err)
	}
}
