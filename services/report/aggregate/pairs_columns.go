package aggregate

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/eval"
)

// position says which answer won both rounds of a pair whose verdict
// flipped with the order: the one shown first, or the one shown second.
type position int8

const (
	positionNone   position = iota
	positionFirst           // the answer shown first won both rounds
	positionSecond          // the answer shown second won both rounds
)

// positions gives, by judgment key, the pairs whose two rounds both went to
// the answer in the same place: a judge that prefers a position rather than
// an answer. Pairs without such a bias are not in the map.
func (c *Collector) positions() map[[16]byte]position {
	out := map[[16]byte]position{}
	c.each(c.judgments, func(rec arrow.RecordBatch) {
		pert := rec.Column(jcPerturbation).(*array.String)
		jid := rec.Column(jcJudgeID).(*array.String)
		cand := rec.Column(jcCandidate).(*array.String)
		suite := rec.Column(jcSuite).(*array.String)
		sample := rec.Column(jcSample).(*array.String)
		cons := rec.Column(jcConsistent).(*array.Boolean)
		r1 := rec.Column(jcRound1).(*array.String)
		r2 := rec.Column(jcRound2).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			if pert.Value(i) != "" || cons.Value(i) {
				continue
			}
			if p := positionOf(r1.Value(i), r2.Value(i)); p != positionNone {
				out[judgmentKey(jid.Value(i), cand.Value(i), suite.Value(i), sample.Value(i))] = p
			}
		}
	})
	return out
}

// positionOf reads two rounds as the judgments table keeps them
// (order:winner:parse, see roundSummary) and says which position won both.
func positionOf(round1, round2 string) position {
	a, b := roundPosition(round1), roundPosition(round2)
	if a == b {
		return a
	}
	return positionNone
}

// roundPosition is the position of the answer that won one round, or
// positionNone for a tie, an error or a round it cannot read.
func roundPosition(summary string) position {
	order, rest, ok := strings.Cut(summary, ":")
	if !ok {
		return positionNone
	}
	winner, _, _ := strings.Cut(rest, ":")
	var first eval.Winner
	switch order {
	case eval.OrderCandidateFirst:
		first = eval.WinCandidate
	case eval.OrderBaselineFirst:
		first = eval.WinBaseline
	default:
		return positionNone
	}
	switch eval.Winner(winner) {
	case eval.WinTie:
		return positionNone
	case first:
		return positionFirst
	case eval.WinCandidate, eval.WinBaseline:
		return positionSecond
	}
	return positionNone
}

// answerLengths are answers' lengths by variant and suite, then by sample
// id: a key of the three strings for each answer would weigh twice as much.
type answerLengths map[[2]string]map[string]int64

// of is the length of variant's answer to sample of suite, if known.
func (l answerLengths) of(variant, suite, sample string) (int64, bool) {
	n, ok := l[[2]string{variant, suite}][sample]
	return n, ok
}

// answerLengths are the visible lengths, in characters, of the answers to
// original samples that did not fail, and whether any answer had a length
// at all: scores from before lengths were recorded have 0 throughout.
func (c *Collector) answerLengths() (answerLengths, bool) {
	out := answerLengths{}
	recorded := false
	in := strs{}
	c.each(c.scores, func(rec arrow.RecordBatch) {
		suite := rec.Column(colSuite).(*array.String)
		sample := rec.Column(colSample).(*array.String)
		variant := rec.Column(colVariant).(*array.String)
		bucket := rec.Column(colBucket).(*array.String)
		pert := rec.Column(colPerturbation).(*array.String)
		chars := rec.Column(colOutputChars).(*array.Int64)
		for i := 0; i < int(rec.NumRows()); i++ {
			if pert.Value(i) != "" || bucket.Value(i) == string(eval.BucketError) {
				continue
			}
			n := chars.Value(i)
			k := [2]string{variant.Value(i), suite.Value(i)}
			m := out[k]
			if m == nil {
				m = map[string]int64{}
				out[[2]string{in.of(k[0]), in.of(k[1])}] = m
			}
			m[strings.Clone(sample.Value(i))] = n
			recorded = recorded || n > 0
		}
	})
	return out, recorded
}
