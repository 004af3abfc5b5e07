package stats

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// abUnits are two arms' per-unit totals (y, x this period; z, w the
// pre-period). The reference values below were computed from the same
// units with numpy 1.24 and scipy 1.10 (Debian bookworm's python3-numpy,
// python3-scipy, run with /usr/bin/python3): the delta-method variances
// from the linearised values ℓ = (y − R·x)/x̄ with numpy's var and cov
// (ddof = 1), CUPED's θ and adjusted difference from those, the
// sample-ratio p-values with scipy.stats.chisquare.
type abUnits struct{ y, x, z, w []float64 }

func (u abUnits) moments() UnitMoments {
	var m UnitMoments
	for i := range u.y {
		m.Add(u.y[i], u.x[i], u.z[i], u.w[i])
	}
	return m
}

var abControl = abUnits{
	y: []float64{1, 1, 0, 1, 1, 0, 2, 0, 1, 0, 0, 0, 0, 1, 2, 0, 2, 1, 2, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 2, 1, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 2, 1, 0, 0, 1, 1, 0, 1, 0},
	x: []float64{2, 3, 1, 2, 2, 2, 2, 1, 1, 2, 3, 2, 1, 2, 3, 2, 3, 3, 2, 1, 1, 3, 3, 1, 2, 2, 2, 2, 2, 3, 2, 2, 2, 3, 1, 1, 2, 1, 1, 1, 2, 1, 1, 2, 1, 1, 3, 1, 1, 1, 2, 3, 3, 3, 1, 2, 3, 1, 1, 1},
	z: []float64{0, 0, 0, 0, 0, 1, 0, 2, 1, 0, 0, 1, 1, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 2, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 2, 1, 0, 1, 3, 1, 1, 0, 0, 0, 0, 0, 1},
	w: []float64{0, 0, 3, 0, 3, 3, 1, 2, 2, 1, 0, 3, 3, 3, 2, 3, 2, 0, 0, 2, 2, 1, 2, 3, 3, 3, 0, 0, 0, 2, 2, 3, 0, 1, 0, 3, 0, 0, 1, 2, 2, 1, 3, 0, 2, 2, 0, 3, 3, 0, 2, 3, 2, 3, 0, 0, 3, 1, 0, 2},
}

var abTreatment = abUnits{
	y: []float64{0, 0, 0, 1, 1, 1, 2, 1, 1, 2, 0, 1, 2, 0, 0, 0, 1, 1, 1, 2, 2, 0, 1, 3, 1, 0, 1, 2, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 2, 0, 0, 2, 2, 1, 3, 1, 0, 2, 0, 1, 2, 1},
	x: []float64{1, 3, 2, 1, 1, 2, 2, 2, 2, 3, 1, 1, 2, 1, 3, 2, 3, 1, 2, 2, 2, 3, 1, 3, 2, 1, 3, 2, 1, 2, 2, 2, 1, 2, 1, 2, 1, 1, 1, 1, 3, 1, 2, 3, 2, 3, 1, 1, 2, 3, 2, 1, 3, 3, 1, 1, 3, 1, 1, 3, 2, 3, 3, 2, 1, 2, 2, 3, 2, 1},
	z: []float64{0, 0, 1, 0, 1, 2, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 2, 0, 0, 1, 2, 1, 0, 0, 0, 1, 0, 1},
	w: []float64{0, 2, 3, 1, 2, 2, 2, 0, 3, 3, 3, 1, 2, 1, 1, 0, 2, 0, 2, 0, 1, 0, 3, 1, 2, 0, 3, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 2, 0, 0, 2, 0, 3, 2, 1, 1, 3, 2, 3, 1, 3, 2, 0, 3, 1, 2, 2, 3, 3, 2, 2, 3, 2, 3, 0, 1, 0, 3, 3, 1},
}

func nearRel(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(1e-300, math.Abs(want))
}

