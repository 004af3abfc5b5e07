package aggregate

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// compared is judge's judgment of a against b (a pair of the compare list)
// on sample id of qa: both rounds give w.
func compared(spec *eval.RunSpec, judge int, a, b, id string, w eval.Winner) *eval.Judgment {
	j := judged(spec, judge, a, "qa", id, w)
	j.Baseline = b
	return j
}

// compareRow is the report's row of judge's verdicts on a against b.
func compareRow(t *testing.T, rep *document.Report, judge, a, b string) document.Pairwise {
	t.Helper()
	for _, p := range rep.ComparePairwise {
		if p.Judge == judge && p.Variant == a && p.Baseline == b {
			return p
		}
	}
	t.Fatalf("no compare row of %s on %s against %s in %+v", judge, a, b, rep.ComparePairwise)
	return document.Pairwise{}
}

// TestComparePairwise: two judges' verdicts on a against b, a pair of the
// compare list, on the very samples where a was judged against the
// baseline, are counted apart — neither replaces the other — and make
// rows of their own in compare_pairwise, in the list's order; [base, a],
// a pair with the baseline, is a's row turned round. The baseline's
// pairwise rows, agreement, dimensions and gate are what they are without
// the compare judgments; progress expects the compare pair's judgments
// too, and the ranking fits them.
func TestComparePairwise(t *testing.T) {
	const n = 20
	build := func(withCompare bool) *document.Report {
		spec := pairSpec("a", "b")
		spec.Compare, spec.JudgeCompare = [][]string{{"a", "b"}, {"base", "a"}}, true
		spec.Gate = eval.Gate{WinRateMin: fp(0.5)}
		c := New(spec)
		t.Cleanup(c.Release)
		c.SetIngest(&eval.IngestStatus{V: 1, Run: spec.Run, Done: true, Samples: n, Suites: map[string]*eval.SuiteStatus{"qa": {Samples: n}}})
		for judge := range 2 {
			addCounts(t, c, spec, judge, "a", 9, 5, 6)
			addCounts(t, c, spec, judge, "b", 4, 10, 6)
		}
		if withCompare {
			// j1: a beats b 11 times, loses 3 times, ties 6; j2: 8, 8, 4.
			for judge, counts := range [][3]int{{11, 3, 6}, {8, 8, 4}} {
				i := 0
				for k, w := range []eval.Winner{eval.WinCandidate, eval.WinBaseline, eval.WinTie} {
					for range counts[k] {
						addJudgments(t, c, compared(spec, judge, "a", "b", fmt.Sprintf("s%04d", i), w))
						i++
					}
				}
			}
		}
		return report(t, c, nil)
	}
	without, rep := build(false), build(true)

	for _, tc := range []struct {
		judge, a, b        string
		wins, losses, ties int
	}{
		{"j1", "a", "b", 11, 3, 6}, {"j1", "base", "a", 5, 9, 6},
		{"j2", "a", "b", 8, 8, 4}, {"j2", "base", "a", 5, 9, 6},
	} {
		p := compareRow(t, rep, tc.judge, tc.a, tc.b)
		want := float64(tc.wins) + float64(tc.ties)/2
		if p.N != n || p.Wins != tc.wins || p.Losses != tc.losses || p.Ties != tc.ties || p.WinRate == nil || math.Abs(*p.WinRate-want/n) > 1e-12 {
			t.Errorf("%s, %s against %s: n %d, %d/%d/%d, win rate %v; want %d, %d/%d/%d, %v", tc.judge, tc.a, tc.b, p.N, p.Wins, p.Losses, p.Ties,
				p.WinRate, n, tc.wins, tc.losses, tc.ties, want/n)
		}
	}
	if got := len(rep.ComparePairwise); got != 4 {
		t.Errorf("%d compare rows, want 2 judges × 2 pairs", got)
	}
	if len(without.ComparePairwise) != 4 || without.ComparePairwise[0].N != 0 || without.ComparePairwise[0].WinRate != nil {
		t.Errorf("before any compare judgment: %+v", without.ComparePairwise)
	}
	// The baseline's figures are the same with or without the compare
	// pair's judgments.
	for _, f := range []struct {
		what string
		a, b any
	}{
		{"pairwise", without.Pairwise, rep.Pairwise}, {"agreement", without.Agreement, rep.Agreement},
		{"dimensions", without.Dimensions, rep.Dimensions}, {"gate checks", without.Gate.Checks[1:], rep.Gate.Checks[1:]},
		{"counts", without.Counts, rep.Counts},
	} {
		if !reflect.DeepEqual(f.a, f.b) {
			t.Errorf("%s changed with the compare judgments:\n%+v\n%+v", f.what, f.a, f.b)
		}
	}
	// (No score was added: the first check of both gates says the run is
	// incomplete, with the judgments counted.)
	if p := rep.Progress; p.JudgmentsExpected != n*3*2 || p.Judgments != n*3*2 {
		t.Errorf("progress %+v; want %d of %d judgments (3 pairs × 2 judges)", p, n*3*2, n*3*2)
	}
	if p := without.Progress; p.Judgments != n*2*2 || p.JudgmentsExpected != n*3*2 {
		t.Errorf("without the compare judgments: progress %+v", p)
	}

	// The ranking is the Bradley–Terry fit of j1's pairs, the compare
	// pair's included: at the maximum of the likelihood each variant's
	// points equal its expected points (the score equations).
	s := map[string]float64{}
	for _, st := range rep.Ranking {
		if st.Strength == nil {
			t.Fatalf("ranking %+v", rep.Ranking)
		}
		s[st.Variant] = *st.Strength
	}
	resid := map[string]float64{}
	for _, x := range []struct {
		a, b               string
		wins, losses, ties int
	}{{"a", "base", 9, 5, 6}, {"b", "base", 4, 10, 6}, {"a", "b", 11, 3, 6}} {
		pts := float64(x.wins) + float64(x.ties)/2
		exp := float64(n) / (1 + math.Exp(s[x.b]-s[x.a]))
		resid[x.a] += pts - exp
		resid[x.b] -= pts - exp
	}
	for _, v := range []string{"a", "b"} {
		if math.Abs(resid[v]) > 1e-6 {
			t.Errorf("%s: points minus expected points %g at the fitted strengths %v: the fit left out the compare pair", v, resid[v], s)
		}
	}
}

