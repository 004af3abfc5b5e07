package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// TestFollowerCheck: a follower stalls only when it has been idle for the
// stall and a message its stream held for it at one check has still not
// come at the next; one busy with a message, one that receives what was
// waiting, or one with nothing to receive does not.
func TestFollowerCheck(t *testing.T) {
	ctx := t.Context()
	const stall = time.Hour
	stored := uint64(10)
	asked := 0
	last := func(_ context.Context, stream, filter string) (uint64, error) {
		asked++
		if stream != "S" || filter != "s.>" {
			t.Fatalf("asked about %s %s", stream, filter)
		}
		return stored, nil
	}
	idle := func(f *follower) { f.moved.Store(time.Now().Add(-2 * stall).UnixNano()) }
	check := func(f *follower, want bool) {
		t.Helper()
		got, err := f.check(ctx, stall, last)
		if err != nil || got != want {
			t.Fatalf("stalled %v (%v), want %v", got, err, want)
		}
	}

	f := newFollower("S", "s.>")
	f.end(10)
	stored = 12
	check(f, false) // active within the stall
	if asked != 0 {
		t.Fatal("a follower active within the stall was looked up")
	}
	idle(f)
	check(f, false) // behind, first seen
	check(f, true)  // still behind at the next check

	// Caught up between two checks: not stalled, and seen afresh after.
	f = newFollower("S", "s.>")
	f.end(10)
	idle(f)
	check(f, false)
	f.end(12)
	idle(f)
	check(f, false)
	stored = 13
	check(f, false)
	check(f, true)

	// Busy with a message for longer than the stall.
	f = newFollower("S", "s.>")
	idle(f)
	f.begin()
	check(f, false)
	check(f, false)

	// Idle with nothing stored for it.
	f = newFollower("S", "s.>")
	f.end(13)
	idle(f)
	check(f, false)
	check(f, false)

	// A failed look-up is said, and is not a stall.
	f = newFollower("S", "s.>")
	idle(f)
	if stalled, err := f.check(ctx, stall, func(context.Context, string, string) (uint64, error) { return 0, errors.New("timeout") }); stalled || err == nil {
		t.Fatalf("stalled %v, err %v", stalled, err)
	}
}

// TestStalledFollowerIsFollowedAgain: the ordered consumer by which the
// report follows a run's scores stops receiving them while the server
// goes on answering its pulls (its filter changed under it, as a consumer
// left on a dead node or never made again stops): the run is followed
// again from the start and completes, each score counted once.
func TestStalledFollowerIsFollowedAgain(t *testing.T) {
	const run, n = "stall1", 6
	b := bustest.New(t)
	spec := testSpec(run)
	spec.Judges = nil
	ctx := t.Context()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Tick: 10 * time.Millisecond, FollowerStall: time.Second},
		&stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(sctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	score := func(i int, variant string) {
		t.Helper()
		ref := eval.SampleRef{ID: fmt.Sprintf("q%d", i), Suite: "qa", At: time.Now().UTC()}
		sc := &eval.Score{V: 1, Run: run, Sample: ref, Variant: variant, Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(),
			Metrics: map[string]float64{"em": float64(i % 2)}, Bucket: eval.BucketOK}
		if _, err := b.Publish(ctx, bus.ScoresSubject(run, variant), bus.MsgID(bus.StageScore, run, spec.Scoring(), variant, "qa", ref.ID), sc); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		publishSample(t, b, &eval.Sample{V: 1, Run: run, Suite: "qa", ID: fmt.Sprintf("q%d", i)})
		score(i, "base")
	}
	if err := b.PutIngest(ctx, &eval.IngestStatus{V: 1, Run: run, Done: true, Samples: n,
		Suites: map[string]*eval.SuiteStatus{"qa": {Samples: n}}, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	status := func(want int) {
		t.Helper()
		bustest.Eventually(t, time.Minute, func() error {
			st, err := b.Status(ctx, run)
			if err != nil {
				return err
			}
			if st.Scores != want {
				return fmt.Errorf("%d scores, want %d (state %s)", st.Scores, want, st.State)
			}
			return nil
		})
	}
	status(n)

	// The follower of the run's scores, made to receive nothing more.
	var follower jetstream.ConsumerConfig
	bustest.Eventually(t, 30*time.Second, func() error {
		for info := range b.Stream(bus.StreamScores).ListConsumers(ctx).Info() {
			if info.Config.AckPolicy == jetstream.AckNonePolicy && info.Config.FilterSubject == bus.RunScores(run) {
				follower = info.Config
				return nil
			}
		}
		return errors.New("no ordered consumer of the run's scores")
	})
	follower.FilterSubject = bus.RunScores("nobody")
	if _, err := b.JS.UpdateConsumer(ctx, bus.StreamScores, follower); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		score(i, "ft")
	}
	bustest.Eventually(t, time.Minute, func() error {
		st, err := b.Status(ctx, run)
		if err != nil {
			return err
		}
		if st.State != eval.StateComplete || st.Scores != 2*n || st.ScoresExpected != 2*n {
			return fmt.Errorf("state %s, %d of %d scores", st.State, st.Scores, st.ScoresExpected)
		}
		return nil
	})
	rep, err := storedReport(t, b, run)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Errors != 0 || rep.Counts.Samples != n || rep.Progress.Scores != 2*n {
		t.Errorf("counts %+v, progress %+v", rep.Counts, rep.Progress)
	}
	for _, m := range rep.Metrics {
		if m.Metric == "em" && (m.N != n || m.Mean == nil || *m.Mean != 0.5) {
			t.Errorf("%s's em: n %d, mean %v; want %d scores counted once, mean 0.5", m.Variant, m.N, m.Mean, n)
		}
	}
}
