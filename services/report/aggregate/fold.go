package aggregate

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// DefaultHorizon is how many of a continuous run's latest windows the
// collector keeps every result of (see [WithHorizon]).
const DefaultHorizon = 30

// WithHorizon makes a continuous run's collector keep the results of its
// latest windows windows only: an older window is folded — its figures
// and its looks for the monitors frozen as they stand, its results and
// their keys let go of — once a result arrives in a window windows or
// more after it. windows <= 0 keeps every window. A run whose spec sets
// continuous.horizon keeps that many, whatever this says.
func WithHorizon(windows int) Option {
	return func(o *options) { o.horizon = windows }
}

// foldState is what a continuous run's collector keeps of its folded
// windows: a constant amount per window, whatever their results were.
type foldState struct {
	horizon int
	// latest is the start of the latest window a score, and a judgment,
	// arrived in (once reached says so); newest is the earlier of the
	// two (of scores alone in a run without judgments): windows fold once
	// both kinds of results moved past them, as scores and judgments are
	// read from streams of their own, neither waiting for the other. cutoff
	// is the start of the oldest window held: results of a window before
	// it are late (folded: counted in late and nowhere else). All are
	// Unix milliseconds; newest and cutoff are valid once started.
	latest         [2]int64
	reached        [2]bool
	newest, cutoff int64
	started        bool
	late           int
	// windows are the folded windows' figures, oldest first, and looked
	// how many windows the monitors have looked at in them; monitors
	// holds each (candidate, statistic) monitor's state after them.
	windows  []document.Window
	looked   int
	monitors map[[2]string]stats.Mixture
	// taken counts the production samples of the folded windows, by
	// suite, and arrived their results as [Collector.arrived] does.
	taken   map[string]int
	arrived map[[3]string]int
	// keys holds the result keys added in each window held, let go of
	// from seen when it is folded.
	keys map[int64][][16]byte
	// resumed is the cutoff a restarted collector resumed from (see
	// [Collector.Resume]): results of the windows before it are not late
	// but read again, counted when they first came.
	resumed int64
	// msgSeq is the stream sequence of the message whose results are
	// being added (see [Collector.FromMessage]), or 0.
	msgSeq uint64
}

// windowKey is the key of the table part the result of a query made at
// at goes to, and false when its window is folded: the result is late.
func (c *Collector) windowKey(at time.Time) (int64, bool) {
	ct := c.spec.Continuous
	if ct == nil || at.IsZero() {
		return noWindow, true
	}
	k := ct.WindowOf(at).UnixMilli()
	if c.fold.started && k < c.fold.cutoff {
		if k >= c.fold.resumed {
			c.fold.late++
		}
		return k, false
	}
	return k, true
}

// FromMessage says the results added next come from the message of stream
// sequence seq (0: from none): the tables keep, by window, the smallest
// sequence of the messages their rows come from, so that a purge of the
// run's scores and judgments keeps every message a window held needs
// (see [Collector.Needed]).
func (c *Collector) FromMessage(seq uint64) { c.fold.msgSeq = seq }

// placed records that the result of key k went to the part of window w of
// t, and folds the windows the horizon leaves behind once w is the
// latest.
func (c *Collector) placed(t *table, w int64, k [16]byte) {
	seen(&t.cur.msgSeq, c.fold.msgSeq)
	if w == noWindow {
		return
	}
	if c.fold.msgSeq == 0 {
		t.cur.msgUnknown = true
	}
	c.fold.keys[w] = append(c.fold.keys[w], k)
	kind := 0
	if t == c.judgments {
		kind = 1
	}
	if c.fold.reached[kind] && w <= c.fold.latest[kind] {
		return
	}
	c.fold.latest[kind], c.fold.reached[kind] = w, true
	newest := c.fold.latest[0]
	if len(c.spec.Judges) > 0 && len(c.spec.Candidates()) > 0 {
		if !c.fold.reached[0] || !c.fold.reached[1] {
			return
		}
		newest = min(newest, c.fold.latest[1])
	}
	if c.fold.started && newest <= c.fold.newest {
		return
	}
	c.fold.newest, c.fold.started = newest, true
	if c.fold.horizon <= 0 {
		c.fold.cutoff = noWindow
		return
	}
	span := c.spec.Continuous.Window.D().Milliseconds()
	c.fold.cutoff = max(c.fold.cutoff, newest-int64(c.fold.horizon-1)*span)
	var old []int64
	for _, t := range []*table{c.scores, c.judgments} {
		for _, key := range t.keys() {
			if key != noWindow && key < c.fold.cutoff && !slices.Contains(old, key) {
				old = append(old, key)
			}
		}
	}
	slices.Sort(old)
	for _, key := range old {
		c.foldWindow(key)
	}
}

