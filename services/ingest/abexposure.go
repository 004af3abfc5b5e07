package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
)

// A unit's exposure — the event that puts it in its arm's count — is
// stored by assign on the unit's first assignment, or, when the product
// assigns early and asks assign not to log it ("log": false), when the
// unit sees its arm: by the product's exposure event or a later assign.
// Either way it is stored by logExposure, under an id of the unit, with
// the arm assay recorded: whoever sends it, and however often, a unit is
// exposed once and to its own arm.

// logExposure stores the exposure of unit's assignment a with time at,
// unless the assignment says it is stored already, and marks it stored.
// It reports whether it was stored already: marked so, or found so by
// the stream's duplicate window. Past that window an exposure stored
// again (its mark failed) is counted by the report as a duplicate, and
// the first one stands.
func (s *Service) logExposure(ctx context.Context, run string, e eval.Experiment, store bus.ABStore, unit string, a ab.Assignment, at time.Time) (bool, error) {
	if a.Logged {
		return true, nil
	}
	// The analysis counts a unit in the arm it was first given, also when
	// that arm was stopped since and the unit is served the control.
	arm := a.Arm
	if a.Recorded != "" {
		arm = a.Recorded
	}
	hashed := bus.ABHash(run, e, unit)
	ev := ab.Event{ID: "exposure", Kind: ab.KindExposure, Unit: hashed, Arm: arm, At: at.UTC(), Epoch: a.Epoch}
	ack, err := s.bus.Publish(ctx, bus.ABStoredSubject(run, e.Name), bus.MsgID("ab", run, e.Name, "exposure", hashed), ev)
	if err != nil {
		return false, fmt.Errorf("storing the exposure: %w", err)
	}
	if err := store.MarkLogged(ctx, unit); err != nil {
		s.logger.Warn("marking an exposure stored failed; it will be stored again on the unit's next request", "experiment", e.Name, "err", err)
	}
	return ack != nil && ack.Duplicate, nil
}

// storeExposures stores the exposure events of a request. Each unit is
// assigned as assign would assign it — its recorded arm, or for a unit
// never assigned the arm its hash picks under the weights in force — and
// its exposure stored with the event's time, when the unit saw its arm.
// An event naming another arm than the unit's is refused: the product
// served an arm assay did not give, and counting the unit in either would
// bias the comparison. A unit's events are taken in order, so that its
// first stores the exposure and the others find it stored; units are
// taken at once.
func (s *Service) storeExposures(ctx context.Context, run string, e eval.Experiment, exposures []abPending, tally *abTally) {
	if len(exposures) == 0 {
		return
	}
	byUnit := map[string][]abPending{}
	var units []string
	for _, p := range exposures {
		if byUnit[p.ev.Unit] == nil {
			units = append(units, p.ev.Unit)
		}
		byUnit[p.ev.Unit] = append(byUnit[p.ev.Unit], p)
	}
	store := s.bus.ABStore(run, e)
	atOnce(len(units), func(i int) {
		for _, p := range byUnit[units[i]] {
			s.storeExposure(ctx, run, e, store, p, tally)
		}
	})
}

// maxExposureAge is how far back an exposure event may date its exposure:
// the report's horizon, beyond which its other events would be late.
const maxExposureAge = ab.Horizon

// storeExposure stores one exposure event p (see [Service.storeExposures]).
func (s *Service) storeExposure(ctx context.Context, run string, e eval.Experiment, store bus.ABStore, p abPending, tally *abTally) {
	// A unit assigned now was exposed when the event says, within reason:
	// a product's time is not trusted to date an exposure further back
	// than maxExposureAge (it would date the experiment's start), nor
	// after now.
	now := time.Now().UTC()
	at := clampTime(p.ev.At, now.Add(-maxExposureAge), now)
	as := &ab.Assigner{Store: store, Now: func() time.Time { return at }}
	a, err := as.Assign(ctx, e, p.ev.Unit)
	if err != nil {
		tally.fail(err)
		return
	}
	if p.ev.Arm != "" && p.ev.Arm != a.Arm && p.ev.Arm != a.Recorded {
		tally.refuse(p.i, fmt.Errorf("%w: event %s: the unit's arm is %q, not %q: assay assigns arms: call assign (POST /v1/ab/%s/assign) and serve the arm it returns", ab.ErrEvent, p.ev.ID, a.Arm, p.ev.Arm, e.Name))
		return
	}
	// Nor before the unit was assigned.
	duplicate, err := s.logExposure(ctx, run, e, store, p.ev.Unit, a, clampTime(at, a.At, now))
	if err != nil {
		tally.fail(err)
		return
	}
	tally.stored(duplicate)
}

// clampTime is t within [lo, hi] (lo when they cross).
func clampTime(t, lo, hi time.Time) time.Time {
	if t.After(hi) {
		t = hi
	}
	if t.Before(lo) {
		t = lo
	}
	return t
}
