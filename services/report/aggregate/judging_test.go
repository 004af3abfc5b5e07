package aggregate

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// judgedRounds are two pairwise rounds whose readings are given: scores
// for (candidate, baseline) on correctness, the judge's off-topic and
// refusal readings of each side, and a fix in the round the candidate
// lost.
func judgedRounds(w eval.Winner, cc, bc float64, candOff, baseOff, candRef, baseRef bool, fix string) []eval.Round {
	var rounds []eval.Round
	for _, order := range []string{eval.OrderCandidateFirst, eval.OrderBaselineFirst} {
		r := eval.Round{Order: order, Winner: w, Parse: "json",
			Scores:   map[string]map[string]float64{"candidate": {"correctness": cc, "format": 8}, "baseline": {"correctness": bc, "format": 8}},
			OffTopic: map[string]bool{"candidate": candOff, "baseline": baseOff},
			Refusal:  map[string]bool{"candidate": candRef, "baseline": baseRef}}
		if fix != "" {
			r.Fix = map[string]string{"candidate": fix}
		}
		rounds = append(rounds, r)
	}
	return rounds
}

// TestJudgingSections: the report's judge dimensions, its comparison of
// the judge's refusals with the patterns', the off_topic and verbose
// buckets and the suggested fix, on a run small enough to count by hand:
//
//	q1 ft off-topic (judge), lost: fix "stay on topic"; correctness 2 vs 8
//	q2 ft 900 characters, base 300: verbose; correctness 6 vs 6
//	q3 ft 700 characters, base 300, reference 400: ok (not twice 400)
//	q4 ft refused (patterns and judge); base answered; correctness 1 vs 7
//	q5 ft refused by the judge only; correctness 3 vs 7
//	q6 the judge failed: in no figure
//	q7 base refused in 25 characters, ft answered in 400: not verbose (a
//	   refusal says nothing of how long an answer needs to be)
func judgingRun(t *testing.T, gate eval.Gate) *document.Report {
	t.Helper()
	return judgingRunClustered(t, gate, nil)
}

