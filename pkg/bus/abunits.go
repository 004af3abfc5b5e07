package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// ABUnitsTTL is how long a unit's assignment is kept: the longest an
// experiment may run, and a day.
const ABUnitsTTL = eval.MaxExperiment + 24*time.Hour

// ABUnitKey is the key of a unit's assignment in an experiment: the
// experiment and a hash of the unit id, which is never stored as sent
// (it may be an e-mail address).
func ABUnitKey(experiment, unit string) string {
	return experiment + "." + HashUnit(unit)
}

// HashUnit is a unit id as assay stores it: 32 hex digits of its SHA-256.
func HashUnit(unit string) string {
	sum := sha256.Sum256([]byte(unit))
	return hex.EncodeToString(sum[:16])
}

// ABStore keeps assignments in assay_ab_units (it satisfies ab.Store):
// shared by every ingest replica and kept across restarts, so a unit keeps
// its arm when the weights change. The stored assignment holds the unit's
// hash, not its id.
type ABStore struct{ b *Bus }

// ABStore returns the bus's store of assignments.
func (b *Bus) ABStore() ABStore { return ABStore{b: b} }

// Claim records a unless its unit has an assignment in a's experiment.
func (s ABStore) Claim(ctx context.Context, a ab.Assignment) (ab.Assignment, bool, error) {
	key := ABUnitKey(a.Experiment, a.Unit)
	stored := a
	stored.Unit, stored.New = HashUnit(a.Unit), false
	data, err := json.Marshal(stored)
	if err != nil {
		return ab.Assignment{}, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	_, err = s.b.ABUnits.Create(ctx, key, data)
	if err == nil {
		return a, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return ab.Assignment{}, false, err
	}
	e, err := s.b.ABUnits.Get(ctx, key)
	if err != nil {
		return ab.Assignment{}, false, fmt.Errorf("reading the recorded assignment: %w", err)
	}
	var got ab.Assignment
	if err := json.Unmarshal(e.Value(), &got); err != nil || got.Arm == "" {
		return ab.Assignment{}, false, fmt.Errorf("the recorded assignment of a unit in experiment %q does not decode (%v): delete key %s of %s to assign it anew", a.Experiment, err, key, BucketABUnits)
	}
	got.Unit = a.Unit
	return got, false, nil
}

// MarkLogged records that the exposure of unit's assignment in experiment
// is stored, so that later requests do not store it again.
func (s ABStore) MarkLogged(ctx context.Context, experiment, unit string) error {
	key := ABUnitKey(experiment, unit)
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	e, err := s.b.ABUnits.Get(ctx, key)
	if err != nil {
		return err
	}
	var a ab.Assignment
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		return err
	}
	if a.Logged {
		return nil
	}
	a.Logged = true
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = s.b.ABUnits.Update(ctx, key, data, e.Revision())
	return err
}
