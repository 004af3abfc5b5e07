package abtest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// traffic simulates a live experiment's users, assigned by the real
// assigner, each with one to three conversations a few minutes after their
// exposure, resolved and ticketed with their arm's chances; mismatch drops
// that share of the treatment's exposures (a broken logging path).
type traffic struct {
	success, ticket map[string]float64
	mismatch        float64
	perHour         int
}

func (tr traffic) events(t testing.TB, e eval.Experiment, hours int, seed uint64) []ab.Event {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	as := &ab.Assigner{Store: &ab.MemoryStore{}}
	var out []ab.Event
	for h := range hours {
		for i := range tr.perHour {
			unit := fmt.Sprintf("u%d-%d", h, i)
			at := t0.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Hour/time.Duration(tr.perHour))
			a, err := as.Assign(t.Context(), e, unit)
			if err != nil {
				t.Fatal(err)
			}
			if !(a.Arm != "control" && rng.Float64() < tr.mismatch) {
				out = append(out, ab.Event{ID: "x", Kind: ab.KindExposure, Unit: unit, Arm: a.Arm, At: at, Epoch: a.Epoch})
			}
			for c := range 1 + rng.IntN(3) {
				conv := fmt.Sprintf("%s-%d", unit, c)
				o := ab.Event{ID: conv + "o", Kind: ab.KindOutcome, Unit: unit, Conversation: conv, At: at.Add(time.Duration(c+1) * time.Minute)}
				s, tk := rng.Float64() < tr.success[a.Arm], rng.Float64() < tr.ticket[a.Arm]
				o.Success, o.Ticket = &s, &tk
				out = append(out, o)
			}
		}
	}
	return out
}

func liveExperiment() eval.Experiment {
	return eval.Experiment{Name: "live", Arms: []eval.Arm{{Name: "control", Variant: "base", Weight: 1}, {Name: "treatment", Variant: "ft", Weight: 1}},
		Primary: eval.ABMetric{Metric: "success"}, Guardrails: []eval.ABMetric{{Metric: "ticket", Margin: 0.02}}, MinUnits: 1500}
}

// run feeds the events and returns every look's decision of the
// treatment, and the last look.
func run(a *Analysis, events []ab.Event) ([]string, document.ABExperiment) {
	var decisions []string
	for _, ev := range events {
		if l := a.Add(ev); l != nil {
			decisions = append(decisions, l.Decisions[0].Decision)
		}
	}
	return decisions, a.Last()
}

func TestAnalysisLooksOncePerWindowAndDecides(t *testing.T) {
	e := liveExperiment()
	same := traffic{success: map[string]float64{"control": 0.3, "treatment": 0.3}, ticket: map[string]float64{"control": 0.05, "treatment": 0.05}, perHour: 300}
	decisions, last := run(NewAnalysis(e, 0), same.events(t, e, 24, 1))
	// 24 hours of exposures, whose last outcomes fall a few minutes into
	// the 25th: 24 windows closed, the 25th still open.
	if len(decisions) != 24 || last.Looks != 24 {
		t.Fatalf("%d looks over 24 hours of events, want 24", len(decisions))
	}
	for i, d := range decisions {
		if d != stats.DecisionHold {
			t.Errorf("no difference: look %d decided %s", i+1, d)
		}
	}
	if last.Arms[0].Units+last.Arms[1].Units < 6500 || !last.SRM.Checked || last.SRM.P < 0.001 {
		t.Errorf("last look: arms %+v, SRM %+v", last.Arms, last.SRM)
	}
	if len(last.Comparisons) != 2 || last.Comparisons[0].Role != "primary" || last.Comparisons[1].Metric != "ticket" {
		t.Errorf("comparisons %+v", last.Comparisons)
	}

	worse := same
	worse.ticket = map[string]float64{"control": 0.05, "treatment": 0.12}
	decisions, last = run(NewAnalysis(e, 0), worse.events(t, e, 24, 2))
	if decisions[len(decisions)-1] != stats.DecisionRollback || !strings.Contains(strings.Join(last.Decisions[0].Reasons, " "), "guardrail ticket worsened") {
		t.Errorf("a ticket rise: decisions %v, last %+v", decisions, last.Decisions)
	}

	better := same
	better.success = map[string]float64{"control": 0.3, "treatment": 0.4}
	decisions, last = run(NewAnalysis(e, 0), better.events(t, e, 48, 3))
	if decisions[len(decisions)-1] != stats.DecisionRamp {
		t.Errorf("a success gain: decisions %v, last %+v", decisions, last.Decisions)
	}

	broken := better
	broken.mismatch = 0.1
	decisions, last = run(NewAnalysis(e, 0), broken.events(t, e, 48, 4))
	if last.Decisions[0].Decision != stats.DecisionHold || !last.Decisions[0].Blocked {
		t.Errorf("a 10%% sample ratio mismatch: decisions %v, last %+v, SRM %+v", decisions, last.Decisions, last.SRM)
	}
	for _, d := range decisions {
		if d == stats.DecisionRamp {
			t.Errorf("ramped despite a 10%% sample ratio mismatch: %v", decisions)
			break
		}
	}
}