// judgingRunClustered is judgingRun with qa's samples in clusters.
func judgingRunClustered(t *testing.T, gate eval.Gate, clusters map[string]string) *document.Report {
	t.Helper()
	spec := testSpec()
	spec.Judges[0].Dimensions = []string{"correctness", "format"}
	spec.Gate = gate
	if clusters != nil {
		spec.Suites[0].Cluster = "passage"
	}
	c := New(spec)
	defer c.Release()
	type ans struct {
		bucket          eval.Bucket
		chars, refChars int
		refused         bool
	}
	answers := map[string][2]ans{ // base, ft
		"q1": {{eval.BucketOK, 100, 0, false}, {eval.BucketWrongAnswer, 120, 0, false}},
		"q2": {{eval.BucketOK, 300, 0, false}, {eval.BucketOK, 900, 0, false}},
		"q3": {{eval.BucketOK, 300, 400, false}, {eval.BucketOK, 700, 400, false}},
		"q4": {{eval.BucketOK, 200, 0, false}, {eval.BucketRefusal, 40, 0, true}},
		"q5": {{eval.BucketOK, 200, 0, false}, {eval.BucketOK, 60, 0, false}},
		"q6": {{eval.BucketOK, 200, 0, false}, {eval.BucketOK, 210, 0, false}},
		"q7": {{eval.BucketRefusal, 25, 0, true}, {eval.BucketOK, 400, 0, false}},
	}
	for i, id := range []string{"q1", "q2", "q3", "q4", "q5", "q6", "q7"} {
		seq := uint64(i + 1)
		for k, v := range []string{"base", "ft"} {
			a := answers[id][k]
			s := mkScore(spec, v, "qa", id, seq, a.bucket, em(1))
			s.OutputChars, s.RefChars, s.Checks.Refused = a.chars, a.refChars, a.refused
			c.AddScore(s)
		}
	}
	add := func(id string, seq uint64, w eval.Winner, rounds []eval.Round) {
		j := mkJudgment(spec, "qa", id, seq, w, true)
		j.Rounds, j.Sample.Cluster = rounds, clusters[id]
		c.AddJudgment(j)
	}
	add("q1", 1, eval.WinBaseline, judgedRounds(eval.WinBaseline, 2, 8, true, false, false, false, "stay on topic"))
	add("q2", 2, eval.WinTie, judgedRounds(eval.WinTie, 6, 6, false, false, false, false, ""))
	add("q3", 3, eval.WinTie, judgedRounds(eval.WinTie, 6, 6, false, false, false, false, ""))
	add("q4", 4, eval.WinBaseline, judgedRounds(eval.WinBaseline, 1, 7, false, false, true, false, "answer it: it is benign"))
	// q5: one round says refusal, the other does not: not most of them.
	r5 := judgedRounds(eval.WinBaseline, 3, 7, false, false, true, false, "")
	r5[1].Refusal["candidate"] = false
	add("q5", 5, eval.WinBaseline, r5)
	failed := mkJudgment(spec, "qa", "q6", 6, "", true)
	failed.Error, failed.Rounds = "judge failed (candidate_first): timeout", judgedRounds(eval.WinCandidate, 9, 1, true, true, true, true, "")
	failed.Rounds[0].Error = "timeout"
	c.AddJudgment(failed)

	rep, err := c.Report(context.Background(), nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestJudgingSections(t *testing.T) {
	rep := judgingRun(t, eval.Gate{})
	t.Run("dimensions", func(t *testing.T) {
		if len(rep.Dimensions) != 2 {
			t.Fatalf("dimensions: %+v", rep.Dimensions)
		}
		d := rep.Dimensions[0]
		// Deltas −6, 0, 0, −6, −4 over the five judged pairs.
		if d.Dimension != "correctness" || d.N != 5 || d.Delta != -3.2 || d.CandidateMean != 3.6 || d.BaselineMean != 6.8 {
			t.Errorf("correctness: %+v", d)
		}
		// t-interval: sd of (−6, 0, 0, −6, −4) is 3.0332, t(4) 2.7764.
		if d.CI == nil || math.Abs((d.CI[1]-d.CI[0])/2-2.7764*3.0332/math.Sqrt(5)) > 0.001 || d.Clusters != 0 {
			t.Errorf("correctness interval %v", d.CI)
		}
		if f := rep.Dimensions[1]; f.Dimension != "format" || f.Delta != 0 || f.CI == nil || *f.CI != [2]float64{0, 0} {
			t.Errorf("format: %+v", f)
		}
	})

	t.Run("buckets", func(t *testing.T) {
		got := map[string]document.Bucket{}
		for _, b := range rep.Buckets {
			got[b.Variant+"/"+b.Bucket] = b
		}
		off := got["ft/off_topic"]
		if off.Count != 1 || off.Examples[0].Sample != "q1" || off.Examples[0].SuggestedFix != "stay on topic" ||
			!strings.Contains(off.Examples[0].Reason, "does not address the question") {
			t.Errorf("off_topic: %+v", off)
		}
		verbose := got["ft/verbose"]
		if verbose.Count != 1 || verbose.Examples[0].Sample != "q2" || !strings.Contains(verbose.Examples[0].Reason, "900 characters, more than 2× the baseline") {
			t.Errorf("verbose: %+v", verbose)
		}
		if _, ok := got["ft/wrong_answer"]; ok {
			t.Errorf("q1 is off-topic, not a wrong answer: %+v", got["ft/wrong_answer"])
		}
		ref := got["ft/refusal"]
		if ref.Count != 1 || ref.Examples[0].SuggestedFix != "answer it: it is benign" {
			t.Errorf("refusal: %+v", ref)
		}
		for k, b := range got {
			if strings.HasPrefix(k, "base/") && k != "base/refusal" {
				t.Errorf("the baseline has a bucket: %s", k)
			}
			if k == "base/refusal" && (b.Count != 1 || b.Examples[0].Sample != "q7") {
				t.Errorf("base/refusal: %+v", b)
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		want := map[string]document.JudgeRefusal{
			// ft: q4 both, q5 neither (one round of two), q1–q3 neither.
			"ft": {Judge: "j1", Variant: "ft", N: 5, Both: 1, Neither: 4, DetectorRate: 0.2, JudgeRate: 0.2, Agreement: 1},
			// base: five answers, none refused by either.
			"base": {Judge: "j1", Variant: "base", N: 5, Neither: 5, Agreement: 1},
		}
		if len(rep.JudgeRefusal) != 2 {
			t.Fatalf("judge refusal: %+v", rep.JudgeRefusal)
		}
		for _, jr := range rep.JudgeRefusal {
			w := want[jr.Variant]
			k, kci := jr.Kappa, jr.KappaCI
			jr.Kappa, jr.KappaCI = nil, nil
			if jr != w {
				t.Errorf("%s: %+v, want %+v", w.Variant, jr, w)
			}
			if jr.Variant == "ft" && (k == nil || *k != 1 || kci == nil) {
				t.Errorf("ft's kappa %v", k)
			}
			if jr.Variant == "base" && k != nil {
				t.Errorf("base's kappa %v with one label throughout", *k)
			}
		}
	})
}

// TestDimensionsClustered: on a suite that clusters its samples, a
// dimension's interval is cluster-robust over the clusters of its pairs.
func TestDimensionsClustered(t *testing.T) {
	clusters := map[string]string{"q1": "a", "q2": "a", "q3": "b", "q4": "b", "q5": "c"}
	rep := judgingRunClustered(t, eval.Gate{}, clusters)
	d := rep.Dimensions[0]
	// correctness deltas −6, 0 (a), 0, −6 (b), −4 (c).
	mean, ci, g, undefined := stats.MeanClustered([]float64{-6, 0, 0, -6, -4}, []string{"qa\x00a", "qa\x00a", "qa\x00b", "qa\x00b", "qa\x00c"})
	if d.Dimension != "correctness" || d.Clusters != 3 || g != 3 || undefined != "" || d.CI == nil || *d.CI != ci || d.Delta != mean {
		t.Fatalf("correctness %+v, want mean %v ci %v", d, mean, ci)
	}
	// Its clusters differ little (means −3, −3, −4): narrower than the
	// plain t-interval over five pairs, which it replaces.
	if plain := judgingRun(t, eval.Gate{}).Dimensions[0]; *plain.CI == *d.CI {
		t.Errorf("the clustered interval is the plain one: %v", *d.CI)
	}
	// format: no difference anywhere, no variance between clusters.
	if f := rep.Dimensions[1]; f.CI != nil || f.Undefined == "" {
		t.Errorf("format %+v", f)
	}
}

// TestRefusalByJudge: the judge's reading of refusals gives its own rate
// and paired delta beside the detector's, and the gate reads it with
// refusal_by: judge. Over the run of judgingRun: the judge read ft's and
// base's answers to q1–q5 (q6's judgment failed, q7 has none) and called
// ft's q4 a refusal; the detector called ft's q4 and base's q7 refusals.
func TestRefusalByJudge(t *testing.T) {
	bound := 0.5
	for _, tc := range []struct {
		by    string
		value float64
	}{{"", 0}, {eval.RefusalByDetector, 0}, {eval.RefusalByJudge, 0.2}} {
		rep := judgingRun(t, eval.Gate{RefusalRateDeltaMax: &bound, RefusalBy: tc.by})
		ft, base := rep.Rates["ft"], rep.Rates["base"]
		if ft.JudgeRefusal == nil || *ft.JudgeRefusal != 0.2 || ft.JudgeRefusalN != 5 || ft.JudgeRefusalUnread != 2 ||
			base.JudgeRefusal == nil || *base.JudgeRefusal != 0 || base.JudgeRefusalUnread != 2 {
			t.Fatalf("refusal_by %q: ft %+v, base %+v", tc.by, ft, base)
		}
		var judge, detector *document.RateDelta
		for i, d := range rep.RateDeltas {
			switch d.Rate {
			case "judge_refusal":
				judge = &rep.RateDeltas[i]
			case "refusal":
				detector = &rep.RateDeltas[i]
			}
		}
		if judge == nil || judge.N != 5 || math.Abs(judge.Delta-0.2) > 1e-12 || detector == nil || detector.N != 7 || detector.Delta != 0 {
			t.Fatalf("refusal_by %q: rate deltas %+v", tc.by, rep.RateDeltas)
		}
		found := false
		for _, ch := range rep.Gate.Checks {
			if ch.Name == "refusal_rate_delta_max" {
				found = true
				if math.Abs(ch.Value-tc.value) > 1e-12 {
					t.Errorf("refusal_by %q: the gate read %v, want %v", tc.by, ch.Value, tc.value)
				}
			}
		}
		if !found {
			t.Fatalf("refusal_by %q: no refusal check in %+v", tc.by, rep.Gate.Checks)
		}
		warned := strings.Contains(strings.Join(rep.Warnings, "\n"), "did not read 2 of ft's answers")
		if warned != (tc.by == eval.RefusalByJudge) {
			t.Errorf("refusal_by %q: warnings %q", tc.by, rep.Warnings)
		}
	}
}

func TestJudgeFlagsAndDims(t *testing.T) {
	rounds := []eval.Round{
		{Order: eval.OrderCandidateFirst, Winner: eval.WinTie, Fix: map[string]string{"candidate": "first", "baseline": "b"},
			Scores:   map[string]map[string]float64{"candidate": {"a": 2, "b=c": 9, "only": 1}, "baseline": {"a": 4, "b=c": 9}},
			OffTopic: map[string]bool{"candidate": true}, Refusal: map[string]bool{"baseline": false}},
		{Order: eval.OrderBaselineFirst, Winner: eval.WinBaseline, Fix: map[string]string{"candidate": "second"},
			Scores:   map[string]map[string]float64{"candidate": {"a": 3}, "baseline": {"a": 6}},
			OffTopic: map[string]bool{"candidate": true, "baseline": true}},
		{Order: eval.OrderBaselineFirst, Error: "timeout", OffTopic: map[string]bool{"baseline": true}},
	}
	f := judgeFlagsOf(rounds)
	want := flagCandOffTopicSaid | flagCandOffTopic | flagBaseOffTopicSaid | flagBaseOffTopic | flagBaseRefusalSaid
	if f != want {
		t.Errorf("flags %b, want %b", f, want)
	}
	// "b=c" cannot be carried; "only" has one side.
	if d := judgeDims(rounds); d != "a=2.5/5" {
		t.Errorf("dims %q", d)
	}
	// The round the candidate lost gives the fix.
	if fix := candidateFix(rounds); fix != "second" {
		t.Errorf("fix %q", fix)
	}
	single := []eval.Round{{Order: eval.OrderCandidateAlone, Rating: 4, Fix: map[string]string{"candidate": "be right"}},
		{Order: eval.OrderBaselineAlone, Rating: 7, Fix: map[string]string{"baseline": "fine"}}}
	if d := judgeDims(single); d != "rating=4/7" {
		t.Errorf("single dims %q", d)
	}
	if fix := candidateFix(single); fix != "be right" {
		t.Errorf("single fix %q", fix)
	}
	var got []string
	eachDim("a=2.5/5;bad;x=1/y;rating=4/7", func(n string, c, b float64) { got = append(got, n) })
	if strings.Join(got, ",") != "a,rating" {
		t.Errorf("eachDim read %v", got)
	}
}

// TestJudgmentsOfAnotherJudgeVersionAreCounted: judgments by a judge
// version the spec no longer has (its contract changed with an upgrade)
// are in no figure, and a warning counts them.
func TestJudgmentsOfAnotherJudgeVersionAreCounted(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	for i, id := range []string{"q1", "q2", "q3"} {
		seq := uint64(i + 1)
		for _, v := range []string{"base", "ft"} {
			c.AddScore(mkScore(spec, v, "qa", id, seq, eval.BucketOK, em(1)))
		}
		j := mkJudgment(spec, "qa", id, seq, eval.WinCandidate, true)
		if i < 2 {
			j.JudgeID = "j1@0123456789ab" // the same judge before an upgrade
		}
		c.AddJudgment(j)
	}
	rep, err := c.Report(context.Background(), nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Pairwise[0]; p.N != 1 {
		t.Errorf("pairwise n %d, want 1: the old version's verdicts counted", p.N)
	}
	if w := strings.Join(rep.Warnings, "\n"); !strings.Contains(w, "2 judgments by judge version j1@0123456789ab") {
		t.Errorf("warnings:\n%s", w)
	}
}