func TestUnitMomentsAgainstNumpy(t *testing.T) {
	c, tr := abControl.moments(), abTreatment.moments()
	for _, k := range []struct {
		name string
		m    UnitMoments
		r, v float64
	}{
		{"control", c, 0.30630630630630629, 0.0019852767109191424},
		{"treatment", tr, 0.40909090909090912, 0.002252445842587286},
	} {
		e, ok := k.m.estimate()
		if !ok || !nearRel(e.r, k.r, 1e-12) || !nearRel(e.v, k.v, 1e-9) {
			t.Errorf("%s: ratio %.17g variance %.17g, want %.17g %.17g", k.name, e.r, e.v, k.r, k.v)
		}
		a := k.m.Arm()
		if h := 1.959963984540054 * math.Sqrt(k.v); !nearRel(a.CI[0], k.r-h, 1e-9) || !nearRel(a.CI[1], k.r+h, 1e-9) {
			t.Errorf("%s: interval %v, want %v ± %v", k.name, a.CI, k.r, h)
		}
	}
	var s ABSequence
	d := s.Look(c, tr, 400, 0.05)
	if !d.CUPED {
		t.Fatalf("CUPED not applied: %+v", d)
	}
	const delta, v = 0.10430971430195912, 0.0041532175326279251
	if !nearRel(d.Delta, delta, 1e-9) || !nearRel(d.SE*d.SE, v, 1e-9) {
		t.Errorf("CUPED difference %.17g variance %.17g, want %.17g %.17g", d.Delta, d.SE*d.SE, delta, v)
	}
	if want := 1 - v/0.0042377225535064284; !nearRel(d.VarianceReduction, want, 1e-7) {
		t.Errorf("variance reduction %v, want %v", d.VarianceReduction, want)
	}
	if !nearRel(msprtRatio(0.05), 8.2119680620682534, 1e-12) {
		t.Errorf("mixture ratio %.17g", msprtRatio(0.05))
	}
	if !nearRel(d.P, 0.73865876509557427, 1e-8) || !nearRel(d.AlwaysValid[0], -0.099722356019088215, 1e-8) || !nearRel(d.AlwaysValid[1], 0.30834178462300643, 1e-8) {
		t.Errorf("always-valid p %.17g interval %v", d.P, d.AlwaysValid)
	}
	// Two windows' moments merged are the moments of all their units.
	var half1, half2 UnitMoments
	for i := range abControl.y {
		m := &half1
		if i%2 == 1 {
			m = &half2
		}
		m.Add(abControl.y[i], abControl.x[i], abControl.z[i], abControl.w[i])
	}
	half1.Merge(half2)
	e1, _ := half1.estimate()
	e2, _ := c.estimate()
	if !nearRel(e1.r, e2.r, 1e-12) || !nearRel(e1.v, e2.v, 1e-9) || half1.N != c.N || half1.Pre != c.Pre {
		t.Errorf("merged moments differ: %+v against %+v", e1, e2)
	}
}

func TestSRMAgainstScipy(t *testing.T) {
	for _, c := range []struct {
		obs     []int64
		weights []float64
		chi2, p float64
	}{
		{[]int64{5030, 4970}, []float64{1, 1}, 0.36, 0.5485062355001471},
		{[]int64{5200, 4800}, []float64{1, 1}, 16, 6.3342483666239876e-05},
		{[]int64{1000, 1100, 2950}, []float64{1, 1, 3}, 10.231023102310232, 0.0060029062552265453},
		{[]int64{900, 1100}, []float64{50, 50}, 20, 7.7442164310440875e-06},
	} {
		chi2, p, ok := SRM(c.obs, c.weights)
		if !ok || !nearRel(chi2, c.chi2, 1e-12) || !nearRel(p, c.p, 1e-9) {
			t.Errorf("SRM(%v, %v) = %v, %v, %v; want %v, %v", c.obs, c.weights, chi2, p, ok, c.chi2, c.p)
		}
	}
	if _, p, ok := SRM([]int64{10, 3}, []float64{1, 0}); !ok || p != 0 {
		t.Errorf("units in an arm of weight 0: p %v ok %v, want 0 true", p, ok)
	}
	if _, _, ok := SRM([]int64{0, 0}, []float64{1, 1}); ok {
		t.Error("no unit: ok")
	}
}

// abWorld simulates the users of a live experiment: each window new users
// arrive, are assigned to an arm by the weights (a planted mismatch sends
// some of the treatment's users to control, as a broken redirect does),
// and hold one to three conversations, each resolved and each opening a
// ticket with their arm's chances, scattered around the user's own
// propensity (so conversations of one user are not independent).
type abWorld struct {
	success, ticket [2]float64 // control, treatment
	mismatch        float64    // share of treatment users logged as control
	perWindow       int
	pre             bool // users have a pre-period of the same kind
}

type abLook struct {
	decision ABDecision
	success  ABDiff
	ticket   ABDiff
}