// foldWindow freezes the figures of the window starting at key and lets
// go of its results. The figures are the same as the window's in a
// report made just before: the same rows, in the same order.
func (c *Collector) foldWindow(key int64) {
	// A window that cannot be read back is not frozen from what was read
	// of it: it stays whole (its samples named, its results uncounted),
	// folded once it can be read, and the next report, reading it again,
	// says why it cannot be made. Only this window's reads decide: an
	// earlier failure must not keep every later window from folding.
	prev := c.readErr
	c.readErr = nil
	rows := c.rowsOf(c.scores.partView(key), c.scoresIn(key))
	jrows := c.judgmentRowsOf(c.judgments.partView(key), c.judgmentsIn(key))
	failed := c.readErr != nil
	c.readErr = cmp.Or(prev, c.readErr)
	if failed {
		return
	}
	if c.samples != nil {
		// The window's samples are named no more: a result for one of
		// them is late (see [Collector.windowKey]).
		for _, r := range rows {
			delete(c.samples, runSampleKey(r.suite, r.sample))
		}
	}
	for _, r := range rows {
		c.fold.arrived[scoreCount(r.variant, r.suite)]++
	}
	rows = slices.DeleteFunc(rows, func(r row) bool { return r.perturbation() != "" })
	for _, jr := range jrows {
		c.fold.arrived[judgmentCount(jr.judgeID, jr.cand, jr.suite)]++
	}
	// A compare pair's judgments leave with the window too, which the
	// rows above leave out: [Collector.judgedPairs] sizes their verdicts
	// by what the table still holds.
	c.eachOf(c.judgments.partView(key), func(rec arrow.RecordBatch) {
		jc := judgmentColumnsOf(rec)
		for i := range int(rec.NumRows()) {
			if jc.pert.Value(i) == "" && jc.compared(i, c.spec.Baseline) {
				c.fold.arrived[judgmentCount(jc.jid.Value(i), c.spec.PairName(jc.cand.Value(i), jc.base.Value(i)), jc.suite.Value(i))]++
			}
		}
	})
	dws, looks := c.windowFigures(rows, func() []judgmentRow { return jrows })
	for _, dw := range dws {
		dw.Folded = true
		c.fold.windows = append(c.fold.windows, dw)
	}
	if len(dws) > 0 {
		c.fold.looked++
	}
	for _, cand := range c.spec.Candidates() {
		for _, m := range monitorStatistics {
			mk := [2]string{cand, m.statistic}
			for _, l := range looks[mk] {
				mix := c.fold.monitors[mk]
				mix.Look(l, 0, m.tau2, monitorAlpha)
				c.fold.monitors[mk] = mix
			}
		}
	}
	for suite, n := range takenBySuite(rows) {
		c.fold.taken[suite] += n
	}
	for _, k := range c.fold.keys[key] {
		delete(c.seen, k)
	}
	delete(c.fold.keys, key)
	c.scores.drop(key)
	c.judgments.drop(key)
}

func (c *Collector) scoresIn(key int64) int {
	if p := c.scores.parts[key]; p != nil {
		return p.rows
	}
	return 0
}

func (c *Collector) judgmentsIn(key int64) int {
	if p := c.judgments.parts[key]; p != nil {
		return p.rows
	}
	return 0
}

// lateWarning says how many results arrived for windows already folded.
func (c *Collector) lateWarning() string {
	if c.fold.late == 0 {
		return ""
	}
	return fmt.Sprintf("%d results arrived for windows older than the report's horizon of %d windows, already folded: they were left out of every figure",
		c.fold.late, c.fold.horizon)
}

// Needed is, for each of the run's streams, the first stream sequence
// whose messages the collector may still need (0 where it needs none it
// knows of): messages of the run before it belong to folded windows only,
// and may be purged.
type Needed struct {
	Samples, Gens, Scores, Judgments uint64
	// Folded counts the windows folded so far.
	Folded int
}

// Needed says which messages of the run the collector may still need.
func (c *Collector) Needed() Needed {
	n := Needed{Folded: len(c.fold.windows)}
	for _, t := range []*table{c.scores, c.judgments} {
		for _, p := range t.parts {
			seen(&n.Samples, p.sampleSeq)
			seen(&n.Gens, p.genSeq)
			msgs := &n.Judgments
			if t == c.scores {
				msgs = &n.Scores
			}
			seen(msgs, p.msgSeq)
		}
	}
	// A window with results from messages of no known sequence (added
	// when their sample was named, or by a caller that does not say)
	// keeps its stream whole until it is folded.
	for _, p := range c.scores.parts {
		if p.msgUnknown {
			n.Scores = 0
		}
	}
	for _, p := range c.judgments.parts {
		if p.msgUnknown {
			n.Judgments = 0
		}
	}
	return n
}

// retained counts what the collector holds of a continuous run's
// windows: the windows with results held, their rows and their keys.
func (c *Collector) retained() (windows, rows, keys int) {
	for k, ks := range c.fold.keys {
		if k != noWindow {
			windows++
			keys += len(ks)
		}
	}
	for _, t := range []*table{c.scores, c.judgments} {
		for k, p := range t.parts {
			if k != noWindow {
				rows += p.rows
			}
		}
	}
	return windows, rows, keys
}

