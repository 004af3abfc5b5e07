// Package report is assay's report stage. For every running run it follows
// the run's scores, judgments and dead letters, counts them against what the
// run expects (samples × variants scores, samples × judged pairs × judges
// judgments: see [eval.RunSpec.JudgedPairs]), keeps the run's progress in assay_runs, and when everything
// has arrived computes the report (package aggregate), stores it in the
// assay_reports object store as JSON, Markdown, HTML and Parquet, marks the
// run complete with its gate verdict and announces it.
package report

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/report/aggregate"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/nats-io/nats.go/jetstream"
)

// Config tunes the stage.
type Config struct {
	// Tick is how often progress is stored and completion checked
	// (default 250ms).
	Tick time.Duration
	// Publish is how often at most a continuous run's report is rewritten
	// (default 2s).
	Publish time.Duration
	// ParquetEvery is how often at most a continuous run's Parquet files
	// are rewritten (default 1m). They carry every result's texts, fetched
	// from the streams, so rewriting them as often as the report would
	// cost more with every result the run gathers; a run that completes
	// writes them once, on completion.
	ParquetEvery time.Duration
	// SpillDir is where a run's collector writes the results it keeps
	// beyond SpillBytes per table (default os.TempDir() and
	// aggregate.DefaultSpillBytes; negative keeps every result in memory;
	// see aggregate.WithSpill), in a directory of its own removed when the
	// run is no longer followed. A live experiment's analysis keeps the
	// units gone quiet in a file there too (see abtest.Spill), unless
	// SpillBytes is negative.
	SpillDir   string
	SpillBytes int64
	// Horizon is how many of a continuous run's latest windows the report
	// keeps every result of (default aggregate.DefaultHorizon; negative
	// keeps every window). Older windows are folded: their figures are
	// frozen, their results let go of, and their messages purged from the
	// run's streams (see aggregate.WithHorizon). A run whose spec sets
	// continuous.horizon keeps that many instead.
	Horizon int
	// FollowerStall is how long one of a run's followers (the ordered
	// consumers of its samples and results) may receive nothing while its
	// stream holds a message for it before the run is followed again
	// from the start (default DefaultFollowerStall).
	FollowerStall time.Duration
}

// Service is the report stage.
type Service struct {
	cfg      Config
	bus      *bus.Bus
	logger   *slog.Logger
	metrics  *obs.Stage
	windows  *windowGauges
	ab       *liveExperiments
	progress *progressGauges

	mu     sync.Mutex
	active map[string]context.CancelFunc
	wg     sync.WaitGroup
}

// New returns the stage.
func New(cfg Config, env *stage.Env) *Service {
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.Publish <= 0 {
		cfg.Publish = 2 * time.Second
	}
	if cfg.ParquetEvery <= 0 {
		cfg.ParquetEvery = time.Minute
	}
	if cfg.SpillBytes == 0 {
		cfg.SpillBytes = aggregate.DefaultSpillBytes
	}
	if cfg.FollowerStall <= 0 {
		cfg.FollowerStall = DefaultFollowerStall
	}
	switch {
	case cfg.Horizon == 0:
		cfg.Horizon = aggregate.DefaultHorizon
	case cfg.Horizon < 0:
		cfg.Horizon = 0
	}
	return &Service{cfg: cfg, bus: env.Bus, logger: env.Logger.With("stage", bus.StageReport),
		metrics: env.StageMetrics(bus.StageReport), windows: newWindowGauges(env.Registry), ab: newLiveExperiments(env.Registry),
		progress: newProgressGauges(env.Registry), active: map[string]context.CancelFunc{}}
}

