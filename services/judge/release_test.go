package judge_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/nats-io/nats.go/jetstream"
)

// pairSubjects counts the subjects assay_pairs holds a message for, by
// kind: "g" generation records, "c" claims (a deleted key's marker keeps
// its subject, so it counts).
func pairSubjects(t *testing.T, b *bus.Bus) map[string]int {
	t.Helper()
	s, err := b.JS.Stream(t.Context(), "KV_"+bus.BucketPairs)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for subj := range info.State.Subjects {
		kind, _, _ := strings.Cut(strings.TrimPrefix(subj, "$KV."+bus.BucketPairs+"."), ".")
		kinds[kind]++
	}
	return kinds
}

// TestClaimsReleasedOnceJudged: two replicas judge a run of a baseline
// and two candidates; every pair is judged once, and once the
// generations are acked the bucket holds no claim's subject, only the
// generations' records.
func TestClaimsReleasedOnceJudged(t *testing.T) {
	const samples = 8
	srv := bustest.Server(t)
	b := bustest.Open(t, srv)
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "sim-judge", Judge: true}}})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	spec := &eval.RunSpec{
		Run: "rel", Baseline: "base",
		Variants: []eval.Variant{{Name: "base"}, {Name: "ft"}, {Name: "ft2"}},
		Suites:   []eval.Suite{{Name: "qa", Metrics: []string{"length"}}},
		Judges:   []eval.Judge{{Name: "good", BaseURL: hs.URL + "/v1", Model: "sim-judge", Mode: "pairwise", Concurrency: 3, Dimensions: eval.DefaultDimensions}},
		Retry:    eval.Retry{MaxAttempts: 1},
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for i := range samples {
		s := eval.Sample{V: 1, Run: "rel", ID: fmt.Sprint(i), Suite: "qa", Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("Question %d?", i)}}}
		ack, err := b.Publish(ctx, bus.SamplesSubject("rel", "qa"), "sample-"+s.ID, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"ft", "base", "ft2"} {
			g := eval.Generation{V: 1, Run: "rel", Variant: v, Sample: eval.SampleRef{ID: s.ID, Suite: "qa", Seq: ack.Sequence},
				Output: fmt.Sprintf("%s's answer to %d", v, i)}
			if _, err := b.Publish(ctx, bus.GensSubject("rel", v), fmt.Sprintf("gen-%s-%d", v, i), g); err != nil {
				t.Fatal(err)
			}
		}
	}
	startStage(t, ctx, srv)
	startStage(t, ctx, srv)

	bustest.Eventually(t, 45*time.Second, func() error {
		if n := len(bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments)); n < 2*samples {
			return fmt.Errorf("%d of %d judgments", n, 2*samples)
		}
		if kinds := pairSubjects(t, b); kinds["c"] != 0 || kinds["g"] != 3*samples {
			return fmt.Errorf("assay_pairs holds %d claims and %d generation records, want none and %d", kinds["c"], kinds["g"], 3*samples)
		}
		return nil
	})
	seen := map[string]bool{}
	for _, jd := range bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments) {
		k := jd.Candidate + "/" + jd.Sample.ID
		if seen[k] {
			t.Errorf("pair %s judged twice", k)
		}
		seen[k] = true
	}
	if n := sim.Calls("sim-judge"); n != 2*2*samples {
		t.Errorf("the judge was asked %d times, want %d pairs × 2 orders", n, 2*samples)
	}
}
