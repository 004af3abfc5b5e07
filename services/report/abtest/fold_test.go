package abtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

func experiment() ab.Experiment {
	return ab.Experiment{Name: "x", Arms: []ab.Arm{{Name: "control", Variant: "base", Weight: 1}, {Name: "treatment", Variant: "ft", Weight: 1}},
		Primary: ab.Metric{Metric: "success"}, MinUnits: 10}
}

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func bp(b bool) *bool       { return &b }
func fp(f float64) *float64 { return &f }
func ip(i int64) *int64     { return &i }
func exposure(id, unit, arm string, t time.Time) ab.Event {
	return ab.Event{ID: id, Kind: ab.KindExposure, Unit: unit, Arm: arm, At: t}
}
func turn(id, unit, conv string, t time.Time, tokens int64, latency float64) ab.Event {
	return ab.Event{ID: id, Kind: ab.KindTurn, Unit: unit, Conversation: conv, At: t, CompletionTokens: ip(tokens), LatencyMS: fp(latency)}
}
func outcome(id, unit, conv string, t time.Time) ab.Event {
	return ab.Event{ID: id, Kind: ab.KindOutcome, Unit: unit, Conversation: conv, At: t}
}

func sums(t *testing.T, f *Fold, arm, metric string) (n int64, y, x float64) {
	t.Helper()
	arms, _ := f.Snapshot()
	m := arms[arm].Metrics[metric]
	return m.N, m.Y, m.X
}

func TestFoldJoinsDuplicateLateOutOfOrderAndOrphanEvents(t *testing.T) {
	f := New(experiment(), time.Hour)
	o1 := outcome("o1", "u1", "c1", at(5))
	o1.Success, o1.Ticket = bp(false), bp(true)
	// The outcome arrives before its conversation's turn and before the
	// unit's exposure: held, then joined.
	f.Add(o1)
	f.Add(turn("t1", "u1", "c1", at(2), 40, 900))
	if _, c := f.Snapshot(); c.Pending != 2 {
		t.Fatalf("events before the exposure: %+v", c)
	}
	f.Add(exposure("e1", "u1", "treatment", at(1)))
	// A duplicate turn (same id) counts once.
	f.Add(turn("t1", "u1", "c1", at(2), 40, 900))
	// A later outcome of the same conversation arrives first, then an
	// earlier one: the later one's success wins.
	o3 := outcome("o3", "u1", "c1", at(9))
	o3.Success = bp(true)
	f.Add(o3)
	o2 := outcome("o2", "u1", "c1", at(7))
	o2.Success = bp(false)
	f.Add(o2)
	if n, y, x := sums(t, f, "treatment", "success"); n != 1 || y != 1 || x != 1 {
		t.Errorf("success: %d units, %v of %v", n, y, x)
	}
	if _, y, x := sums(t, f, "treatment", "ticket"); y != 1 || x != 1 {
		t.Errorf("ticket: %v of %v", y, x)
	}
	if _, y, x := sums(t, f, "treatment", "tokens"); y != 40 || x != 1 {
		t.Errorf("tokens: %v over %v turns", y, x)
	}
	// A unit that is never exposed: its events are orphans once the
	// watermark is past the horizon.
	f.Add(turn("t9", "ghost", "c9", at(10), 5, 100))
	// A control unit whose conversation began before its exposure: the
	// pre-period.
	f.Add(turn("t5", "u2", "c5", at(20), 10, 100))
	f.Add(exposure("e2", "u2", "control", at(30)))
	f.Add(turn("t6", "u2", "c6", at(31), 30, 300))
	arms, _ := f.Snapshot()
	if m := arms["control"].Metrics["tokens"]; m.N != 1 || m.Y != 30 || m.X != 1 || m.Z != 10 || m.W != 1 || m.Pre != 1 {
		t.Errorf("control tokens with a pre-period: %+v", m)
	}
	// An exposure to no arm of the experiment, an event naming another arm.
	f.Add(exposure("e3", "u3", "nope", at(32)))
	mis := turn("t7", "u2", "c6", at(33), 1, 10)
	mis.Arm = "treatment"
	f.Add(mis)
	// Time moves on: the watermark two hours later.
	f.Add(exposure("e4", "u4", "control", at(150)))
	// A late event (older than the horizon behind the watermark).
	f.Add(turn("t8", "u2", "c6", at(40), 1, 10))
	_, c := f.Snapshot()
	want := Counts{Events: 14, Applied: 10, Duplicates: 1, Late: 1, OutOfOrder: 4, Pending: 0, Orphans: 1, UnknownArm: 1, ArmMismatch: 1}
	if c != want {
		t.Errorf("counts\n got %+v\nwant %+v", c, want)
	}
	if _, y, _ := sums(t, f, "control", "tokens"); y != 31 {
		t.Errorf("the late turn was applied: control tokens %v", y)
	}
}