// TestAnalysisAfterARamp: new weights start a new epoch, whose units the
// sample-ratio check compares with the new weights — the old epoch's
// units, assigned under other weights, do not make a mismatch.
func TestAnalysisAfterARamp(t *testing.T) {
	e := liveExperiment()
	tr := traffic{success: map[string]float64{"control": 0.3, "treatment": 0.3}, ticket: map[string]float64{"control": 0.05, "treatment": 0.05}, perHour: 300}
	a := NewAnalysis(e, 0)
	events := tr.events(t, e, 12, 5)
	ramped := e
	ramped.Arms = []eval.Arm{e.Arms[0], {Name: "treatment", Variant: "ft", Weight: 3}}
	later := tr.events(t, ramped, 24, 6)[len(events):]
	run(a, events)
	a.SetExperiment(ramped)
	_, last := run(a, later)
	if !last.SRM.Checked || last.SRM.P < 0.01 || last.SRM.Epoch != ramped.Epoch() || last.SRM.Weights[1] != 3 {
		t.Errorf("after a ramp: SRM %+v", last.SRM)
	}
	if last.Decisions[0].Blocked {
		t.Errorf("blocked after a ramp: %+v", last.Decisions)
	}
}

func TestAnalysisStoppedArmAndUnscoredGuardrail(t *testing.T) {
	e := liveExperiment()
	e.Guardrails = append(e.Guardrails, eval.ABMetric{Metric: "refusal", Margin: 0.02})
	e.Arms = append(e.Arms, eval.Arm{Name: "old", Variant: "ft", Weight: 1})
	tr := traffic{success: map[string]float64{"control": 0.3, "treatment": 0.5, "old": 0.3}, ticket: map[string]float64{"control": 0.05, "treatment": 0.05, "old": 0.05}, perHour: 300}
	a := NewAnalysis(e, 0)
	events := tr.events(t, e, 12, 7)
	run(a, events)
	stopped := e
	stopped.Arms = []eval.Arm{e.Arms[0], e.Arms[1], {Name: "old", Variant: "ft", Weight: 1, Stopped: true}}
	a.SetExperiment(stopped)
	_, last := run(a, tr.events(t, stopped, 24, 8)[len(events):])
	if len(last.Decisions) != 2 || last.Decisions[1].Arm != "old" || last.Decisions[1].Decision != stats.DecisionRollback {
		t.Errorf("a stopped arm: %+v", last.Decisions)
	}
	if d := last.Decisions[0]; d.Decision != stats.DecisionHold || !strings.Contains(strings.Join(d.Reasons, " "), "guardrail refusal: control: no unit has a denominator") {
		t.Errorf("a guardrail on a metric with no readings: %+v", d)
	}
}

