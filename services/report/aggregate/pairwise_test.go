package aggregate

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// pairSpec is a run of base against the candidates on one suite, qa (em),
// judged by j1 and j2 (j1 the gate's), with no gate.
func pairSpec(cands ...string) *eval.RunSpec {
	spec := &eval.RunSpec{Run: "pairs", Baseline: "base", Decoding: eval.Decoding{TopP: 1, MaxTokens: 256},
		Variants: []eval.Variant{{Name: "base", BaseURL: "http://base:8000/v1", Model: "m-base"}},
		Suites:   []eval.Suite{{Name: "qa", Role: eval.RoleBenchmark, Metrics: []string{"em"}}},
		Judges: []eval.Judge{{Name: "j1", BaseURL: "http://judge:8000/v1", Model: "judge-m", Mode: "pairwise"},
			{Name: "j2", BaseURL: "http://judge2:8000/v1", Model: "judge-m2", Mode: "pairwise"}},
	}
	for _, c := range cands {
		spec.Variants = append(spec.Variants, eval.Variant{Name: c, BaseURL: "http://" + c + ":8000/v1", Model: "m-" + c})
	}
	return spec
}

// judged is the judgment of judge on cand against base for sample id of
// suite: both rounds give w.
func judged(spec *eval.RunSpec, judge int, cand, suite, id string, w eval.Winner) *eval.Judgment {
	jd := spec.Judges[judge]
	return &eval.Judgment{
		V: 1, Run: spec.Run, Sample: eval.SampleRef{ID: id, Suite: suite}, Judge: jd.Name, JudgeID: jd.ID(),
		Candidate: cand, Baseline: spec.Baseline, Fingerprint: spec.Fingerprint(), Winner: w, Consistent: true,
		Rounds: []eval.Round{{Order: eval.OrderCandidateFirst, Winner: w, Parse: "json"}, {Order: eval.OrderBaselineFirst, Winner: w, Parse: "json"}},
	}
}

func addJudgments(t *testing.T, c *Collector, js ...*eval.Judgment) {
	t.Helper()
	for _, j := range js {
		if !c.AddJudgment(j) {
			t.Fatalf("judgment %s/%s/%s not added", j.Judge, j.Candidate, j.Sample.ID)
		}
	}
}

// addCounts adds judge's verdicts on cand: wins, then losses, then ties,
// on samples s0000, s0001, ... of qa.
func addCounts(t *testing.T, c *Collector, spec *eval.RunSpec, judge int, cand string, wins, losses, ties int) {
	t.Helper()
	i := 0
	for _, n := range []struct {
		w eval.Winner
		k int
	}{{eval.WinCandidate, wins}, {eval.WinBaseline, losses}, {eval.WinTie, ties}} {
		for range n.k {
			addJudgments(t, c, judged(spec, judge, cand, "qa", fmt.Sprintf("s%04d", i), n.w))
			i++
		}
	}
}

// countsRow is j1's row of a report on ft with these verdicts.
func countsRow(t *testing.T, wins, losses, ties int) document.Pairwise {
	t.Helper()
	spec := pairSpec("ft")
	c := New(spec)
	defer c.Release()
	addCounts(t, c, spec, 0, "ft", wins, losses, ties)
	return pairwiseRow(t, report(t, c, nil), "j1", "ft")
}

// pairwiseRow is the report's row of judge j1's verdicts on cand.
func pairwiseRow(t *testing.T, rep *document.Report, judge, cand string) document.Pairwise {
	t.Helper()
	for _, p := range rep.Pairwise {
		if p.Judge == judge && p.Variant == cand {
			return p
		}
	}
	t.Fatalf("no pairwise row for %s on %s in %+v", judge, cand, rep.Pairwise)
	return document.Pairwise{}
}

func nearCIPtr(t *testing.T, what string, got *[2]float64, want [2]float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s is null, want %v", what, want)
		return
	}
	nearCI(t, what, *got, want)
}