// TestFoldMatchesTheOracle: simulated users with known outcomes, their
// events shuffled within the horizon and some sent twice, fold into
// exactly the totals computed from the users themselves.
func TestFoldMatchesTheOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	e := experiment()
	f := New(e, 6*time.Hour)
	type want struct{ succ, succN, tick, convs, sat, satN, tokens, turns float64 }
	oracle := map[string]*want{"control": {}, "treatment": {}}
	units := map[string]int64{}
	var events []ab.Event
	for i := range 2000 {
		unit := fmt.Sprintf("u%d", i)
		arm := e.Pick(ab.Bucket("x", unit)).Name
		w := oracle[arm]
		units[arm]++
		start := at(i / 10)
		ex := exposure("e"+unit, unit, arm, start)
		ex.Epoch = "w1"
		events = append(events, ex)
		for c := range 1 + rng.IntN(3) {
			conv := fmt.Sprintf("%s-c%d", unit, c)
			w.convs++
			for k := range 1 + rng.IntN(4) {
				tok := int64(rng.IntN(200))
				events = append(events, turn(fmt.Sprintf("%s-t%d", conv, k), unit, conv, start.Add(time.Duration(c*10+k+1)*time.Minute), tok, 500))
				w.tokens += float64(tok)
				w.turns++
			}
			o := outcome(conv+"-o", unit, conv, start.Add(time.Duration(c*10+9)*time.Minute))
			if rng.Float64() < 0.8 {
				s := rng.Float64() < 0.4
				o.Success = &s
				w.succN++
				if s {
					w.succ++
				}
			}
			if rng.Float64() < 0.1 {
				o.Ticket = bp(true)
				w.tick++
			}
			if rng.Float64() < 0.5 {
				r := float64(1 + rng.IntN(5))
				o.Satisfaction = &r
				w.sat += r
				w.satN++
			}
			if o.Success == nil && o.Ticket == nil && o.Satisfaction == nil {
				o.Ended = bp(true)
			}
			events = append(events, o)
		}
	}
	// Shuffle within blocks of 200 events (under the horizon) and send a
	// tenth twice.
	for b := 0; b < len(events); b += 200 {
		blk := events[b:min(b+200, len(events))]
		rng.Shuffle(len(blk), func(i, j int) { blk[i], blk[j] = blk[j], blk[i] })
	}
	var dups int64
	for _, ev := range events {
		f.Add(ev)
		if rng.Float64() < 0.1 {
			f.Add(ev)
			dups++
		}
	}
	arms, c := f.Snapshot()
	if c.Duplicates != dups || c.Late != 0 || c.Orphans != 0 || c.Pending != 0 || c.Applied != int64(len(events)) {
		t.Errorf("counts %+v; %d duplicates sent, %d events", c, dups, len(events))
	}
	for arm, w := range oracle {
		a := arms[arm]
		check := func(metric string, y, x float64) {
			m := a.Metrics[metric]
			if m.Y != y || m.X != x || m.N != units[arm] {
				t.Errorf("%s %s: %v of %v over %d units, want %v of %v over %d", arm, metric, m.Y, m.X, m.N, y, x, units[arm])
			}
		}
		check("success", w.succ, w.succN)
		check("ticket", w.tick, w.convs)
		check("satisfaction", w.sat, w.satN)
		check("tokens", w.tokens, w.turns)
		if a.Units != units[arm] {
			t.Errorf("%s: %d units, want %d", arm, a.Units, units[arm])
		}
	}
	// Exposures are counted once per unit, by epoch, in arm order.
	if got := f.Exposed("w1"); got[0] != units["control"] || got[1] != units["treatment"] {
		t.Errorf("exposed in epoch w1: %v, want %d and %d", got, units["control"], units["treatment"])
	}
	if got := f.Exposed("other"); got[0] != 0 || got[1] != 0 {
		t.Errorf("exposed in another epoch: %v", got)
	}
	// The per-unit moments read as rates with intervals.
	var s stats.ABSequence
	d := s.Look(arms["control"].Metrics["success"], arms["treatment"].Metrics["success"], 2000, 0.05)
	if d.Undefined != "" || math.Abs(d.Control.Value-oracle["control"].succ/oracle["control"].succN) > 1e-12 {
		t.Errorf("success difference %+v", d)
	}
}

// TestFoldLatencyQuantiles: each arm's per-turn latency quantiles are
// within the sketch's 1% of the exact ones over its turns since
// exposure — a duplicate turn counted once, a turn before the exposure
// not at all — and a window's are over the turns since the last look.
func TestFoldLatencyQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	f := New(experiment(), 48*time.Hour)
	f.Add(exposure("e", "u", "control", at(10)))
	// Before the exposure: the pre-period, not the arm's latency.
	f.Add(turn("pre", "u", "before", at(5), 10, 1e6))
	var all, last []float64
	for i := range 5000 {
		v := math.Round(math.Exp(6+rng.NormFloat64())*10) / 10
		ev := turn(fmt.Sprint("t", i), "u", fmt.Sprint("c", i/10), at(11+i/100), 10, v)
		f.Add(ev)
		f.Add(ev)
		all = append(all, v)
		if i == 3999 {
			f.Quantiles()
		}
		if i >= 4000 {
			last = append(last, v)
		}
	}
	q := f.Quantiles()["control"]["latency_ms"]
	check := func(name string, got document.ABQuantiles, vals []float64) {
		t.Helper()
		slices.Sort(vals)
		if got.Turns != int64(len(vals)) {
			t.Errorf("%s: %d turns, want %d", name, got.Turns, len(vals))
		}
		for _, c := range []struct {
			p   float64
			got float64
		}{{0.5, got.P50}, {0.9, got.P90}, {0.95, got.P95}, {0.99, got.P99}} {
			want := vals[int(c.p*float64(len(vals)-1))]
			if math.Abs(c.got-want) > 0.01*want {
				t.Errorf("%s p%g: %v, exact %v", name, 100*c.p, c.got, want)
			}
		}
	}
	check("all turns", q, all)
	if q.Window == nil {
		t.Fatal("no window quantiles")
	}
	check("last window", *q.Window, last)
	if _, ok := f.Quantiles()["control"]["ttft_ms"]; ok {
		t.Error("quantiles of a measure no turn gave")
	}
	if w := f.Quantiles()["control"]["latency_ms"].Window; w.Turns != 0 {
		t.Errorf("a window with no turn: %+v", w)
	}
}
