package bus_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
)

// TestABStoreKeepsArmsAcrossRestartsAndWeightChanges: assignments kept in
// assay_ab_units survive a new assigner (a restarted or another ingest
// replica) with new weights, and the unit id is stored only as a hash.
func TestABStoreKeepsArmsAcrossRestartsAndWeightChanges(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	e := ab.Experiment{Name: "exp", Arms: []ab.Arm{{Name: "control", Variant: "base", Weight: 1}, {Name: "treatment", Variant: "ft", Weight: 1}},
		Primary: ab.Metric{Metric: "success"}, MinUnits: 1}
	first := map[string]string{}
	as := &ab.Assigner{Store: b.ABStore("run", e)}
	for i := range 200 {
		u := fmt.Sprintf("user%d@example.com", i)
		a, err := as.Assign(ctx, e, u)
		if err != nil || !a.New || a.Unit != u {
			t.Fatalf("assign %s: %+v %v", u, a, err)
		}
		first[u] = a.Arm
	}
	// The same unit hashes apart in another run or under another salt.
	if bus.ABHash("run", e, "u") == bus.ABHash("run2", e, "u") {
		t.Error("a unit's hash is the same in two runs")
	}
	salted := e
	salted.Salt = "other"
	if bus.ABHash("run", e, "u") == bus.ABHash("run", salted, "u") {
		t.Error("a unit's hash is the same under two salts")
	}
	e.Arms[0].Weight = 9
	again := &ab.Assigner{Store: b.ABStore("run", e)}
	for u, arm := range first {
		a, err := again.Assign(ctx, e, u)
		if err != nil || a.New || a.Arm != arm || a.Unit != u {
			t.Fatalf("unit %s after a restart and new weights: %+v %v (was %s)", u, a, err, arm)
		}
	}
	entry, err := b.ABUnits.Get(ctx, bus.ABUnitKey("run", e, "user1@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if v := string(entry.Value()); strings.Contains(v, "example.com") || !strings.Contains(v, bus.ABHash("run", e, "user1@example.com")) {
		t.Errorf("stored assignment %s", v)
	}
}

// TestABStoreMarksLoggedOnceUnderRacingMarks: requests storing one unit's
// exposure at once (an assignment and an exposure event) all see the mark
// made, the losers of the update included.
func TestABStoreMarksLoggedOnceUnderRacingMarks(t *testing.T) {
	b := bustest.New(t)
	e := ab.Experiment{Name: "exp", Arms: []ab.Arm{{Name: "control", Variant: "base", Weight: 1}, {Name: "treatment", Variant: "ft", Weight: 1}},
		Primary: ab.Metric{Metric: "success"}, MinUnits: 1}
	store := b.ABStore("run", e)
	as := &ab.Assigner{Store: store}
	if _, err := as.Assign(t.Context(), e, "u"); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	var start sync.WaitGroup
	start.Add(1)
	for range cap(errs) {
		go func() {
			start.Wait()
			errs <- store.MarkLogged(t.Context(), "u")
		}()
	}
	start.Done()
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("a racing mark: %v", err)
		}
	}
	if a, err := as.Assign(t.Context(), e, "u"); err != nil || !a.Logged || a.New {
		t.Errorf("after the marks: %+v %v", a, err)
	}
}