// TestComparePairFailuresAndRetries: a failed generation of b fails its
// pair with a as it fails its pair with the baseline; a compare judgment
// made from a generation of b that assay retry asked again is superseded
// by the one made from the new attempt; a judge asked again about the
// compare pair replaces only that pair's failed judgment.
func TestComparePairFailuresAndRetries(t *testing.T) {
	spec := pairSpec("a", "b")
	spec.Judges = spec.Judges[:1]
	spec.Compare, spec.JudgeCompare = [][]string{{"a", "b"}}, true
	c := New(spec)
	defer c.Release()
	if !c.AddRetry(&eval.RetryRequest{Run: spec.Run, Attempt: 1, Variant: "b", Sample: eval.SampleRef{Suite: "qa", ID: "s1"}}) ||
		!c.AddRetry(&eval.RetryRequest{Run: spec.Run, Attempt: 1, Variant: "a", Judge: "j1", Baseline: "b", Sample: eval.SampleRef{Suite: "qa", ID: "s2"}}) {
		t.Fatal("retry requests not taken")
	}
	if !c.AddDeadLetter(&eval.DeadLetter{V: 1, Stage: "infer", Run: spec.Run, Suite: "qa", Sample: "s0", Variant: "b", Subject: "assay.gens.pairs.b", Seq: 9, Reason: "HTTP 500"}) {
		t.Fatal("dead letter not taken")
	}
	old := compared(spec, 0, "a", "b", "s1", eval.WinCandidate)
	if c.AddJudgment(old) {
		t.Error("a judgment made from b's superseded generation was counted")
	}
	retried := compared(spec, 0, "a", "b", "s1", eval.WinBaseline)
	retried.BaselineRetry = 1
	failed := compared(spec, 0, "a", "b", "s2", "")
	failed.Error, failed.Cause, failed.Rounds = "judge failed (candidate_first): HTTP 503", "HTTP 503", nil
	again := compared(spec, 0, "a", "b", "s2", eval.WinTie)
	again.JudgeRetry = 1
	addJudgments(t, c, retried, again, judged(spec, 0, "a", "qa", "s2", eval.WinCandidate))
	if c.AddJudgment(failed) {
		t.Error("the compare pair's judgment the judge was asked again for was counted")
	}
	rep := report(t, c, nil)
	p := compareRow(t, rep, "j1", "a", "b")
	if p.N != 2 || p.Losses != 1 || p.Ties != 1 || p.Wins != 0 || p.GenerationErrors != 1 || p.Errors != 0 {
		t.Errorf("a against b: %+v; want a loss on s1 (b's retry), a tie on s2 (the judge's retry), s0 failed with b's generation", p)
	}
	if a, b := pairwiseRow(t, rep, "j1", "a"), pairwiseRow(t, rep, "j1", "b"); a.N != 1 || a.Wins != 1 || b.GenerationErrors != 1 || b.N != 0 {
		t.Errorf("the baseline's rows: a %+v, b %+v", a, b)
	}
}
