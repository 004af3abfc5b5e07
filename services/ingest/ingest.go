// Package ingest is assay's ingest stage: when a run is created it reads the
// run's suites (package dataset), removes duplicates, and publishes one
// Sample per item; then it records what it found, which tells the report how
// many samples to expect.
package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Config tunes the stage.
type Config struct {
	// Workers is how many runs are ingested at once (default 2).
	Workers int
	// IntakeAddr, when set, is where production queries may also be POSTed
	// (they are always taken as NATS requests on assay.intake.<source>).
	IntakeAddr string
	// Intake secures and limits the intake (see [IntakeConfig]).
	Intake IntakeConfig
}

// Service is the ingest stage.
type Service struct {
	cfg     Config
	bus     *bus.Bus
	logger  *slog.Logger
	metrics *obs.Stage
	// intake counts stored queries; queries counts a continuous run's
	// queries by what became of them.
	intake     prometheus.Counter
	queries    *prometheus.CounterVec
	intakeAddr atomic.Value
	// intakeCfg is cfg.Intake with its defaults; limiter is its rate
	// limit per source and intakeRefused counts what it refused.
	intakeCfg     IntakeConfig
	limiter       *rateLimiter
	abLimiter     *rateLimiter
	intakeRefused *prometheus.CounterVec
	// abRuns are the runs whose specs declare live experiments, once read.
	abRuns atomic.Pointer[bus.Runs]
	// openDataset and newBatch are the bus's, replaced by tests that
	// make them fail.
	openDataset func(ctx context.Context, object string) (io.ReadCloser, error)
	newBatch    func(ctx context.Context) batch
	// endpoints is the policy runs are admitted under (see admit.go).
	endpoints *llm.Endpoints
}

// New returns the stage.
func New(cfg Config, env *stage.Env) *Service {
	if cfg.Workers < 1 {
		cfg.Workers = 2
	}
	s := &Service{cfg: cfg, bus: env.Bus, logger: env.Logger.With("stage", bus.StageIngest), metrics: env.StageMetrics(bus.StageIngest),
		intake: prometheus.NewCounter(prometheus.CounterOpts{Name: "assay_ingest_intake_queries_total", Help: "Production queries stored, redacted."}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "assay_ingest_continuous_queries_total",
			Help: "A continuous run's queries by outcome: sampled, sampled_out, duplicate (within its window)."}, []string{"run", "outcome"}),
	}
	env.Registry.MustRegister(s.intake, s.queries)
	s.intakeCfg = cfg.Intake.withDefaults()
	s.limiter = newRateLimiter(s.intakeCfg.Rate, s.intakeCfg.Burst)
	s.abLimiter = newRateLimiter(s.intakeCfg.ABRate, s.intakeCfg.ABBurst)
	s.intakeRefused = newIntakeRefused(env.Registry)
	s.endpoints = env.Endpoints
	s.openDataset = s.bus.OpenDataset
	s.newBatch = func(ctx context.Context) batch { return s.bus.NewBatch(ctx) }
	return s
}

// maxProblems bounds the malformed lines listed per suite; all are counted.
const maxProblems = 50

// maxFileProblems bounds the malformed lines listed per file, for the
// terminal's line per file; all are counted.
const maxFileProblems = 3

