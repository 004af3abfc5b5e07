package aggregate

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// verdict is one judged pair as the win rates count it. A run holds one
// for each pair of each judge and candidate at once, so it keeps no string
// of its own: its suite and cluster are shared with the other pairs that
// have them, and its sample is its position in the suite.
type verdict struct {
	suite string
	// cluster is the pair's cluster id, qualified by its suite, or "" when
	// the pair is a cluster of its own.
	cluster string
	// pos is the sample's position in its suite (see [sampleIndex]).
	pos int32
	// score is the candidate's: 1 a win, 0.5 a tie, 0 a loss.
	score float64
}

// judgeVerdicts are one judge's verdicts on one candidate (or compare
// pair).
type judgeVerdicts struct {
	// pairs are in key order: by suite, then by sample.
	pairs                     []verdict
	wins, losses, ties, flips int
	first, second             int // flips that went to one position both times
	errs, genErrs             int
	clustered                 bool // some pair's suite clusters its samples
}

// verdicts groups the judgments of original samples by judge version and
// pair (its [eval.RunSpec.PairName]: the candidate, for a pair with the
// baseline): robustness copies are compared by their scores, not counted
// in win rates. It reads the judgments batch by batch, in the order they
// arrived, and then puts each judge's and candidate's pairs in key order
// (x's positions follow the sample ids), so that sums over them — and so
// the report — are the same to the last bit however the results arrived.
func (c *Collector) verdicts(x *sampleIndex) map[[2]string]*judgeVerdicts {
	by := map[[2]string]*judgeVerdicts{}
	in, clusters := strs{}, suiteClusters{}
	c.each(c.judgments, func(rec arrow.RecordBatch) {
		jc := judgmentColumnsOf(rec)
		// A batch's rows mostly share their judge, pair and suite: each
		// is looked up again only when it changes.
		var a *judgeVerdicts
		var k [3]string // a's judge id, candidate and baseline, as the batch has them
		var s *suiteSamples
		var su string
		clustered := false
		for i := 0; i < int(rec.NumRows()); i++ {
			if jc.pert.Value(i) != "" {
				continue
			}
			if a == nil || jc.jid.Value(i) != k[0] || jc.cand.Value(i) != k[1] || jc.base.Value(i) != k[2] {
				k = [3]string{jc.jid.Value(i), jc.cand.Value(i), jc.base.Value(i)}
				pair := c.spec.PairName(k[1], k[2])
				if a = by[[2]string{k[0], pair}]; a == nil {
					a = &judgeVerdicts{pairs: make([]verdict, 0, c.judgedPairs(k[0], pair))}
					by[[2]string{in.of(k[0]), in.of(pair)}] = a
				}
			}
			if s == nil || jc.suite.Value(i) != su {
				su = in.of(jc.suite.Value(i))
				s, clustered = x.suite(su), c.clusteredSuite(su)
			}
			v := verdict{suite: su}
			switch {
			case jc.genFailed.Value(i):
				a.genErrs++
				continue
			case jc.errs.Value(i) != "":
				a.errs++
				continue
			case jc.winner.Value(i) == string(eval.WinCandidate):
				a.wins++
				v.score = 1
			case jc.winner.Value(i) == string(eval.WinBaseline):
				a.losses++
			default:
				a.ties++
				v.score = 0.5
			}
			if !jc.cons.Value(i) {
				a.flips++
				// Only a flip can go to one position both times.
				switch positionOf(jc.r1.Value(i), jc.r2.Value(i)) {
				case positionFirst:
					a.first++
				case positionSecond:
					a.second++
				}
			}
			if clustered {
				a.clustered = true
				v.cluster = clusters.of(su, jc.cluster.Value(i))
			}
			if v.pos = s.pos(jc.sample.Value(i)); v.pos < 0 {
				c.missedIndex()
				continue
			}
			a.pairs = append(a.pairs, v)
		}
	})
	for _, a := range by {
		slices.SortFunc(a.pairs, func(p, q verdict) int {
			return cmp.Or(cmp.Compare(p.suite, q.suite), cmp.Compare(p.pos, q.pos))
		})
	}
	return by
}

// judgedPairs is about how many judgments of judge id on pair (see
// [Collector.verdicts]) the table holds, a few more (robustness copies
// and superseded judgments count among those that arrived): room for
// their verdicts from the start, rather than a slice grown a quarter at a
// time, each smaller one left to the collector (at 1M pairs they would
// weigh about four times the verdicts). It leaves out the judgments of a continuous run's folded
// windows, which the table no longer holds, and is never more than the
// table's rows.
func (c *Collector) judgedPairs(id, pair string) int {
	n := 0
	for _, su := range c.spec.Suites {
		k := judgmentCount(id, pair, su.Name)
		n += max(0, c.arrived[k]-c.fold.arrived[k])
	}
	return min(n, c.judgments.rows)
}