// Run follows every run that is not complete until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	_, updates, err := s.bus.WatchRuns(ctx)
	if err != nil {
		return err
	}
	defer s.wg.Wait()
	s.keepFollowing(ctx, "retries", s.followRetries)
	s.keepFollowing(ctx, "refused checkpoints", s.followRefusedCheckpoints)
	for u := range updates {
		if u.Spec == nil {
			continue
		}
		complete := u.Status != nil && (u.Status.State == eval.StateComplete || u.Status.State == eval.StateError)
		s.mu.Lock()
		_, running := s.active[u.Run]
		if !complete && !running {
			tctx, cancel := context.WithCancel(ctx)
			s.active[u.Run] = cancel
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer cancel()
				// A failure is tried again: a run not tracked is never
				// reported. Its spec read from a replica still catching up
				// (a NATS node just restarted) may not be found yet.
				for pause := time.Second; ; pause = min(2*pause, time.Minute) {
					err := s.track(tctx, u.Run)
					if err == nil || tctx.Err() != nil {
						break
					}
					s.logger.Error("tracking run failed; trying again", "run", u.Run, "in", pause, "err", err)
					select {
					case <-tctx.Done():
					case <-time.After(pause):
					}
				}
				s.progress.done(u.Run)
				s.mu.Lock()
				delete(s.active, u.Run)
				s.mu.Unlock()
			}()
		}
		s.mu.Unlock()
	}
	return ctx.Err()
}