// Run ingests runs as they are created, and adds the checkpoints announced
// to their runs, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	runs, err := s.bus.EnsureConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{
		Durable:       bus.IngestConsumer,
		FilterSubject: bus.AllRunEvents(bus.EventCreated),
		MaxAckPending: s.cfg.Workers,
		MaxDeliver:    5,
	})
	if err != nil {
		return err
	}
	checkpoints, err := s.bus.EnsureConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{
		Durable:       bus.CheckpointConsumer,
		FilterSubject: bus.CheckpointSubject,
		MaxAckPending: s.cfg.Workers,
		MaxDeliver:    5,
	})
	if err != nil {
		return err
	}
	opts := bus.ConsumeOptions{Stage: bus.StageIngest, Workers: s.cfg.Workers, Logger: s.logger, Observer: s.metrics, Keys: bus.RunEventKeys}
	// A rejected checkpoint is dead-lettered under a stage of its own: it
	// is a warning in its run's report, not a failed ingest of the run.
	cpOpts := opts
	cpOpts.Stage = bus.StageCheckpoint
	// Its backlog is ingest's all the same.
	defer s.bus.TrackLag(bus.StageIngest, bus.StreamEvents, bus.CheckpointConsumer, checkpoints)()
	// The parts run together; the first to fail stops the others.
	// What they return once ctx ends is how they stopped, not a failure.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.bus.Consume(gctx, runs, s.handleMsg, opts) })
	g.Go(func() error { return s.bus.Consume(gctx, checkpoints, s.handleCheckpoint, cpOpts) })
	g.Go(func() error { return s.serveIntake(gctx, s.cfg.IntakeAddr) })
	g.Go(func() error { return s.continuous(gctx) })
	if err := g.Wait(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// handleCheckpoint adds an announced checkpoint to its run as a variant.
// The same announcement twice adds it once; a bad one is dead-lettered
// with what is wrong.
func (s *Service) handleCheckpoint(ctx context.Context, m *bus.Msg) error {
	var ev eval.CheckpointEvent
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		return bus.Poisonf(bus.Keys{}, "checkpoint announcement does not decode: %v", err)
	}
	keys := bus.Keys{Run: ev.Run, Variant: ev.Variant}
	v, err := ev.NewVariant()
	if err != nil {
		return bus.Poisonf(keys, "checkpoint announcement: %v", err)
	}
	if err := s.admitVariant(ctx, v); err != nil {
		return bus.Poisonf(keys, "checkpoint announcement refused: %v", err)
	}
	at := ev.At
	if at.IsZero() {
		at = m.Meta.Timestamp
	}
	added, err := s.bus.AddVariant(ctx, ev.Run, v, ev.Step, at)
	switch {
	case errors.Is(err, bus.ErrConflict), errors.Is(err, bus.ErrNotFound):
		return bus.Poison(err, keys)
	case err != nil:
		return err
	case added:
		s.logger.Info("checkpoint added", "run", ev.Run, "variant", v.Name, "model", v.Model, "step", ev.Step)
	}
	return nil
}

func (s *Service) handleMsg(ctx context.Context, m *bus.Msg) error {
	var ev eval.RunEvent
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		return bus.Poisonf(bus.Keys{}, "run event does not decode: %v", err)
	}
	keys := bus.Keys{Run: ev.Run}
	spec, err := s.bus.Spec(ctx, ev.Run)
	if err != nil {
		return bus.PoisonIfNotFound(err, keys)
	}
	if st, err := s.bus.Ingest(ctx, ev.Run); err == nil && st.Done {
		return nil // already ingested: a redelivered or repeated event
	}
	if err := s.admitSpec(ctx, spec); err != nil {
		return bus.Poisonf(keys, "run refused: %v", err)
	}
	st, err := s.Ingest(ctx, spec)
	if err != nil {
		return failure(m, ev.Run, err)
	}
	if err := s.bus.PutIngest(ctx, st); err != nil {
		return err
	}
	done := eval.RunEvent{V: eval.Version, Run: spec.Run, Fingerprint: spec.Fingerprint(), At: st.At}
	if _, err := s.bus.Publish(ctx, bus.RunEvent(spec.Run, bus.EventIngested), bus.MsgID(bus.EventIngested, spec.Run), done); err != nil {
		return err
	}
	s.logger.Info("run ingested", "run", spec.Run, "samples", st.Samples)
	return nil
}

// suiteError is a failure to ingest one suite.
type suiteError struct {
	suite string
	err   error
}

