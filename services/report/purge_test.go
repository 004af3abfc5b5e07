package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// TestContinuousRunPurgesFoldedWindows: once a continuous run's window
// falls out of the report's horizon, its scores and judgments are purged
// from the streams (its samples and answers stay); the windows held keep
// theirs, and another run's messages stay.
func TestContinuousRunPurgesFoldedWindows(t *testing.T) {
	const windows, horizon = 6, 2
	b := bustest.New(t)
	spec := testSpec("p1")
	spec.Continuous = &eval.Continuous{Sources: []string{"web"}, SampleRate: 1, Window: eval.Duration(time.Hour)}
	if err := b.SubmitRun(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	// Another run's sample, before every message of p1: no purge of p1
	// may take it.
	publishSample(t, b, &eval.Sample{V: 1, Run: "p2", Suite: "qa", ID: "other"})
	start := func() (stop func()) { return startReport(t, b, horizon) }
	stop := start()
	report := func() (*document.Report, error) { return storedReport(t, b, "p1") }
	window := func(w int) { countWindow(t, b, spec, w) }
	for w := range windows {
		window(w)
	}
	rep, err := report()
	if err != nil {
		t.Fatal(err)
	}
	foldedAsHorizon(t, rep, windows, horizon)
	kept := []string{"q4", "q5"}
	var all []string
	for w := range windows {
		all = append(all, fmt.Sprintf("q%d", w))
	}
	refs := func(stream, subject string) []eval.SampleRef { return storedRefs(t, b, stream, subject) }
	bustest.Eventually(t, 30*time.Second, func() error {
		var samples []eval.SampleRef
		for _, s := range bustest.Stored[eval.Sample](t, b, bus.StreamSamples, bus.RunSamples("p1")) {
			samples = append(samples, eval.SampleRef{ID: s.ID})
		}
		for _, got := range []struct {
			stream string
			refs   []eval.SampleRef
			n      int
			keep   []string
		}{
			// Samples and answers stay: score and the judge read them
			// by sequence.
			{bus.StreamSamples, samples, windows, all},
			{bus.StreamGens, refs(bus.StreamGens, bus.RunGens("p1")), 2 * windows, all},
			{bus.StreamScores, refs(bus.StreamScores, bus.RunScores("p1")), 4, kept},
			{bus.StreamJudgments, refs(bus.StreamJudgments, bus.RunJudgments("p1")), 2, kept},
		} {
			if err := holds(got.stream, got.refs, got.n, got.keep); err != nil {
				return err
			}
		}
		return nil
	})
	if other := bustest.Stored[eval.Sample](t, b, bus.StreamSamples, bus.RunSamples("p2")); len(other) != 1 {
		t.Fatalf("another run's samples purged: %d left", len(other))
	}

	// A restarted stage resumes from the stored report: the purged
	// windows keep their figures, and progress counts their results.
	stop()
	start()
	window(windows)
	after, err := report()
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Windows) != windows+1 || !after.Windows[windows-horizon].Folded {
		t.Fatalf("after the restart: %d windows, the %dth folded: %v", len(after.Windows), windows-horizon+1, after.Windows[windows-horizon].Folded)
	}
	if g, w := mustJSON(t, after.Windows[:windows-horizon]), mustJSON(t, rep.Windows[:windows-horizon]); g != w {
		t.Fatalf("folded windows after the restart:\n got %s\nwant %s", g, w)
	}
}