// TestWinRateInterval: the win rate's interval is the t interval on the
// per-pair scores, not Wilson's on (W + T/2)/N, which is about ten times
// too wide when most pairs are ties; beside it the decisive share with its
// Wilson interval, the sign test and the MDE.
func TestWinRateInterval(t *testing.T) {
	// The values are scipy 1.10 / statsmodels 0.13.5:
	//	x = np.array([1]*w + [0.5]*t + [0]*l)
	//	scipy.stats.t.interval(0.95, len(x)-1, loc=x.mean(), scale=scipy.stats.sem(x))
	//	statsmodels.stats.proportion.proportion_confint(w, w+l, method="wilson")
	//	scipy.stats.binomtest(w, w+l).pvalue
	//	TTestPower().solve_power(nobs=len(x), alpha=0.05, power=0.8) * x.std(ddof=1)
	tests := []struct {
		name               string
		wins, losses, ties int
		rate               float64
		ci, decisiveCI     [2]float64
		signP, mde         float64
		underpowered       bool
	}{
		{
			// The continuous run of the issue: 23 wins, 46 losses and
			// 831 ties. Wilson's interval on 0.487 over 900 was
			// [0.455, 0.520], straddling ½; the scores' interval is
			// below it, as the sign test says (p = 0.0076).
			name: "mostly ties", wins: 23, losses: 46, ties: 831, rate: 0.4872222222222222,
			ci: [2]float64{0.4781988487187665, 0.49624559572567795}, decisiveCI: [2]float64{0.2335105070168671, 0.4507352457128168},
			// The MDE (0.0129) exceeds |0.487 − ½|, but the interval
			// excludes ½: told, not too few to tell.
			signP: 0.007620521855025698, mde: 0.012894501166374455, underpowered: false,
		},
		{
			name: "fixture's counts", wins: 6, losses: 3, ties: 4, rate: 8.0 / 13,
			ci: [2]float64{0.36398313503883645, 0.8667860957303943}, decisiveCI: [2]float64{0.3542021355803961, 0.879416181613089},
			signP: 0.5078125, mde: math.NaN(), underpowered: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := countsRow(t, tt.wins, tt.losses, tt.ties)
			if p.N != tt.wins+tt.losses+tt.ties || p.Undefined != "" || p.Clusters != 0 {
				t.Fatalf("pairwise %+v", p)
			}
			nearPtr(t, "win rate", p.WinRate, tt.rate)
			nearCIPtr(t, "ci", p.CI, tt.ci)
			nearPtr(t, "decisive", p.Decisive, float64(tt.wins)/float64(tt.wins+tt.losses))
			nearCIPtr(t, "decisive ci", p.DecisiveCI, tt.decisiveCI)
			nearPtr(t, "sign p", p.SignP, tt.signP)
			if p.MDE == nil || p.Underpowered != tt.underpowered {
				t.Errorf("mde %v underpowered %v, want underpowered %v", p.MDE, p.Underpowered, tt.underpowered)
			}
			if !math.IsNaN(tt.mde) {
				// statsmodels' power solver stops at its own tolerance.
				if math.Abs(*p.MDE-tt.mde) > 1e-6 {
					t.Errorf("mde %.12g, want %.12g", *p.MDE, tt.mde)
				}
			}
		})
	}
}

// TestWinRateUndefined: pairs that all scored the same leave the interval
// undefined (null, with the reason) rather than zero-wide, and all ties
// leave no decisive share or sign test.
func TestWinRateUndefined(t *testing.T) {
	tests := []struct {
		name               string
		wins, losses, ties int
		rate               float64
		decisive           bool
	}{
		{"all ties", 0, 0, 900, 0.5, false},
		{"all wins", 12, 0, 0, 1, true},
		{"one pair", 0, 1, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := countsRow(t, tt.wins, tt.losses, tt.ties)
			if p.WinRate == nil || *p.WinRate != tt.rate || p.CI != nil || p.Undefined == "" || p.MDE != nil || p.Underpowered {
				t.Errorf("pairwise %+v", p)
			}
			if got := p.Decisive != nil && p.DecisiveCI != nil && p.SignP != nil; got != tt.decisive {
				t.Errorf("decisive %v %v %v, want defined %v", p.Decisive, p.DecisiveCI, p.SignP, tt.decisive)
			}
		})
	}
}

