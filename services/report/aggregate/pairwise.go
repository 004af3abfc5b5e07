package aggregate

import (
	"sort"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// pairwise gives each judge's verdicts on each candidate: wins, losses and
// ties over the pairs it judged, and apart from them the pairs it failed on
// and those never shown to it because a generation failed.
func (c *Collector) pairwise(rep *document.Report) {
	type key struct{ judgeID, cand string }
	type acc struct{ wins, losses, ties, flips, errs, genErrs int }
	by := map[key]*acc{}
	for _, j := range c.judgmentRows() {
		k := key{j.judgeID, j.cand}
		a := by[k]
		if a == nil {
			a = &acc{}
			by[k] = a
		}
		switch {
		case j.genFailed:
			a.genErrs++
			continue
		case j.err != "":
			a.errs++
			continue
		case j.winner == string(eval.WinCandidate):
			a.wins++
		case j.winner == string(eval.WinBaseline):
			a.losses++
		default:
			a.ties++
		}
		if !j.consistent {
			a.flips++
		}
	}
	for _, jd := range c.spec.Judges {
		for _, cand := range c.spec.Candidates() {
			a := by[key{jd.ID(), cand}]
			if a == nil {
				a = &acc{}
			}
			n := a.wins + a.losses + a.ties
			p := document.Pairwise{Judge: jd.Name, JudgeID: jd.ID(), Variant: cand, Baseline: c.spec.Baseline,
				N: n, Wins: a.wins, Losses: a.losses, Ties: a.ties, Errors: a.errs, GenerationErrors: a.genErrs}
			if n > 0 {
				wr := winRate(a.wins, a.ties, n)
				ci := stats.Wilson(wr, n)
				flips := float64(a.flips) / float64(n)
				p.WinRate, p.CI, p.FlipRate = &wr, &ci, &flips
			}
			if left := a.errs + a.genErrs; left > 0 {
				// Every pair left out counted as a loss.
				all := n + left
				wr := winRate(a.wins, a.ties, all)
				p.WorstCase = &document.Estimate{N: all, Mean: wr, CI: stats.Wilson(wr, all)}
			}
			rep.Pairwise = append(rep.Pairwise, p)
		}
	}
}

// winRate is (wins + ties/2) / n.
func winRate(wins, ties, n int) float64 {
	return (float64(wins) + float64(ties)/2) / float64(n)
}

// agreement compares every two judges of the spec, per candidate, over the
// pairs both judged without error.
func (c *Collector) agreement(rep *document.Report) {
	rep.Agreement = []document.Agreement{}
	if len(c.spec.Judges) < 2 {
		return
	}
	type pairKey struct{ cand, suite, sample string }
	verdicts := map[string]map[pairKey]string{} // judge id -> pair -> winner
	for _, j := range c.judgmentRows() {
		if j.err != "" {
			continue
		}
		if verdicts[j.judgeID] == nil {
			verdicts[j.judgeID] = map[pairKey]string{}
		}
		verdicts[j.judgeID][pairKey{j.cand, j.suite, j.sample}] = j.winner
	}
	for a := 0; a < len(c.spec.Judges); a++ {
		for b := a + 1; b < len(c.spec.Judges); b++ {
			ja, jb := c.spec.Judges[a], c.spec.Judges[b]
			va, vb := verdicts[ja.ID()], verdicts[jb.ID()]
			for _, cand := range c.spec.Candidates() {
				var keys []pairKey
				for k := range va {
					if _, ok := vb[k]; ok && k.cand == cand {
						keys = append(keys, k)
					}
				}
				if len(keys) == 0 {
					continue
				}
				sort.Slice(keys, func(i, j int) bool {
					if keys[i].suite != keys[j].suite {
						return keys[i].suite < keys[j].suite
					}
					return keys[i].sample < keys[j].sample
				})
				la, lb := make([]string, len(keys)), make([]string, len(keys))
				for i, k := range keys {
					la[i], lb[i] = va[k], vb[k]
				}
				po, kappa, ok := stats.Agreement(la, lb)
				ag := document.Agreement{Variant: cand, JudgeA: ja.Name, JudgeB: jb.Name, N: len(keys), Percent: po}
				if ok {
					ag.Kappa = &kappa
				}
				rep.Agreement = append(rep.Agreement, ag)
			}
		}
	}
}

// GateJudge is the judge whose verdicts the gate, the checkpoint series and
// the windows use.
func GateJudge(spec *eval.RunSpec) (eval.Judge, bool) {
	if spec.Gate.Judge != "" {
		return spec.Judge(spec.Gate.Judge)
	}
	if len(spec.Judges) > 0 {
		return spec.Judges[0], true
	}
	return eval.Judge{}, false
}
