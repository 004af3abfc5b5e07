package judge

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
	"github.com/nats-io/nats.go/jetstream"
)

// TestRunInFlightAcrossAnUpgrade: a baseline generation handled and
// acked by a version that kept records as g.<run>.<hash>, shared by the
// judges, is found by its candidate arriving after the upgrade: the pair
// is judged.
func TestRunInFlightAcrossAnUpgrade(t *testing.T) {
	b := bustest.New(t)
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "sim-judge", Judge: true}}})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	spec := &eval.RunSpec{
		Run: "up", Baseline: "base",
		Variants: []eval.Variant{{Name: "base"}, {Name: "ft"}},
		Suites:   []eval.Suite{{Name: "qa", Metrics: []string{"length"}}},
		Judges:   []eval.Judge{{Name: "good", BaseURL: hs.URL + "/v1", Model: "sim-judge", Mode: "pairwise", Concurrency: 2, Dimensions: eval.DefaultDimensions}},
		Retry:    eval.Retry{MaxAttempts: 1},
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	sample := eval.Sample{V: 1, Run: "up", ID: "0", Suite: "qa", Messages: []eval.Message{{Role: "user", Content: "Question?"}}}
	ack, err := b.Publish(ctx, bus.SamplesSubject("up", "qa"), "sample-0", sample)
	if err != nil {
		t.Fatal(err)
	}
	gen := func(v string) {
		g := eval.Generation{V: 1, Run: "up", Variant: v, Sample: eval.SampleRef{ID: "0", Suite: "qa", Seq: ack.Sequence}, Output: v + "'s answer"}
		gack, err := b.Publish(ctx, bus.GensSubject("up", v), "gen-"+v, g)
		if err != nil {
			t.Fatal(err)
		}
		if v == "base" {
			// Recorded and acked before the upgrade.
			if _, err := b.Pairs.Put(ctx, "g.up."+keyHash("qa", "0", "base"), genRecord(gack.Sequence, 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	gen("base")
	c, err := b.EnsureConsumer(ctx, bus.StreamGens, jetstream.ConsumerConfig{
		Durable: bus.JudgeConsumer("up", "good"), FilterSubject: bus.RunGens("up"), DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 2, Metadata: map[string]string{"stage": bus.StageJudge, "run": "up", "judge": "good"}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	gen("ft")

	env := &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := New(Config{}, env).Run(rctx); err != nil && rctx.Err() == nil {
			t.Errorf("judge: %v", err)
		}
	}()
	t.Cleanup(func() { rcancel(); <-done })
	bustest.Eventually(t, 45*time.Second, func() error {
		if n := len(bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments)); n != 1 {
			return fmt.Errorf("%d judgments, want 1", n)
		}
		return nil
	})
}

// TestLegacyRecheckedDuringRollingUpgrade: a run found to hold no records
// of the older layout is asked again after a while, so records an older
// replica writes during a rolling upgrade are found; within the while,
// the answer is not asked again.
func TestLegacyRecheckedDuringRollingUpgrade(t *testing.T) {
	b := bustest.New(t)
	env := &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}
	s := New(Config{}, env)
	now := time.Now()
	s.now = func() time.Time { return now }
	ctx := t.Context()
	if old, err := s.legacy(ctx, "roll"); err != nil || old {
		t.Fatalf("before any record: legacy %v, err %v", old, err)
	}
	// An older replica records a generation as it used to.
	if _, err := b.Pairs.Put(ctx, "g.roll."+keyHash("qa", "0", "base"), genRecord(7, 0)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(legacyRecheck / 2)
	if old, err := s.legacy(ctx, "roll"); err != nil || old {
		t.Fatalf("within the recheck interval: legacy %v, err %v (the answer is not asked again)", old, err)
	}
	now = now.Add(legacyRecheck)
	if old, err := s.legacy(ctx, "roll"); err != nil || !old {
		t.Fatalf("after the recheck interval: legacy %v, err %v, want the older replica's record found", old, err)
	}
}
