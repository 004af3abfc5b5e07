package aggregate

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
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

// TestRobustnessVsBaseline: each variant's change under a perturbation is
// tested by the metric's type, and a candidate's against the baseline's
// as a difference in differences, paired by original sample; the three
// tests are one family for the q-values.
func TestRobustnessVsBaseline(t *testing.T) {
	spec := pairedSpec(eval.Suite{Name: "s", Role: eval.RoleBenchmark, Metrics: []string{"f1"}, Perturbations: []string{"typos"}})
	c := New(spec)
	defer c.Release()
	scores := map[string][2][]float64{ // original, perturbed
		"ft":   {{.9, .8, .7, .9, .6, .8}, {.5, .7, .4, .9, .3, .6}},
		"base": {{.6, .6, .5, .7, .5, .6}, {.5, .6, .45, .6, .5, .55}},
	}
	for v, s := range scores {
		for i := range s[0] {
			id := fmt.Sprintf("q%d", i)
			mustAdd(t, c, mkScore(spec, v, "s", id, uint64(i+1), eval.BucketOK, map[string]float64{"f1": s[0][i]}))
			cp := mkScore(spec, v, "s", id+"~typos", uint64(i+11), eval.BucketOK, map[string]float64{"f1": s[1][i]})
			cp.Sample.Perturbation = &eval.Perturbation{Kind: "typos", Original: id}
			mustAdd(t, c, cp)
		}
	}
	// A base original without its copy is paired in neither test.
	mustAdd(t, c, mkScore(spec, "base", "s", "q9", 9, eval.BucketOK, map[string]float64{"f1": 0}))
	rep := report(t, c, nil)
	if len(rep.Robustness) != 2 {
		t.Fatalf("robustness %+v", rep.Robustness)
	}
	base, ft := rep.Robustness[0], rep.Robustness[1]
	if base.Variant != "base" || ft.Variant != "ft" || base.VsBaseline != nil || ft.VsBaseline == nil {
		t.Fatalf("robustness %+v", rep.Robustness)
	}
	// scipy ttest_rel(x, y).pvalue, t.interval(.95, 5, loc=d.mean(),
	// scale=sem(d)); q: statsmodels multipletests([p_base, p_ft, p_did],
	// method="fdr_bh")[1].
	for _, w := range []struct {
		name  string
		e     document.DeltaEstimate
		delta float64
		ci    [2]float64
		p, sd float64
	}{
		{"base", base.DeltaEstimate, -0.05, [2]float64{-0.09693218859423172, -0.003067811405768242}, 0.040859403859295866, 0.04472135954999579},
		{"ft", ft.DeltaEstimate, -0.2166666666666667, [2]float64{-0.37113941032818065, -0.06219392300515275}, 0.015452621285894991, 0.14719601443879743},
		{"ft vs base", *ft.VsBaseline, -0.1666666666666667, [2]float64{-0.3281115763434984, -0.005221756989835014}, 0.045223539537495326, 0.153839743456191},
	} {
		if w.e.Test != "paired_t" || w.e.N != 6 || w.e.MDE == nil {
			t.Errorf("%s: %+v", w.name, w.e)
		}
		near(t, w.name+" delta", w.e.Delta, w.delta)
		nearCI(t, w.name+" ci", w.e.CI, w.ci)
		nearPtr(t, w.name+" p", w.e.PValue, w.p)
		nearPtr(t, w.name+" sd", w.e.SD, w.sd)
		nearPtr(t, w.name+" q", w.e.QValue, 0.045223539537495326)
	}
	if ft.N != 6 {
		t.Errorf("ft n %d, want 6 pairs", ft.N)
	}
	near(t, "ft original", ft.Original, 4.7/6)
	near(t, "ft perturbed", ft.Perturbed, 3.4/6)
}

// TestDecisionFlipErrors: a probe with a failed generation — its
// original's, one copy's or every copy's — is counted as an error and
// compared with nothing (with fewer copies answered it would have fewer
// chances to flip); a suite that asks for neither safety nor refusal has
// no flips.
func TestDecisionFlipErrors(t *testing.T) {
	spec := pairedSpec(eval.Suite{Name: "s", Role: eval.RoleRegression, Metrics: []string{"refusal"}, Perturbations: []string{"typos", "register"}},
		eval.Suite{Name: "qa", Role: eval.RoleBenchmark, Metrics: []string{"em"}, Perturbations: []string{"typos"}})
	c := New(spec)
	defer c.Release()
	seq := uint64(0)
	add := func(variant, suite, id, kind string, refused bool, b eval.Bucket) {
		t.Helper()
		seq++
		m := map[string]float64{"refusal": b2f(refused)}
		if suite == "qa" {
			m = em(1)
		}
		if b == eval.BucketError {
			m = map[string]float64{}
		}
		sid := id
		if kind != "" {
			sid += "~" + kind
		}
		s := mkScore(spec, variant, suite, sid, seq, b, m)
		s.Checks.Refused = refused
		if kind != "" {
			s.Sample.Perturbation = &eval.Perturbation{Kind: kind, Original: id}
		}
		mustAdd(t, c, s)
	}
	for _, v := range []string{"base", "ft"} {
		// p1 flips for ft only (its register copy refuses).
		add(v, "s", "p1", "", false, eval.BucketOK)
		add(v, "s", "p1", "typos", false, eval.BucketOK)
		add(v, "s", "p1", "register", v == "ft", eval.BucketOK)
		// p2: the original failed for ft.
		if v == "ft" {
			add(v, "s", "p2", "", false, eval.BucketError)
		} else {
			add(v, "s", "p2", "", true, eval.BucketOK)
		}
		add(v, "s", "p2", "typos", true, eval.BucketOK)
		// p3: one copy failed, the other answered and agrees.
		add(v, "s", "p3", "", true, eval.BucketOK)
		add(v, "s", "p3", "typos", false, eval.BucketError)
		add(v, "s", "p3", "register", true, eval.BucketOK)
		// p4: every copy failed.
		add(v, "s", "p4", "", false, eval.BucketOK)
		add(v, "s", "p4", "typos", false, eval.BucketError)
		add(v, "s", "p4", "register", false, eval.BucketError)
		add(v, "qa", "q1", "", false, eval.BucketOK)
		add(v, "qa", "q1", "typos", true, eval.BucketOK)
	}
	rep := report(t, c, nil)
	if len(rep.DecisionFlips) != 2 {
		t.Fatalf("flips %+v", rep.DecisionFlips)
	}
	base, ft := rep.DecisionFlips[0], rep.DecisionFlips[1]
	if base.Variant != "base" || base.Suite != "s" || base.N != 2 || base.Flipped != 0 || base.Errors != 2 || base.VsBaseline != nil ||
		base.Rate == nil || *base.Rate != 0 {
		t.Errorf("base %+v", base)
	}
	if ft.Variant != "ft" || ft.N != 1 || ft.Flipped != 1 || ft.Errors != 3 || ft.Rate == nil || *ft.Rate != 1 {
		t.Errorf("ft %+v", ft)
	}
	// Paired over p1, the one probe both read: ft flips on it.
	if v := ft.VsBaseline; v == nil || v.N != 1 || v.Delta != 1 || v.Test != "mcnemar" {
		t.Errorf("ft vs base %+v", ft.VsBaseline)
	}
}
