package abtest

import (
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// Alpha is the error rate of every always-valid interval and decision.
const Alpha = 0.05

// Analysis watches one experiment: its events folded, and each treatment
// arm compared with the control once per window of event time, with
// always-valid intervals whose state carries over from look to look.
type Analysis struct {
	exp    eval.Experiment
	fold   *Fold
	window time.Duration
	// end is the end of the window being filled; zero before the first
	// exposure, start's time.
	end   time.Time
	start time.Time
	seqs  map[string]*stats.ABSequence
	looks int
	last  document.ABExperiment
	// planned is the units the always-valid mixture is tuned to, fixed at
	// the first look: tuning it again mid-experiment (min_units changed)
	// would void the guarantee.
	planned int64
}

// NewAnalysis returns the analysis of e, keeping conversations for
// horizon (0: [DefaultHorizon]).
func NewAnalysis(e eval.Experiment, horizon time.Duration) *Analysis {
	return &Analysis{exp: e, fold: New(e, horizon), window: e.WindowOf(), seqs: map[string]*stats.ABSequence{}}
}

// Add folds ev. Looks begin at the experiment's first exposure (events
// before it — a unit's pre-period — are folded without a look); once they
// have, an event whose time is past the end of the window being filled
// has that window looked at first (once, however many windows passed
// without events), and the look is returned; otherwise nil.
func (a *Analysis) Add(ev ab.Event) *document.ABExperiment {
	var look *document.ABExperiment
	switch {
	case a.end.IsZero():
		if ev.Kind == ab.KindExposure {
			a.start = ev.At
			a.end = ev.At.Truncate(a.window).Add(a.window)
		}
	case !ev.At.Before(a.end):
		look = a.lookAt(ev.At)
	}
	a.fold.Add(ev)
	return look
}

// Due looks at the window being filled when now is past its end by grace
// and no event has closed it: a quiet night, or the experiment's traffic
// ended. It returns the look, or nil.
func (a *Analysis) Due(now time.Time, grace time.Duration) *document.ABExperiment {
	if a.end.IsZero() || now.Before(a.end.Add(grace)) {
		return nil
	}
	return a.lookAt(now)
}

// lookAt looks at the window being filled and moves on to the window that
// holds t.
func (a *Analysis) lookAt(t time.Time) *document.ABExperiment {
	r := a.Look(a.end)
	a.end = t.Truncate(a.window).Add(a.window)
	return &r
}

// SetExperiment takes a resubmitted declaration of the experiment (new
// weights, stopped arms, guardrails, minimum units): its salt, arms and
// primary metric are the same, which the run spec's resubmission rules
// make sure of.
func (a *Analysis) SetExperiment(e eval.Experiment) { a.exp, a.fold.exp = e, e }

// SpillTo keeps the units gone quiet in s ([Fold.SpillTo]).
func (a *Analysis) SpillTo(s *Spill) { a.fold.SpillTo(s) }

// SpillError is the spill's latest failure, if any.
func (a *Analysis) SpillError() error { return a.fold.SpillError() }

// Failed counts the events not applied because their unit could not be
// read back from the spill: while there are any, every decision holds,
// and the analysis should be built again from the stream.
func (a *Analysis) Failed() int64 { return a.fold.counts.SpillErrors }

// Unreadable counts a stored event that did not decode.
func (a *Analysis) Unreadable() { a.fold.counts.Unreadable++ }

// Last is the latest look (the zero value before the first).
func (a *Analysis) Last() document.ABExperiment { return a.last }

// Look compares the arms as the events folded so far stand, at time at
// (the end of a window), and advances every always-valid sequence.
func (a *Analysis) Look(at time.Time) document.ABExperiment {
	a.looks++
	arms, counts := a.fold.Snapshot()
	quantiles := a.fold.Quantiles()
	e := a.exp
	out := document.ABExperiment{Name: e.Name, Looks: a.looks, LastLook: at, Events: counts}
	for _, arm := range e.Arms {
		fa := arms[arm.Name]
		da := document.ABArm{Name: arm.Name, Variant: arm.Variant, Units: fa.Units, Metrics: map[string]document.ABValue{}}
		if q := quantiles[arm.Name]; len(q) > 0 {
			da.Quantiles = q
		}
		for name, m := range fa.Metrics {
			v := m.Arm()
			da.Metrics[name] = document.ABValue{Value: v.Value, CI: v.CI, Undefined: v.Undefined}
		}
		out.Arms = append(out.Arms, da)
	}
	// The sample ratio of the units first exposed under the weights in
	// force: a ramp changes the weights and starts a new epoch.
	epoch := e.Epoch()
	units := a.fold.Exposed(epoch)
	weights := make([]float64, len(e.Arms))
	for i, arm := range e.Arms {
		if !arm.Stopped {
			weights[i] = arm.Weight
		}
	}
	out.SRM = document.ABSRM{Epoch: epoch, Units: units, Weights: weights, P: 1}
	if chi2, p, ok := stats.SRM(units, weights); ok {
		out.SRM.Chi2, out.SRM.P, out.SRM.Checked = chi2, p, true
	}
	control := e.Arms[0]
	// The mixture is tuned to the planned units: twice the minimum an arm
	// needs, over the two arms compared.
	if a.planned == 0 {
		a.planned = 2 * max(e.MinUnits, 1)
	}
	planned := a.planned
	// An experiment with no maximum duration has the longest: its units'
	// assignments are kept no longer.
	maxDuration := e.MaxDuration.D()
	if maxDuration <= 0 {
		maxDuration = eval.MaxExperiment
	}
	for _, arm := range e.Arms[1:] {
		if arm.Stopped {
			out.Decisions = append(out.Decisions, document.ABDecision{Arm: arm.Name, Decision: stats.DecisionRollback, Reasons: []string{"the arm is stopped in the run's spec"}})
			continue
		}
		check := func(m eval.ABMetric, role string) stats.ABCheck {
			info, _ := eval.ABMetricOf(m.Metric)
			c := stats.ABCheck{Metric: m.Metric, Increase: info.Higher, Margin: m.Margin}
			seq := a.seqs[arm.Name+"|"+m.Metric]
			if seq == nil {
				seq = &stats.ABSequence{}
				a.seqs[arm.Name+"|"+m.Metric] = seq
			}
			c.Diff = seq.Look(arms[control.Name].Metrics[m.Metric], arms[arm.Name].Metrics[m.Metric], planned, Alpha)
			d := c.Diff
			out.Comparisons = append(out.Comparisons, document.ABComparison{Arm: arm.Name, Metric: m.Metric, Role: role, Margin: m.Margin, Higher: info.Higher,
				Delta: d.Delta, Rel: d.Rel, CI: d.CI, AlwaysValid: d.AlwaysValid, P: d.P, CUPED: d.CUPED, VarianceReduction: d.VarianceReduction, Undefined: d.Undefined})
			return c
		}
		in := stats.ABDecideInput{Primary: check(e.Primary, "primary"), SRMP: out.SRM.P,
			Units: []int64{arms[control.Name].Units, arms[arm.Name].Units}, MinUnits: e.MinUnits,
			Elapsed: at.Sub(a.start), MaxDuration: maxDuration, Failed: counts.SpillErrors}
		for _, g := range e.Guardrails {
			in.Guardrails = append(in.Guardrails, check(g, "guardrail"))
		}
		d := stats.DecideAB(in)
		out.Decisions = append(out.Decisions, document.ABDecision{Arm: arm.Name, Decision: d.Decision, Reasons: d.Reasons, Blocked: d.Blocked})
	}
	a.last = out
	return out
}