// TestWorstCaseWinRate: the worst case counts every pair left out as a
// loss, with the t interval; when that leaves nothing but losses, the
// Wilson interval of the rate.
func TestWorstCaseWinRate(t *testing.T) {
	spec := pairSpec("ft", "ft2")
	c := New(spec)
	defer c.Release()
	addCounts(t, c, spec, 0, "ft", 5, 1, 2)
	for i := range 3 {
		j := judged(spec, 0, "ft", "qa", fmt.Sprintf("e%d", i), "")
		j.Rounds, j.Error = nil, "judge failed: HTTP 500"
		addJudgments(t, c, j)
	}
	j := judged(spec, 0, "ft2", "qa", "e0", "")
	j.Rounds, j.Error, j.GenerationFailed = nil, "candidate generation failed", true
	addJudgments(t, c, j)
	rep := report(t, c, nil)
	// x = [1]*5 + [0.5]*2 + [0]*4: scipy.stats.t.interval(0.95, 10,
	// loc=x.mean(), scale=scipy.stats.sem(x)).
	ft := pairwiseRow(t, rep, "j1", "ft")
	if w := ft.WorstCase; w == nil || w.N != 11 {
		t.Fatalf("worst case %+v", w)
	}
	near(t, "worst rate", ft.WorstCase.Mean, 6.0/11)
	nearCI(t, "worst ci", ft.WorstCase.CI, [2]float64{0.22840100405351266, 0.8625080868555781})
	// One loss and nothing else: Wilson(0, 1) = [0, z²/(1 + z²)].
	ft2 := pairwiseRow(t, rep, "j1", "ft2")
	if w := ft2.WorstCase; w == nil || w.N != 1 || w.Mean != 0 {
		t.Fatalf("worst case %+v", w)
	}
	nearCI(t, "worst ci", ft2.WorstCase.CI, [2]float64{0, 0.7934506856227627})
}

// TestClusteredWinRate: pairs of a suite with a cluster path get the CR1
// cluster-robust interval (t on clusters − 1), an empty id making a pair a
// cluster of its own; the plain t interval would be narrower.
func TestClusteredWinRate(t *testing.T) {
	// statsmodels: y = [1,1,.5, 0,0,.5, 1,.5,1, 1,1,1, .5,0,1], groups
	// [0,0,0, 1,1,1, 2,2,2, 3,3,3, 4,5,6]; sm.OLS(y, np.ones(15)).fit(
	// cov_type="cluster", cov_kwds={"groups": g}, use_t=True).conf_int()
	// = [0.29988171563987237, 1.033451617693461] (clamped to 1); the
	// plain t interval is [0.440586299032459, 0.8927470343008743].
	scores := []float64{1, 1, 0.5, 0, 0, 0.5, 1, 0.5, 1, 1, 1, 1, 0.5, 0, 1}
	clusters := []string{"d0", "d0", "d0", "d1", "d1", "d1", "d2", "d2", "d2", "d3", "d3", "d3", "", "", ""}
	for _, path := range []string{"", "doc"} {
		t.Run("cluster path "+path, func(t *testing.T) {
			spec := pairSpec("ft")
			spec.Suites[0].Cluster = path
			c := New(spec)
			defer c.Release()
			for i, s := range scores {
				w := map[float64]eval.Winner{1: eval.WinCandidate, 0.5: eval.WinTie, 0: eval.WinBaseline}[s]
				j := judged(spec, 0, "ft", "qa", fmt.Sprintf("s%02d", i), w)
				j.Sample.Cluster = clusters[i]
				addJudgments(t, c, j)
			}
			p := pairwiseRow(t, report(t, c, nil), "j1", "ft")
			want, clustersWant := [2]float64{0.440586299032459, 0.8927470343008743}, 0
			if path != "" {
				want, clustersWant = [2]float64{0.29988171563987237, 1}, 7
			}
			nearCIPtr(t, "ci", p.CI, want)
			if p.Clusters != clustersWant {
				t.Errorf("clusters %d, want %d", p.Clusters, clustersWant)
			}
		})
	}
}