// keepFollowing runs follow until ctx ends, starting it again when it
// fails: a consumer that could not start (NATS failing over) would
// otherwise leave what it follows (a retry, a refused checkpoint) without
// effect.
func (s *Service) keepFollowing(ctx context.Context, what string, follow func(context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ctx.Err() == nil {
			if err := follow(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("following "+what+" failed; starting again", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
}

// errRescored ends a tracker whose run was re-scored: its collector's
// columns are the old metrics.
var errRescored = errors.New("run re-scored")

// track follows one run until it completes, starting over when the run is
// re-scored.
func (s *Service) track(ctx context.Context, run string) error {
	spec, err := s.bus.Spec(ctx, run)
	if err != nil {
		return err
	}
	// A continuous run's live experiments are followed beside its results,
	// each from its own stream of events, across re-scorings: following
	// them again would read all their events again. current is the spec as
	// the run's follower last saw it.
	var current atomic.Pointer[eval.RunSpec]
	current.Store(spec)
	if spec.Continuous != nil {
		actx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.followExperiments(actx, run, current.Load) }()
		defer func() { stop(); <-done }()
	}
	for stalls := 0; ; {
		err := s.follow(ctx, run, &current)
		if errors.Is(err, errFollowerStalled) {
			// A stall that does not clear is not followed again at once
			// and forever: the pause doubles, to 5 minutes.
			stalls++
			pause := min(time.Duration(1<<min(stalls-1, 8))*time.Second, 5*time.Minute)
			s.logger.Warn("a follower of the run stalled: following it again from the start", "run", run, "in", pause, "stalls", stalls, "err", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
			continue
		}
		if !errors.Is(err, errRescored) {
			return err
		}
	}
}

func (s *Service) follow(ctx context.Context, run string, current *atomic.Pointer[eval.RunSpec]) error {
	spec, err := s.bus.Spec(ctx, run)
	if err != nil {
		return err
	}
	current.Store(spec)
	// The run's latest retry attempt stays in its status (infer and judge
	// keep their retry consumers while it is set), even when another
	// change of the run reopened it without it.
	var retry int
	if st, err := s.bus.Status(ctx, run); err == nil {
		retry = st.Retry
	}
	c := aggregate.New(spec, aggregate.WithSpill(s.cfg.SpillDir, s.cfg.SpillBytes), aggregate.WithHorizon(s.cfg.Horizon))
	// mu guards the collector, which the consumers' callbacks feed. It is
	// released under mu, and a callback that takes mu after that leaves
	// it alone: a stopped ordered consumer's Closed does not wait for a
	// callback that one of its earlier consumers is still running (the race
	// detector caught one appending to a released builder).
	var mu sync.Mutex
	released := false
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		released = true
		c.Release()
	}()
	if err := resume(ctx, s.bus, c, run); err != nil {
		return err
	}
	// The consumers are stopped before the collector's memory is released.
	var following []jetstream.ConsumeContext
	defer func() {
		for _, cc := range following {
			cc.Stop()
			<-cc.Closed()
		}
	}()
	// Retry requests are stored before the run reopens, so all of them are
	// here now, and the collector needs them before any result.
	_, whole, err := retryAttempts(ctx, s.bus, run)
	if err != nil {
		return err
	}
	retry = max(retry, whole)
	src := retries(run, retry)
	if err := readAll(ctx, s.bus, src, func(m message) error { return addMsg(c, src, m) }); err != nil {
		return err
	}
	// Results count only for samples ingest published: anyone who can
	// publish on a subject can name a sample, and one that does not exist
	// must not count in progress or errors. Samples are followed as they
	// come (a result read before its sample waits for it).
	c.TrackSamples()
	samples, err := s.bus.JS.OrderedConsumer(ctx, bus.StreamSamples, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.RunSamples(run)}, HeadersOnly: true})
	if err != nil {
		return fmt.Errorf("following %s: %w", bus.StreamSamples, err)
	}
	defer s.bus.TrackLag(bus.StageReport, bus.StreamSamples, bus.ReportFollower(run), samples)()
	// Each follower is watched (see follower): one that stalls is made
	// again with the rest.
	followers := []*follower{newFollower(bus.StreamSamples, bus.RunSamples(run))}
	sf := followers[0]
	sc, err := samples.Consume(func(m jetstream.Msg) {
		sf.begin()
		if suite, id, ok := sampleID(run, m.Subject(), m.Headers().Get(jetstream.MsgIDHeader)); ok {
			mu.Lock()
			if !released {
				c.AddSample(suite, id)
			}
			mu.Unlock()
		}
		sf.end(streamSeq(m))
	})
	if err != nil {
		return fmt.Errorf("following %s: %w", bus.StreamSamples, err)
	}
	following = append(following, sc)
	for _, src := range sources(run) {
		cons, err := s.bus.JS.OrderedConsumer(ctx, src.stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{src.filter}})
		if err != nil {
			return fmt.Errorf("following %s: %w", src.stream, err)
		}
		defer s.bus.TrackLag(bus.StageReport, src.stream, bus.ReportFollower(run), cons)()
		f := newFollower(src.stream, src.filter)
		followers = append(followers, f)
		cc, err := cons.Consume(func(m jetstream.Msg) {
			f.begin()
			defer f.end(streamSeq(m))
			start := time.Now()
			s.metrics.Begin()
			// An ordered consumer does not redeliver: a payload that cannot
			// be fetched now is fetched again until it can, or the run
			// would never complete.
			var data []byte
			var err error
			for pause := 100 * time.Millisecond; ; pause = min(2*pause, 10*time.Second) {
				if data, err = s.bus.Payload(ctx, m.Data(), m.Headers()); err == nil || ctx.Err() != nil || bus.PayloadLost(err) {
					break
				}
				s.logger.Warn("reading result failed; retrying", "run", run, "stream", src.stream, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
			outcome := bus.OutcomeAborted
			if err == nil || bus.PayloadLost(err) {
				seq := streamSeq(m)
				mu.Lock()
				if !released {
					if src.stream == bus.StreamScores || src.stream == bus.StreamJudgments {
						// A purge of the run's results keeps what the windows
						// held need (see purgeFolded).
						c.FromMessage(seq)
					}
					_ = addMsg(c, src, message{subject: m.Subject(), data: data, seq: seq, lost: err, msgID: m.Headers().Get(jetstream.MsgIDHeader)})
					c.FromMessage(0)
				}
				mu.Unlock()
				outcome = bus.OutcomeAcked
			}
			s.metrics.End(time.Since(start), outcome)
		})
		if err != nil {
			return fmt.Errorf("following %s: %w", src.stream, err)
		}
		following = append(following, cc)
	}
	ingest, err := s.bus.Runs.Watch(ctx, bus.IngestKey(run))
	if err != nil {
		return fmt.Errorf("watching ingest of %s: %w", run, err)
	}
	defer ingest.Stop()
	specs, err := s.bus.Runs.Watch(ctx, bus.SpecKey(run), jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("watching spec of %s: %w", run, err)
	}
	defer specs.Stop()
	// abLooks is how many looks of the run's live experiments the stored
	// report holds.
	var abLooks int

	tick := time.NewTicker(s.cfg.Tick)
	defer tick.Stop()
	var last eval.RunStatus
	var published time.Time
	// parquetAt is when a continuous run's Parquet files were last
	// written, and parquetBehind says results were published since.
	var parquetAt time.Time
	var parquetBehind bool
	// stored is what the collector needed when its report was last
	// stored, folded counts the windows whose messages were purged, and
	// done how far each stream was.
	var stored aggregate.Needed
	var folded int
	done := purged{}
	// purgeAt is when a purge held short or failed is tried again.
	var purgeAt time.Time
	// The followers are looked at four times a stall.
	var watchedAt time.Time
	storedLast := lastStored(s.bus)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-ingest.Updates():
			if e == nil {
				continue
			}
			var st eval.IngestStatus
			if err := json.Unmarshal(e.Value(), &st); err == nil {
				mu.Lock()
				c.SetIngest(&st)
				mu.Unlock()
			}
		case e := <-specs.Updates():
			if e == nil {
				continue
			}
			var sp eval.RunSpec
			if err := json.Unmarshal(e.Value(), &sp); err == nil {
				if sp.Scoring() != c.Scoring() {
					return errRescored
				}
				mu.Lock()
				c.SetSpec(&sp)
				mu.Unlock()
				current.Store(&sp)
			}
		case <-tick.C:
			mu.Lock()
			p := c.Progress()
			complete := c.Over()
			mu.Unlock()
			s.progress.set(run, p)
			if !complete && time.Since(watchedAt) >= s.cfg.FollowerStall/4 {
				watchedAt = time.Now()
				for _, f := range followers {
					stalled, err := f.check(ctx, s.cfg.FollowerStall, storedLast)
					if err != nil {
						s.logger.Warn("checking a follower of the run failed", "run", run, "stream", f.stream, "err", err)
					}
					if stalled {
						return fmt.Errorf("%w: %s on %s received nothing for %v while the stream holds messages after %d for it",
							errFollowerStalled, f.stream, f.filter, s.cfg.FollowerStall, f.seq.Load())
					}
				}
			}
			if stored.Folded > folded && !time.Now().Before(purgeAt) {
				// Only once a stored report carries the folds: a report
				// stage restarted after the purge resumes from it. A purge
				// a pending consumer held short, or one that failed, is
				// tried again a little later.
				reached, err := s.purgeFolded(ctx, run, stored, done)
				switch {
				case err != nil:
					s.logger.Warn("purging the messages of folded windows failed", "run", run, "err", err)
					purgeAt = time.Now().Add(purgeRetry)
				case !reached:
					purgeAt = time.Now().Add(purgeRetry)
				default:
					folded = stored.Folded
				}
			}
			st := eval.RunStatus{Run: run, State: eval.StateRunning, Scores: p.Scores, ScoresExpected: p.ScoresExpected,
				Judgments: p.Judgments, JudgmentsExpected: p.JudgmentsExpected, Retry: retry}
			if complete {
				// Finishing reads examples and writes the report; when that
				// fails it is tried again, since nothing else would.
				for pause := time.Second; ; pause = min(2*pause, time.Minute) {
					mu.Lock()
					err := s.finish(ctx, c, &st)
					mu.Unlock()
					if err == nil || ctx.Err() != nil {
						return err
					}
					s.logger.Warn("finishing the report failed; retrying", "run", run, "pause", pause, "err", err)
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(pause):
					}
				}
			}
			if spec.Continuous != nil && parquetBehind && time.Since(parquetAt) >= s.cfg.ParquetEvery {
				// Written from the rows as they stand, while results go on
				// arriving: the write fetches every result's texts.
				mu.Lock()
				rows := c.Rows()
				mu.Unlock()
				err := s.storeParquet(ctx, rows)
				rows.Release()
				if err != nil {
					s.logger.Warn("publishing the Parquet files failed", "run", run, "err", err)
				} else {
					parquetAt, parquetBehind = time.Now(), false
				}
			}
			changed := st.Scores != last.Scores || st.Judgments != last.Judgments || st.ScoresExpected != last.ScoresExpected
			// A live experiment's new look is published too; it counts as
			// published once a report holding it is stored.
			_, looks := s.ab.sections(run)
			if looks != abLooks {
				changed = true
			}
			if spec.Continuous != nil && changed && time.Since(published) >= s.cfg.Publish {
				// A continuous run never completes: its report is
				// rewritten as results arrive.
				mu.Lock()
				err := s.publish(ctx, c)
				if err == nil {
					stored = c.Needed()
					abLooks = looks
				}
				mu.Unlock()
				if err != nil {
					s.logger.Warn("publishing the report failed", "run", run, "err", err)
					continue
				}
				published, parquetBehind = time.Now(), true
			} else if spec.Continuous != nil && changed {
				continue // not yet: the next tick publishes
			}
			if changed {
				if err := s.bus.PutStatus(ctx, &st); err != nil {
					s.logger.Warn("storing progress failed", "run", run, "err", err)
				}
				last = st
			}
		}
	}
}

