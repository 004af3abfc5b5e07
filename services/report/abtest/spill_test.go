package abtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/stats"
)

// months is a live experiment's traffic over many days: sessions start
// every hour, most of them a new user's (exposed, then one or two
// conversations of one to three turns, each turn scored, and an
// outcome), and some a user coming back three to five days later for
// another conversation (once), now and then with its exposure sent
// again. From the fifth day on, the sessions an hour are steady.
// Events come in time order within each hour's sessions, which spill a
// little into the next hour: out of order, within the horizon.
type months struct {
	sessionsPerHour int
	returns         float64
	seed            uint64
}

// each yields the traffic's events for hours, until yield says stop.
func (m months) each(e ab.Experiment, hours int, yield func(ab.Event) bool) {
	rng := rand.New(rand.NewPCG(m.seed, 3))
	// Users by number (small, so that the benchmark measures the fold's
	// memory, not this), negative for one coming back.
	back := map[int][]int32{}
	var user int32
	var batch []ab.Event
	for h := range hours {
		start := t0.Add(time.Duration(h) * time.Hour)
		sessions := back[h]
		delete(back, h)
		for range m.sessionsPerHour {
			user++
			sessions = append(sessions, user)
		}
		batch = batch[:0]
		for i, s := range sessions {
			isNew := s > 0
			unit := fmt.Sprint("user-", max(s, -s))
			at := start.Add(time.Duration(i) * time.Hour / time.Duration(len(sessions)))
			if isNew || rng.Float64() < 0.1 {
				arm := e.Pick(ab.Bucket("months", unit)).Name
				batch = append(batch, ab.Event{ID: "x", Kind: ab.KindExposure, Unit: unit, Arm: arm, At: at, Epoch: "w"})
			}
			for c := range 1 + rng.IntN(2) {
				conv := fmt.Sprintf("%s-%d-%d", unit, h, c)
				for k := range 1 + rng.IntN(3) {
					tat := at.Add(time.Duration(10*c+k+1) * time.Minute)
					tok, lat := int64(20+rng.IntN(300)), float64(200+rng.IntN(1500))
					batch = append(batch, ab.Event{ID: fmt.Sprint("t", k), Kind: ab.KindTurn, Unit: unit, Conversation: conv, At: tat, CompletionTokens: &tok, LatencyMS: &lat},
						ab.Event{ID: fmt.Sprint("s", k), Kind: ab.KindScore, Unit: unit, Conversation: conv, At: tat, Refused: bp(rng.Float64() < 0.03)})
				}
				o := ab.Event{ID: "o", Kind: ab.KindOutcome, Unit: unit, Conversation: conv, At: at.Add(time.Duration(10*c+9) * time.Minute),
					Success: bp(rng.Float64() < 0.4), Ticket: bp(rng.Float64() < 0.05), Ended: bp(true), Turns: ip(int64(1 + rng.IntN(3)))}
				if rng.Float64() < 0.3 {
					o.Satisfaction = fp(float64(1 + rng.IntN(5)))
				}
				batch = append(batch, o)
			}
			if isNew && rng.Float64() < m.returns {
				later := h + 72 + rng.IntN(48)
				back[later] = append(back[later], -max(s, -s))
			}
		}
		slices.SortStableFunc(batch, func(a, b ab.Event) int { return a.At.Compare(b.At) })
		for _, ev := range batch {
			if !yield(ev) {
				return
			}
		}
	}
}

// TestFoldSpillsQuietUnits: over 40 days of traffic with users coming back
// days later, a fold that keeps its quiet units on disk has exactly the
// figures and counts of one that keeps every unit in memory, while holding
// in memory only the units active within the horizon.
func TestFoldSpillsQuietUnits(t *testing.T) {
	e := experiment()
	mem, disk := New(e, 24*time.Hour), New(e, 24*time.Hour)
	dir := t.TempDir()
	sp, err := OpenSpill(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	disk.SpillTo(sp)
	var most int64
	months{sessionsPerHour: 20, returns: 0.3, seed: 1}.each(e, 40*24, func(ev ab.Event) bool {
		mem.Add(ev)
		disk.Add(ev)
		n, _ := disk.InMemory()
		most = max(most, n)
		return true
	})
	wantArms, wantCounts := mem.Snapshot()
	gotArms, gotCounts := disk.Snapshot()
	if !reflect.DeepEqual(gotArms, wantArms) || gotCounts != wantCounts {
		t.Errorf("spilled fold:\n%+v %+v\nin memory:\n%+v %+v", gotArms, gotCounts, wantArms, wantCounts)
	}
	if wantCounts.Duplicates == 0 || wantCounts.OutOfOrder == 0 {
		t.Errorf("the traffic should send exposures again and events out of order: %+v", wantCounts)
	}
	all, _ := mem.InMemory()
	held, spilled := disk.InMemory()
	// A day and an eighth of sessions (the horizon and the sweep's step),
	// new and returning, at most.
	if limit := int64(27 * 20 * 2); most > limit || spilled == 0 || all < 15000 {
		t.Errorf("units in memory: at most %d with the spill (limit %d), %d now, %d spilled; %d without", most, limit, held, spilled, all)
	}
	t.Logf("units: at most %d in memory with the spill, %d spilled; %d without; %+v", most, spilled, all, wantCounts)
	if sp.Size() == 0 {
		t.Error("the spill file is empty")
	}
	// The file has no name once open: a killed process leaves nothing.
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files in the spill directory: %v", left)
	}
}