// TestPurgeWaitsOnlyForConsumersOfTheRun: a consumer with messages pending
// holds a run's purge only when it reads the run's subjects and
// acknowledges what it takes. One stuck on
// another run's scores lets the run's folded windows go; one with no
// filter, or a filter the run's scores match, keeps every one of them.
func TestPurgeWaitsOnlyForConsumersOfTheRun(t *testing.T) {
	// A purge is tried once per fold and may stop short of the folded
	// windows while the report's own reader lags behind, so windows go
	// on until the first window's judgments (and, unless a consumer
	// holds them, its scores) are purged.
	const horizon, most = 2, 12
	for _, c := range []struct {
		name   string
		filter []string
		held   bool // the run's scores stay
		ack    jetstream.AckPolicy
	}{
		{"another run's", []string{bus.RunScores("p2")}, false, jetstream.AckExplicitPolicy},
		{"the stream's", nil, true, jetstream.AckExplicitPolicy},
		{"every run's base", []string{bus.ScoresSubject("*", "base")}, true, jetstream.AckExplicitPolicy},
		{"this run's among others", []string{bus.RunScores("p2"), bus.ScoresSubject("p1", "ft")}, true, jetstream.AckExplicitPolicy},
		// A reader acknowledges nothing: an ordered consumer left behind
		// at the stream's start holds nothing back.
		{"a reader of the stream", nil, false, jetstream.AckNonePolicy},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bustest.New(t)
			spec := testSpec("p1")
			spec.Continuous = &eval.Continuous{Sources: []string{"web"}, SampleRate: 1, Window: eval.Duration(time.Hour), Horizon: horizon}
			if err := b.SubmitRun(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			// Another run's score, before every message of p1, and a
			// consumer that never takes a message.
			other := &eval.Score{V: 1, Run: "p2", Sample: eval.SampleRef{ID: "other", Suite: "qa"}, Variant: "base", Bucket: eval.BucketOK}
			if _, err := b.Publish(t.Context(), bus.ScoresSubject("p2", "base"), "", other); err != nil {
				t.Fatal(err)
			}
			if _, err := b.JS.CreateOrUpdateConsumer(t.Context(), bus.StreamScores, jetstream.ConsumerConfig{
				Durable: "stuck", FilterSubjects: c.filter, AckPolicy: c.ack,
			}); err != nil {
				t.Fatal(err)
			}
			startReport(t, b, horizon)
			first := func(stream, subject string) int { return firstWindow(t, b, stream, subject) }
			windows := 0
			for ; ; windows++ {
				if windows == most {
					t.Fatalf("%d windows published, %d folded: the first window's judgments (%d) and scores (%d) are still stored",
						most, most-horizon, first(bus.StreamJudgments, bus.RunJudgments("p1")), first(bus.StreamScores, bus.RunScores("p1")))
				}
				countWindow(t, b, spec, windows)
				// The scores are purged before the judgments, in the same
				// round: a purge of the judgments comes after one of the
				// scores, as far as it went.
				if first(bus.StreamJudgments, bus.RunJudgments("p1")) == 0 && (c.held || first(bus.StreamScores, bus.RunScores("p1")) == 0) {
					break
				}
			}
			if n := len(storedRefs(t, b, bus.StreamScores, bus.RunScores("p1"))); c.held && n != 2*(windows+1) {
				t.Fatalf("the run's scores were purged past a consumer of theirs with all pending: %d of %d left", n, 2*(windows+1))
			}
			if n := len(storedRefs(t, b, bus.StreamScores, bus.RunScores("p2"))); n != 1 {
				t.Fatalf("another run's scores purged: %d left", n)
			}
		})
	}
}

// startReport starts a report stage on b that holds horizon windows of a
// continuous run; stop stops it, and so does the test's end.
func startReport(t *testing.T, b *bus.Bus, horizon int) (stop func()) {
	t.Helper()
	s := New(Config{Tick: 10 * time.Millisecond, Publish: 10 * time.Millisecond, Horizon: horizon},
		&stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx) })
	stop = func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return stop
}

// storedReport is the report of run the report stage stored last.
func storedReport(t *testing.T, b *bus.Bus, run string) (*document.Report, error) {
	t.Helper()
	data, err := bus.ReadObject(t.Context(), b.Reports, ReportObject(run, "report.json"))
	if err != nil {
		return nil, err
	}
	var rep document.Report
	return &rep, json.Unmarshal(data, &rep)
}

// countWindow publishes window w of the continuous run of spec (see
// [publishWindow]) and waits until the stored report counts it: each
// window is counted before the next begins, for a result read after its
// window was folded would be late.
func countWindow(t *testing.T, b *bus.Bus, spec *eval.RunSpec, w int) {
	t.Helper()
	publishWindow(t, b, spec, w)
	bustest.Eventually(t, 30*time.Second, func() error {
		rep, err := storedReport(t, b, spec.Run)
		if err != nil {
			return err
		}
		if rep.Progress.Scores != 2*(w+1) || rep.Progress.Judgments != w+1 {
			return fmt.Errorf("the report counts %d scores and %d judgments: %s", rep.Progress.Scores, rep.Progress.Judgments, mustJSON(t, rep.Folded))
		}
		return nil
	})
}

// firstWindow counts the messages of the first window (sample q0, see
// publishWindow) stream holds on subject.
func firstWindow(t *testing.T, b *bus.Bus, stream, subject string) int {
	t.Helper()
	n := 0
	for _, r := range storedRefs(t, b, stream, subject) {
		if r.ID == "q0" {
			n++
		}
	}
	return n
}

// storedRefs is the sample of every score or judgment stream holds on
// subject, read a message at a time by sequence rather than through a
// consumer: a reader's consumer with messages pending would hold back the
// very purges the tests wait for.
func storedRefs(t *testing.T, b *bus.Bus, stream, subject string) []eval.SampleRef {
	t.Helper()
	st, err := b.JS.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	var out []eval.SampleRef
	for seq := uint64(1); ; {
		m, err := st.GetMsg(t.Context(), seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Sample eval.SampleRef `json:"sample"`
		}
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatalf("%s: message %d does not decode: %v", stream, m.Sequence, err)
		}
		out = append(out, r.Sample)
		seq = m.Sequence + 1
	}
}