// publish computes and stores the report of a continuous run as it stands
// (its Parquet files apart: see [Config.ParquetEvery]) and shows its latest
// window on the gauges.
func (s *Service) publish(ctx context.Context, c *aggregate.Collector) error {
	rep, err := s.storeCounted(ctx, c, nil)
	if err != nil {
		return err
	}
	j, _ := aggregate.GateJudge(c.Spec())
	s.windows.set(rep, j.Name)
	return nil
}

// store computes the run's report as it stands and stores its JSON,
// Markdown and HTML files, with distinct-1/2 from a pass of its own over
// the answers (none for a continuous run).
func (s *Service) store(ctx context.Context, c *aggregate.Collector) (*document.Report, error) {
	d, err := countDistinct(c, func(rows *aggregate.Rows) error { return rows.ReadAnswers(ctx, Fetcher(s.bus)) })
	if err != nil {
		return nil, err
	}
	return s.storeCounted(ctx, c, d)
}

// storeCounted is store with distinct-1/2 from d, counted by a pass over
// the answers made already (nil: not measured).
func (s *Service) storeCounted(ctx context.Context, c *aggregate.Collector, d *aggregate.Distinct) (*document.Report, error) {
	rep, err := c.Report(ctx, Fetcher(s.bus), time.Now(), aggregate.WithDistinct(d))
	if err != nil {
		return nil, err
	}
	rep.AB, _ = s.ab.sections(rep.Run)
	shadowOf(rep)
	files, err := Files(ctx, rep, c, Fetcher(s.bus), []string{"json", "md", "html"}, s.logger)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		if _, err := s.bus.Reports.PutBytes(ctx, ReportObject(rep.Run, name), data); err != nil {
			return nil, fmt.Errorf("storing %s of run %s: %w", name, rep.Run, err)
		}
	}
	return rep, nil
}

