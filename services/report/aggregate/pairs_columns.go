package aggregate

import (
	"math"
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

// answerLengths are answers' lengths by variant and suite, each over the
// suite's positions (see [sampleIndex]): noLength where the answer has
// none. A map of every answer's length by sample id weighed several times
// as much.
type answerLengths map[[2]string][]int64

// noLength is the length kept for an answer that has none, one no answer
// has: 0 is a length (an empty answer's, or any from before lengths were
// recorded).
const noLength = math.MinInt64

// answerLengths are the visible lengths, in characters, of the answers to
// original samples that did not fail, and whether any answer had a length
// at all: scores from before lengths were recorded have 0 throughout.
func (c *Collector) answerLengths(x *sampleIndex) (answerLengths, bool) {
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
		var k [2]string // the batch's variant and suite of ls
		var ls []int64
		var s *suiteSamples
		for i := 0; i < int(rec.NumRows()); i++ {
			if pert.Value(i) != "" || bucket.Value(i) == string(eval.BucketError) {
				continue
			}
			if ls == nil || variant.Value(i) != k[0] || suite.Value(i) != k[1] {
				k = [2]string{variant.Value(i), suite.Value(i)}
				s = x.suite(k[1])
				if ls = out[k]; ls == nil {
					ls = make([]int64, s.n())
					for p := range ls {
						ls[p] = noLength
					}
					out[[2]string{in.of(k[0]), in.of(k[1])}] = ls
				}
			}
			n := chars.Value(i)
			p := s.pos(sample.Value(i))
			if p < 0 {
				c.missedIndex()
				continue
			}
			ls[p] = n
			recorded = recorded || n > 0
		}
	})
	return out, recorded
}
