package aggregate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// feedWindow adds window w of a continuous run: perWindow production
// queries answered by both variants and judged, with refusals, verdicts
// and sessions varying from one query and one window to the next.
func feedWindow(c *Collector, spec *eval.RunSpec, w, perWindow int) {
	at := windowZero.Add(time.Duration(w)*time.Hour + time.Minute)
	for i := range perWindow {
		id := fmt.Sprintf("w%03dq%03d", w, i)
		ref := eval.SampleRef{ID: id, Suite: "chat", Seq: uint64(w*1000 + i + 1), At: at, Cluster: fmt.Sprint(i / 4)}
		for _, v := range []string{"base", "ft"} {
			s := mkScore(spec, v, "chat", id, ref.Seq, eval.BucketOK, map[string]float64{"refusal": float64(i % 2)})
			s.Sample, s.Checks.Refused = ref, (i+w+len(v))%3 == 0
			c.AddScore(s)
		}
		j := judged(spec, 0, "ft", "chat", id, []eval.Winner{eval.WinCandidate, eval.WinBaseline, eval.WinTie}[(i*w+i)%3])
		j.Sample = ref
		c.AddJudgment(j)
	}
}

func continuousReport(t *testing.T, c *Collector) *document.Report {
	t.Helper()
	rep, err := c.Report(t.Context(), nil, windowZero)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestFoldKeepsTheHorizonOnly(t *testing.T) {
	const horizon, perWindow = 5, 20
	spec := continuousSpec()
	c := New(spec, WithHorizon(horizon), WithSpill(t.TempDir(), 1))
	t.Cleanup(c.Release)
	for w := range 60 {
		feedWindow(c, spec, w, perWindow)
		continuousReport(t, c) // spills what the tables hold
		windows, rows, keys := c.retained()
		want := min(w+1, horizon)
		// Two scores and a judgment per query, each with its key.
		if windows != want || rows != want*perWindow*3 || keys != want*perWindow*3 {
			t.Fatalf("after window %d: %d windows, %d rows, %d keys held; want %d, %d, %d",
				w, windows, rows, keys, want, want*perWindow*3, want*perWindow*3)
		}
	}
	if n := c.Needed().Folded; n != 60-horizon {
		t.Fatalf("%d windows folded, want %d", n, 60-horizon)
	}
	// Every table spills at once (1 byte): the segments of folded windows
	// are removed with them.
	segs, _ := filepath.Glob(filepath.Join(c.spill.dir, "*.arrow"))
	if len(segs) == 0 || len(segs) > 2*horizon {
		t.Fatalf("%d spill segments kept for %d windows", len(segs), horizon)
	}
}

// TestFoldedWindowsKeepTheirFigures compares, window after window, the
// report of a collector that folds with one that keeps everything: the
// same windows, monitors and counts to the last bit.
func TestFoldedWindowsKeepTheirFigures(t *testing.T) {
	spec := continuousSpec()
	folding, whole := New(spec, WithHorizon(3)), New(spec, WithHorizon(0))
	t.Cleanup(folding.Release)
	t.Cleanup(whole.Release)
	for w := range 12 {
		feedWindow(folding, spec, w, 16+w%5)
		feedWindow(whole, spec, w, 16+w%5)
		got, want := continuousReport(t, folding), continuousReport(t, whole)
		if len(want.Monitors) != 2 || len(want.Windows) != w+1 || want.Windows[0].Variants[1].WinRate == nil {
			t.Fatalf("after window %d: a report of %d monitors and %d windows", w, len(want.Monitors), len(want.Windows))
		}
		folded := 0
		for i := range got.Windows {
			if got.Windows[i].Folded {
				folded++
				got.Windows[i].Folded = false
			}
		}
		if folded != max(0, w+1-3) {
			t.Fatalf("after window %d: %d windows folded", w, folded)
		}
		for _, cmp := range []struct {
			what      string
			got, want any
		}{
			{"windows", got.Windows, want.Windows}, {"monitors", got.Monitors, want.Monitors},
			{"progress", got.Progress, want.Progress}, {"suites", got.Suites, want.Suites}, {"counts", got.Counts, want.Counts},
		} {
			if g, wt := mustJSON(t, cmp.got), mustJSON(t, cmp.want); g != wt {
				t.Fatalf("after window %d, %s:\n got %s\nwant %s", w, cmp.what, g, wt)
			}
		}
	}
}

func TestLateResultOfAFoldedWindowIsOnlyCounted(t *testing.T) {
	spec := continuousSpec()
	c := New(spec, WithHorizon(2))
	t.Cleanup(c.Release)
	for w := range 4 {
		feedWindow(c, spec, w, 10)
	}
	before := continuousReport(t, c)
	late := mkScore(spec, "base", "chat", "late", 1, eval.BucketOK, map[string]float64{"refusal": 1})
	late.Sample.At = windowZero.Add(30 * time.Minute)
	if c.AddScore(late) {
		t.Fatal("a late score of a folded window was added")
	}
	j := judged(spec, 0, "ft", "chat", "late", eval.WinCandidate)
	j.Sample.At = late.Sample.At
	if c.AddJudgment(j) {
		t.Fatal("a late judgment of a folded window was added")
	}
	after := continuousReport(t, c)
	if g, w := mustJSON(t, after.Windows), mustJSON(t, before.Windows); g != w {
		t.Fatalf("windows changed by late results:\n got %s\nwant %s", g, w)
	}
	if after.Progress != before.Progress {
		t.Fatalf("progress %+v, want %+v", after.Progress, before.Progress)
	}
	found := false
	for _, w := range after.Warnings {
		found = found || strings.HasPrefix(w, "2 results arrived for windows older than the report's horizon of 2 windows")
	}
	if !found {
		t.Fatalf("no warning counts the 2 late results: %q", after.Warnings)
	}
}

func TestNeededKeepsTheHorizonsMessages(t *testing.T) {
	spec := continuousSpec()
	c := New(spec, WithHorizon(2))
	t.Cleanup(c.Release)
	var seq uint64
	for w := range 5 {
		at := windowZero.Add(time.Duration(w)*time.Hour + time.Minute)
		id := fmt.Sprintf("w%d", w)
		ref := eval.SampleRef{ID: id, Suite: "chat", Seq: uint64(100 + w), At: at}
		s := mkScore(spec, "base", "chat", id, ref.Seq, eval.BucketOK, map[string]float64{"refusal": 0})
		s.Sample = ref
		seq++
		c.FromMessage(seq)
		c.AddScore(s)
		j := judged(spec, 0, "ft", "chat", id, eval.WinTie)
		j.Sample = ref
		seq++
		c.FromMessage(seq)
		c.AddJudgment(j)
		c.FromMessage(0)
	}
	// Windows 3 and 4 are held: the score and judgment of window 3 were
	// messages 7 and 8, its sample 103, its generation genSeq("base", 103).
	got := c.Needed()
	want := Needed{Samples: 103, Gens: genSeq("base", 103), Scores: 7, Judgments: 8, Folded: 3}
	if got != want {
		t.Fatalf("needed %+v, want %+v", got, want)
	}
	// A result of no known message keeps its stream whole.
	s := mkScore(spec, "ft", "chat", "w4", 104, eval.BucketOK, map[string]float64{"refusal": 0})
	s.Sample.At = windowZero.Add(4*time.Hour + time.Minute)
	c.AddScore(s)
	if got := c.Needed(); got.Scores != 0 || got.Judgments != 8 {
		t.Fatalf("needed %+v after a score of no known message: want no scores purged", got)
	}
}

// TestNeededKeepsResultsHeldForTheirSample: a result read before its
// sample (the report follows each stream with its own consumer) is added
// when the sample is named, by a message of the samples stream; the
// window it lands in still needs the result's own message, so that a
// purge neither keeps the stream whole nor takes it.
func TestNeededKeepsResultsHeldForTheirSample(t *testing.T) {
	spec := continuousSpec()
	c := New(spec, WithHorizon(2))
	t.Cleanup(c.Release)
	c.TrackSamples()
	var seq uint64
	for w := range 4 {
		at := windowZero.Add(time.Duration(w)*time.Hour + time.Minute)
		id := fmt.Sprintf("w%d", w)
		ref := eval.SampleRef{ID: id, Suite: "chat", Seq: uint64(100 + w), At: at}
		s := mkScore(spec, "base", "chat", id, ref.Seq, eval.BucketOK, map[string]float64{"refusal": 0})
		s.Sample = ref
		j := judged(spec, 0, "ft", "chat", id, eval.WinTie)
		j.Sample = ref
		seq++
		c.FromMessage(seq)
		c.AddScore(s) // held: its sample is not named yet
		seq++
		c.FromMessage(seq)
		c.AddJudgment(j)
		c.FromMessage(0)
		c.AddSample("chat", id) // as the samples stream's message does
	}
	// Windows 2 and 3 are held: their score and judgment were messages
	// 5 and 6.
	if got := c.Needed(); got.Scores != 5 || got.Judgments != 6 || got.Folded != 2 {
		t.Fatalf("needed %+v, want scores from 5, judgments from 6, 2 windows folded", got)
	}
}

func TestFoldedSegmentsOutliveRowsTakenBefore(t *testing.T) {
	spec := continuousSpec()
	c := New(spec, WithHorizon(1), WithSpill(t.TempDir(), 1))
	t.Cleanup(c.Release)
	feedWindow(c, spec, 0, 10)
	rows := c.Rows()
	if len(rows.scoreBatches.segments) == 0 {
		t.Fatal("nothing spilled")
	}
	feedWindow(c, spec, 1, 10) // folds window 0, whose segments rows read
	for _, seg := range rows.scoreBatches.segments {
		if _, err := os.Stat(seg.path); err != nil {
			t.Fatalf("segment of rows still held removed: %v", err)
		}
	}
	rows.Release()
	for _, seg := range orphanSegments(t, c) {
		t.Fatalf("segment %s of a folded window kept after the rows were released", seg)
	}
}

// TestFoldedSegmentsOutliveCollectorRelease: the segments of a folded
// window that Rows taken before the fold read are kept while the Rows are,
// even once the collector is released first.
func TestFoldedSegmentsOutliveCollectorRelease(t *testing.T) {
	spec := continuousSpec()
	c := New(spec, WithHorizon(1), WithSpill(t.TempDir(), 1))
	feedWindow(c, spec, 0, 10)
	rows := c.Rows()
	defer rows.Release()
	feedWindow(c, spec, 1, 10) // folds window 0
	c.Release()
	var buf bytes.Buffer
	if _, err := rows.WriteScores(t.Context(), &buf, &textFetcher{}); err != nil {
		t.Fatal(err)
	}
}

// TestFoldAfterReadFailure: a window whose segments cannot be read back
// when it is due to fold stays whole — its samples named, its results
// held — and folds once it can be read, even with no report in between,
// to the same figures as a collector that never failed.
func TestFoldAfterReadFailure(t *testing.T) {
	spec := continuousSpec()
	c, whole := New(spec, WithHorizon(1), WithSpill(t.TempDir(), 1)), New(spec, WithHorizon(1), WithSpill("", 0))
	t.Cleanup(c.Release)
	t.Cleanup(whole.Release)
	for _, x := range []*Collector{c, whole} {
		for w := range 3 {
			for i := range 10 {
				x.AddSample("chat", fmt.Sprintf("w%03dq%03d", w, i))
			}
		}
		feedWindow(x, spec, 0, 10)
	}
	continuousReport(t, c) // spills window 0
	// Its judgments are lost, not its scores: what was read of it before
	// the failure must leave no trace either.
	segs := c.judgments.parts[windowZero.UnixMilli()].segments
	if len(segs) == 0 {
		t.Fatal("nothing spilled")
	}
	saved := map[string][]byte{}
	for _, seg := range segs {
		b, err := os.ReadFile(seg.path)
		if err != nil {
			t.Fatal(err)
		}
		saved[seg.path] = b
		if err := os.WriteFile(seg.path, []byte("not arrow"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	feedWindow(c, spec, 1, 10) // window 0 is due to fold, and cannot be read
	feedWindow(whole, spec, 1, 10)
	if n := c.Needed().Folded; n != 0 {
		t.Fatalf("%d windows folded from segments that cannot be read", n)
	}
	if _, ok := c.samples[runSampleKey("chat", "w000q000")]; !ok {
		t.Fatal("the samples of a window kept are forgotten")
	}
	if windows, rows, _ := c.retained(); windows != 2 || rows != 2*10*3 {
		t.Fatalf("%d windows and %d rows held, want window 0 kept whole beside window 1", windows, rows)
	}
	for seg, b := range saved {
		if err := os.WriteFile(seg, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	feedWindow(c, spec, 2, 10) // windows 0 and 1 fold
	feedWindow(whole, spec, 2, 10)
	if n := c.Needed().Folded; n != 2 {
		t.Fatalf("%d windows folded once readable, want 2", n)
	}
	if w, g := mustJSON(t, continuousReport(t, whole)), mustJSON(t, continuousReport(t, c)); w != g {
		t.Fatalf("report differs from one of a collector that read every window:\n%s", lineDiff(w, g))
	}
}

// TestSpecHorizon: a run whose spec sets continuous.horizon keeps that
// many windows, whatever the stage's horizon; one that does not keeps the
// stage's.
func TestSpecHorizon(t *testing.T) {
	for _, tc := range []struct {
		spec, stage, want int
	}{{spec: 2, stage: 5, want: 2}, {spec: 7, stage: 3, want: 7}, {spec: 0, stage: 3, want: 3}} {
		t.Run(fmt.Sprintf("spec %d stage %d", tc.spec, tc.stage), func(t *testing.T) {
			spec := continuousSpec()
			spec.Continuous.Horizon = tc.spec
			c := New(spec, WithHorizon(tc.stage))
			t.Cleanup(c.Release)
			for w := range 10 {
				feedWindow(c, spec, w, 4)
			}
			if windows, _, _ := c.retained(); windows != tc.want {
				t.Fatalf("%d windows held, want %d", windows, tc.want)
			}
			rep := continuousReport(t, c)
			if i := len(rep.Windows) - tc.want; !rep.Windows[i-1].Folded || rep.Windows[i].Folded {
				t.Fatalf("windows from %d on not the ones held", i)
			}
		})
	}
}

// orphanSegments are the spill segments on disk that no table of c reads.
func orphanSegments(t *testing.T, c *Collector) []string {
	t.Helper()
	read := map[string]bool{}
	for _, tb := range []*table{c.scores, c.judgments} {
		for _, p := range tb.parts {
			for _, seg := range p.segments {
				read[seg.path] = true
			}
		}
	}
	all, _ := filepath.Glob(filepath.Join(c.spill.dir, "*.arrow"))
	var out []string
	for _, p := range all {
		if !read[p] {
			out = append(out, p)
		}
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestResumedCollectorCarriesOn: a collector that resumes from a report
// (its JSON, as stored) and reads again what a purge left — the windows
// held, and part of a folded one — reports what the first one would have,
// and goes on folding as it would.
func TestResumedCollectorCarriesOn(t *testing.T) {
	spec := continuousSpec()
	first := New(spec, WithHorizon(3))
	t.Cleanup(first.Release)
	for w := range 8 {
		feedWindow(first, spec, w, 12+w%4)
	}
	var stored document.Report
	if err := json.Unmarshal([]byte(mustJSON(t, continuousReport(t, first))), &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Folded == nil || len(stored.Folded.Monitors) != 2 || len(stored.Folded.Counts) != 3 {
		t.Fatalf("folded state stored: %s", mustJSON(t, stored.Folded))
	}
	resumed := New(spec, WithHorizon(3))
	t.Cleanup(resumed.Release)
	resumed.Resume(&stored)
	for w := 4; w < 8; w++ { // window 4 was folded, but not all purged
		feedWindow(resumed, spec, w, 12+w%4)
	}
	for _, w := range []int{8, 9} {
		got, want := continuousReport(t, resumed), continuousReport(t, first)
		for _, cmp := range []struct {
			what      string
			got, want any
		}{
			{"windows", got.Windows, want.Windows}, {"monitors", got.Monitors, want.Monitors}, {"folded", got.Folded, want.Folded},
			{"progress", got.Progress, want.Progress}, {"suites", got.Suites, want.Suites}, {"warnings", got.Warnings, want.Warnings},
			{"metrics", got.Metrics, want.Metrics}, {"pairwise", got.Pairwise, want.Pairwise},
		} {
			if g, wt := mustJSON(t, cmp.got), mustJSON(t, cmp.want); g != wt {
				t.Fatalf("before window %d, %s:\n got %s\nwant %s", w, cmp.what, g, wt)
			}
		}
		feedWindow(first, spec, w, 12)
		feedWindow(resumed, spec, w, 12)
	}
}

// TestWindowsFoldOnceJudgmentsCatchUp: scores and judgments are read from
// streams of their own; scores read windows ahead of the judgments (a
// restarted stage reading both again) fold nothing the judgments have
// yet to reach.
func TestWindowsFoldOnceJudgmentsCatchUp(t *testing.T) {
	spec := continuousSpec()
	c := New(spec, WithHorizon(2))
	t.Cleanup(c.Release)
	var judgments []*eval.Judgment
	for w := range 6 {
		ref := eval.SampleRef{ID: fmt.Sprintf("w%d", w), Suite: "chat", At: windowZero.Add(time.Duration(w)*time.Hour + time.Minute)}
		for _, v := range []string{"base", "ft"} {
			s := mkScore(spec, v, "chat", ref.ID, uint64(w+1), eval.BucketOK, map[string]float64{"refusal": 0})
			s.Sample = ref
			c.AddScore(s)
		}
		j := judged(spec, 0, "ft", "chat", ref.ID, eval.WinCandidate)
		j.Sample = ref
		judgments = append(judgments, j)
	}
	if n := c.Needed().Folded; n != 0 {
		t.Fatalf("%d windows folded before any judgment", n)
	}
	for _, j := range judgments {
		if !c.AddJudgment(j) {
			t.Fatalf("judgment of %s left out", j.Sample.ID)
		}
	}
	if n := c.Needed().Folded; n != 4 {
		t.Fatalf("%d windows folded once the judgments caught up, want 4", n)
	}
	if c.fold.late != 0 {
		t.Fatalf("%d results counted late", c.fold.late)
	}
}

// FuzzResume: whatever a stored report says of its folded windows, a
// collector that resumes from it makes a report that encodes.
func FuzzResume(f *testing.F) {
	spec := continuousSpec()
	first := New(spec, WithHorizon(2))
	for w := range 5 {
		feedWindow(first, spec, w, 6)
	}
	rep, err := first.Report(context.Background(), nil, windowZero)
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := json.Marshal(rep)
	first.Release()
	f.Add(seed)
	f.Add([]byte(`{"folded":{"cutoff":"2026-11-27T03:00:00Z","newest":"2026-11-27T04:00:00Z","looked":3,"monitors":[{"variant":"ft","statistic":"win_rate","n":1,"sum":1e300,"sum_squares":1e300,"p_value":0.5}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var stored document.Report
		if json.Unmarshal(data, &stored) != nil {
			return
		}
		c := New(spec, WithHorizon(2))
		defer c.Release()
		c.Resume(&stored)
		for w := 3; w < 6; w++ {
			feedWindow(c, spec, w, 3)
		}
		rep, err := c.Report(t.Context(), nil, windowZero)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatalf("the report does not encode: %v", err)
		}
	})
}
