package judge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// failingCache is the bus's cache whose writes fail while down is set,
// as during a NATS node failover.
type failingCache struct {
	llm.Cache
	down atomic.Bool
}

func (c *failingCache) Put(ctx context.Context, key string, val []byte) error {
	if c.down.Load() {
		return errors.New("nats: timeout (stream leader changing)")
	}
	return c.Cache.Put(ctx, key, val)
}

// visible is what a report reads of a judgment.
func visible(jd *eval.Judgment) string {
	s := fmt.Sprintf("winner=%q consistent=%v error=%q cause=%q", jd.Winner, jd.Consistent, jd.Error, jd.Cause)
	for _, r := range jd.Rounds {
		s += fmt.Sprintf(" [%s %q %q %q]", r.Order, r.Winner, r.Parse, r.Error)
	}
	return s
}

// TestJudgePaidOnceWhenTheCacheFails judges a pair while every cache write
// fails at first: no judgment comes out, and the pair judged
// again (its message redelivered) gets the kept verdicts without asking
// the judge again; a restarted stage gets them from the cache. Answers and
// final failures alike, and the judgment reads as one whose cache never
// failed.
func TestJudgePaidOnceWhenTheCacheFails(t *testing.T) {
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "fair", Judge: true}}})
	ep := newEndpoint(t, sim.Handler(), nil)
	down := newEndpoint(t, sim.Handler(), func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error": {"message": "bad request"}}`, http.StatusBadRequest)
	})
	for _, tc := range []struct {
		name string
		e    *endpoint
	}{
		{"judged", ep},
		{"judge fails for good", down},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bustest.New(t)
			// A stage's metrics are registered once per registry: each
			// stage gets its own environment.
			env := func(b *bus.Bus) *stage.Env {
				return &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
			}
			j := eval.Judge{Name: "j", BaseURL: tc.e.URL, Model: "fair", Mode: "pairwise", Concurrency: 2, Dimensions: eval.DefaultDimensions}
			spec := runSpec(j)
			cand, base := pairOf("", "", "")
			sample := testSample("What is 2+2? paid once, " + tc.name)
			before, _ := tc.e.counts("fair")
			calls := func() int { n, _ := tc.e.counts("fair"); return n - before }

			cache := &failingCache{Cache: b.LLMCache()}
			cache.down.Store(true)
			svc := New(Config{Cache: cache, SkipPreflight: true}, env(b))
			if jd, err := svc.Handle(t.Context(), spec, j, sample, cand, base); !errors.Is(err, llm.ErrNotStored) {
				t.Fatalf("with the cache failing: %v, %+v; want llm.ErrNotStored", err, jd)
			}
			if calls() != 2 {
				t.Fatalf("the judge was asked %d times, want once per order", calls())
			}
			cache.down.Store(false)
			got, err := svc.Handle(t.Context(), spec, j, sample, cand, base)
			if err != nil {
				t.Fatal(err)
			}
			restarted, err := New(Config{SkipPreflight: true}, env(b)).Handle(t.Context(), spec, j, sample, cand, base)
			if err != nil {
				t.Fatal(err)
			}
			if calls() != 2 {
				t.Errorf("the judge was asked %d times in all, want once per order", calls())
			}

			// The same pair where the cache never failed.
			want, err := New(Config{SkipPreflight: true}, env(bustest.New(t))).Handle(t.Context(), spec, j, sample, cand, base)
			if err != nil {
				t.Fatal(err)
			}
			for name, jd := range map[string]*eval.Judgment{"redelivered": got, "restarted": restarted} {
				if visible(jd) != visible(want) {
					t.Errorf("%s:\n got %s\nwant %s", name, visible(jd), visible(want))
				}
			}
			if (tc.e == down) != (want.Error != "") {
				t.Errorf("judgment error %q", want.Error)
			}
		})
	}
}