// run watches an experiment window by window and returns each look's
// decision; it stops at the first that is not hold, as a team would.
func (w abWorld) run(seed uint64, windows int, minUnits int64) []abLook {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var succ, tick [2]UnitMoments
	var seqS, seqT ABSequence
	var looks []abLook
	for k := range windows {
		for range w.perWindow {
			arm := rng.IntN(2)
			if arm == 1 && rng.Float64() < w.mismatch {
				arm = 0
			}
			// The user's own propensities, shared by their conversations
			// and their pre-period.
			us := clamp01(w.success[arm] + 0.25*(rng.Float64()-0.5))
			ut := clamp01(w.ticket[arm] * (0.5 + rng.Float64()))
			ps := clamp01(w.success[0] + us - w.success[arm])
			pt := clamp01(w.ticket[0] * ut / math.Max(w.ticket[arm], 1e-9))
			convs := 1 + rng.IntN(3)
			var s, tk float64
			for range convs {
				if rng.Float64() < us {
					s++
				}
				if rng.Float64() < ut {
					tk++
				}
			}
			var zs, zt, pw float64
			if w.pre && rng.Float64() < 0.7 {
				pw = float64(1 + rng.IntN(3))
				for range int(pw) {
					if rng.Float64() < ps {
						zs++
					}
					if rng.Float64() < pt {
						zt++
					}
				}
			}
			succ[arm].Add(s, float64(convs), zs, pw)
			tick[arm].Add(tk, float64(convs), zt, pw)
		}
		planned := 2 * minUnits
		ds := seqS.Look(succ[0], succ[1], planned, 0.05)
		dt := seqT.Look(tick[0], tick[1], planned, 0.05)
		_, srmP, ok := SRM([]int64{succ[0].N, succ[1].N}, []float64{1, 1})
		if !ok {
			srmP = 1
		}
		dec := DecideAB(ABDecideInput{
			Primary:    ABCheck{Metric: "success", Increase: true, Diff: ds},
			Guardrails: []ABCheck{{Metric: "ticket", Margin: 0.01, Diff: dt}},
			SRMP:       srmP, Units: []int64{succ[0].N, succ[1].N}, MinUnits: minUnits,
			Elapsed: time.Duration(k+1) * time.Hour, MaxDuration: time.Duration(windows) * time.Hour,
		})
		looks = append(looks, abLook{decision: dec, success: ds, ticket: dt})
		if dec.Decision != DecisionHold || dec.Blocked {
			break
		}
	}
	return looks
}

// abFalseDecisions watches n seeded experiments in which the arms do not
// differ, every window for windows windows, and returns the share that
// ever ramped or rolled back, and the share in which the primary metric's
// fixed-sample interval, read at the same looks, ever excluded 0.
func abFalseDecisions(n, windows int, pre bool) (ramp, rollback, naive float64) {
	return abWorld{success: [2]float64{0.3, 0.3}, ticket: [2]float64{0.05, 0.05}, perWindow: 400, pre: pre}.falseDecisions(n, windows)
}

func (w abWorld) falseDecisions(n, windows int) (ramp, rollback, naive float64) {
	var r, b, f int
	for seed := range n {
		looks := w.run(uint64(seed), windows, 1000)
		for _, l := range looks {
			if l.success.Undefined == "" && (l.success.CI[0] > 0 || l.success.CI[1] < 0) {
				f++
				break
			}
		}
		switch looks[len(looks)-1].decision.Decision {
		case DecisionRamp:
			r++
		case DecisionRollback:
			b++
		}
	}
	return float64(r) / float64(n), float64(b) / float64(n), float64(f) / float64(n)
}

// TestABDecisionsUnderTheNull: with no true difference, experiments
// watched every window reach a false ramp or rollback at most 5% of the
// time, where a fixed-sample test read every window would cross far more
// often.
func TestABDecisionsUnderTheNull(t *testing.T) {
	for _, pre := range []bool{false, true} {
		ramp, rollback, naive := abFalseDecisions(200, 40, pre)
		t.Logf("pre-period %v: 200 null experiments watched over 40 windows: %.1f%% ramped, %.1f%% rolled back; a fixed-sample interval read as often excluded 0 in %.1f%%", pre, 100*ramp, 100*rollback, 100*naive)
		if ramp+rollback > 0.05 {
			t.Errorf("pre-period %v: %.1f%% of null experiments reached a decision, above 5%%", pre, 100*(ramp+rollback))
		}
	}
}

// TestABDecisionsUnderTheNullForMonths: the bound holds long after the
// experiment has passed its planned units, the mixture staying tuned to
// them (400 windows: 40,000 users where 2,000 were planned).
func TestABDecisionsUnderTheNullForMonths(t *testing.T) {
	w := abWorld{success: [2]float64{0.3, 0.3}, ticket: [2]float64{0.05, 0.05}, perWindow: 100}
	ramp, rollback, naive := w.falseDecisions(100, 400)
	t.Logf("100 null experiments watched over 400 windows: %.1f%% ramped, %.1f%% rolled back; fixed-sample %.1f%%", 100*ramp, 100*rollback, 100*naive)
	if ramp+rollback > 0.05 {
		t.Errorf("%.1f%% of null experiments watched for 400 windows reached a decision, above 5%%", 100*(ramp+rollback))
	}
}

