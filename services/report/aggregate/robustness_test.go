package aggregate

import (
	"math"
	"slices"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func TestRobustness(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	copyOf := func(s *eval.Score, kind string) *eval.Score {
		s.Sample.Perturbation = &eval.Perturbation{Kind: kind, Original: s.Sample.ID}
		s.Sample.ID += "~" + kind
		return s
	}
	mustAdd(t, c,
		// Originals: ft gets all three right, base two.
		mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1)),
		mkScore(spec, "ft", "qa", "q2", 2, eval.BucketOK, em(1)),
		mkScore(spec, "ft", "qa", "q3", 3, eval.BucketOK, em(1)),
		mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1)),
		mkScore(spec, "base", "qa", "q2", 2, eval.BucketOK, em(1)),
		mkScore(spec, "base", "qa", "q3", 3, eval.BucketOK, em(0)),
		// With typos, ft loses q2 and q3; base is unmoved.
		copyOf(mkScore(spec, "ft", "qa", "q1", 4, eval.BucketOK, em(1)), "typos"),
		copyOf(mkScore(spec, "ft", "qa", "q2", 5, eval.BucketOK, em(0)), "typos"),
		copyOf(mkScore(spec, "ft", "qa", "q3", 6, eval.BucketWrongAnswer, em(0)), "typos"),
		copyOf(mkScore(spec, "base", "qa", "q1", 4, eval.BucketOK, em(1)), "typos"),
		copyOf(mkScore(spec, "base", "qa", "q2", 5, eval.BucketOK, em(1)), "typos"),
		copyOf(mkScore(spec, "base", "qa", "q3", 6, eval.BucketOK, em(0)), "typos"),
		// A copy whose original has no score yet is not paired.
		copyOf(mkScore(spec, "ft", "qa", "q9", 7, eval.BucketOK, em(1)), "width"),
	)
	j := mkJudgment(spec, "qa", "q1", 1, eval.WinCandidate, true)
	jc := mkJudgment(spec, "qa", "q1~typos", 4, eval.WinBaseline, true)
	jc.Sample.Perturbation = &eval.Perturbation{Kind: "typos", Original: "q1"}
	if !c.AddJudgment(j) || !c.AddJudgment(jc) {
		t.Fatal("judgments not added")
	}
	rep := report(t, c, nil)

	// The headline counts originals only.
	for _, m := range rep.Metrics {
		if m.Suite == "qa" && m.N != 3 {
			t.Errorf("metric %+v counts the copies", m)
		}
	}
	for _, p := range rep.Pairwise {
		if p.Wins+p.Losses+p.Ties != 1 || p.Wins != 1 {
			t.Errorf("pairwise %+v counts the copy's judgment", p)
		}
	}
	if len(rep.Robustness) != 2 {
		t.Fatalf("robustness %+v", rep.Robustness)
	}
	base, ft := rep.Robustness[0], rep.Robustness[1]
	if base.Variant != "base" || ft.Variant != "ft" || ft.Perturbation != "typos" || ft.Metric != "em" || ft.N != 3 {
		t.Fatalf("robustness %+v", rep.Robustness)
	}
	if math.Abs(ft.Original-1) > 1e-12 || math.Abs(ft.Perturbed-1.0/3) > 1e-12 || math.Abs(ft.Delta+2.0/3) > 1e-12 || ft.Test != "mcnemar" {
		t.Errorf("ft %+v", ft)
	}
	if base.Delta != 0 || *base.PValue != 1 {
		t.Errorf("base %+v", base)
	}
}

func TestDeadLetteredCopyStaysOutOfTheHeadline(t *testing.T) {
	spec := testSpec()
	for i := range spec.Suites {
		if spec.Suites[i].Name == "qa" {
			spec.Suites[i].Perturbations = []string{"typos"}
		}
	}
	c := New(spec)
	defer c.Release()
	mustAdd(t, c, mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1)), mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1)))
	c.AddDeadLetter(&eval.DeadLetter{Run: spec.Run, Stage: "infer", Suite: "qa", Sample: "q1~typos", Variant: "ft", Reason: "endpoint down"})
	rep := report(t, c, nil)
	if rep.Counts.Errors != 0 {
		t.Errorf("the copy's dead letter counts %d errors in the headline", rep.Counts.Errors)
	}
	// It is counted all the same, where robustness is.
	if !slices.Contains(rep.Warnings, "ft: 1 robustness copies (typos, suite qa) failed and are compared with nothing") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	for _, b := range rep.Buckets {
		if b.Bucket == string(eval.BucketError) {
			t.Errorf("error bucket %+v from a copy", b)
		}
	}
}