// TestAnalysisStartsAtTheFirstExposureAndLooksByTheClock: a unit's
// pre-period event from months before does not start the experiment (its
// elapsed time, its first window); a window no event closes is looked at
// by the clock; an exposure stored again long after is not late.
func TestAnalysisStartsAtTheFirstExposureAndLooksByTheClock(t *testing.T) {
	e := liveExperiment()
	a := NewAnalysis(e, 0)
	old := ab.Event{ID: "p", Kind: ab.KindTurn, Unit: "u0", Conversation: "old", At: t0.Add(-90 * 24 * time.Hour), LatencyMS: fp(300)}
	if look := a.Add(old); look != nil {
		t.Fatalf("a pre-period event made a look: %+v", look)
	}
	if look := a.Add(ab.Event{ID: "x", Kind: ab.KindExposure, Unit: "u0", Arm: "control", At: t0}); look != nil {
		t.Fatalf("the first exposure made a look: %+v", look)
	}
	if look := a.Due(t0.Add(30*time.Minute), time.Minute); look != nil {
		t.Fatalf("a look before the window's end: %+v", look)
	}
	look := a.Due(t0.Add(62*time.Minute), time.Minute)
	if look == nil || !look.LastLook.Equal(t0.Add(time.Hour)) {
		t.Fatalf("the clock's look: %+v", look)
	}
	for _, r := range look.Decisions[0].Reasons {
		if strings.Contains(r, "maximum duration") {
			t.Errorf("an hour-old experiment told it reached its maximum duration: %v", look.Decisions[0].Reasons)
		}
	}
	if arms := look.Arms; arms[0].Units != 1 || arms[0].Metrics["latency_ms"].Value != 0 {
		t.Errorf("arms %+v: the old turn belongs to the unit's pre-period", arms)
	}
	// Events move the watermark two days on; an exposure stored again with
	// its first time still joins its unit's events.
	a.Add(ab.Event{ID: "t", Kind: ab.KindTurn, Unit: "u1", Conversation: "c", At: t0.Add(49 * time.Hour), LatencyMS: fp(100)})
	a.Add(ab.Event{ID: "x", Kind: ab.KindExposure, Unit: "u1", Arm: "treatment", At: t0.Add(10 * time.Minute)})
	if _, c := a.fold.Snapshot(); c.Late != 0 || c.Pending != 0 {
		t.Errorf("counts %+v: the exposure stored again was taken as late", c)
	}
}

// BenchmarkAnalysisFalseDecisions: 200 seeded simulated experiments with
// no true difference between the arms — users assigned by the salted
// hash, their events folded and looked at every hourly window by the
// report's own analysis, 40 windows of 100 users — each stopped at its
// first decision, as a team would act on it. It prints the share that
// ever ramped or rolled back (the bound: 5%), and the share of
// looks the sample-ratio check blocked.
func BenchmarkAnalysisFalseDecisions(b *testing.B) {
	e := liveExperiment()
	e.Window = eval.Duration(time.Hour)
	null := traffic{success: map[string]float64{"control": 0.3, "treatment": 0.3}, ticket: map[string]float64{"control": 0.05, "treatment": 0.05}, perHour: 100}
	const experiments = 200
	for range b.N {
		var ramp, rollback, looks, blocked int
		for seed := range experiments {
			a := NewAnalysis(e, 0)
			for _, ev := range null.events(b, e, 40, uint64(1000+seed)) {
				l := a.Add(ev)
				if l == nil {
					continue
				}
				looks++
				d := l.Decisions[0]
				if d.Blocked {
					blocked++
				}
				if d.Decision == stats.DecisionRamp {
					ramp++
				}
				if d.Decision == stats.DecisionRollback {
					rollback++
				}
				if d.Decision != stats.DecisionHold {
					break
				}
			}
		}
		b.ReportMetric(100*float64(ramp)/experiments, "%-ramped")
		b.ReportMetric(100*float64(rollback)/experiments, "%-rolled-back")
		b.Logf("%d experiments, %d looks: %.1f%% ever ramped, %.1f%% ever rolled back (bound 5%%); %.2f%% of looks blocked by the sample-ratio check",
			experiments, looks, 100*float64(ramp)/experiments, 100*float64(rollback)/experiments, 100*float64(blocked)/float64(looks))
	}
}
