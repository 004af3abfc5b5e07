package main

import (
	"math"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report"
)

// TestJudgeReadingsEndToEnd runs the simulated system with a fine-tune
// that sometimes answers off-topic, the pairwise judges of the test spec
// (JSON verdicts throughout) and a third judge grading each answer alone
// (mode: single), and checks the report's judging sections against what
// the stored messages say, pair by pair: the off_topic bucket and its
// suggested fixes, the per-dimension deltas, the judge's refusals against
// the detector's, and single mode's verdicts from its ratings.
func TestJudgeReadingsEndToEnd(t *testing.T) {
	ps := testPersonas()
	for i := range ps {
		switch ps[i].Name {
		case "t-ft":
			ps[i].OffTopic = 0.2
		case "t-judge-a", "t-judge-b":
			ps[i].TagFallback, ps[i].Garbage = 0, 0
		}
	}
	f := newFixture(t, "readings", ps)
	single := f.spec.Judges[0]
	single.Name, single.Mode = "grader", eval.JudgeSingle
	f.spec.Judges = append(f.spec.Judges, single)
	ctx, b, _ := runFixture(t, f)
	rep, _, err := report.Build(ctx, b, f.spec.Run, []string{"json"})
	if err != nil {
		t.Fatal(err)
	}
	scores := map[[3]string]eval.Score{} // variant, suite, id
	for _, s := range bustest.Stored[eval.Score](t, b, bus.StreamScores, bus.RunScores(f.spec.Run)) {
		if s.Sample.Perturbation == nil {
			scores[[3]string{s.Variant, s.Sample.Suite, s.Sample.ID}] = s
		}
	}
	var judgments []eval.Judgment
	for _, j := range bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments, bus.RunJudgments(f.spec.Run)) {
		if j.Repeat == 0 && j.Sample.Perturbation == nil {
			judgments = append(judgments, j)
		}
	}
	judgeA := f.spec.Judges[0].ID()

	t.Run("off-topic bucket", func(t *testing.T) {
		want, offered := 0, 0
		for _, j := range judgments {
			if j.JudgeID != judgeA || j.Candidate != "ft" || j.Error != "" {
				continue
			}
			s := scores[[3]string{"ft", j.Sample.Suite, j.Sample.ID}]
			if j.Rounds[0].OffTopic["candidate"] {
				offered++
			}
			if j.Rounds[0].OffTopic["candidate"] && j.Rounds[1].OffTopic["candidate"] && (s.Bucket == eval.BucketOK || s.Bucket == eval.BucketWrongAnswer) {
				want++
			}
		}
		if offered == 0 {
			t.Fatal("the judge called no answer off-topic")
		}
		got := 0
		for _, bk := range rep.Buckets {
			if bk.Variant != "ft" || bk.Bucket != string(eval.BucketOffTopic) {
				continue
			}
			got = bk.Count
			for _, ex := range bk.Examples {
				if !strings.Contains(ex.Output, "pancakes") && !strings.Contains(ex.Output, "葱油饼") {
					t.Errorf("example %s is not an off-topic answer: %q", ex.Sample, ex.Output)
				}
				if !strings.Contains(ex.SuggestedFix, "question that was asked") {
					t.Errorf("example %s: suggested fix %q", ex.Sample, ex.SuggestedFix)
				}
			}
		}
		t.Logf("off-topic: %d answers read so, %d in the bucket (the others failed format first)", offered, got)
		if got != want || want == 0 {
			t.Errorf("off_topic bucket %d, the stored judgments and scores say %d", got, want)
		}
	})

	t.Run("dimensions", func(t *testing.T) {
		type sums struct {
			n       int
			cand, d float64
		}
		want := map[[3]string]*sums{}
		for _, j := range judgments {
			if j.Error != "" {
				continue
			}
			dims := map[string][2][]float64{}
			for _, r := range j.Rounds {
				for d, v := range r.Scores["candidate"] {
					x := dims[d]
					x[0] = append(x[0], v)
					dims[d] = x
				}
				for d, v := range r.Scores["baseline"] {
					x := dims[d]
					x[1] = append(x[1], v)
					dims[d] = x
				}
				if r.Rating > 0 {
					side := 0
					if r.Order == eval.OrderBaselineAlone {
						side = 1
					}
					x := dims["rating"]
					x[side] = append(x[side], r.Rating)
					dims["rating"] = x
				}
			}
			for d, x := range dims {
				if len(x[0]) == 0 || len(x[1]) == 0 {
					continue
				}
				k := [3]string{j.Judge, j.Candidate, d}
				if want[k] == nil {
					want[k] = &sums{}
				}
				c, bs := mean(x[0]), mean(x[1])
				want[k].n++
				want[k].cand += c
				want[k].d += c - bs
			}
		}
		if len(rep.Dimensions) != len(want) {
			t.Fatalf("%d dimension rows, the judgments have %d", len(rep.Dimensions), len(want))
		}
		sawRating := false
		for _, d := range rep.Dimensions {
			w := want[[3]string{d.Judge, d.Variant, d.Dimension}]
			if w == nil || d.N != w.n || math.Abs(d.Delta-w.d/float64(w.n)) > 1e-9 || math.Abs(d.CandidateMean-w.cand/float64(w.n)) > 1e-9 {
				t.Errorf("%+v; the judgments say %+v", d, w)
			}
			if !(d.CI[0] <= d.Delta && d.Delta <= d.CI[1]) {
				t.Errorf("%+v: the delta is outside its interval", d)
			}
			sawRating = sawRating || (d.Judge == "grader" && d.Dimension == "rating")
		}
		if !sawRating {
			t.Error("no rating row for the single-mode judge")
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, jr := range rep.JudgeRefusal {
			if jr.N == 0 || jr.Both+jr.DetectorOnly+jr.JudgeOnly+jr.Neither != jr.N {
				t.Errorf("%+v", jr)
			}
			// The simulator refuses in one sentence the detector knows,
			// and its judge calls exactly those refusals.
			if jr.Agreement != 1 {
				t.Errorf("%s on %s: agreement %v (%d by the detector only, %d by the judge only)", jr.Judge, jr.Variant, jr.Agreement, jr.DetectorOnly, jr.JudgeOnly)
			}
		}
		if len(rep.JudgeRefusal) != 3*len(f.spec.Variants) {
			t.Errorf("%d rows, want a row per judge and variant", len(rep.JudgeRefusal))
		}
	})

	t.Run("single mode", func(t *testing.T) {
		n := 0
		for _, j := range judgments {
			if j.Judge != "grader" || j.Error != "" {
				continue
			}
			n++
			r := j.Rounds
			if r[0].Order != eval.OrderCandidateAlone || r[1].Order != eval.OrderBaselineAlone || !j.Consistent {
				t.Fatalf("single-mode judgment %+v", j)
			}
			want := eval.WinTie
			if r[0].Rating > r[1].Rating {
				want = eval.WinCandidate
			} else if r[0].Rating < r[1].Rating {
				want = eval.WinBaseline
			}
			if j.Winner != want {
				t.Errorf("%s/%s: winner %s with ratings %v and %v", j.Sample.Suite, j.Sample.ID, j.Winner, r[0].Rating, r[1].Rating)
			}
		}
		found := false
		for _, p := range rep.Pairwise {
			if p.Judge == "grader" {
				found = true
				// Each answer graded alone: no order, so no flip rate.
				if p.N == 0 || p.WinRate == nil || !p.Single || p.FlipRate != nil {
					t.Errorf("grader's pairwise row %+v", p)
				}
			}
		}
		if n == 0 || !found {
			t.Errorf("single-mode judgments %d, in the report %v", n, found)
		}
	})
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
