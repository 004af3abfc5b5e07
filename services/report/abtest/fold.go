// Package abtest folds the events of a live A/B experiment into what its
// statistics read: for each arm and metric, the moments of the units'
// totals ([stats.UnitMoments]). Events may come twice, late, out of order
// or before the unit's exposure; each case is counted, none is lost in
// silence.
package abtest

import (
	"math"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// metric indexes the per-unit totals a fold keeps. refusal, json_valid,
// format and length come from the score stage's readings of the served
// answers (events of kind score).
type metric int

const (
	mSuccess metric = iota
	mSatisfaction
	mTicket
	mTurns
	mTokens
	mLatency
	mTTFT
	mRefusal
	mJSONValid
	mFormat
	mLength
	nMetrics
)

var metricNames = [nMetrics]string{"success", "satisfaction", "ticket", "turns", "tokens", "latency_ms", "ttft_ms", "refusal", "json_valid", "format", "length"}

// totals are a unit's numerator and denominator of every metric.
type totals [nMetrics][2]float64

// DefaultHorizon is how long a fold keeps a conversation's state, and the
// events of a unit not yet exposed, after the latest event time it has
// seen (the watermark).
const DefaultHorizon = ab.Horizon

// maxPending bounds the events held for one unit before its exposure.
const maxPending = 1000

// Counts are what a fold did with the events it was given.
type Counts = document.ABCounts

// Fold is one experiment's events folded. It is not safe for concurrent
// use.
type Fold struct {
	exp     ab.Experiment
	horizon time.Duration
	mark    time.Time
	// swept is the watermark at the last sweep of expired state.
	swept  time.Time
	units  map[string]*unit
	arms   map[string]*[nMetrics]stats.UnitMoments
	counts Counts
	// exposed counts units by the epoch of their exposure and arm.
	exposed map[string]map[string]int64
	// sketches are each arm's latency and time-to-first-token quantiles
	// over its turns since exposure: all of them, and the window's.
	sketches map[string]*armSketches
	// spill, when set, keeps the quiet units; spilled counts the units it
	// holds, spillErr is its latest failure.
	spill    *Spill
	spilled  int64
	spillErr error
}

type unit struct {
	arm     string // "" until exposed
	exposed time.Time
	// cur and pre are the unit's totals since and before its exposure;
	// inCur and inPre what its arm's moments hold of them, once in.
	cur, pre     totals
	inCur, inPre totals
	in           bool
	convs        map[string]*conv
	pending      []ab.Event
	last         time.Time
	// onDisk is set on a unit read back from the spill, whose record
	// there is overwritten when it goes quiet again.
	onDisk bool
}

// conv is what a fold remembers of a conversation while it may still get
// events: the turns and outcomes it applied and the outcome's fields.
type conv struct {
	pre  bool // began before the unit's exposure
	ids  map[string]bool
	last time.Time

	success, ticket, ended *bool
	satisfaction           *float64
	turns                  *int64
	// at is when each outcome field was last set: a later outcome wins,
	// whatever order they arrive in.
	at [5]time.Time
	// turnsIn is what the conversation gives the turns metric (NaN:
	// nothing, until it has ended and said how many turns it had).
	turnsIn float64
}

// New returns the fold of e's events, keeping conversations for horizon
// (0: [DefaultHorizon]).
func New(e ab.Experiment, horizon time.Duration) *Fold {
	if horizon <= 0 {
		horizon = DefaultHorizon
	}
	f := &Fold{exp: e, horizon: horizon, units: map[string]*unit{}, arms: map[string]*[nMetrics]stats.UnitMoments{}, exposed: map[string]map[string]int64{},
		sketches: map[string]*armSketches{}}
	for _, a := range e.Arms {
		f.arms[a.Name] = new([nMetrics]stats.UnitMoments)
	}
	return f
}

// Add folds one checked event ([ab.ParseEvent]).
func (f *Fold) Add(e ab.Event) {
	f.counts.Events++
	switch {
	case e.At.Before(f.mark.Add(-f.horizon)) && e.Kind != ab.KindExposure:
		// An exposure is never too late: stored again later (its first
		// store failed) it keeps its unit's first time, and its unit's
		// events wait for it.
		f.counts.Late++
		return
	case e.At.Before(f.mark):
		f.counts.OutOfOrder++
	default:
		f.mark = e.At
		defer f.expire()
	}
	u := f.units[e.Unit]
	if u == nil {
		var ok bool
		if u, ok = f.unspill(e.Unit); !ok {
			return
		}
		if u == nil {
			u = &unit{convs: map[string]*conv{}}
		}
		f.units[e.Unit] = u
	}
	if e.At.After(u.last) {
		u.last = e.At
	}
	if e.Kind == ab.KindExposure {
		f.expose(u, e)
		return
	}
	if u.arm == "" {
		if len(u.pending) >= maxPending {
			f.counts.Orphans++
			return
		}
		// Held without its texts, which the fold never reads.
		e.Query, e.Answer = "", ""
		u.pending = append(u.pending, e)
		f.counts.Pending++
		return
	}
	f.apply(u, e)
}

// expose records a unit's first exposure and applies the events it held.
func (f *Fold) expose(u *unit, e ab.Event) {
	a, ok := f.exp.Arm(e.Arm)
	switch {
	case !ok:
		f.counts.UnknownArm++
		return
	case u.arm != "":
		f.counts.Duplicates++
		if a.Name != u.arm {
			f.counts.ArmMismatch++
		}
		return
	}
	u.arm, u.exposed = a.Name, e.At
	if f.exposed[e.Epoch] == nil {
		f.exposed[e.Epoch] = map[string]int64{}
	}
	f.exposed[e.Epoch][a.Name]++
	f.counts.Applied++
	f.counts.Pending -= int64(len(u.pending))
	held := u.pending
	u.pending = nil
	for _, p := range held {
		f.apply(u, p)
	}
	f.place(u)
}

// apply folds a turn or an outcome of an exposed unit.
func (f *Fold) apply(u *unit, e ab.Event) {
	if e.Arm != "" && e.Arm != u.arm {
		f.counts.ArmMismatch++
	}
	c := u.convs[e.Conversation]
	if c == nil {
		c = &conv{ids: map[string]bool{}, pre: e.At.Before(u.exposed), turnsIn: math.NaN()}
		u.convs[e.Conversation] = c
	}
	if c.ids[e.ID] {
		f.counts.Duplicates++
		return
	}
	c.ids[e.ID] = true
	if e.At.After(c.last) {
		c.last = e.At
	}
	f.counts.Applied++
	t := &u.cur
	if c.pre {
		t = &u.pre
	}
	old := *t
	if len(c.ids) == 1 {
		t[mTicket][1]++ // a conversation: the ticket rate's denominator
	}
	switch e.Kind {
	case ab.KindTurn:
		add := func(m metric, v *float64) {
			if v != nil {
				t[m][0] += *v
				t[m][1]++
			}
		}
		if e.CompletionTokens != nil {
			v := float64(*e.CompletionTokens)
			add(mTokens, &v)
		}
		add(mLatency, e.LatencyMS)
		add(mTTFT, e.TTFTMS)
		if !c.pre {
			f.sketchesOf(u.arm).add(e.LatencyMS, e.TTFTMS)
		}
	case ab.KindOutcome:
		c.outcome(t, e)
	case ab.KindScore:
		for _, r := range []struct {
			m metric
			v *bool
		}{{mRefusal, e.Refused}, {mJSONValid, e.JSONValid}, {mFormat, e.FormatOK}} {
			if r.v != nil {
				t[r.m][0] += b2f(*r.v)
				t[r.m][1]++
			}
		}
		if e.Chars != nil {
			t[mLength][0] += float64(*e.Chars)
			t[mLength][1]++
		}
	}
	if *t != old {
		f.place(u)
	}
}

// outcome sets the fields e gives where e is the latest to give them, and
// moves the conversation's contribution to t accordingly.
func (c *conv) outcome(t *totals, e ab.Event) {
	take := func(i int) bool {
		if e.At.Before(c.at[i]) {
			return false
		}
		c.at[i] = e.At
		return true
	}
	flag := func(m metric, old **bool, v *bool, i int) {
		if v == nil || !take(i) {
			return
		}
		if *old != nil {
			t[m][0] -= b2f(**old)
			if m != mTicket {
				t[m][1]--
			}
		}
		t[m][0] += b2f(*v)
		if m != mTicket {
			t[m][1]++
		}
		*old = v
	}
	flag(mSuccess, &c.success, e.Success, 0)
	flag(mTicket, &c.ticket, e.Ticket, 1)
	if e.Satisfaction != nil && take(2) {
		if c.satisfaction != nil {
			t[mSatisfaction][0] -= *c.satisfaction
			t[mSatisfaction][1]--
		}
		t[mSatisfaction][0] += *e.Satisfaction
		t[mSatisfaction][1]++
		c.satisfaction = e.Satisfaction
	}
	if e.Ended != nil && take(3) {
		c.ended = e.Ended
	}
	if e.Turns != nil && take(4) {
		c.turns = e.Turns
	}
	// Turns count for ended conversations that say how many they had.
	if c.ended != nil && *c.ended && c.turns != nil {
		c.setTurns(t, float64(*c.turns))
	} else {
		c.setTurns(t, math.NaN())
	}
}

// setTurns makes the conversation's contribution to the turns metric v
// (NaN: none).
func (c *conv) setTurns(t *totals, v float64) {
	if !math.IsNaN(c.turnsIn) {
		t[mTurns][0] -= c.turnsIn
		t[mTurns][1]--
	}
	c.turnsIn = v
	if !math.IsNaN(v) {
		t[mTurns][0] += v
		t[mTurns][1]++
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// place puts u's totals in its arm's moments, replacing what was there.
func (f *Fold) place(u *unit) {
	ms := f.arms[u.arm]
	if ms == nil {
		ms = new([nMetrics]stats.UnitMoments)
		f.arms[u.arm] = ms
	}
	for m := range nMetrics {
		if u.in {
			ms[m].Remove(u.inCur[m][0], u.inCur[m][1], u.inPre[m][0], u.inPre[m][1])
		}
		ms[m].Add(u.cur[m][0], u.cur[m][1], u.pre[m][0], u.pre[m][1])
	}
	u.inCur, u.inPre, u.in = u.cur, u.pre, true
}

// SpillTo keeps the fold's quiet units in s from now on.
func (f *Fold) SpillTo(s *Spill) { f.spill = s }

// unspill reads a unit back from the spill: nil when it is not there; ok
// false when the spill cannot be read, and the event is not applied: its
// unit's totals are unknown (counted, and the decisions hold).
func (f *Fold) unspill(id string) (u *unit, ok bool) {
	if f.spill == nil {
		return nil, true
	}
	rec, found, err := f.spill.get(id)
	if err == nil && found {
		u, err = decodeUnit(rec)
	}
	if err != nil {
		f.counts.SpillErrors++
		f.spillErr = err
		return nil, false
	}
	if u != nil {
		u.onDisk = true
	}
	return u, true
}

// SpillError is the spill's latest failure, if any.
func (f *Fold) SpillError() error { return f.spillErr }

// expireEvery is how far the watermark moves between two sweeps of the
// state past the horizon, as a share of the horizon.
const expireEvery = 8

// expire forgets, once the watermark has moved on by an eighth of the
// horizon, the conversations whose last event is beyond the horizon (their
// totals stay) and the units never exposed whose events are: those
// events are orphans. With a spill, exposed units whose last event is
// beyond the horizon go to it, in one write; if the write fails they stay
// in memory.
func (f *Fold) expire() {
	if f.mark.Before(f.swept.Add(f.horizon / expireEvery)) {
		return
	}
	f.swept = f.mark
	edge := f.mark.Add(-f.horizon)
	var quiet map[string][]byte
	for id, u := range f.units {
		if u.arm == "" {
			if u.last.Before(edge) {
				f.counts.Orphans += int64(len(u.pending))
				f.counts.Pending -= int64(len(u.pending))
				delete(f.units, id)
			}
			continue
		}
		for k, c := range u.convs {
			if c.last.Before(edge) {
				delete(u.convs, k)
			}
		}
		if f.spill != nil && u.last.Before(edge) {
			// Its conversations are all beyond the horizon too: gone.
			if quiet == nil {
				quiet = map[string][]byte{}
			}
			quiet[id] = encodeUnit(u)
		}
	}
	if len(quiet) == 0 {
		return
	}
	if err := f.spill.put(quiet); err != nil {
		f.spillErr = err
		return
	}
	for id := range quiet {
		if !f.units[id].onDisk {
			f.spilled++
		}
		delete(f.units, id)
	}
}

// InMemory is how many units the fold holds in memory, and how many went
// to its spill (a unit read back is in both).
func (f *Fold) InMemory() (memory, spilled int64) { return int64(len(f.units)), f.spilled }

// sketched are the per-turn measures whose quantiles a fold keeps.
var sketched = [2]metric{mLatency, mTTFT}

// sketchAccuracy is the sketches' relative accuracy: a quantile read is
// within 1% of a value of that rank. sketchBins bounds a sketch's bins;
// values so spread out that they need more (from 1 ms to beyond a
// thousand years) lose accuracy at the low end, where it matters least.
const (
	sketchAccuracy = 0.01
	sketchBins     = 2048
)

// armSketches are an arm's quantile sketches, by [sketched] measure: over
// every turn, and over the turns since the last look.
type armSketches struct {
	all, window [2]*ddsketch.DDSketch
}

func newSketch() *ddsketch.DDSketch {
	s, err := ddsketch.LogCollapsingLowestDenseDDSketch(sketchAccuracy, sketchBins)
	if err != nil {
		panic(err) // the constants are valid
	}
	return s
}

func (f *Fold) sketchesOf(arm string) *armSketches {
	s := f.sketches[arm]
	if s == nil {
		s = &armSketches{}
		for i := range sketched {
			s.all[i], s.window[i] = newSketch(), newSketch()
		}
		f.sketches[arm] = s
	}
	return s
}

func (s *armSketches) add(vals ...*float64) {
	for i, v := range vals {
		// Event values are checked finite and not negative on the way in.
		if v != nil && *v >= 0 && !math.IsInf(*v, 0) {
			_ = s.all[i].Add(*v)
			_ = s.window[i].Add(*v)
		}
	}
}

// quantilesOf reads a sketch.
func quantilesOf(s *ddsketch.DDSketch) document.ABQuantiles {
	q := document.ABQuantiles{Turns: int64(math.Round(s.GetCount()))}
	if s.IsEmpty() {
		return q
	}
	v, err := s.GetValuesAtQuantiles([]float64{0.5, 0.9, 0.95, 0.99})
	if err == nil {
		q.P50, q.P90, q.P95, q.P99 = v[0], v[1], v[2], v[3]
	}
	return q
}

// Quantiles are each arm's quantiles of every [sketched] measure, by arm
// and measure name: over all its turns since exposure, and over the turns
// since the previous call, which starts the next window.
func (f *Fold) Quantiles() map[string]map[string]document.ABQuantiles {
	out := map[string]map[string]document.ABQuantiles{}
	for arm, s := range f.sketches {
		qs := map[string]document.ABQuantiles{}
		for i, m := range sketched {
			q := quantilesOf(s.all[i])
			if q.Turns == 0 {
				continue
			}
			w := quantilesOf(s.window[i])
			q.Window = &w
			s.window[i].Clear()
			qs[metricNames[m]] = q
		}
		out[arm] = qs
	}
	return out
}

// Exposed is how many units were first exposed to each arm under epoch
// ("" for exposures that name none), in the experiment's arm order.
func (f *Fold) Exposed(epoch string) []int64 {
	out := make([]int64, len(f.exp.Arms))
	for i, a := range f.exp.Arms {
		out[i] = f.exposed[epoch][a.Name]
	}
	return out
}

// Arm is one arm's folded units: the moments of each metric's per-unit
// totals, by metric name.
type Arm struct {
	Units   int64                        `json:"units"`
	Metrics map[string]stats.UnitMoments `json:"metrics"`
}

// Snapshot is the fold as it stands: each arm by name, and the counts.
func (f *Fold) Snapshot() (map[string]Arm, Counts) {
	out := make(map[string]Arm, len(f.arms))
	for name, ms := range f.arms {
		a := Arm{Metrics: make(map[string]stats.UnitMoments, nMetrics)}
		for m := range nMetrics {
			a.Metrics[metricNames[m]] = ms[m]
		}
		a.Units = ms[mTicket].N
		out[name] = a
	}
	return out, f.counts
}
