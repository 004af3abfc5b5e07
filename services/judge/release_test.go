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
	"github.com/nats-io/nats.go/jetstream"
)

// pairSubjects lists the subjects assay_pairs holds a message for (a
// deleted key's marker keeps its subject, so it counts).
func pairSubjects(t *testing.T, b *bus.Bus) []string {
	t.Helper()
	return kvSubjects(t, b, bus.BucketPairs)
}

// kvSubjects lists the subjects bucket holds a message for.
func kvSubjects(t *testing.T, b *bus.Bus, bucket string) []string {
	t.Helper()
	s, err := b.JS.Stream(t.Context(), "KV_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for subj := range info.State.Subjects {
		subjects = append(subjects, subj)
	}
	return subjects
}

// TestJoinReleasedOnceJudged: two replicas judge a run of a baseline
// and two candidates; every pair is judged once, and once the
// generations are acked assay_pairs holds no subject of the run: neither
// claims nor generation records. A checkpoint added after
// that still has every pair judged once, against the baseline's stored
// generations. Once the judgments are acked for good, the LLM cache holds
// none of the judge's calls; the same judge added under another name then
// costs no call, its pairs being answered by the judgments already made of
// the same requests.
func TestJoinReleasedOnceJudged(t *testing.T) {
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
	seqs := make([]uint64, samples)
	for i := range samples {
		s := eval.Sample{V: 1, Run: "rel", ID: fmt.Sprint(i), Suite: "qa", Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("Question %d?", i)}}}
		ack, err := b.Publish(ctx, bus.SamplesSubject("rel", "qa"), "sample-"+s.ID, s)
		if err != nil {
			t.Fatal(err)
		}
		seqs[i] = ack.Sequence
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
		if subjects := pairSubjects(t, b); len(subjects) != 0 {
			return fmt.Errorf("assay_pairs holds %d subjects: %v", len(subjects), subjects)
		}
		return nil
	})

	// A checkpoint joins once every record is released: its pairs find
	// the baseline's generations in ASSAY_GENS, and release what they
	// recorded.
	if _, err := b.AddVariant(ctx, "rel", eval.Variant{Name: "ck"}, 100, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i := range samples {
		g := eval.Generation{V: 1, Run: "rel", Variant: "ck", Sample: eval.SampleRef{ID: fmt.Sprint(i), Suite: "qa", Seq: seqs[i]},
			Output: fmt.Sprintf("ck's answer to %d", i)}
		if _, err := b.Publish(ctx, bus.GensSubject("rel", "ck"), fmt.Sprintf("gen-ck-%d", i), g); err != nil {
			t.Fatal(err)
		}
	}
	bustest.Eventually(t, 45*time.Second, func() error {
		if n := len(bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments)); n < 3*samples {
			return fmt.Errorf("%d of %d judgments", n, 3*samples)
		}
		if subjects := pairSubjects(t, b); len(subjects) != 0 {
			return fmt.Errorf("assay_pairs holds %d subjects: %v", len(subjects), subjects)
		}
		return nil
	})
	seen := map[string]bool{}
	for _, jd := range bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments) {
		k := jd.Candidate + "/" + jd.Sample.ID
		if seen[k] {
			t.Errorf("pair %s judged twice", k)
		}
		if jd.Error != "" || jd.Baseline != "base" {
			t.Errorf("pair %s: baseline %q, error %q", k, jd.Baseline, jd.Error)
		}
		seen[k] = true
	}
	if len(seen) != 3*samples {
		t.Errorf("%d pairs judged, want %d", len(seen), 3*samples)
	}
	if n := sim.Calls("sim-judge"); n != 2*3*samples {
		t.Errorf("the judge was asked %d times, want %d pairs × 2 orders", n, 3*samples)
	}

	// The judge's calls are released once their judgments are acked for
	// good (and the release grace has passed): the cache does not keep a
	// key per judged pair.
	bustest.Eventually(t, 45*time.Second, func() error {
		if subjects := kvSubjects(t, b, bus.BucketLLMCache); len(subjects) != 0 {
			return fmt.Errorf("assay_llm_cache holds %d subjects: %v", len(subjects), subjects)
		}
		return nil
	})

	// The same judge under another name asks what its twin asked: the
	// judgments of the same requests answer it, and nothing is asked
	// again.
	twin := spec.Judges[0]
	twin.Name = "twin"
	if _, err := b.AddJudge(ctx, "rel", twin); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 45*time.Second, func() error {
		if n := len(bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments, bus.JudgmentsSubject("rel", "twin"))); n < 3*samples {
			return fmt.Errorf("%d of %d judgments of the twin", n, 3*samples)
		}
		if subjects := pairSubjects(t, b); len(subjects) != 0 {
			return fmt.Errorf("assay_pairs holds %d subjects: %v", len(subjects), subjects)
		}
		return nil
	})
	verdicts := map[string]eval.Winner{}
	for _, jd := range bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments) {
		k := jd.Candidate + "/" + jd.Sample.ID
		if jd.Judge == "good" {
			verdicts[k] = jd.Winner
		}
	}
	for _, jd := range bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments, bus.JudgmentsSubject("rel", "twin")) {
		k := jd.Candidate + "/" + jd.Sample.ID
		if jd.Winner != verdicts[k] || jd.JudgeID != twin.ID() || len(jd.Rounds) != 2 || !jd.Rounds[0].Cached {
			t.Errorf("twin's judgment of %s: winner %q (good's %q), judge id %q, rounds %+v", k, jd.Winner, verdicts[k], jd.JudgeID, jd.Rounds)
		}
	}
	if n := sim.Calls("sim-judge"); n != 2*3*samples {
		t.Errorf("after the twin, the judge was asked %d times, want %d", n, 2*3*samples)
	}
}
