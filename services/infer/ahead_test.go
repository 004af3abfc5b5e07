package infer

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// TestSamplesTakenAhead: a variant's consumer hands out its concurrency
// and the samples taken ahead (Config.Ahead), yet the endpoint never has
// more than concurrency calls in flight from one infer process, and is
// kept at that; with Ahead negative, concurrency caps the calls of two
// replicas together.
func TestSamplesTakenAhead(t *testing.T) {
	for _, c := range []struct {
		name        string
		ahead       int
		replicas    int
		concurrency int
		pending     int // the consumer's MaxAckPending
		peak        int // the most calls in flight at once
	}{
		{name: "default", ahead: 0, replicas: 1, concurrency: 4, pending: 5, peak: 4},
		{name: "more", ahead: 3, replicas: 1, concurrency: 4, pending: 7, peak: 4},
		{name: "none across replicas", ahead: -1, replicas: 2, concurrency: 4, pending: 4, peak: 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			const samples = 48
			b := bustest.New(t)
			sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "m", Accuracy: 0.6, Latency: llmsim.Duration(20 * time.Millisecond)}}})
			hs := httptest.NewServer(sim.Handler())
			t.Cleanup(hs.Close)
			spec := &eval.RunSpec{
				Run: "ahead", Baseline: "base",
				Variants: []eval.Variant{{Name: "base", BaseURL: hs.URL + "/v1", Model: "m", Concurrency: c.concurrency}},
				Suites:   []eval.Suite{{Name: "s", Metrics: []string{"length"}}},
				Decoding: eval.Decoding{TopP: 1, MaxTokens: 16},
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			if err := b.SubmitRun(ctx, spec); err != nil {
				t.Fatal(err)
			}
			for i := range samples {
				s := eval.Sample{V: 1, Run: spec.Run, ID: fmt.Sprint(i), Suite: "s", Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("question %d", i)}}}
				if _, err := b.Publish(ctx, bus.SamplesSubject(spec.Run, "s"), "sample-"+s.ID, s); err != nil {
					t.Fatal(err)
				}
			}
			for range c.replicas {
				env := &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
				svc := New(Config{Ahead: c.ahead}, env)
				rctx, rcancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() {
					defer close(done)
					if err := svc.Run(rctx); err != nil && rctx.Err() == nil {
						t.Errorf("infer: %v", err)
					}
				}()
				t.Cleanup(func() { rcancel(); <-done })
			}
			bustest.Eventually(t, 90*time.Second, func() error {
				if n := len(bustest.Stored[eval.Generation](t, b, bus.StreamGens)); n < samples {
					return fmt.Errorf("%d of %d generations", n, samples)
				}
				return nil
			})
			cons, err := b.JS.Consumer(ctx, bus.StreamSamples, bus.InferConsumer(spec.Run, "base"))
			if err != nil {
				t.Fatal(err)
			}
			if got := cons.CachedInfo().Config.MaxAckPending; got != c.pending {
				t.Errorf("MaxAckPending %d, want %d", got, c.pending)
			}
			if got := sim.PeakInFlight("m"); got != c.peak {
				t.Errorf("at most %d calls in flight at once, want %d", got, c.peak)
			}
		})
	}
}