// storeParquet stores the run's Parquet files as they stand, streamed into
// the object store as they are written: their texts are never all in
// memory. A file that fails half-way leaves its previous version.
func (s *Service) storeParquet(ctx context.Context, rows *aggregate.Rows) error {
	run := rows.Run()
	return WriteParquet(ctx, rows, Fetcher(s.bus), s.logger, func(name string, write func(io.Writer) error) error {
		pr, pw := io.Pipe()
		written := make(chan error, 1)
		go func() {
			// Whole chunks: the object store makes a message of every read.
			bw := bufio.NewWriterSize(pw, 128<<10)
			err := write(bw)
			if err == nil {
				err = bw.Flush()
			}
			pw.CloseWithError(err)
			written <- err
		}()
		_, err := s.bus.Reports.Put(ctx, jetstream.ObjectMeta{Name: ReportObject(run, name)}, pr)
		// A failed Put stops reading: the writer's next write fails, and
		// the rows are not touched once this returns.
		pr.CloseWithError(err)
		if werr := <-written; werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
			return werr
		}
		if err != nil {
			return fmt.Errorf("storing %s of run %s: %w", name, run, err)
		}
		return nil
	})
}

// finish computes and stores the report of a run that is over, then marks
// it complete (or, when its suites could not be read, error) and announces
// its gate.
func (s *Service) finish(ctx context.Context, c *aggregate.Collector, st *eval.RunStatus) error {
	run := st.Run
	began := time.Now()
	// The Parquet files first: their pass over the answers counts
	// distinct-1/2 for the report, which would otherwise read every
	// answer again.
	d, err := countDistinct(c, func(rows *aggregate.Rows) error { return s.storeParquet(ctx, rows) })
	if err != nil {
		// The report as it stands all the same, without distinct-1/2, so
		// that a Parquet file that cannot be written (an object-store
		// limit, a text that cannot be fetched) does not keep an earlier
		// report in place while finish is tried again.
		if _, serr := s.storeCounted(ctx, c, nil); serr != nil {
			s.logger.Warn("the report could not be stored either", "run", run, "err", serr)
		}
		return err
	}
	written := time.Now()
	rep, err := s.storeCounted(ctx, c, d)
	if err != nil {
		return err
	}
	stored := time.Now()
	st.State = eval.StateComplete
	if c.IngestFailed() != "" {
		st.State = eval.StateError
	}
	st.GatePassed = &rep.Gate.Passed
	st.Gates, st.Verdicts = rep.Gate.Variants, rep.Gate.Verdicts
	st.Verdict = rep.Gate.Verdict
	st.Error = strings.Join(rep.Gate.Errors, "; ")
	st.Report = ReportObject(run, "report.json")
	// The verdicts go out before the status says complete: a waiter that
	// sees the status can rely on the events being there.
	// One completion of one composition of the run: a finish repeated
	// after a crash is stored once, but a checkpoint, a new judge or a
	// re-scoring completes the run anew even with the same counts.
	// A retry replaces failures one for one, so its completion has the
	// counts and composition of the one before: its attempt tells them
	// apart (left out when 0, so that completions keep the ids they had
	// before retries).
	completion := []string{fmt.Sprint(st.Scores), fmt.Sprint(st.Judgments), composition(c.Spec())}
	if st.Retry > 0 {
		completion = append(completion, fmt.Sprintf("retry-%d", st.Retry))
	}
	for _, ge := range gateEvents(run, c.Spec().Baseline, rep.Gate, time.Now().UTC()) {
		id := bus.MsgID(bus.EventGated, append([]string{run, ge.Variant}, completion...)...)
		if _, err := s.bus.Publish(ctx, bus.RunEvent(run, bus.EventGated), id, ge); err != nil {
			return err
		}
	}
	ev := eval.RunEvent{V: eval.Version, Run: run, Fingerprint: rep.Fingerprint, GatePassed: &rep.Gate.Passed, At: time.Now().UTC()}
	if _, err := s.bus.Publish(ctx, bus.RunEvent(run, bus.EventCompleted), bus.MsgID(bus.EventCompleted, append([]string{run}, completion...)...), ev); err != nil {
		return err
	}
	if err := s.bus.PutStatus(ctx, st); err != nil {
		return err
	}
	s.logger.Info("run over", "run", run, "state", st.State, "verdict", rep.Gate.Verdict, "scores", st.Scores, "judgments", st.Judgments,
		"parquet", written.Sub(began), "report", stored.Sub(written), "finishing", time.Since(began))
	return s.reopenPending(ctx, st)
}