// suiteClusters share one qualified cluster id (see [suiteCluster]) between
// the pairs of a cluster, keyed by suite and cluster id.
type suiteClusters map[[2]string]string

// of is the shared qualified id of cluster id of suite, "" for "". suite
// must be the report's own string (see [strs]).
func (ids suiteClusters) of(suite, id string) string {
	if id == "" {
		return ""
	}
	if q, ok := ids[[2]string{suite, id}]; ok {
		return q
	}
	q := suiteCluster(suite, id)
	ids[[2]string{suite, strings.Clone(id)}] = q
	return q
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
// those never shown to it because a generation failed. It gives the same
// of the compare list's pairs (see [Collector.comparePairwise]), and with
// two candidates or more it ranks them (see [Collector.ranking]).
func (c *Collector) pairwise(rep *document.Report, x *sampleIndex) {
	by := c.verdicts(x)
	lengths, haveLengths := c.answerLengths(x)
	gj, gated := GateJudge(c.spec)
	for _, jd := range c.spec.Judges {
		for _, cand := range c.spec.Candidates() {
			var minRate *float64
			if gated && jd.ID() == gj.ID() {
				minRate = c.spec.Gate.WinRateMin
			}
			p, shift := c.pairwiseRow(jd, cand, c.spec.Baseline, by[[2]string{jd.ID(), cand}], lengths, haveLengths, minRate)
			if shift {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("judge %s's win rate for %s moves from %.3f to %.3f when answer length is held equal: the judge may be rewarding length",
					jd.Name, cand, *p.WinRate, *p.LengthControlled.WinRate))
			}
			rep.Pairwise = append(rep.Pairwise, p)
		}
	}
	c.comparePairwise(rep, by, lengths, haveLengths)
	c.ranking(rep, by)
}

