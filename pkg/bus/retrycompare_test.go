package bus_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRetryOfBothPairsOfACandidate: a judge that failed on a sample both
// for the candidate against the baseline and for a compare pair of the
// same candidate is asked again about both; under one message id the
// second request would be dropped as a duplicate, and an attempt whose
// last request is lost is never whole.
func TestRetryOfBothPairsOfACandidate(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	const run = "both-pairs"
	q1 := eval.SampleRef{Suite: "qa", ID: "q1"}
	reqs := []eval.RetryRequest{
		{Judge: "j", Variant: "ft", Sample: q1},
		{Judge: "j", Variant: "ft", Baseline: "ft-lora", Sample: q1},
	}
	if err := b.StartRetry(ctx, run, 1, reqs); err != nil {
		t.Fatal(err)
	}
	subject := bus.RetrySubject(run, bus.StageJudge, "j")
	name, err := b.JS.StreamNameBySubject(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.JS.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Msgs; got != 2 {
		t.Fatalf("%d retry requests stored of 2", got)
	}
	last, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	if d := string(last.Data); !strings.Contains(d, `"baseline":"ft-lora"`) || !strings.Contains(d, `"last":true`) {
		t.Fatalf("the last request stored: %s", last.Data)
	}
}

// TestSubmitRunJudgesComparePairs: a new run is stored with its compare
// pairs judged; a run stored before they were keeps its judges' and
// reports' old reading when submitted again (else it would wait for
// judgments nobody makes), and a run whose pairs are judged may not
// change them.
func TestSubmitRunJudgesComparePairs(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	withPairs := func(run string, pairs ...[]string) *eval.RunSpec {
		s := spec(run)
		s.Variants = append(s.Variants, eval.Variant{Name: "a", BaseURL: "http://x/v1", Model: "ma"}, eval.Variant{Name: "b", BaseURL: "http://x/v1", Model: "mb"})
		s.Compare = pairs
		return s
	}
	if err := b.SubmitRun(ctx, withPairs("new", []string{"a", "b"})); err != nil {
		t.Fatal(err)
	}
	got, err := b.Spec(ctx, "new")
	if err != nil || !got.JudgeCompare || len(got.ComparePairs()) != 1 {
		t.Fatalf("a new run: judge_compare %v, pairs %v (%v)", got.JudgeCompare, got.ComparePairs(), err)
	}
	if err := b.SubmitRun(ctx, withPairs("new", []string{"b", "a"})); !errors.Is(err, bus.ErrRunExists) || !strings.Contains(err.Error(), "compare pairs") {
		t.Fatalf("other compare pairs for a run whose pairs are judged: %v", err)
	}

	// As a version before compare pairs were judged stored it.
	old := withPairs("old", []string{"a", "b"})
	data, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Runs.Create(ctx, bus.SpecKey("old"), data); err != nil {
		t.Fatal(err)
	}
	if err := b.SubmitRun(ctx, withPairs("old", []string{"b", "a"})); err != nil {
		t.Fatalf("resubmitting a run stored before compare pairs were judged: %v", err)
	}
	got, err = b.Spec(ctx, "old")
	if err != nil || got.JudgeCompare || got.ComparePairs() != nil || len(got.JudgedPairs()) != 2 {
		t.Fatalf("an old run submitted again: judge_compare %v, judged pairs %v (%v)", got.JudgeCompare, got.JudgedPairs(), err)
	}
}
