package judge_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/judge"
)

// TestStageJudgesConversationsAndSkipsAnUnservedJudge runs the stage on an
// MT-Bench-style run answered turn by turn, with two judges: one the
// simulator serves, whose every request shows both turns and both
// assistants' own answers; and one it does not serve ("gpt-5-judge", a
// typo in a spec), whose pairs are recorded at once as preflight failures
// while the simulator is never asked to judge with it.
func TestStageJudgesConversationsAndSkipsAnUnservedJudge(t *testing.T) {
	const samples = 6
	srv := bustest.Server(t)
	b := bustest.Open(t, srv)
	sim := llmsim.New(llmsim.Options{Seed: 1, Record: true, Personas: []llmsim.Persona{{Name: "sim-judge", Judge: true}}})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)

	spec := &eval.RunSpec{
		Run: "mt", Baseline: "base",
		Variants: []eval.Variant{{Name: "base"}, {Name: "ft"}},
		Suites:   []eval.Suite{{Name: "mt", Preset: "mt-bench", Metrics: []string{"length"}}},
		Judges: []eval.Judge{
			{Name: "good", BaseURL: hs.URL + "/v1", Model: "sim-judge", Mode: "pairwise", Concurrency: 2, Dimensions: eval.DefaultDimensions},
			{Name: "typo", BaseURL: hs.URL + "/v1", Model: "gpt-5-judge", Mode: "pairwise", Concurrency: 2, Dimensions: eval.DefaultDimensions},
		},
		Retry: eval.Retry{MaxAttempts: 1},
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	first := func(i int) string { return fmt.Sprintf("Write a note about topic %d.", i) }
	second := func(i int) string { return fmt.Sprintf("Now rewrite note %d so that every sentence starts with S.", i) }
	answer := func(v string, i, turn int) string { return fmt.Sprintf("%s's answer %d to question %d", v, turn, i) }
	for i := range samples {
		s := eval.Sample{V: 1, Run: "mt", ID: fmt.Sprint(i), Suite: "mt",
			Messages: []eval.Message{{Role: "user", Content: first(i)}, {Role: "user", Content: second(i)}}}
		ack, err := b.Publish(ctx, bus.SamplesSubject("mt", "mt"), "sample-"+s.ID, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"base", "ft"} {
			g := eval.Generation{V: 1, Run: "mt", Variant: v, Sample: eval.SampleRef{ID: s.ID, Suite: "mt", Seq: ack.Sequence},
				Turns: []string{answer(v, i, 1)}, Output: answer(v, i, 2)}
			if _, err := b.Publish(ctx, bus.GensSubject("mt", v), fmt.Sprintf("gen-%s-%d", v, i), g); err != nil {
				t.Fatal(err)
			}
		}
	}

	startStage(t, ctx, srv)

	bustest.Eventually(t, 45*time.Second, func() error {
		if n := len(bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments)); n < 2*samples {
			return fmt.Errorf("%d of %d judgments", n, 2*samples)
		}
		return nil
	})
	for _, jd := range bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments) {
		switch jd.Judge {
		case "good":
			if jd.Error != "" || jd.Winner == "" {
				t.Errorf("judge good, sample %s: winner %q, error %q", jd.Sample.ID, jd.Winner, jd.Error)
			}
		case "typo":
			if !strings.HasPrefix(jd.Cause, "preflight: ") || !strings.Contains(jd.Error, `"gpt-5-judge"`) || jd.GenerationFailed || len(jd.Rounds) != 0 {
				t.Errorf("judge typo, sample %s: cause %q, error %q, generation failed %v, %d rounds",
					jd.Sample.ID, jd.Cause, jd.Error, jd.GenerationFailed, len(jd.Rounds))
			}
		}
	}
	if n := sim.Calls("gpt-5-judge"); n != 0 {
		t.Errorf("the simulator was asked to judge with the unserved model %d times", n)
	}
	if n := sim.Calls("sim-judge"); n != 2*samples {
		t.Errorf("the served judge was asked %d times, want %d pairs × 2 orders", n, samples)
	}
	for _, c := range sim.Log() {
		// The prompt's sample is the one whose first question it holds.
		i := -1
		for k := range samples {
			if strings.Contains(c.Prompt, first(k)) {
				i = k
			}
		}
		if i < 0 {
			t.Fatalf("a judge prompt holds no sample's first turn:\n%s", c.Prompt)
		}
		for _, part := range []string{second(i), answer("base", i, 1), answer("base", i, 2), answer("ft", i, 1), answer("ft", i, 2),
			eval.MarkConvAStart, eval.MarkConvBEnd} {
			if !strings.Contains(c.Prompt, part) {
				t.Errorf("the judge prompt for sample %d lacks %q:\n%s", i, part, c.Prompt)
			}
		}
	}
}

// startStage runs a judge stage replica on its own connection to srv
// until the test ends.
func startStage(t *testing.T, ctx context.Context, srv *natsembed.Server) {
	t.Helper()
	env := &stage.Env{Bus: bustest.Open(t, srv), Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := judge.New(judge.Config{}, env).Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("judge stage: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}