// holds says how refs, what stream holds, differ from n messages of the
// samples keep (sorted).
func holds(stream string, refs []eval.SampleRef, n int, keep []string) error {
	var ids []string
	for _, r := range refs {
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	if len(refs) != n || !slices.Equal(ids, keep) {
		return fmt.Errorf("%s holds %d messages of %v; want %d of %v", stream, len(refs), ids, n, keep)
	}
	return nil
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// publishWindow publishes window w (hours from a fixed start) of the
// continuous run of spec: one production query, answered by each variant,
// scored and judged.
func publishWindow(t *testing.T, b *bus.Bus, spec *eval.RunSpec, w int) {
	t.Helper()
	zero := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	run, id := spec.Run, fmt.Sprintf("q%d", w)
	ref := eval.SampleRef{ID: id, Suite: "qa", At: zero.Add(time.Duration(w)*time.Hour + time.Minute)}
	ref.Seq = publishSample(t, b, &eval.Sample{V: 1, Run: run, Suite: "qa", ID: id, At: ref.At})
	for _, v := range spec.Variants {
		ack, err := b.Publish(t.Context(), bus.GensSubject(run, v.Name), "", &eval.Generation{V: 1, Run: run, Sample: ref, Variant: v.Name, Output: "answer"})
		if err != nil {
			t.Fatal(err)
		}
		sc := &eval.Score{V: 1, Run: run, Sample: ref, Variant: v.Name, GenSeq: ack.Sequence,
			Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(), Metrics: map[string]float64{"em": 1}, Bucket: eval.BucketOK}
		if _, err := b.Publish(t.Context(), bus.ScoresSubject(run, v.Name), "", sc); err != nil {
			t.Fatal(err)
		}
	}
	j := spec.Judges[0]
	jd := &eval.Judgment{V: 1, Run: run, Sample: ref, Judge: j.Name, JudgeID: j.ID(), Candidate: "ft", Baseline: "base",
		Fingerprint: spec.Fingerprint(), Winner: eval.WinCandidate, Consistent: true}
	if _, err := b.Publish(t.Context(), bus.JudgmentsSubject(run, j.Name), "", jd); err != nil {
		t.Fatal(err)
	}
}

// TestCollectTakesTheSpecHorizon: a continuous run whose spec sets
// continuous.horizon is collected with that many windows held, not the
// stage's default.
func TestCollectTakesTheSpecHorizon(t *testing.T) {
	const windows, horizon = 5, 2
	b := bustest.New(t)
	spec := testSpec("h1")
	spec.Continuous = &eval.Continuous{Sources: []string{"web"}, SampleRate: 1, Window: eval.Duration(time.Hour), Horizon: horizon}
	if err := b.SubmitRun(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	for w := range windows {
		publishWindow(t, b, spec, w)
	}
	c, err := Collect(t.Context(), b, "h1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	rep, err := c.Report(t.Context(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	foldedAsHorizon(t, rep, windows, horizon)
}

// foldedAsHorizon fails unless rep has windows windows, all but the
// latest horizon folded.
func foldedAsHorizon(t *testing.T, rep *document.Report, windows, horizon int) {
	t.Helper()
	folded := 0
	for _, w := range rep.Windows {
		if w.Folded {
			folded++
		}
	}
	if len(rep.Windows) != windows || folded != windows-horizon {
		t.Fatalf("%d windows, %d folded; want %d, %d", len(rep.Windows), folded, windows, windows-horizon)
	}
}

// TestPurgeHeldShortIsTriedAgain: a purge a pending consumer held short
// is tried again once the consumer lets go, with no new window folding to
// trigger it.
func TestPurgeHeldShortIsTriedAgain(t *testing.T) {
	const horizon = 2
	b := bustest.New(t)
	spec := testSpec("p1")
	spec.Continuous = &eval.Continuous{Sources: []string{"web"}, SampleRate: 1, Window: eval.Duration(time.Hour), Horizon: horizon}
	if err := b.SubmitRun(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if _, err := b.JS.CreateOrUpdateConsumer(t.Context(), bus.StreamScores, jetstream.ConsumerConfig{
		Durable: "stuck", FilterSubjects: []string{bus.RunScores("p1")}, AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	startReport(t, b, horizon)
	first := func(stream, subject string) int { return firstWindow(t, b, stream, subject) }
	// Windows until the first one's judgments are purged: it is folded,
	// and its scores are held by the stuck consumer.
	for w := 0; w == 0 || first(bus.StreamJudgments, bus.RunJudgments("p1")) > 0; w++ {
		if w == 12 {
			t.Fatal("12 windows published and the first window's judgments are still stored")
		}
		countWindow(t, b, spec, w)
	}
	if n := first(bus.StreamScores, bus.RunScores("p1")); n == 0 {
		t.Fatal("the first window's scores were purged past a consumer that has them pending")
	}
	if err := b.JS.DeleteConsumer(t.Context(), bus.StreamScores, "stuck"); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, time.Minute, func() error {
		if n := first(bus.StreamScores, bus.RunScores("p1")); n > 0 {
			return fmt.Errorf("the consumer let go and %d of the folded window's scores are still stored", n)
		}
		return nil
	})
}