// TestWinRateBySuite: each suite's verdicts get their own win rate, in the
// spec's order, suites without a verdict left out.
func TestWinRateBySuite(t *testing.T) {
	spec := pairSpec("ft")
	spec.Suites = append([]eval.Suite{{Name: "chat", Role: eval.RoleBenchmark, Metrics: []string{"em"}}}, spec.Suites...)
	spec.Suites = append(spec.Suites, eval.Suite{Name: "unjudged", Role: eval.RoleBenchmark, Metrics: []string{"em"}})
	c := New(spec)
	defer c.Release()
	addCounts(t, c, spec, 0, "ft", 3, 1, 0) // qa
	addJudgments(t, c, judged(spec, 0, "ft", "chat", "c1", eval.WinTie), judged(spec, 0, "ft", "chat", "c2", eval.WinTie))
	p := pairwiseRow(t, report(t, c, nil), "j1", "ft")
	if len(p.BySuite) != 2 {
		t.Fatalf("by suite %+v", p.BySuite)
	}
	chat, qa := p.BySuite[0], p.BySuite[1]
	if chat.Suite != "chat" || chat.N != 2 || chat.Ties != 2 || chat.WinRate == nil || *chat.WinRate != 0.5 || chat.CI != nil {
		t.Errorf("chat %+v", chat)
	}
	if qa.Suite != "qa" || qa.N != 4 || qa.Wins != 3 || qa.Losses != 1 {
		t.Errorf("qa %+v", qa)
	}
	// x = [1, 1, 1, 0]: scipy.stats.t.interval(0.95, 3, loc=0.75,
	// scale=scipy.stats.sem(x)) = [-0.04563, 1.5456], clamped.
	nearPtr(t, "qa rate", qa.WinRate, 0.75)
	nearCIPtr(t, "qa ci", qa.CI, [2]float64{0, 1})
}

// TestPositionBias: a pair whose two rounds both went to the answer shown
// first (or second) is counted as such; a flip through a tie, or a
// consistent verdict, is neither.
func TestPositionBias(t *testing.T) {
	spec := pairSpec("ft")
	c := New(spec)
	defer c.Release()
	cf, bf := eval.OrderCandidateFirst, eval.OrderBaselineFirst
	rounds := []struct {
		id     string
		r1, r2 eval.Round
	}{
		{"first1", eval.Round{Order: cf, Winner: eval.WinCandidate}, eval.Round{Order: bf, Winner: eval.WinBaseline}},
		{"first2", eval.Round{Order: bf, Winner: eval.WinBaseline}, eval.Round{Order: cf, Winner: eval.WinCandidate}},
		{"first3", eval.Round{Order: cf, Winner: eval.WinCandidate}, eval.Round{Order: bf, Winner: eval.WinBaseline}},
		{"second", eval.Round{Order: cf, Winner: eval.WinBaseline}, eval.Round{Order: bf, Winner: eval.WinCandidate}},
		{"tie flip", eval.Round{Order: cf, Winner: eval.WinCandidate}, eval.Round{Order: bf, Winner: eval.WinTie}},
		{"consistent", eval.Round{Order: cf, Winner: eval.WinCandidate}, eval.Round{Order: bf, Winner: eval.WinCandidate}},
		{"error", eval.Round{Order: cf, Winner: eval.WinCandidate}, eval.Round{Order: bf, Error: "timeout"}},
	}
	for _, r := range rounds {
		j := judged(spec, 0, "ft", "qa", r.id, eval.WinTie)
		j.Rounds = []eval.Round{r.r1, r.r2}
		j.Consistent = r.r1.Winner == r.r2.Winner
		if r.id == "consistent" {
			j.Winner = eval.WinCandidate
		}
		addJudgments(t, c, j)
	}
	p := pairwiseRow(t, report(t, c, nil), "j1", "ft")
	if p.FirstShown != 3 || p.SecondShown != 1 {
		t.Errorf("first shown %d, second shown %d, want 3 and 1", p.FirstShown, p.SecondShown)
	}
	nearPtr(t, "flip rate", p.FlipRate, 6.0/7)
}

