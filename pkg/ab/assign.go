package ab

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Bucket places a unit in [0, 1) by the SHA-256 of the salt, a zero byte
// and the unit id: the same unit always lands in the same place, and
// units land uniformly whatever their ids look like.
func Bucket(salt, unit string) float64 {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(unit))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// Assignment is a unit's arm in an experiment, as first recorded.
type Assignment struct {
	Experiment string `json:"experiment"`
	Unit       string `json:"unit"`
	Arm        string `json:"arm"`
	Variant    string `json:"variant"`
	// Epoch is the weights the unit was assigned under ([Experiment.Epoch]).
	Epoch string `json:"epoch"`
	// At is when the unit was first assigned. Its exposure is stored with
	// this time when it is stored on that assignment; one stored later
	// (the product asked not to log it then) has the time it was logged.
	At time.Time `json:"at"`
	// Recorded is the arm of the unit's first exposure when it is not the
	// arm served now: that arm was stopped or removed, and the unit is
	// served the control. The analysis counts the unit in Recorded.
	Recorded string `json:"recorded,omitempty"`
	// New is set on the call that recorded the assignment.
	New bool `json:"new"`
	// Logged is set once the exposure is stored where the analysis reads
	// it (a store that logs exposures sets it: see the bus's). Until then
	// the unit is assigned but not counted: a product may assign early
	// (a page load) and log the exposure when the unit sees its arm.
	Logged bool `json:"logged,omitempty"`
}

// Store keeps each unit's first assignment, so that a unit keeps its arm
// when the weights change and its exposure is counted once.
type Store interface {
	// Claim records a unless the unit has an assignment in a's
	// experiment; it returns the recorded assignment and whether it is a.
	Claim(ctx context.Context, a Assignment) (Assignment, bool, error)
}

// MemoryStore is a [Store] in this process's memory, for a product that
// assigns in-process: about 300 bytes a unit, kept for as long as the
// process runs. A restart forgets them: units then keep their arms only
// while the weights are unchanged (the hash decides), and their exposures
// are recorded again.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]Assignment
}

// Claim records a unless its unit has an assignment.
func (s *MemoryStore) Claim(_ context.Context, a Assignment) (Assignment, bool, error) {
	k := a.Experiment + "\x00" + a.Unit
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, ok := s.m[k]; ok {
		return got, false, nil
	}
	if s.m == nil {
		s.m = map[string]Assignment{}
	}
	s.m[k] = a
	return a, true, nil
}

// Assigner assigns units to arms.
type Assigner struct {
	Store Store
	// Now is the clock (nil: time.Now): it stamps a new assignment's At.
	Now func() time.Time
}

// ErrUnit is a unit id that cannot be assigned.
var ErrUnit = errors.New("bad unit id")

// MaxUnitBytes bounds a unit id.
const MaxUnitBytes = 256

// CheckUnit reports what is wrong with a unit id, if anything.
func CheckUnit(unit string) error {
	if strings.TrimSpace(unit) == "" {
		return fmt.Errorf("%w: the unit is empty: send the user's or session's id as \"unit\"", ErrUnit)
	}
	if err := checkID("the unit", unit, MaxUnitBytes, true); err != nil {
		return fmt.Errorf("%w: %v: send an id, not a document", ErrUnit, err)
	}
	return nil
}

// Assign returns unit's arm in e: the one recorded at its first exposure,
// or, for a unit not seen before, the arm its bucket falls in under e's
// weights, which is then recorded. The same unit gets the same arm on
// every call, and keeps it when the weights change for as long as the
// store keeps it; a new unit gets the weights in force. A unit whose arm
// was stopped or removed is served the control ([Assignment.Recorded]).
func (as *Assigner) Assign(ctx context.Context, e Experiment, unit string) (Assignment, error) {
	if err := CheckUnit(unit); err != nil {
		return Assignment{}, err
	}
	if err := e.Validate(nil); err != nil {
		return Assignment{}, err
	}
	arm := e.Pick(Bucket(e.SaltOf(), unit))
	if arm.Name == "" {
		return Assignment{}, fmt.Errorf("experiment %q has no arm with a weight above 0", e.Name)
	}
	now := time.Now
	if as.Now != nil {
		now = as.Now
	}
	a := Assignment{Experiment: e.Name, Unit: unit, Arm: arm.Name, Variant: arm.Variant, Epoch: e.Epoch(), At: now().UTC(), New: true}
	got, created, err := as.Store.Claim(ctx, a)
	if err != nil {
		// Not the unit: it may be personal data, and errors are logged.
		return Assignment{}, fmt.Errorf("recording an assignment in experiment %q: %w", e.Name, err)
	}
	if !created {
		got.New = false
		cur, ok := e.Arm(got.Arm)
		if !ok || cur.Stopped {
			got.Recorded, cur = got.Arm, e.Arms[0]
		}
		got.Arm, got.Variant = cur.Name, cur.Variant
	}
	return got, nil
}
