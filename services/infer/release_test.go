package infer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// cacheSubjects lists the keys the LLM cache's stream holds a message for
// (markers included: a deleted key's marker keeps its subject).
func cacheSubjects(t *testing.T, b *bus.Bus) []string {
	t.Helper()
	s, err := b.JS.Stream(t.Context(), "KV_"+bus.BucketLLMCache)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for subj := range info.State.Subjects {
		keys = append(keys, strings.TrimPrefix(subj, "$KV."+bus.BucketLLMCache+"."))
	}
	slices.Sort(keys)
	return keys
}

// TestAnswersReleasedOnceSettled: once a run's generations are published
// and its samples acked, the LLM cache holds no subject of its answers —
// neither the answer nor a marker — only the records of final failures,
// which assay retry needs.
func TestAnswersReleasedOnceSettled(t *testing.T) {
	b := bustest.New(t)
	prompts := []string{"q0", "q1", "fail q2", "q3", "q4", "q5", "fail q6", "q7", "q8", "q9"}
	e := newCountingEndpoint(t)
	spec := &eval.RunSpec{Run: "released", Baseline: "base",
		Variants: []eval.Variant{{Name: "base", BaseURL: e.URL + "/v1", Model: "m-base", Concurrency: 3},
			{Name: "cand", BaseURL: e.URL + "/v1", Model: "m-cand", Concurrency: 2}},
		Suites:   []eval.Suite{{Name: "s", Metrics: []string{"length"}}},
		Decoding: eval.Decoding{TopP: 1, MaxTokens: 16},
		Retry:    eval.Retry{MaxAttempts: 1}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	defer startStage(ctx, t, b, Config{SkipPreflight: true}, spec, prompts)()

	// Two variants, two failing prompts: four failure records.
	bustest.Eventually(t, 45*time.Second, func() error {
		keys := cacheSubjects(t, b)
		var answers int
		for _, k := range keys {
			if !strings.HasSuffix(k, bus.FailedSuffix) {
				answers++
			}
		}
		if answers > 0 || len(keys) != 4 {
			return fmt.Errorf("the cache holds %d subjects, %d of them answers: %v", len(keys), answers, keys)
		}
		return nil
	})
	for p, n := range e.counts() {
		if n != 2 {
			t.Errorf("%q was sent %d times, want once per variant", p, n)
		}
	}
}