// FuzzPositionOf: whatever a judge's verdict says, reading the rounds back
// never panics and says position bias only when both rounds went to one
// place.
func FuzzPositionOf(f *testing.F) {
	f.Add("candidate_first:candidate:json", "baseline_first:baseline:tag")
	f.Add("candidate_first:baseline:json", "baseline_first:candidate:json")
	f.Add("candidate_first:error", "")
	f.Add("::", "baseline_first::")
	f.Fuzz(func(t *testing.T, r1, r2 string) {
		p := positionOf(r1, r2)
		if p != positionNone && (roundPosition(r1) != p || roundPosition(r2) != p) {
			t.Errorf("positionOf(%q, %q) = %d", r1, r2, p)
		}
		if p != positionNone && !strings.HasPrefix(r1, "candidate_first:") && !strings.HasPrefix(r1, "baseline_first:") {
			t.Errorf("positionOf(%q, %q) = %d from an unknown order", r1, r2, p)
		}
	})
}

// TestLengthControlledWinRate: a judge that prefers the longer answer (the
// candidate's, mostly) gives a raw win rate of 0.675 that drops to 0.515 at
// equal lengths; the report gives both and warns.
func TestLengthControlledWinRate(t *testing.T) {
	// statsmodels 0.13.5, with d and y as built below:
	//	sd = np.std(d, ddof=1); X = sm.add_constant(np.tanh(d / sd))
	//	r = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-15, maxiter=1000, scale="X2")
	//	expit(r.params[0]), expit(r.params[0] ± 1.959963984540054*r.bse[0]), r.params[1]
	spec := pairSpec("ft")
	c := New(spec)
	defer c.Release()
	for i := range 40 {
		id := fmt.Sprintf("s%02d", i)
		var d int
		var w eval.Winner
		if i < 30 { // the candidate's answer is longer: it mostly wins
			d = 20 * (i%5 + 1)
			w = [3]eval.Winner{eval.WinCandidate, eval.WinTie, eval.WinBaseline}[min(2, max(0, (i-21)/3))]
		} else {
			d = -40
			w = map[int]eval.Winner{38: eval.WinTie, 39: eval.WinCandidate}[i]
			if w == "" {
				w = eval.WinBaseline
			}
		}
		b := mkScore(spec, "base", "qa", id, uint64(i+1), eval.BucketOK, em(1))
		f := mkScore(spec, "ft", "qa", id, uint64(i+1), eval.BucketOK, em(1))
		b.OutputChars, f.OutputChars = 100, 100+d
		mustAdd(t, c, b, f)
		addJudgments(t, c, judged(spec, 0, "ft", "qa", id, w))
	}
	rep := report(t, c, nil)
	p := pairwiseRow(t, rep, "j1", "ft")
	nearPtr(t, "raw win rate", p.WinRate, 0.675)
	lc := p.LengthControlled
	if lc == nil || lc.N != 40 || lc.Undefined != "" {
		t.Fatalf("length controlled %+v", lc)
	}
	nearPtr(t, "lc win rate", lc.WinRate, 0.5150817897769439)
	nearCIPtr(t, "lc ci", lc.CI, [2]float64{0.30415501877038614, 0.7207692082563227})
	near(t, "slope", lc.Slope, 2.1412652642680845)
	want := "judge j1's win rate for ft moves from 0.675 to 0.515 when answer length is held equal: the judge may be rewarding length"
	if !slices.Contains(rep.Warnings, want) {
		t.Errorf("warnings %q, want %q", rep.Warnings, want)
	}
	// j2 judged nothing: no rate to control.
	if p2 := pairwiseRow(t, rep, "j2", "ft"); p2.LengthControlled != nil {
		t.Errorf("j2 %+v", p2.LengthControlled)
	}
}

