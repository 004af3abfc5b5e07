package stats

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// UnitMoments are what an arm of a live A/B test keeps of one metric: the
// count of its units and the sums and cross-products of each unit's
// totals, so that any number of events costs the same memory and two
// windows' moments add up ([UnitMoments.Merge]).
//
// Every metric is a ratio of two per-unit totals, analysed at the level
// of the unit (a user or a session) however many events it sent: y is
// the numerator (tickets opened, successes, the sum of satisfaction
// ratings, of latencies, of tokens) and x the denominator (conversations,
// rated conversations, turns); a per-unit mean has x = 1. z and w are the
// same totals over the unit's pre-period, the covariate of CUPED; a unit
// without history has z = w = 0.
type UnitMoments struct {
	N int64 `json:"n"`
	// Pre counts the units with pre-period history (w > 0).
	Pre int64 `json:"pre,omitempty"`

	Y float64 `json:"y"`
	X float64 `json:"x"`
	Z float64 `json:"z"`
	W float64 `json:"w"`

	YY float64 `json:"yy"`
	XX float64 `json:"xx"`
	ZZ float64 `json:"zz"`
	WW float64 `json:"ww"`
	YX float64 `json:"yx"`
	YZ float64 `json:"yz"`
	YW float64 `json:"yw"`
	XZ float64 `json:"xz"`
	XW float64 `json:"xw"`
	ZW float64 `json:"zw"`
}

// Add counts one unit's totals and reports whether it could: a total
// that is not a finite number, or a negative denominator, is not counted
// (the caller counts it as a bad unit).
func (m *UnitMoments) Add(y, x, z, w float64) bool {
	for _, v := range [...]float64{y, x, z, w} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	if x < 0 || w < 0 {
		return false
	}
	m.N++
	if w > 0 {
		m.Pre++
	}
	m.Y += y
	m.X += x
	m.Z += z
	m.W += w
	m.YY += y * y
	m.XX += x * x
	m.ZZ += z * z
	m.WW += w * w
	m.YX += y * x
	m.YZ += y * z
	m.YW += y * w
	m.XZ += x * z
	m.XW += x * w
	m.ZW += z * w
	return true
}

// Remove takes back a unit's totals given to [UnitMoments.Add] (a unit
// whose totals changed is removed and added again).
func (m *UnitMoments) Remove(y, x, z, w float64) {
	m.N--
	if w > 0 {
		m.Pre--
	}
	m.Y -= y
	m.X -= x
	m.Z -= z
	m.W -= w
	m.YY -= y * y
	m.XX -= x * x
	m.ZZ -= z * z
	m.WW -= w * w
	m.YX -= y * x
	m.YZ -= y * z
	m.YW -= y * w
	m.XZ -= x * z
	m.XW -= x * w
	m.ZW -= z * w
}

// Merge adds o's units to m.
func (m *UnitMoments) Merge(o UnitMoments) {
	m.N += o.N
	m.Pre += o.Pre
	m.Y += o.Y
	m.X += o.X
	m.Z += o.Z
	m.W += o.W
	m.YY += o.YY
	m.XX += o.XX
	m.ZZ += o.ZZ
	m.WW += o.WW
	m.YX += o.YX
	m.YZ += o.YZ
	m.YW += o.YW
	m.XZ += o.XZ
	m.XW += o.XW
	m.ZW += o.ZW
}

// cov is the sample covariance of two per-unit totals from their sums and
// the sum of their products.
func (m UnitMoments) cov(sa, sb, sab float64) float64 {
	n := float64(m.N)
	return (sab - sa*sb/n) / (n - 1)
}

// ratioEst is an arm's ratio and the delta-method variances it needs.
type ratioEst struct {
	r, v float64 // Y/X and its variance
	// rz, vz: the pre-period ratio Z/W and its variance; c the covariance
	// of the two ratios. Set when the arm has history.
	rz, vz, c float64
	pre       bool
}