// folded is what the report carries of the folded windows beyond their
// figures, or nil before any is.
func (c *Collector) folded() *document.Folded {
	f := &c.fold
	if !f.started || (len(f.windows) == 0 && f.late == 0 && f.resumed == noWindow) {
		return nil
	}
	out := &document.Folded{Cutoff: time.UnixMilli(f.cutoff).UTC(), Newest: time.UnixMilli(f.newest).UTC(), Looked: f.looked, Late: f.late,
		Taken: maps.Clone(f.taken), Monitors: []document.MonitorState{}, Counts: []document.FoldedCount{}}
	counts := slices.Collect(maps.Keys(f.arrived))
	slices.SortFunc(counts, func(a, b [3]string) int {
		return strings.Compare(strings.Join(a[:], "\x00"), strings.Join(b[:], "\x00"))
	})
	for _, k := range counts {
		fc := document.FoldedCount{N: f.arrived[k]}
		if variant, ok := strings.CutPrefix(k[0], "s\x00"); ok {
			fc.Variant, fc.Suite = variant, k[1]
		} else {
			fc.Judge, fc.Variant, fc.Suite = strings.TrimPrefix(k[0], "j\x00"), k[1], k[2]
		}
		out.Counts = append(out.Counts, fc)
	}
	keys := slices.Collect(maps.Keys(f.monitors))
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	for _, k := range keys {
		n, sum, ss, p := f.monitors[k].State()
		out.Monitors = append(out.Monitors, document.MonitorState{Variant: k[0], Statistic: k[1], N: n, Sum: sum, SumSquares: ss, PValue: p})
	}
	return out
}

// Resume carries on from rep, a report of the run made before this
// collector was: its folded windows, their monitors' states and counts
// are taken as they were, and results of those windows read again (what
// a purge left of them) are left out without being counted late. The
// caller resumes before adding anything.
func (c *Collector) Resume(rep *document.Report) {
	f := rep.Folded
	if c.spec.Continuous == nil || f == nil || c.fold.horizon <= 0 {
		return
	}
	if err := c.resumable(f); err != nil {
		c.Note(fmt.Sprintf("the stored report's folded windows cannot be resumed from (%v): they are left out", err))
		return
	}
	for _, w := range rep.Windows {
		if w.Folded {
			c.fold.windows = append(c.fold.windows, w)
		}
	}
	c.fold.cutoff, c.fold.newest, c.fold.started = f.Cutoff.UnixMilli(), f.Newest.UnixMilli(), true
	c.fold.latest, c.fold.reached = [2]int64{c.fold.newest, c.fold.newest}, [2]bool{true, true}
	c.fold.resumed = c.fold.cutoff
	c.fold.looked, c.fold.late = f.Looked, f.Late
	maps.Copy(c.fold.taken, f.Taken)
	for _, fc := range f.Counts {
		k := scoreCount(fc.Variant, fc.Suite)
		if fc.Judge != "" {
			k = judgmentCount(fc.Judge, fc.Variant, fc.Suite)
		}
		c.fold.arrived[k] += fc.N
		c.arrived[k] += fc.N
	}
	for _, m := range f.Monitors {
		c.fold.monitors[[2]string{m.Variant, m.Statistic}] = stats.MixtureOf(m.N, m.Sum, m.SumSquares, m.PValue)
	}
}

// resumable checks what a stored report says of its folded windows: the
// stage wrote it, but a report it cannot have written must not make
// every result late or a monitor's figures no number.
func (c *Collector) resumable(f *document.Folded) error {
	ct := c.spec.Continuous
	if !ct.WindowOf(f.Cutoff).Equal(f.Cutoff) || !ct.WindowOf(f.Newest).Equal(f.Newest) || f.Newest.Before(f.Cutoff) {
		return fmt.Errorf("cutoff %s and newest window %s are not window starts in order", f.Cutoff, f.Newest)
	}
	if f.Looked < 0 || f.Late < 0 {
		return fmt.Errorf("negative counts")
	}
	for _, n := range f.Taken {
		if n < 0 {
			return fmt.Errorf("negative counts")
		}
	}
	for _, fc := range f.Counts {
		if fc.N < 0 {
			return fmt.Errorf("negative counts")
		}
	}
	for _, m := range f.Monitors {
		// Sums far beyond any observations' keep the monitors' arithmetic
		// finite.
		if m.N < 0 || !(math.Abs(m.Sum) <= 1e12) || !(m.SumSquares >= 0 && m.SumSquares <= 1e12) || !(m.PValue >= 0 && m.PValue <= 1) {
			return fmt.Errorf("monitor %s of %s: state out of range", m.Statistic, m.Variant)
		}
	}
	return nil
}