// TestLengthsNotRecorded: scores from before answer lengths were recorded
// give no length-controlled rate (every length 0 is not equal lengths).
func TestLengthsNotRecorded(t *testing.T) {
	spec := pairSpec("ft")
	c := New(spec)
	defer c.Release()
	for i, w := range []eval.Winner{eval.WinCandidate, eval.WinBaseline, eval.WinTie} {
		id := fmt.Sprintf("s%d", i)
		mustAdd(t, c, mkScore(spec, "base", "qa", id, uint64(i+1), eval.BucketOK, em(1)), mkScore(spec, "ft", "qa", id, uint64(i+1), eval.BucketOK, em(1)))
		addJudgments(t, c, judged(spec, 0, "ft", "qa", id, w))
	}
	if p := pairwiseRow(t, report(t, c, nil), "j1", "ft"); p.LengthControlled != nil {
		t.Errorf("length controlled %+v", p.LengthControlled)
	}
}

// TestAgreementIntervals: two judges' agreement has kappa with its
// interval and the linear-weighted kappa over loss < tie < win.
func TestAgreementIntervals(t *testing.T) {
	// statsmodels 0.13.5: cohens_kappa(t) and cohens_kappa(t, wt="linear")
	// on t = [[4,1,0],[1,3,1],[1,2,7]] (j1's verdict in rows, j2's in
	// columns, baseline < tie < candidate): kappa, kappa_low, kappa_upp.
	spec := pairSpec("ft")
	c := New(spec)
	defer c.Release()
	order := []eval.Winner{eval.WinBaseline, eval.WinTie, eval.WinCandidate}
	table := [3][3]int{{4, 1, 0}, {1, 3, 1}, {1, 2, 7}}
	n := 0
	for a := range 3 {
		for b := range 3 {
			for range table[a][b] {
				id := fmt.Sprintf("s%02d", n)
				n++
				addJudgments(t, c, judged(spec, 0, "ft", "qa", id, order[a]), judged(spec, 1, "ft", "qa", id, order[b]))
			}
		}
	}
	rep := report(t, c, nil)
	if len(rep.Agreement) != 1 {
		t.Fatalf("agreement %+v", rep.Agreement)
	}
	ag := rep.Agreement[0]
	if ag.N != 20 {
		t.Errorf("n %d", ag.N)
	}
	near(t, "percent", ag.Percent, 14.0/20)
	nearPtr(t, "kappa", ag.Kappa, 0.5384615384615384)
	nearCIPtr(t, "kappa ci", ag.KappaCI, [2]float64{0.2375537422159657, 0.8393693347071112})
	nearPtr(t, "weighted kappa", ag.WeightedKappa, 0.6111111111111112)
	nearCIPtr(t, "weighted kappa ci", ag.WeightedKappaCI, [2]float64{0.3299891539901985, 0.8922330682320239})
}

// TestRanking: three candidates are ranked by Bradley–Terry strength over
// the gate judge's pairs, the baseline at 0 among them, with bootstrap
// intervals that are the same in every report of the run.
func TestRanking(t *testing.T) {
	// statsmodels 0.13.5: GLM(y, X, family=Binomial()).fit(tol=1e-15) on
	// one ±1 column per candidate (the baseline is the reference) and the
	// per-pair scores: the strengths are log(s/(n − s)), s = W + T/2.
	spec := pairSpec("ft1", "ft2", "ft3", "ft4")
	c := New(spec)
	defer c.Release()
	addCounts(t, c, spec, 0, "ft1", 30, 10, 10)
	addCounts(t, c, spec, 0, "ft2", 22, 18, 10)
	addCounts(t, c, spec, 0, "ft3", 10, 30, 10)
	addCounts(t, c, spec, 1, "ft4", 50, 0, 0) // another judge's: not ranked
	rep := report(t, c, nil)
	want := []struct {
		variant  string
		strength float64
		rank     int
	}{{"ft1", 0.847297860387203, 1}, {"ft2", 0.16034265007517967, 2}, {"base", 0, 3}, {"ft3", -0.8472978603872034, 4}}
	if len(rep.Ranking) != 5 {
		t.Fatalf("ranking %+v", rep.Ranking)
	}
	for i, w := range want {
		s := rep.Ranking[i]
		if s.Variant != w.variant || s.Rank != w.rank || s.Judge != "j1" || s.Undefined != "" {
			t.Errorf("ranking[%d] = %+v, want %s rank %d", i, s, w.variant, w.rank)
			continue
		}
		if s.Strength == nil || s.CI == nil {
			t.Errorf("%s: no strength or interval", s.Variant)
			continue
		}
		if math.Abs(*s.Strength-w.strength) > 1e-9 {
			t.Errorf("%s strength %.12g, want %.12g", s.Variant, *s.Strength, w.strength)
		}
		if w.variant != "base" && !(s.CI[0] < *s.Strength && *s.Strength < s.CI[1]) {
			t.Errorf("%s ci %v around %v", s.Variant, *s.CI, *s.Strength)
		}
	}
	// Undefined: no strength and no interval, not a 0 that reads as equal
	// to the baseline.
	if s := rep.Ranking[4]; s.Variant != "ft4" || s.Undefined == "" || s.Rank != 0 || s.Strength != nil || s.CI != nil {
		t.Errorf("ft4 %+v", s)
	}
	again := report(t, c, nil)
	if !reflect.DeepEqual(again.Ranking, rep.Ranking) {
		t.Errorf("ranking differs between reports:\n%+v\n%+v", rep.Ranking, again.Ranking)
	}
}

