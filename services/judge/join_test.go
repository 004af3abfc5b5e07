package judge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/nats-io/nats.go/jetstream"
)

// TestReplicasJudgeEveryPairOnce runs three judge replicas, each with its own
// connection and LLM client, while the generations of 3 variants × 150
// samples arrive in random order from several publishers. Every answer is
// distinct, so a pair judged twice would show as a judge prompt served
// twice; a pair missed would show as a missing judgment.
func TestReplicasJudgeEveryPairOnce(t *testing.T) {
	const samples = 150
	srv := bustest.Server(t)
	b := bustest.Open(t, srv)
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "j", Judge: true, PositionBias: 0.3}}})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)

	spec := &eval.RunSpec{
		Run: "rep", Baseline: "base",
		Variants: []eval.Variant{{Name: "base"}, {Name: "c1"}, {Name: "c2"}},
		Suites:   []eval.Suite{{Name: "s", Metrics: []string{"length"}}},
		Judges:   []eval.Judge{{Name: "j1", BaseURL: hs.URL + "/v1", Model: "j", Mode: "pairwise", Concurrency: 4, Dimensions: eval.DefaultDimensions}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	seqs := make([]uint64, samples)
	for i := range samples {
		s := eval.Sample{V: 1, Run: "rep", ID: fmt.Sprint(i), Suite: "s", Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("question %d", i)}}}
		ack, err := b.Publish(ctx, bus.SamplesSubject("rep", "s"), "sample-"+s.ID, s)
		if err != nil {
			t.Fatal(err)
		}
		seqs[i] = ack.Sequence
	}

	for range 3 {
		startStage(t, ctx, srv)
	}

	type gen struct {
		i       int
		variant string
	}
	var gens []gen
	for i := range samples {
		for _, v := range []string{"base", "c1", "c2"} {
			gens = append(gens, gen{i, v})
		}
	}
	rand.Shuffle(len(gens), func(i, j int) { gens[i], gens[j] = gens[j], gens[i] })
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := p; k < len(gens); k += 4 {
				g := gens[k]
				msg := eval.Generation{V: 1, Run: "rep", Variant: g.variant,
					Sample: eval.SampleRef{ID: fmt.Sprint(g.i), Suite: "s", Seq: seqs[g.i]},
					Output: fmt.Sprintf("answer of %s to question %d", g.variant, g.i)}
				if _, err := b.Publish(ctx, bus.GensSubject("rep", g.variant), fmt.Sprintf("gen-%s-%d", g.variant, g.i), msg); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()

	want := 2 * samples // pairs: two candidates per sample
	bustest.Eventually(t, 45*time.Second, func() error {
		info, err := b.Stream(bus.StreamJudgments).Info(ctx)
		if err != nil {
			return err
		}
		if int(info.State.Msgs) < want {
			return fmt.Errorf("%d of %d judgments", info.State.Msgs, want)
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond) // let a double judging, if any, land
	if got := sim.Calls("j"); got != 2*want {
		t.Errorf("the judge was called %d times for %d pairs in two orders, want %d", got, want, 2*want)
	}
	for _, c := range sim.Log() {
		if n := sim.PromptCalls("j", c.Prompt); n != 1 {
			t.Fatalf("a judge prompt was served %d times: a pair was judged twice", n)
		}
	}
	seen := map[string]bool{}
	cons, err := b.JS.OrderedConsumer(ctx, bus.StreamJudgments, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range want {
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var j eval.Judgment
		if err := json.Unmarshal(m.Data(), &j); err != nil {
			t.Fatal(err)
		}
		k := j.Candidate + "/" + j.Sample.ID
		if seen[k] {
			t.Fatalf("pair %s judged twice", k)
		}
		if j.Error != "" || len(j.Rounds) != 2 {
			t.Fatalf("judgment %s: %+v", k, j)
		}
		seen[k] = true
	}
	if len(seen) != want {
		t.Fatalf("%d distinct pairs judged, want %d", len(seen), want)
	}
}
