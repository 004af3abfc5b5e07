package aggregate

import (
	"hash/fnv"
	"math"

	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// The number of bootstrap resamples behind a strength's interval is
// rankingReps, or fewer for many pairs: the report is recomputed every few
// seconds of a live run and each resample redraws every judged pair (about
// 20 ns a pair), so the resamples stop at rankingDraws pairs drawn in all
// (some 40 ms), but never below rankingMinReps, with which the 2.5% tails
// still rest on 5 resamples each. See BenchmarkRanking.
const (
	rankingReps    = 1000
	rankingMinReps = 200
	rankingDraws   = 2_000_000
)

// rankingRepsFor is the number of resamples for n comparisons.
func rankingRepsFor(n int) int {
	return max(rankingMinReps, min(rankingReps, rankingDraws/max(n, 1)))
}

// strengthCap bounds a strength's interval: a bootstrap bound beyond it is
// one that more than 2.5% of the resamples left unbounded (the candidate
// never lost, or never won, in them), which JSON cannot write as ±Inf. At
// log odds of 10 the candidate would win 99.995% of its pairs.
const strengthCap = 10

// ranking orders the candidates and the baseline by their Bradley–Terry
// strengths over every pair the gate's judge judged (each candidate's with
// the baseline, and the compare list's pairs of two candidates), when the
// run has two candidates or more. The bootstrap is seeded from the run's
// name, so the same results always give the same intervals.
func (c *Collector) ranking(rep *document.Report, by map[[2]string]*judgeVerdicts) {
	cands := c.spec.Candidates()
	gj, ok := GateJudge(c.spec)
	if len(cands) < 2 || !ok {
		return
	}
	var cs []stats.Comparison
	for _, cand := range cands {
		if a := by[[2]string{gj.ID(), cand}]; a != nil {
			for _, p := range a.pairs {
				cs = append(cs, stats.Comparison{A: cand, B: c.spec.Baseline, Score: p.score})
			}
		}
	}
	for _, cp := range c.spec.ComparePairs() {
		if a := by[[2]string{gj.ID(), c.spec.PairName(cp.A, cp.B)}]; a != nil {
			for _, p := range a.pairs {
				cs = append(cs, stats.Comparison{A: cp.A, B: cp.B, Score: p.score})
			}
		}
	}
	if len(cs) == 0 {
		return
	}
	seen := map[string]bool{}
	for _, s := range stats.BradleyTerry(cs, c.spec.Baseline, rankingRepsFor(len(cs)), runSeed(c.spec.Run)) {
		seen[s.Item] = true
		st := document.Strength{Judge: gj.Name, Variant: s.Item, Rank: s.Rank, Undefined: s.Undefined}
		if s.Undefined == "" {
			strength, ci := s.Strength, [2]float64{capStrength(s.CI[0]), capStrength(s.CI[1])}
			st.Strength, st.CI = &strength, &ci
		}
		rep.Ranking = append(rep.Ranking, st)
	}
	for _, cand := range cands {
		if !seen[cand] {
			rep.Ranking = append(rep.Ranking, document.Strength{Judge: gj.Name, Variant: cand, Undefined: "no pair judged yet"})
		}
	}
}

// capStrength keeps a strength's bound within ±strengthCap.
func capStrength(x float64) float64 {
	return math.Max(-strengthCap, math.Min(strengthCap, x))
}

// runSeed is the bootstrap's seed for a run: FNV-1a of its name.
func runSeed(run string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(run))
	return h.Sum64()
}
