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

// ABEventsAge is how long ASSAY_AB keeps an event: as long as an
// assignment, and the report's horizon besides, so that a report read
// again from the stream finds every exposure its units' events need. The
// stream has no byte limit: dropping the oldest events would drop
// exposures first.
const ABEventsAge = ABUnitsTTL + 3*24*time.Hour

// ABUnitKey is the key of a unit's assignment in run's experiment e: the
// run, the experiment and the unit's [ABHash].
func ABUnitKey(run string, e eval.Experiment, unit string) string {
	return run + "." + e.Name + "." + ABHash(run, e, unit)
}

// ABHash is an id a product sent about a user (a unit, a conversation, an
// event) as assay stores it: 32 hex digits of the SHA-256 of the run, the
// experiment's salt and the id. Pseudonymous, not anonymous: whoever
// knows the salt (it is in the spec) and guesses an id (an e-mail
// address) can confirm it; the salt keeps one user's hashes in two
// experiments apart.
func ABHash(run string, e eval.Experiment, id string) string {
	h := sha256.New()
	for _, f := range []string{run, e.SaltOf(), id} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ABStore keeps the assignments of run's experiment e in assay_ab_units
// (it satisfies ab.Store): shared by every ingest replica and kept across
// restarts, so a unit keeps its arm when the weights change. The stored
// assignment holds the unit's hash, not its id.
type ABStore struct {
	b   *Bus
	run string
	e   eval.Experiment
}

// ABStore returns the store of the assignments of run's experiment e.
func (b *Bus) ABStore(run string, e eval.Experiment) ABStore { return ABStore{b: b, run: run, e: e} }

// Claim records a unless its unit has an assignment. It reads first: a
// returning unit, the common case, costs one round trip.
func (s ABStore) Claim(ctx context.Context, a ab.Assignment) (ab.Assignment, bool, error) {
	key := ABUnitKey(s.run, s.e, a.Unit)
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	if got, ok, err := s.recorded(ctx, key, a.Unit); err != nil || ok {
		return got, false, err
	}
	stored := a
	stored.Unit, stored.New = ABHash(s.run, s.e, a.Unit), false
	data, err := json.Marshal(stored)
	if err != nil {
		return ab.Assignment{}, false, err
	}
	_, err = s.b.ABUnits.Create(ctx, key, data)
	if err == nil {
		return a, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return ab.Assignment{}, false, err
	}
	// Created meanwhile by another request for the unit.
	got, ok, err := s.recorded(ctx, key, a.Unit)
	if err == nil && !ok {
		err = fmt.Errorf("the assignment of a unit in experiment %q was created and is gone", s.e.Name)
	}
	return got, false, err
}

// recorded reads a unit's recorded assignment, if it has one.
func (s ABStore) recorded(ctx context.Context, key, unit string) (ab.Assignment, bool, error) {
	e, err := s.b.ABUnits.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ab.Assignment{}, false, nil
	}
	if err != nil {
		return ab.Assignment{}, false, fmt.Errorf("reading the recorded assignment: %w", err)
	}
	var got ab.Assignment
	if err := json.Unmarshal(e.Value(), &got); err != nil || got.Arm == "" {
		return ab.Assignment{}, false, fmt.Errorf("the recorded assignment of a unit in experiment %q does not decode (%v): delete key %s of %s to assign it anew", s.e.Name, err, key, BucketABUnits)
	}
	got.Unit = unit
	return got, true, nil
}

// MarkLogged records that the exposure of unit's assignment is stored,
// so that later requests do not store it again. Two requests may store
// one unit's exposure at once (an assignment and an exposure event): the
// one whose update loses to the other's finds the mark made.
func (s ABStore) MarkLogged(ctx context.Context, unit string) error {
	key := ABUnitKey(s.run, s.e, unit)
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	for try := 0; ; try++ {
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
		// Only marks update a record once created: a lost race is
		// another mark, read again to see it.
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) || try == 2 {
			return err
		}
	}
}