// gateEvents are the gated events of a run's gate, one per gated variant
// in name order: its verdict (pass, fail, inconclusive or error) and the
// checks that bear on it, each with its outcome and interval.
func gateEvents(run, baseline string, g document.Gate, at time.Time) []eval.GateEvent {
	variants := make([]string, 0, len(g.Variants))
	for v := range g.Variants {
		variants = append(variants, v)
	}
	sort.Strings(variants)
	out := make([]eval.GateEvent, 0, len(variants))
	for _, v := range variants {
		ge := eval.GateEvent{V: eval.Version, Run: run, Variant: v, Passed: g.Variants[v], Verdict: g.Verdicts[v],
			Checks: []eval.GateCheck{}, At: at}
		for _, c := range g.Checks {
			if c.AppliesTo(v, baseline) {
				ge.Checks = append(ge.Checks, eval.GateCheck{Name: c.Name, Value: c.Value, Threshold: c.Threshold, CI: c.CI,
					Outcome: c.Outcome, Passed: c.Passed, Error: c.Error})
				if c.Error != "" {
					ge.Errors = append(ge.Errors, c.Error)
				}
			}
		}
		out = append(out, ge)
	}
	return out
}

// ReportObject is the name of one of a run's report files in the
// assay_reports object store.
func ReportObject(run, file string) string { return run + "/" + file }

// composition identifies what a run evaluates: its variants, judges and
// scoring.
func composition(spec *eval.RunSpec) string {
	h := sha256.New()
	for _, v := range spec.Variants {
		fmt.Fprintf(h, "v\x00%s\x00%s\x00", v.Name, v.Model)
	}
	for _, j := range spec.Judges {
		fmt.Fprintf(h, "j\x00%s\x00", j.ID())
	}
	fmt.Fprintf(h, "s\x00%s", spec.Scoring())
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// streamSeq is a message's sequence in its stream, 0 when its metadata
// cannot be read.
func streamSeq(m jetstream.Msg) uint64 {
	if meta, err := m.Metadata(); err == nil {
		return meta.Sequence.Stream
	}
	return 0
}