// TestRankingOneCandidate: a ranking needs two candidates.
func TestRankingOneCandidate(t *testing.T) {
	spec := pairSpec("ft")
	c := New(spec)
	defer c.Release()
	addCounts(t, c, spec, 0, "ft", 3, 2, 1)
	if rep := report(t, c, nil); len(rep.Ranking) != 0 {
		t.Errorf("ranking %+v", rep.Ranking)
	}
}

func TestRankingReps(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{0, 1000}, {100, 1000}, {2000, 1000}, {4000, 500}, {10000, 200}, {1_000_000, 200}} {
		if got := rankingRepsFor(tt.n); got != tt.want {
			t.Errorf("rankingRepsFor(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
	if capStrength(math.Inf(1)) != strengthCap || capStrength(math.Inf(-1)) != -strengthCap || capStrength(1.5) != 1.5 {
		t.Error("capStrength")
	}
}

// BenchmarkRanking is the ranking of three candidates over 10k pairs, as a
// live run's report recomputes it.
func BenchmarkRanking(b *testing.B) {
	var cs []stats.Comparison
	for i := range 10000 {
		cs = append(cs, stats.Comparison{A: []string{"ft1", "ft2", "ft3"}[i%3], B: "base", Score: []float64{0, 0.5, 1, 1}[i%4]})
	}
	for b.Loop() {
		stats.BradleyTerry(cs, "base", rankingRepsFor(len(cs)), runSeed("bench"))
	}
}

// TestWinRateUnderpowered: a win rate is too few samples to tell when its
// MDE exceeds its distance from ½ or, for the gate's judge, from the gate's
// win_rate_min; another judge's is not held to the gate's threshold.
func TestWinRateUnderpowered(t *testing.T) {
	// 200 wins, 100 losses, 100 ties: rate 0.625, MDE about 0.057.
	for _, tt := range []struct {
		name   string
		min    *float64
		j1, j2 bool
	}{
		{"no gate", nil, false, false},
		{"gate far from the rate", fp(0.5), false, false},
		{"gate near the rate", fp(0.6), true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := pairSpec("ft")
			spec.Gate.WinRateMin = tt.min
			c := New(spec)
			defer c.Release()
			addCounts(t, c, spec, 0, "ft", 200, 100, 100)
			addCounts(t, c, spec, 1, "ft", 200, 100, 100)
			rep := report(t, c, nil)
			p1, p2 := pairwiseRow(t, rep, "j1", "ft"), pairwiseRow(t, rep, "j2", "ft")
			if p1.MDE == nil || *p1.MDE < 0.05 || *p1.MDE > 0.065 {
				t.Fatalf("mde %v", p1.MDE)
			}
			if p1.Underpowered != tt.j1 || p2.Underpowered != tt.j2 {
				t.Errorf("underpowered j1 %v j2 %v, want %v %v", p1.Underpowered, p2.Underpowered, tt.j1, tt.j2)
			}
		})
	}
}