func (e *suiteError) Error() string { return "suite " + e.suite + ": " + e.err.Error() }
func (e *suiteError) Unwrap() error { return e.err }

// failure is what becomes of a run's failed ingest: tried again while it
// may pass, and, when it cannot (the suite's file cannot be read) or its
// deliveries are spent, a dead letter naming the run, the suite and the
// cause — the report's sign that the run could not be evaluated. Its
// ingest status is never written: a run whose suites were not read is not
// ingested.
func failure(m *bus.Msg, run string, err error) error {
	keys := bus.Keys{Run: run}
	var se *suiteError
	if errors.As(err, &se) {
		keys.Suite = se.suite
	}
	var p *bus.PoisonError
	switch {
	case errors.As(err, &p):
		// Poison from deeper down (a contamination check) may not know
		// the run.
		p.Keys.Run = cmp.Or(p.Keys.Run, keys.Run)
		p.Keys.Suite = cmp.Or(p.Keys.Suite, keys.Suite)
		return err
	case m.LastDelivery():
		return bus.Poisonf(keys, "gave up after %d deliveries: %v", m.Meta.NumDelivered, err)
	default:
		return err
	}
}

// Ingest reads every suite of spec and publishes its samples. With a
// contamination check, the samples are held until every suite is read and
// checked against the training data, then published with their findings.
// An Ingest tried again after a failure publishes only what the failed one
// did not (see [publisher]).
func (s *Service) Ingest(ctx context.Context, spec *eval.RunSpec) (*eval.IngestStatus, error) {
	st := &eval.IngestStatus{Run: spec.Run, Done: true, Suites: map[string]*eval.SuiteStatus{}}
	var files []string // the suites read from files, not production queries
	for _, su := range spec.Suites {
		if !su.Intake {
			files = append(files, su.Name)
		}
	}
	pub, err := newPublisher(ctx, s.bus, spec.Run, files, s.newBatch(ctx))
	if err != nil {
		return nil, err
	}
	if n, late := pub.resumed(); n > 0 || late > 0 {
		s.logger.Info("resuming ingest", "run", spec.Run, "published", n, "published_unrecorded", late)
	}
	// publish sends a sample and its robustness copies.
	publish := func(sm eval.Sample) error {
		ss := st.Suites[sm.Suite]
		if sm.Contamination != nil && sm.Contamination.Contaminated {
			ss.Contaminated++
		}
		su, _ := spec.Suite(sm.Suite)
		var copies []eval.Sample
		for _, kind := range su.Perturbations {
			if cp, ok := perturbed(sm, su, kind); ok {
				copies = append(copies, cp)
			}
		}
		ss.Perturbed += len(copies)
		ss.Samples += len(copies)
		if err := pub.publish(ctx, sm, copies); err != nil {
			return &suiteError{sm.Suite, err}
		}
		return nil
	}
	var held []eval.Sample
	for _, suite := range spec.Suites {
		if suite.Intake {
			continue // its samples are production queries, taken as they come
		}
		ss := &eval.SuiteStatus{}
		st.Suites[suite.Name] = ss
		emit := func(sm eval.Sample) error {
			if spec.Contamination != nil {
				held = append(held, sm)
				return nil
			}
			return publish(sm)
		}
		if err := s.readSuite(ctx, spec, suite, ss, emit); err != nil {
			return nil, err
		}
		if err := pub.save(ctx); err != nil {
			return nil, &suiteError{suite.Name, err}
		}
	}
	if spec.Contamination != nil {
		if err := s.checkContamination(ctx, spec.Contamination, held); err != nil {
			return nil, err
		}
		for _, sm := range held {
			if err := publish(sm); err != nil {
				return nil, err
			}
		}
		if err := pub.save(ctx); err != nil {
			return nil, err
		}
	}
	for _, ss := range st.Suites {
		st.Samples += ss.Samples
	}
	s.logger.Debug("samples published", "run", spec.Run, "sent", pub.sent, "already_published", pub.skipped)
	return st, nil
}

