package aggregate

import (
	"fmt"

	"github.com/assay-eval/assay/services/report/document"
)

// comparePairwise gives each judge's verdicts on each pair [a, b] of the
// compare list, in the list's order, as [Collector.pairwise] gives them on
// a candidate against the baseline: a in the candidate's place, b in the
// baseline's. A pair of two candidates has judgments of its own; a pair
// that names the baseline is one of its pairs, read from the candidate's
// verdicts (turned round when the baseline comes first). The gate reads
// none of these rows, and they warn when length moves a win rate as the
// baseline's do.
func (c *Collector) comparePairwise(rep *document.Report, by map[[2]string]*judgeVerdicts, lengths answerLengths, haveLengths bool) {
	rep.ComparePairwise = []document.Pairwise{}
	for _, jd := range c.spec.Judges {
		for _, cp := range c.spec.Compare {
			if len(cp) != 2 || cp[0] == cp[1] {
				continue
			}
			a, b := cp[0], cp[1]
			_, okA := c.spec.Variant(a)
			_, okB := c.spec.Variant(b)
			if !okA || !okB {
				continue
			}
			var v *judgeVerdicts
			switch c.spec.Baseline {
			case b:
				v = by[[2]string{jd.ID(), a}]
			case a:
				v = by[[2]string{jd.ID(), b}].turned()
			default:
				v = by[[2]string{jd.ID(), c.spec.PairName(a, b)}]
			}
			p, shift := c.pairwiseRow(jd, a, b, v, lengths, haveLengths, nil)
			if shift {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("judge %s's win rate for %s against %s moves from %.3f to %.3f when answer length is held equal: the judge may be rewarding length",
					jd.Name, a, b, *p.WinRate, *p.LengthControlled.WinRate))
			}
			rep.ComparePairwise = append(rep.ComparePairwise, p)
		}
	}
}

// turned are the verdicts v from the other side: the baseline's wins are
// its losses. Position bias is the same either way round (the answer shown
// first won both orders, whichever variant it was). Nil when v is.
func (v *judgeVerdicts) turned() *judgeVerdicts {
	if v == nil {
		return nil
	}
	t := *v
	t.wins, t.losses = v.losses, v.wins
	t.pairs = make([]verdict, len(v.pairs))
	for i, p := range v.pairs {
		p.score = 1 - p.score
		t.pairs[i] = p
	}
	return &t
}