// TestOpenSpillMakesItsDirectory: the report's spill directory need not
// exist yet (the collector makes it only when it first spills).
func TestOpenSpillMakesItsDirectory(t *testing.T) {
	sp, err := OpenSpill(filepath.Join(t.TempDir(), "report-spill", "deeper"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestUnitRecordRoundTrip: a quiet unit's record reads back as the unit,
// and a damaged one is refused, not read as other totals.
func TestUnitRecordRoundTrip(t *testing.T) {
	u := &unit{arm: "treatment", exposed: at(3), last: at(90)}
	u.cur[mSuccess] = [2]float64{2, 3}
	u.cur[mLatency] = [2]float64{1234.5, 4}
	u.pre[mTicket] = [2]float64{0, 1}
	rec := encodeUnit(u)
	got, err := decodeUnit(rec)
	if err != nil {
		t.Fatal(err)
	}
	if got.arm != u.arm || !got.exposed.Equal(u.exposed) || !got.last.Equal(u.last) || got.cur != u.cur || got.pre != u.pre ||
		got.inCur != u.cur || got.inPre != u.pre || !got.in {
		t.Errorf("read back %+v, want %+v", got, u)
	}
	for i := range rec {
		if _, err := decodeUnit(rec[:i]); err == nil {
			t.Errorf("a record cut to %d of %d bytes was read", i, len(rec))
		}
	}
	if _, err := decodeUnit(append(slices.Clone(rec), 0)); err == nil {
		t.Error("a record with a trailing byte was read")
	}
}

// TestSpillFailureHoldsTheDecision: when a quiet unit cannot be read back
// from the spill, its event is counted, not applied, and every decision
// holds until the report reads the events again.
func TestSpillFailureHoldsTheDecision(t *testing.T) {
	e := liveExperiment()
	e.Window = eval.Duration(time.Hour)
	a := NewAnalysis(e, 6*time.Hour)
	sp, err := OpenSpill(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a.fold.SpillTo(sp)
	tr := traffic{success: map[string]float64{"control": 0.3, "treatment": 0.3}, ticket: map[string]float64{"control": 0.05, "treatment": 0.3}, perHour: 200}
	events := tr.events(t, e, 24, 9)
	decisions, _ := run(a, events)
	if decisions[len(decisions)-1] != stats.DecisionRollback {
		t.Fatalf("the tickets should roll back: %v", decisions)
	}
	if _, spilled := a.fold.InMemory(); spilled == 0 {
		t.Fatal("nothing was spilled")
	}
	// The file is lost under the report: a unit exposed on the first
	// hour comes back.
	sp.Close()
	back := ab.Event{ID: "late-visit", Kind: ab.KindOutcome, Unit: events[0].Unit, Conversation: "again", At: events[len(events)-1].At.Add(time.Minute), Success: bp(true)}
	a.Add(back)
	look := a.Look(back.At.Truncate(time.Hour).Add(time.Hour))
	if look.Events.SpillErrors != 1 || look.Decisions[0].Decision != stats.DecisionHold || !look.Decisions[0].Blocked ||
		!strings.Contains(look.Decisions[0].Reasons[0], "could not be applied") {
		t.Errorf("after a spill failure: %+v %+v", look.Events, look.Decisions)
	}
	if a.fold.SpillError() == nil {
		t.Error("the spill's failure is not kept for the log")
	}
}

// rss is the process's resident memory from /proc: anonymous (the heap,
// stacks) and file-backed (the spill file's pages the kernel holds, which
// it reclaims under pressure).
func rss() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "no /proc"
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "RssAnon:") || strings.HasPrefix(line, "RssFile:") {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(out, ", ")
}

// BenchmarkABReportMemory: a live experiment's report holds what it needs
// of 1M and then 10M events (40 days of traffic, users coming back days
// later) in memory that does not grow with the events: the units active
// within the horizon, with the quiet ones on disk. It prints the live heap
// after each, the units in memory and on disk, and the spill file's size.
func BenchmarkABReportMemory(b *testing.B) {
	e := liveExperiment()
	e.Window = eval.Duration(time.Hour)
	for range b.N {
		a := NewAnalysis(e, 0)
		sp, err := OpenSpill(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		a.fold.SpillTo(sp)
		heap := func() float64 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return float64(ms.HeapAlloc) / (1 << 20)
		}
		base := heap()
		n, began := 0, time.Now()
		var at10M float64
		// About 6,000 events an hour once users come back (from the fifth
		// day): the 1,000,000th event is on the eighth day.
		months{sessionsPerHour: 600, returns: 0.3, seed: 2}.each(e, 1<<20, func(ev ab.Event) bool {
			a.Add(ev)
			n++
			if n == 1_000_000 || n == 10_000_000 {
				mem, spilled := a.fold.InMemory()
				at10M = heap() - base
				b.Logf("%9d events (%s of traffic): heap %.0f MB over the %.0f MB before, %d units in memory, %d on disk (%.0f MB file), %.0f events/s; %s",
					n, ev.At.Sub(t0).Round(time.Hour), heap()-base, base, mem, spilled, float64(sp.Size())/(1<<20), float64(n)/time.Since(began).Seconds(), rss())
			}
			return n < 10_000_000
		})
		b.ReportMetric(at10M, "MB-heap-at-10M")
		sp.Close()
	}
}