// readSuite reads one suite's files, drops its near-duplicates, counts
// what it finds in ss, and passes each sample kept to emit. A file that
// cannot be read fails the suite for good; a sample emit cannot publish
// fails it for this try.
func (s *Service) readSuite(ctx context.Context, spec *eval.RunSpec, suite eval.Suite, ss *eval.SuiteStatus, emit func(eval.Sample) error) error {
	keys := bus.Keys{Run: spec.Run, Suite: suite.Name}
	parts := suite.Parts
	if len(parts) == 0 {
		parts = []eval.DatasetPart{{Path: suite.Path, Object: suite.Object}}
	}
	if parts[0].Object == "" {
		return bus.Poison(&suiteError{suite.Name, errors.New("it has no uploaded dataset: submit runs with `assay run`")}, keys)
	}
	rd := dataset.NewReader(spec.Run, suite, suite.Path)
	near := newNearFilter(suite)
	defer func() {
		if err := near.close(); err != nil {
			s.logger.Warn("the near-duplicate check held the suite's texts in memory", "run", spec.Run, "suite", suite.Name, "err", err)
		}
	}()
	fp := spec.Fingerprint()
	var nearDropped []eval.DroppedDuplicate
	var emitErr error
	keep := func(sm eval.Sample) error {
		sm.Fingerprint = fp
		d, dup, err := near.check(sm)
		if err != nil {
			// Not the suite's fault: this try fails, and the next
			// reads it again.
			emitErr = &suiteError{suite.Name, fmt.Errorf("checking sample %s for near-duplicates: %w", sm.ID, err)}
			return emitErr
		}
		if dup {
			nearDropped = append(nearDropped, d)
			return nil
		}
		ss.Samples++
		if err := emit(sm); err != nil {
			emitErr = err
			return err
		}
		return nil
	}
	var problems []dataset.Problem
	for _, part := range parts {
		r, err := s.openDataset(ctx, part.Object)
		if err != nil {
			err = &suiteError{suite.Name, fmt.Errorf("reading %s: %w", part.Path, err)}
			if errors.Is(err, jetstream.ErrObjectNotFound) {
				return bus.Poison(fmt.Errorf("%w: it was not uploaded, or was removed since: submit the run again with `assay run`", err), keys)
			}
			return err
		}
		pr, err := rd.ReadFile(part.Path, r, keep)
		r.Close()
		switch {
		case err != nil && emitErr != nil:
			return emitErr
		case err != nil:
			// The file is a verified local copy: reading it again
			// would fail the same way.
			return bus.Poison(&suiteError{suite.Name, err}, keys)
		}
		problems = append(problems, pr.Problems...)
		ss.Dropped = pr.Duplicates // every exact duplicate so far
	}
	ss.Dropped = append(ss.Dropped, nearDropped...)
	ss.Duplicates, ss.Malformed = len(ss.Dropped), len(problems)
	for i, p := range problems {
		if i == maxProblems {
			break
		}
		ss.Problems = append(ss.Problems, p.Error())
	}
	ss.Files = malformedFiles(problems)
	for _, p := range problems {
		s.logger.Warn("malformed line skipped", "run", spec.Run, "suite", suite.Name, "problem", p.Error())
	}
	return nil
}

// malformedFiles groups problems by file, in the order the files were
// read: each file's count and its first maxFileProblems problems.
func malformedFiles(problems []dataset.Problem) []eval.MalformedFile {
	var files []eval.MalformedFile
	for _, p := range problems {
		if len(files) == 0 || files[len(files)-1].File != p.File {
			files = append(files, eval.MalformedFile{File: p.File, Problems: []string{}})
		}
		f := &files[len(files)-1]
		f.Malformed++
		if len(f.Problems) < maxFileProblems {
			f.Problems = append(f.Problems, p.Error())
		}
	}
	return files
}
