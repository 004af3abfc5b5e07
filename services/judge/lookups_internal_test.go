package judge

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// TestCandidateWithoutBaselineLooksUpNoFellows: a candidate arriving
// before its baseline completes no pair, so it reads the baseline's
// record and not its fellow candidates'.
func TestCandidateWithoutBaselineLooksUpNoFellows(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	s := New(Config{}, &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
	spec := &eval.RunSpec{Run: "few", Baseline: "base", Variants: []eval.Variant{{Name: "base"}}}
	for i := range 5 {
		spec.Variants = append(spec.Variants, eval.Variant{Name: fmt.Sprint("ft", i)})
	}
	// Every read of a key of assay_pairs is a message get on its stream;
	// once a flush returns, the gets sent before it are queued here.
	sub, err := b.NC.SubscribeSync("$JS.API.STREAM.MSG.GET.KV_" + bus.BucketPairs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	// The run is known to hold no records of the older layout.
	if _, err := s.legacy(ctx, "few"); err != nil {
		t.Fatal(err)
	}
	if err := b.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	gets := func() int {
		n, _, err := sub.Pending()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := gets()
	g := &eval.Generation{V: 1, Run: "few", Variant: "ft0", Sample: eval.SampleRef{ID: "0", Suite: "qa"}}
	pairs, err := s.arrive(ctx, spec, eval.Judge{Name: "good"}, g, 7)
	if err != nil || len(pairs) != 0 {
		t.Fatalf("arrival: %d pairs, err %v", len(pairs), err)
	}
	if err := b.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := gets() - before; n != 1 {
		t.Errorf("the arrival read %d keys, want 1 (the baseline's record)", n)
	}
}