// pairwiseRow is judge jd's row of verdicts a (nil: none yet) on cand
// against base, and whether its win rate moves by more than lengthShift
// when answer length is held equal. minRate is the gate's win_rate_min
// when the gate reads the row.
func (c *Collector) pairwiseRow(jd eval.Judge, cand, base string, a *judgeVerdicts, lengths answerLengths, haveLengths bool, minRate *float64) (document.Pairwise, bool) {
	if a == nil {
		a = &judgeVerdicts{}
	}
	n := len(a.pairs)
	p := document.Pairwise{Judge: jd.Name, JudgeID: jd.ID(), Variant: cand, Baseline: base,
		N: n, Wins: a.wins, Losses: a.losses, Ties: a.ties, Errors: a.errs, GenerationErrors: a.genErrs,
		FirstShown: a.first, SecondShown: a.second, BySuite: c.bySuite(a)}
	shift := false
	if n > 0 {
		fillWinRate(&p, winRateOf(a.pairs, a.clustered), minRate)
		if p.Single = jd.Single(); !p.Single {
			flips := float64(a.flips) / float64(n)
			p.FlipRate = &flips
		}
		if haveLengths {
			p.LengthControlled = lengthControlled(a.pairs, lengths, cand, base)
			lc := p.LengthControlled
			shift = lc.WinRate != nil && math.Abs(*lc.WinRate-*p.WinRate) > lengthShift
		}
	}
	if left := a.errs + a.genErrs; left > 0 {
		p.WorstCase = worstWinRate(a.wins, a.losses+left, a.ties)
	}
	return p, shift
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
	y, diff := make([]float64, 0, len(pairs)), make([]float64, 0, len(pairs))
	var lc, lb []int64 // the lengths in the suite of pairs[i]
	for i, p := range pairs {
		if i == 0 || p.suite != pairs[i-1].suite {
			lc, lb = lengths[[2]string{cand, p.suite}], lengths[[2]string{base, p.suite}]
		}
		if lc == nil || lb == nil || lc[p.pos] == noLength || lb[p.pos] == noLength {
			continue
		}
		y = append(y, p.score)
		diff = append(diff, float64(lc[p.pos]-lb[p.pos]))
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
func (c *Collector) agreement(rep *document.Report, x *sampleIndex) {
	rep.Agreement = []document.Agreement{}
	if len(c.spec.Judges) < 2 {
		return
	}
	winners := c.winners(x)
	suites := slices.Sorted(maps.Keys(x.suites))
	for a := 0; a < len(c.spec.Judges); a++ {
		for b := a + 1; b < len(c.spec.Judges); b++ {
			ja, jb := c.spec.Judges[a], c.spec.Judges[b]
			for _, cand := range c.spec.Candidates() {
				va, vb := winners.by[[2]string{ja.ID(), cand}], winners.by[[2]string{jb.ID(), cand}]
				// The pairs both judged, in key order: by suite, then by
				// sample. They are counted first, so that the winners'
				// lists take their room once.
				both := func(yield func(wa, wb string)) {
					for _, su := range suites {
						sa, sb := va[su], vb[su]
						if sa == nil || sb == nil {
							continue
						}
						for p := range sa.codes {
							wa, oka := winners.at(sa, int32(p))
							wb, okb := winners.at(sb, int32(p))
							if oka && okb {
								yield(wa, wb)
							}
						}
					}
				}
				n := 0
				both(func(string, string) { n++ })
				if n == 0 {
					continue
				}
				la, lb := make([]string, 0, n), make([]string, 0, n)
				both(func(wa, wb string) { la, lb = append(la, wa), append(lb, wb) })
				po, _, _ := stats.Agreement(la, lb)
				ag := document.Agreement{Variant: cand, JudgeA: ja.Name, JudgeB: jb.Name, N: len(la), Percent: po}
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

// judgeWinners are the winners of the judgments of original samples made
// without error, by judge version and candidate, then by suite. A pair's
// winner costs a byte: judges give a few distinct winners (candidate,
// baseline, tie), numbered from 1 in book; 0 is a pair with no verdict.
// Should the judgments give more distinct winners than a byte numbers, the
// pairs of the others are kept apart with their winner whole.
type judgeWinners struct {
	by   map[[2]string]map[string]*suiteWinners
	book []string
	code map[string]uint8
}

// suiteWinners are one judge's winners on one candidate's pairs of one
// suite.
type suiteWinners struct {
	// codes[p] is the winner of the pair of the sample at position p.
	codes []uint8
	// others are the winners of code otherWinner, by position.
	others map[int32]string
}

// otherWinner is the code of a winner beyond the book's.
const otherWinner = math.MaxUint8

// at is the winner of s's pair at position p, if it has one.
func (w *judgeWinners) at(s *suiteWinners, p int32) (string, bool) {
	switch k := s.codes[p]; k {
	case 0:
		return "", false
	case otherWinner:
		return s.others[p], true
	default:
		return w.book[k-1], true
	}
}

// set records winner as s's pair's at position p.
func (w *judgeWinners) set(s *suiteWinners, p int32, winner string) {
	k, ok := w.code[winner]
	if !ok && len(w.book) < otherWinner-1 {
		w.book = append(w.book, strings.Clone(winner))
		k = uint8(len(w.book))
		w.code[w.book[k-1]] = k
		ok = true
	}
	if !ok {
		if s.others == nil {
			s.others = map[int32]string{}
		}
		s.others[p] = strings.Clone(winner)
		k = otherWinner
	}
	s.codes[p] = k
}

// winners reads the judgments of candidates with the baseline batch by
// batch into their winners, for the judges' agreement: a map of every pair's winner by sample id, per judge,
// weighed some fifty times as much.
func (c *Collector) winners(x *sampleIndex) *judgeWinners {
	w := &judgeWinners{by: map[[2]string]map[string]*suiteWinners{}, code: map[string]uint8{}}
	in := strs{}
	c.each(c.judgments, func(rec arrow.RecordBatch) {
		jc := judgmentColumnsOf(rec)
		var k [3]string // the batch's judge, candidate and suite of s
		var s *suiteWinners
		var ss *suiteSamples
		for i := 0; i < int(rec.NumRows()); i++ {
			if jc.pert.Value(i) != "" || jc.errs.Value(i) != "" || jc.compared(i, c.spec.Baseline) {
				continue
			}
			if s == nil || jc.jid.Value(i) != k[0] || jc.cand.Value(i) != k[1] || jc.suite.Value(i) != k[2] {
				k = [3]string{jc.jid.Value(i), jc.cand.Value(i), jc.suite.Value(i)}
				m := w.by[[2]string{k[0], k[1]}]
				if m == nil {
					m = map[string]*suiteWinners{}
					w.by[[2]string{in.of(k[0]), in.of(k[1])}] = m
				}
				ss = x.suite(k[2])
				if s = m[k[2]]; s == nil {
					s = &suiteWinners{codes: make([]uint8, ss.n())}
					m[in.of(k[2])] = s
				}
			}
			p := ss.pos(jc.sample.Value(i))
			if p < 0 {
				c.missedIndex()
				continue
			}
			w.set(s, p, jc.winner.Value(i))
		}
	})
	return w
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
