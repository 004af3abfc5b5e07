package judge

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// TestStoredMissesLeaveNoConsumers: lookups of generations that are not
// stored — many at once, many one after the other — leave at most a
// bounded number of consumers on ASSAY_GENS, and a stored generation is
// still found.
func TestStoredMissesLeaveNoConsumers(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	env := &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
	s := New(Config{}, env)
	for i := range 3 {
		g := eval.Generation{V: 1, Run: "st", Variant: "base", Sample: eval.SampleRef{ID: fmt.Sprint(i), Suite: "qa"}, Output: "answer"}
		if _, err := b.Publish(ctx, bus.GensSubject("st", "base"), fmt.Sprintf("gen-%d", i), g); err != nil {
			t.Fatal(err)
		}
	}
	const misses = 200
	var wg sync.WaitGroup
	for i := range misses {
		lookup := func() {
			if _, ok, err := s.storedGen(ctx, "st", "base", "qa", fmt.Sprint("missing-", i)); err != nil || ok {
				t.Errorf("missing sample %d: found %v, err %v", i, ok, err)
			}
		}
		if i%2 == 0 {
			lookup()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); lookup() }()
	}
	wg.Wait()
	if r, ok, err := s.storedGen(ctx, "st", "base", "qa", "2"); err != nil || !ok || r.seq == 0 {
		t.Fatalf("stored sample 2: %+v, found %v, err %v", r, ok, err)
	}
	st, err := b.JS.Stream(ctx, bus.StreamGens)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.State.Consumers; n > 1 {
		t.Errorf("%d lookups left %d consumers on %s, want at most 1", misses+1, n, bus.StreamGens)
	}
}