// estimate is the arm's ratio with its delta-method variance
// (Deng, Knoblich & Lu 2018, "Applying the delta method in metric
// analytics"): with ℓᵢ = (yᵢ − R·xᵢ)/x̄, Var(R̂) ≈ Var(ℓ)/n. ok is false
// with fewer than 2 units or a zero denominator.
func (m UnitMoments) estimate() (e ratioEst, ok bool) {
	if m.N < 2 || m.X == 0 {
		return e, false
	}
	n := float64(m.N)
	xbar := m.X / n
	e.r = m.Y / m.X
	vl := (m.cov(m.Y, m.Y, m.YY) - 2*e.r*m.cov(m.Y, m.X, m.YX) + e.r*e.r*m.cov(m.X, m.X, m.XX)) / (xbar * xbar)
	e.v = math.Max(vl, 0) / n
	if m.Pre >= 2 && m.W > 0 {
		wbar := m.W / n
		e.rz = m.Z / m.W
		vz := (m.cov(m.Z, m.Z, m.ZZ) - 2*e.rz*m.cov(m.Z, m.W, m.ZW) + e.rz*e.rz*m.cov(m.W, m.W, m.WW)) / (wbar * wbar)
		c := (m.cov(m.Y, m.Z, m.YZ) - e.rz*m.cov(m.Y, m.W, m.YW) - e.r*m.cov(m.X, m.Z, m.XZ) + e.r*e.rz*m.cov(m.X, m.W, m.XW)) / (xbar * wbar)
		e.vz, e.c, e.pre = math.Max(vz, 0)/n, c/n, true
	}
	return e, true
}

// ArmValue is an arm's figure for one metric: its ratio and 95% interval.
type ArmValue struct {
	Units int64      `json:"units"`
	Value float64    `json:"value"`
	CI    [2]float64 `json:"ci"`
	// Undefined says why there is no value (fewer than 2 units, no
	// denominator).
	Undefined string `json:"undefined,omitempty"`
}

// Arm is the arm's ratio with its 95% delta-method interval.
func (m UnitMoments) Arm() ArmValue {
	e, ok := m.estimate()
	if !ok {
		return ArmValue{Units: m.N, Undefined: undefinedArm(m)}
	}
	h := z95 * math.Sqrt(e.v)
	return ArmValue{Units: m.N, Value: e.r, CI: [2]float64{e.r - h, e.r + h}}
}

func undefinedArm(m UnitMoments) string {
	if m.N < 2 {
		return fmt.Sprintf("%d unit(s): at least 2 are needed", m.N)
	}
	return "no unit has a denominator (no conversation, turn or rating counted)"
}

// ABDiff is a treatment arm against the control on one metric.
type ABDiff struct {
	Control   ArmValue `json:"control"`
	Treatment ArmValue `json:"treatment"`
	// Delta is treatment − control, Rel that over the control's value.
	Delta float64 `json:"delta"`
	Rel   float64 `json:"rel,omitempty"`
	SE    float64 `json:"se"`
	// CI is the fixed-sample 95% interval: valid for one look only.
	CI [2]float64 `json:"ci"`
	// AlwaysValid is the confidence sequence so far (the intersection of
	// every look's): however often it is looked at, it misses the true
	// difference at any look with probability at most alpha. Decisions
	// rest on it.
	AlwaysValid [2]float64 `json:"always_valid"`
	// P is the always-valid p-value so far (the smallest over the looks);
	// it falls below alpha when a look's interval leaves out 0.
	P float64 `json:"p"`
	// CUPED is set when the pre-period reduced the variance, by
	// VarianceReduction (1 − adjusted/unadjusted).
	CUPED             bool    `json:"cuped,omitempty"`
	VarianceReduction float64 `json:"variance_reduction,omitempty"`
	Undefined         string  `json:"undefined,omitempty"`
}

// cupedMinUnits is how many units with history each arm needs before the
// pre-period adjusts a difference: below it the estimated covariance is
// noise that can widen the interval rather than narrow it.
const cupedMinUnits = 30

// msprtRatio is τ²/V at the planned sample that makes the normal-mixture
// confidence sequence narrowest there: the root of r = ln(1+r) − 2 ln α.
func msprtRatio(alpha float64) float64 {
	c := -2 * math.Log(alpha)
	r := c
	for range 50 {
		r = c + math.Log1p(r)
	}
	return r
}