// BenchmarkABFalseDecisions prints the share of 200 seeded null
// experiments, watched every window for 40 windows, that ever reached a
// false ramp or rollback (the bound: 5%).
func BenchmarkABFalseDecisions(b *testing.B) {
	for range b.N {
		ramp, rollback, naive := abFalseDecisions(200, 40, true)
		b.ReportMetric(100*ramp, "%-false-ramp")
		b.ReportMetric(100*rollback, "%-false-rollback")
		b.ReportMetric(100*naive, "%-fixed-sample-false-alarm")
	}
}

func TestABDecisionsFindPlantedEffects(t *testing.T) {
	// A ticket rate rising from 5% to 9% (margin 1 point) is rolled back
	// for its tickets.
	var rolled int
	for seed := range 20 {
		w := abWorld{success: [2]float64{0.3, 0.3}, ticket: [2]float64{0.05, 0.09}, perWindow: 200}
		looks := w.run(uint64(seed), 40, 1000)
		last := looks[len(looks)-1]
		if last.decision.Decision == DecisionRollback && last.ticket.AlwaysValid[0] > 0.01 {
			rolled++
		}
	}
	if rolled < 18 {
		t.Errorf("a planted ticket rise was rolled back in %d of 20 experiments", rolled)
	}
	// A real success gain with tickets unchanged ramps, after the minimum.
	var ramped int
	for seed := range 20 {
		w := abWorld{success: [2]float64{0.3, 0.38}, ticket: [2]float64{0.05, 0.05}, perWindow: 400}
		looks := w.run(uint64(100+seed), 80, 1000)
		last := looks[len(looks)-1]
		if last.decision.Decision == DecisionRamp {
			ramped++
			if last.success.Treatment.Units < 1000 || last.success.Control.Units < 1000 {
				t.Errorf("seed %d: ramped with %d and %d units, fewer than the minimum", seed, last.success.Control.Units, last.success.Treatment.Units)
			}
		}
	}
	if ramped < 18 {
		t.Errorf("a planted success gain ramped in %d of 20 experiments", ramped)
	}
	// A 10% sample ratio mismatch blocks the verdict, even with a gain.
	// A ramp can still slip through while the mismatch is too small to
	// show (a chance the units' count decides, not the rule): at most 1
	// in 20 here.
	var blocked, slipped int
	for seed := range 20 {
		w := abWorld{success: [2]float64{0.3, 0.38}, ticket: [2]float64{0.05, 0.05}, perWindow: 400, mismatch: 0.1}
		looks := w.run(uint64(200+seed), 40, 1000)
		last := looks[len(looks)-1]
		if last.decision.Blocked {
			blocked++
		} else if last.decision.Decision == DecisionRamp {
			slipped++
		}
	}
	if blocked < 18 || slipped > 1 {
		t.Errorf("a 10%% sample ratio mismatch blocked %d of 20 experiments and let %d ramp", blocked, slipped)
	}
}

func TestABSequenceEdges(t *testing.T) {
	var none, all UnitMoments
	for range 50 {
		none.Add(0, 2, 0, 0) // no ticket in two conversations
		all.Add(2, 2, 0, 0)
	}
	// No tickets in either arm: no difference, and a guardrail on it is
	// within any margin rather than undefined for ever.
	var s ABSequence
	d := s.Look(none, none, 100, 0.05)
	if d.Undefined != "" || d.AlwaysValid != [2]float64{0, 0} {
		t.Errorf("no spread, no difference: %+v", d)
	}
	g := ABCheck{Metric: "ticket", Margin: 0.01, Diff: d}
	if g.unread() != "" || g.worse()[1] >= g.Margin {
		t.Errorf("a guardrail with no events in either arm is not within its margin: %+v", g)
	}
	// No spread but a difference: too few units to tell, said so.
	var s2 ABSequence
	if d := s2.Look(none, all, 100, 0.05); d.Undefined == "" || !strings.Contains(d.Undefined, "differ by +1") {
		t.Errorf("no spread with a difference: %+v", d)
	}
	c, tr := abControl.moments(), abTreatment.moments()
	for _, alpha := range []float64{0, 1, -0.1, 1.5, math.NaN()} {
		var s ABSequence
		if d := s.Look(c, tr, 400, alpha); d.Undefined == "" {
			t.Errorf("alpha %v: %+v", alpha, d)
		}
	}
	var s3 ABSequence
	if d := s3.Look(c, tr, 0, 0.05); d.Undefined == "" {
		t.Errorf("no planned units: %+v", d)
	}
	// The interval so far is the intersection of the looks': it never
	// widens.
	var s4 ABSequence
	first := s4.Look(c, tr, 400, 0.05)
	again := s4.Look(c, tr, 400, 0.05)
	if again.AlwaysValid[0] < first.AlwaysValid[0] || again.AlwaysValid[1] > first.AlwaysValid[1] {
		t.Errorf("the interval widened: %v then %v", first.AlwaysValid, again.AlwaysValid)
	}
	var m UnitMoments
	if m.Add(math.NaN(), 1, 0, 0) || m.Add(1, -1, 0, 0) || m.N != 0 {
		t.Errorf("a NaN total or a negative denominator was counted: %+v", m)
	}
}

