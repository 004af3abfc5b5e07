package judge_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestGenerationsTakenAhead: a judge's consumer hands out its concurrency
// and an eighth more (stage.HandedOut), and the judge's endpoint still has
// at most concurrency calls in flight from the stage, and is kept at it,
// though each pair asks for two calls at once.
func TestGenerationsTakenAhead(t *testing.T) {
	const samples, concurrency = 24, 4
	srv := bustest.Server(t)
	b := bustest.Open(t, srv)
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "sim-judge", Judge: true, Latency: llmsim.Duration(20 * time.Millisecond)}}})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	spec := &eval.RunSpec{
		Run: "ahead", Baseline: "base",
		Variants: []eval.Variant{{Name: "base"}, {Name: "ft"}},
		Suites:   []eval.Suite{{Name: "s", Metrics: []string{"length"}}},
		Judges:   []eval.Judge{{Name: "j", BaseURL: hs.URL + "/v1", Model: "sim-judge", Mode: "pairwise", Concurrency: concurrency, Dimensions: eval.DefaultDimensions}},
		Retry:    eval.Retry{MaxAttempts: 1},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for i := range samples {
		s := eval.Sample{V: 1, Run: spec.Run, ID: fmt.Sprint(i), Suite: "s", Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("question %d", i)}}}
		ack, err := b.Publish(ctx, bus.SamplesSubject(spec.Run, "s"), "sample-"+s.ID, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"base", "ft"} {
			g := eval.Generation{V: 1, Run: spec.Run, Variant: v, Sample: eval.SampleRef{ID: s.ID, Suite: "s", Seq: ack.Sequence}, Output: v + " answers " + s.ID}
			if _, err := b.Publish(ctx, bus.GensSubject(spec.Run, v), fmt.Sprintf("gen-%s-%d", v, i), g); err != nil {
				t.Fatal(err)
			}
		}
	}
	startStage(t, ctx, srv)
	bustest.Eventually(t, 90*time.Second, func() error {
		if n := len(bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments)); n < samples {
			return fmt.Errorf("%d of %d judgments", n, samples)
		}
		return nil
	})
	cons, err := b.JS.Consumer(ctx, bus.StreamGens, bus.JudgeConsumer(spec.Run, "j"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cons.CachedInfo().Config.MaxAckPending; got != concurrency+1 {
		t.Errorf("MaxAckPending %d, want %d", got, concurrency+1)
	}
	if got := sim.PeakInFlight("sim-judge"); got != concurrency {
		t.Errorf("at most %d judge calls in flight at once, want %d", got, concurrency)
	}
}