// ABSequence is the always-valid test of one treatment against the
// control on one metric, looked at once per window: the normal-mixture
// sequential probability ratio test (Johari, Koomen, Pekelis & Walsh
// 2017/2022; Robbins 1970) on the difference of the two arms' ratios.
// With the difference's estimate Δ̂ and variance V at a look, and the
// mixture's variance τ²,
//
//	Λ = √(V/(V+τ²)) · exp(τ²·Δ̂² / (2V(V+τ²)))
//
// the p-value is the smallest 1/Λ over the looks, and the confidence
// sequence Δ̂ ± √(V(V+τ²)/τ² · (ln((V+τ²)/V) − 2 ln α)), intersected
// with the earlier looks'. The mixture is over effects in units of the
// per-unit spread σ (σ² = V·n, n the units so far): τ² = ρ²·σ², with ρ²
// = r/N fixed by the planned units N and r from [msprtRatio], so that the
// sequence is narrowest when the experiment reaches N — as GrowthBook
// tunes its sequential intervals with a fixed N*. σ is estimated at each
// look, so the guarantee is asymptotic, as theirs is. What it keeps is
// the p-value and the interval so far: months of looks cost nothing more.
type ABSequence struct {
	P      float64 `json:"p"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Looked bool    `json:"looked"`
	Bound  bool    `json:"bound,omitempty"` // Lo and Hi are set
}

// Look compares treatment with control as their moments stand, with the
// experiment planned for planned units in all (both arms; at least 1),
// and updates the sequence. Both arms' moments are cumulative since the
// experiment began. alpha must lie in (0, 1).
func (s *ABSequence) Look(control, treatment UnitMoments, planned int64, alpha float64) ABDiff {
	if !s.Looked {
		s.P, s.Looked = 1, true
	}
	d := ABDiff{Control: control.Arm(), Treatment: treatment.Arm(), P: s.P}
	ec, okc := control.estimate()
	et, okt := treatment.estimate()
	switch {
	case !(alpha > 0 && alpha < 1):
		d.Undefined = fmt.Sprintf("alpha %v is not between 0 and 1", alpha)
		return d
	case planned < 1:
		d.Undefined = fmt.Sprintf("the experiment plans %d units: it needs at least 1 (set min_units)", planned)
		return d
	case !okc:
		d.Undefined = "control: " + d.Control.Undefined
		return d
	case !okt:
		d.Undefined = "treatment: " + d.Treatment.Undefined
		return d
	}
	d.Delta = et.r - ec.r
	if ec.r != 0 {
		d.Rel = d.Delta / ec.r
	}
	v := ec.v + et.v
	if ec.pre && et.pre && control.Pre >= cupedMinUnits && treatment.Pre >= cupedMinUnits {
		// CUPED on the ratios (Deng et al. 2013; for ratios, Deng et al.
		// 2018): Δ_adj = ΔY − θ·ΔZ with θ pooled over the arms, which
		// keeps the difference unbiased; its variance is
		// Var(ΔY) − Cov(ΔY,ΔZ)²/Var(ΔZ).
		vz, c := ec.vz+et.vz, ec.c+et.c
		if vz > 0 {
			theta := c / vz
			adj := v - c*c/vz
			if adj > 0 && adj < v {
				d.Delta -= theta * (et.rz - ec.rz)
				if ec.r != 0 {
					d.Rel = d.Delta / ec.r
				}
				d.CUPED, d.VarianceReduction = true, 1-adj/v
				v = adj
			}
		}
	}
	d.SE = math.Sqrt(v)
	d.CI = [2]float64{d.Delta - z95*d.SE, d.Delta + z95*d.SE}
	if v == 0 {
		// Within each arm every unit's value is its arm's ratio (no
		// tickets anywhere, say): no spread to test against.
		if d.Delta == 0 {
			// Both arms alike too: no difference, with nothing to doubt.
			d.AlwaysValid = s.bound(0, 0)
			return d
		}
		d.Undefined = fmt.Sprintf("no spread within either arm, yet the arms differ by %+.4g: too few units to tell", d.Delta)
		return d
	}
	n := float64(control.N + treatment.N)
	tau2 := msprtRatio(alpha) * v * n / float64(planned)
	logL := 0.5*math.Log(v/(v+tau2)) + tau2*d.Delta*d.Delta/(2*v*(v+tau2))
	h := math.Sqrt(v * (v + tau2) / tau2 * (math.Log((v+tau2)/v) - 2*math.Log(alpha)))
	if math.IsNaN(logL) || math.IsNaN(h) || math.IsInf(h, 0) {
		d.Undefined = "the difference's variance is not a finite number"
		return d
	}
	s.P = math.Min(s.P, math.Exp(-logL))
	d.P = s.P
	d.AlwaysValid = s.bound(d.Delta-h, d.Delta+h)
	return d
}

// bound intersects a look's interval with the earlier looks'; an empty
// intersection (the estimate moved, as CUPED starting can move it) keeps
// the look's own.
func (s *ABSequence) bound(lo, hi float64) [2]float64 {
	if s.Bound {
		l, h := math.Max(lo, s.Lo), math.Min(hi, s.Hi)
		if l <= h {
			lo, hi = l, h
		}
	}
	s.Lo, s.Hi, s.Bound = lo, hi, true
	return [2]float64{lo, hi}
}

// SRM is the sample-ratio-mismatch check: a chi-square goodness-of-fit
// test of the units each arm was assigned against the arms' weights. A
// tiny p (below [SRMThreshold]) means assignment or logging is broken and
// no difference between the arms can be trusted. ok is false with fewer
// than 2 arms, no unit, or a weight that is negative or not a number.
// Read at every look, it is a fixed-sample test looked at repeatedly: over
// many looks it blocks a sound experiment more often than its p suggests
// (an anytime-valid multinomial test would not; not built).
func SRM(observed []int64, weights []float64) (chi2, p float64, ok bool) {
	if len(observed) < 2 || len(observed) != len(weights) {
		return 0, 1, false
	}
	var n, wsum float64
	for i, o := range observed {
		if o < 0 || !(weights[i] >= 0) || math.IsInf(weights[i], 0) {
			return 0, 1, false
		}
		n += float64(o)
		wsum += weights[i]
	}
	if n == 0 || wsum <= 0 {
		return 0, 1, false
	}
	df := 0
	for i, o := range observed {
		if weights[i] <= 0 {
			if o > 0 {
				// Units in an arm that should have none: as broken as
				// assignment gets (a finite statistic: JSON has no
				// infinity).
				return math.MaxFloat64, 0, true
			}
			continue
		}
		e := n * weights[i] / wsum
		chi2 += (float64(o) - e) * (float64(o) - e) / e
		df++
	}
	if df < 2 {
		return 0, 1, false
	}
	return chi2, distuv.ChiSquared{K: float64(df - 1)}.Survival(chi2), true
}

// SRMThreshold is the p-value below which a sample ratio mismatch blocks
// an experiment's decision. It is small because the check runs at every
// look, and a real mismatch of a few percent still shows within thousands
// of units.
const SRMThreshold = 0.001

// SRMRampThreshold is the p-value below which a sample ratio is suspect
// enough to hold a ramp (but not to block a rollback): a treatment is not
// ramped on units whose assignment may be broken but not yet shown to be.
const SRMRampThreshold = 0.01

// Decisions of a live experiment.
const (
	DecisionRamp     = "ramp"
	DecisionHold     = "hold"
	DecisionRollback = "rollback"
)

// ABCheck is one metric's difference as a decision reads it: the primary
// metric must improve; a guardrail must not worsen by more than Margin.
type ABCheck struct {
	Metric string `json:"metric"`
	// Increase is set when a higher value is better.
	Increase bool `json:"increase"`
	// Margin is the worsening a guardrail tolerates, in the metric's
	// units (a ticket rate's 0.01 is one point).
	Margin float64 `json:"margin,omitempty"`
	Diff   ABDiff  `json:"diff"`
}

// unread says why c's difference cannot be read, or "": undefined, never
// computed (no units in an arm) or not finite.
func (c ABCheck) unread() string {
	d := c.Diff
	switch {
	case d.Undefined != "":
		return d.Undefined
	case d.Control.Units == 0 || d.Treatment.Units == 0:
		return "no units in an arm yet"
	case math.IsNaN(d.AlwaysValid[0]) || math.IsNaN(d.AlwaysValid[1]) || math.IsInf(d.AlwaysValid[0], 0) || math.IsInf(d.AlwaysValid[1], 0):
		return "its interval is not a finite number"
	case math.IsNaN(c.Margin) || c.Margin < 0:
		return fmt.Sprintf("margin %v is not a number ≥ 0", c.Margin)
	}
	return ""
}

// worse is how much worse the treatment is on c: the always-valid
// interval of the worsening (positive is worse).
func (c ABCheck) worse() [2]float64 {
	lo, hi := c.Diff.AlwaysValid[0], c.Diff.AlwaysValid[1]
	if c.Increase {
		return [2]float64{-hi, -lo}
	}
	return [2]float64{lo, hi}
}

// ABDecideInput is what a decision reads at one look.
type ABDecideInput struct {
	Primary    ABCheck
	Guardrails []ABCheck
	// SRMP is the sample-ratio check's p-value. Its zero value blocks: a
	// caller that could not check (no units yet) says 1.
	SRMP float64
	// Units are each arm's units so far; MinUnits the fewest an arm needs
	// before the treatment may ramp.
	Units    []int64
	MinUnits int64
	// Elapsed is how long the experiment has run, MaxDuration how long it
	// may (0: no limit).
	Elapsed, MaxDuration time.Duration
	// Failed counts events that a failure kept out of the figures (not
	// bad input: the report's own storage); while there are any, nothing
	// is decided.
	Failed int64
}

// ABDecision is a decision and its reasons, in the order they bear on it.
type ABDecision struct {
	Decision string   `json:"decision"`
	Reasons  []string `json:"reasons"`
	// Blocked is set when assignment is broken (sample ratio mismatch):
	// no difference is read.
	Blocked bool `json:"blocked,omitempty"`
}

// DecideAB reads one look of an experiment. A sample ratio mismatch holds it
// whatever the metrics say. A treatment is rolled back as soon as the
// always-valid interval shows the primary metric worse, or a guardrail
// worse by more than its margin: the intervals stay valid however early
// that is. It ramps once every arm has MinUnits units, the sample ratio is
// not suspect ([SRMRampThreshold]), the primary
// metric's interval lies wholly on the good side of 0, and every
// guardrail's worsening lies wholly below its margin (non-inferiority).
// Anything else holds, with what is missing.
func DecideAB(in ABDecideInput) ABDecision {
	if in.Failed > 0 {
		return ABDecision{Decision: DecisionHold, Blocked: true, Reasons: []string{fmt.Sprintf(
			"%d events could not be applied (the report could not read back a quiet unit's totals: see its log); the figures are incomplete, so nothing is decided until the analysis has read the events again, which it starts at once", in.Failed)}}
	}
	if math.IsNaN(in.SRMP) {
		return ABDecision{Decision: DecisionHold, Blocked: true, Reasons: []string{"the sample ratio could not be checked (its p-value is not a number)"}}
	}
	if in.SRMP < SRMThreshold {
		return ABDecision{Decision: DecisionHold, Blocked: true, Reasons: []string{fmt.Sprintf(
			"sample ratio mismatch (p = %.2g < %g): the arms' units do not match their weights, so assignment or event logging is broken and no difference can be trusted; find the cause before reading the metrics", in.SRMP, SRMThreshold)}}
	}
	var rollback, hold []string
	if why := in.Primary.unread(); why != "" {
		hold = append(hold, fmt.Sprintf("primary metric %s: %s", in.Primary.Metric, why))
	} else if w := in.Primary.worse(); w[0] > 0 {
		rollback = append(rollback, fmt.Sprintf("primary metric %s is worse: %s (always-valid interval %s)", in.Primary.Metric, signed(in.Primary.Diff.Delta), interval(in.Primary.Diff.AlwaysValid)))
	} else if w[1] >= 0 {
		hold = append(hold, fmt.Sprintf("primary metric %s: no difference shown yet (%s, always-valid interval %s)", in.Primary.Metric, signed(in.Primary.Diff.Delta), interval(in.Primary.Diff.AlwaysValid)))
	}
	for _, g := range in.Guardrails {
		if why := g.unread(); why != "" {
			hold = append(hold, fmt.Sprintf("guardrail %s: %s", g.Metric, why))
			continue
		}
		switch w := g.worse(); {
		case w[0] > g.Margin:
			rollback = append(rollback, fmt.Sprintf("guardrail %s worsened by more than its margin %g: %s (always-valid interval %s)", g.Metric, g.Margin, signed(g.Diff.Delta), interval(g.Diff.AlwaysValid)))
		case w[1] >= g.Margin:
			hold = append(hold, fmt.Sprintf("guardrail %s: not yet shown within its margin %g (%s, always-valid interval %s)", g.Metric, g.Margin, signed(g.Diff.Delta), interval(g.Diff.AlwaysValid)))
		}
	}
	if len(rollback) > 0 {
		return ABDecision{Decision: DecisionRollback, Reasons: rollback}
	}
	if len(in.Units) < 2 {
		hold = append(hold, "the arms' units are not known")
	}
	for i, u := range in.Units {
		if u < in.MinUnits {
			hold = append(hold, fmt.Sprintf("arm %d has %d of the %d units it needs", i+1, u, in.MinUnits))
		}
	}
	if in.SRMP < SRMRampThreshold {
		hold = append(hold, fmt.Sprintf("the arms' units are suspect (sample ratio p = %.2g < %g): not ramped until assignment is shown sound", in.SRMP, SRMRampThreshold))
	}
	if len(hold) == 0 {
		return ABDecision{Decision: DecisionRamp, Reasons: []string{fmt.Sprintf("primary metric %s is better: %s (always-valid interval %s), and every guardrail is within its margin", in.Primary.Metric, signed(in.Primary.Diff.Delta), interval(in.Primary.Diff.AlwaysValid))}}
	}
	if in.MaxDuration > 0 && in.Elapsed >= in.MaxDuration {
		hold = append([]string{fmt.Sprintf("the experiment reached its maximum duration (%s) without a decision: end it, or run a larger one", in.MaxDuration)}, hold...)
	}
	return ABDecision{Decision: DecisionHold, Reasons: hold}
}

func signed(x float64) string { return fmt.Sprintf("%+.4g", x) }

func interval(ci [2]float64) string { return fmt.Sprintf("[%.4g, %.4g]", ci[0], ci[1]) }