func TestDecideReasons(t *testing.T) {
	undefined := ABCheck{Metric: "success", Increase: true, Diff: ABDiff{Undefined: "control: 1 unit(s)"}}
	d := DecideAB(ABDecideInput{Primary: undefined, SRMP: 1, Units: []int64{1, 0}, MinUnits: 10})
	if d.Decision != DecisionHold || len(d.Reasons) != 3 {
		t.Errorf("too few units: %+v", d)
	}
	units := ArmValue{Units: 500}
	better := ABCheck{Metric: "success", Increase: true, Diff: ABDiff{Delta: 0.05, AlwaysValid: [2]float64{0.01, 0.09}, Control: units, Treatment: units}}
	lower := ABCheck{Metric: "latency_ms", Margin: 50, Diff: ABDiff{Delta: -10, AlwaysValid: [2]float64{-40, 20}, Control: units, Treatment: units}}
	d = DecideAB(ABDecideInput{Primary: better, Guardrails: []ABCheck{lower}, SRMP: 0.4, Units: []int64{500, 500}, MinUnits: 500})
	if d.Decision != DecisionRamp {
		t.Errorf("better and within margins: %+v", d)
	}
	slower := lower
	slower.Diff.AlwaysValid = [2]float64{-40, 60}
	d = DecideAB(ABDecideInput{Primary: better, Guardrails: []ABCheck{slower}, SRMP: 0.4, Units: []int64{500, 500}, MinUnits: 500, Elapsed: 48 * time.Hour, MaxDuration: 24 * time.Hour})
	if d.Decision != DecisionHold || len(d.Reasons) != 2 {
		t.Errorf("a guardrail not yet within its margin at the maximum duration: %+v", d)
	}
	d = DecideAB(ABDecideInput{Primary: better, SRMP: 1e-5, Units: []int64{500, 500}})
	if d.Decision != DecisionHold || !d.Blocked {
		t.Errorf("sample ratio mismatch: %+v", d)
	}
	worse := ABCheck{Metric: "success", Increase: true, Diff: ABDiff{Delta: -0.05, AlwaysValid: [2]float64{-0.09, -0.01}, Control: units, Treatment: units}}
	d = DecideAB(ABDecideInput{Primary: worse, SRMP: 1, Units: []int64{5, 5}, MinUnits: 500})
	if d.Decision != DecisionRollback {
		t.Errorf("worse before the minimum: %+v", d)
	}
	// What cannot be read holds: a NaN interval or sample-ratio p, no
	// units known, a guardrail never computed.
	nan := better
	nan.Diff.AlwaysValid = [2]float64{math.NaN(), math.NaN()}
	for name, in := range map[string]ABDecideInput{
		"NaN interval":         {Primary: nan, SRMP: 1, Units: []int64{500, 500}, MinUnits: 500},
		"NaN sample ratio":     {Primary: better, SRMP: math.NaN(), Units: []int64{500, 500}, MinUnits: 500},
		"no units":             {Primary: better, SRMP: 1, MinUnits: 500},
		"guardrail not read":   {Primary: better, Guardrails: []ABCheck{{Metric: "ticket", Margin: 0.01}}, SRMP: 1, Units: []int64{500, 500}, MinUnits: 500},
		"sample ratio suspect": {Primary: better, SRMP: 0.005, Units: []int64{500, 500}, MinUnits: 500},
		"events not applied":   {Primary: worse, SRMP: 1, Units: []int64{500, 500}, MinUnits: 500, Failed: 1},
	} {
		if d := DecideAB(in); d.Decision != DecisionHold {
			t.Errorf("%s: %+v", name, d)
		}
	}
}
