package aggregate

import (
	"fmt"
	"math"
	"sort"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// verdict is one judged pair as the win rates count it.
type verdict struct {
	suite, sample string
	// cluster is the pair's cluster id, qualified by its suite, or "" when
	// the pair is a cluster of its own.
	cluster string
	// score is the candidate's: 1 a win, 0.5 a tie, 0 a loss.
	score float64
}

// judgeVerdicts are one judge's verdicts on one candidate.
type judgeVerdicts struct {
	pairs                     []verdict
	wins, losses, ties, flips int
	first, second             int // flips that went to one position both times
	errs, genErrs             int
	clustered                 bool // some pair's suite clusters its samples
}

// verdicts groups the judgments of original samples by judge version and
// candidate.
func (c *Collector) verdicts() map[[2]string]*judgeVerdicts {
	pos := c.positions()
	by := map[[2]string]*judgeVerdicts{}
	for _, j := range c.judgmentRows() {
		k := [2]string{j.judgeID, j.cand}
		a := by[k]
		if a == nil {
			a = &judgeVerdicts{}
			by[k] = a
		}
		v := verdict{suite: j.suite, sample: j.sample}
		switch {
		case j.genFailed:
			a.genErrs++
			continue
		case j.err != "":
			a.errs++
			continue
		case j.winner == string(eval.WinCandidate):
			a.wins++
			v.score = 1
		case j.winner == string(eval.WinBaseline):
			a.losses++
		default:
			a.ties++
			v.score = 0.5
		}
		if !j.consistent {
			a.flips++
			// Only a flip can go to one position both times.
			switch pos[judgmentKey(j.judgeID, j.cand, j.suite, j.sample)] {
			case positionFirst:
				a.first++
			case positionSecond:
				a.second++
			}
		}
		if c.clusteredSuite(j.suite) {
			a.clustered = true
			v.cluster = suiteCluster(j.suite, j.cluster)
		}
		a.pairs = append(a.pairs, v)
	}
	return by
}

// winRateOf is the win rate of pairs: the t interval on the per-pair
// scores, cluster-robust when clustered.
func winRateOf(pairs []verdict, clustered bool) stats.WinRate {
	if !clustered {
		var w, l, t int
		for _, p := range pairs {
			switch p.score {
			case 1:
				w++
			case 0:
				l++
			default:
				t++
			}
		}
		return stats.WinRateOf(w, l, t)
	}
	scores, ids := make([]float64, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		scores[i], ids[i] = p.score, p.cluster
	}
	return stats.WinRateClustered(scores, ids)
}

// pairwise gives each judge's verdicts on each candidate: wins, losses and
// ties over the pairs it judged, the win rate with its interval, the
// decisive share and sign test, power, position bias, the win rate at equal
// lengths and per suite, and apart from them the pairs it failed on and
// those never shown to it because a generation failed. With two candidates
// or more it also ranks them (see [Collector.ranking]).
func (c *Collector) pairwise(rep *document.Report) {
	by := c.verdicts()
	lengths, haveLengths := c.answerLengths()
	gj, gated := GateJudge(c.spec)
	for _, jd := range c.spec.Judges {
		for _, cand := range c.spec.Candidates() {
			a := by[[2]string{jd.ID(), cand}]
			if a == nil {
				a = &judgeVerdicts{}
			}
			n := len(a.pairs)
			p := document.Pairwise{Judge: jd.Name, JudgeID: jd.ID(), Variant: cand, Baseline: c.spec.Baseline,
				N: n, Wins: a.wins, Losses: a.losses, Ties: a.ties, Errors: a.errs, GenerationErrors: a.genErrs,
				FirstShown: a.first, SecondShown: a.second, BySuite: c.bySuite(a)}
			var minRate *float64
			if gated && jd.ID() == gj.ID() {
				minRate = c.spec.Gate.WinRateMin
			}
			if n > 0 {
				fillWinRate(&p, winRateOf(a.pairs, a.clustered), minRate)
				flips := float64(a.flips) / float64(n)
				p.FlipRate = &flips
				if haveLengths {
					p.LengthControlled = lengthControlled(a.pairs, lengths, cand, c.spec.Baseline)
					if lc := p.LengthControlled; lc.WinRate != nil && math.Abs(*lc.WinRate-*p.WinRate) > lengthShift {
						rep.Warnings = append(rep.Warnings, fmt.Sprintf("judge %s's win rate for %s moves from %.3f to %.3f when answer length is held equal: the judge may be rewarding length",
							jd.Name, cand, *p.WinRate, *lc.WinRate))
					}
				}
			}
			if left := a.errs + a.genErrs; left > 0 {
				p.WorstCase = worstWinRate(a.wins, a.losses+left, a.ties)
			}
			rep.Pairwise = append(rep.Pairwise, p)
		}
	}
	c.ranking(rep, by)
}

// fillWinRate sets p's win rate, interval, decisive share, sign test and
// power from r. p is Underpowered, as a delta is ([markUnderpowered]),
// when its interval holds ½ (or, for the gate's judge with a win_rate_min,
// minRate) and its MDE exceeds the win rate's distance from it; a win rate
// with no interval is when its MDE exceeds that distance.
func fillWinRate(p *document.Pairwise, r stats.WinRate, minRate *float64) {
	rate := r.Rate
	p.WinRate, p.Clusters, p.Undefined = &rate, r.Clusters, r.Undefined
	if r.Undefined == "" {
		ci := r.CI
		p.CI = &ci
	}
	if r.Wins+r.Losses > 0 {
		dec, dci, sp := r.Decisive, r.DecisiveCI, r.SignP
		p.Decisive, p.DecisiveCI, p.SignP = &dec, &dci, &sp
	}
	if !math.IsNaN(r.MDE) {
		mde := r.MDE
		p.MDE = &mde
		ci := [2]float64{math.Inf(-1), math.Inf(1)} // no interval decides nothing
		if p.CI != nil {
			ci = *p.CI
		}
		p.Underpowered = undecided(&mde, rate, ci, 0.5) || (minRate != nil && undecided(&mde, rate, ci, *minRate))
	}
}

// lengthShift is how far the length-controlled win rate may move from the
// raw one before the report warns that the judge may be rewarding length.
const lengthShift = 0.10

// lengthControlled is the win rate of pairs at equal answer lengths, over
// the pairs whose two answers both have a length.
func lengthControlled(pairs []verdict, lengths answerLengths, cand, base string) *document.LengthControlled {
	var y, diff []float64
	for _, p := range pairs {
		lc, okc := lengths.of(cand, p.suite, p.sample)
		lb, okb := lengths.of(base, p.suite, p.sample)
		if okc && okb {
			y = append(y, p.score)
			diff = append(diff, float64(lc-lb))
		}
	}
	r := stats.LengthControlledWinRate(y, diff)
	out := &document.LengthControlled{N: r.N, Slope: r.Slope, Undefined: r.Undefined}
	if r.Undefined == "" {
		rate, ci := r.Rate, r.CI
		out.WinRate, out.CI = &rate, &ci
	}
	return out
}

// worstWinRate is the win rate of wins, losses and ties with its t
// interval; when every pair scored the same (every one a loss, say) the t
// interval is undefined and the Wilson interval of the rate stands in.
func worstWinRate(wins, losses, ties int) *document.Estimate {
	r := stats.WinRateOf(wins, losses, ties)
	e := &document.Estimate{N: r.N, Mean: r.Rate, CI: r.CI}
	if r.Undefined != "" {
		// Wilson (1927) score interval, the rate as a proportion of N.
		e.CI = stats.Wilson(r.Rate, r.N)
	}
	return e
}

// bySuite is the win rate of a judge's verdicts on each suite, in the
// spec's order, for the suites it judged a pair of.
func (c *Collector) bySuite(a *judgeVerdicts) []document.SuiteWinRate {
	out := []document.SuiteWinRate{}
	// The pairs are in key order, a suite's together: each suite's are a
	// run of them, not a copy.
	groups := map[string][]verdict{}
	for i := 0; i < len(a.pairs); {
		j := i + 1
		for j < len(a.pairs) && a.pairs[j].suite == a.pairs[i].suite {
			j++
		}
		groups[a.pairs[i].suite] = a.pairs[i:j:j]
		i = j
	}
	for _, su := range c.spec.Suites {
		pairs := groups[su.Name]
		if len(pairs) == 0 {
			continue
		}
		r := winRateOf(pairs, c.clusteredSuite(su.Name))
		rate := r.Rate
		s := document.SuiteWinRate{Suite: su.Name, N: r.N, Wins: r.Wins, Losses: r.Losses, Ties: r.Ties, WinRate: &rate}
		if r.Undefined == "" {
			ci := r.CI
			s.CI = &ci
		}
		out = append(out, s)
	}
	return out
}

// verdictOrder is the judges' verdicts from the candidate's point of view,
// worst first, for the weighted kappa.
var verdictOrder = []string{string(eval.WinBaseline), string(eval.WinTie), string(eval.WinCandidate)}

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
				po, _, _ := stats.Agreement(la, lb)
				ag := document.Agreement{Variant: cand, JudgeA: ja.Name, JudgeB: jb.Name, N: len(keys), Percent: po}
				if kappa, ci, ok := stats.KappaCI(la, lb); ok {
					ag.Kappa, ag.KappaCI = &kappa, &ci
				}
				if kappa, ci, ok := stats.WeightedKappaCI(la, lb, verdictOrder); ok {
					ag.WeightedKappa, ag.WeightedKappaCI = &kappa, &ci
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
