package metric

import (
	"fmt"
	"math"
)

// SacreBLEUVersion is the sacreBLEU release whose BLEU and chrF assay
// reproduces (golden-tested in testdata/reference); signatures carry it.
const SacreBLEUVersion = "2.6.0"

// bleuOrder is BLEU's maximum n-gram order.
const bleuOrder = 4

// BLEUStats are one segment's (or, summed, a corpus's) sufficient
// statistics for BLEU, as sacreBLEU collects them.
type BLEUStats struct {
	HypLen  int
	RefLen  int
	Correct [bleuOrder]int
	Total   [bleuOrder]int
}

// Add sums statistics: corpus BLEU is the score of the summed segments.
func (s *BLEUStats) Add(o BLEUStats) {
	s.HypLen += o.HypLen
	s.RefLen += o.RefLen
	for n := range bleuOrder {
		s.Correct[n] += o.Correct[n]
		s.Total[n] += o.Total[n]
	}
}

// ngramKey is a word n-gram of up to four tokens, as token ids of one
// segment's vocabulary: a comparable key with no string to build.
type ngramKey struct {
	n          uint8
	a, b, c, d int32
}

// vocab numbers the tokens of one segment and its references.
type vocab map[string]int32

func (v vocab) ids(tokens []string) []int32 {
	out := make([]int32, len(tokens))
	for i, t := range tokens {
		id, ok := v[t]
		if !ok {
			id = int32(len(v))
			v[t] = id
		}
		out[i] = id
	}
	return out
}

// wordNgrams counts the 1..max-grams of ids.
func wordNgrams(ids []int32, maxN int) map[ngramKey]int {
	m := make(map[ngramKey]int, len(ids)*maxN)
	for n := 1; n <= maxN; n++ {
		for i := 0; i+n <= len(ids); i++ {
			k := ngramKey{n: uint8(n), a: ids[i]}
			if n > 1 {
				k.b = ids[i+1]
			}
			if n > 2 {
				k.c = ids[i+2]
			}
			if n > 3 {
				k.d = ids[i+3]
			}
			m[k]++
		}
	}
	return m
}

// BLEUSegment collects a hypothesis's statistics against its references
// as sacreBLEU does: n-gram counts clipped by the maximum count in any one
// reference, and the reference length closest to the hypothesis's (the
// shorter on a tie).
func BLEUSegment(hyp string, refs []string, tok Tokenizer) BLEUStats {
	v := vocab{}
	var refMax map[ngramKey]int
	refLens := make([]int, 0, len(refs))
	for _, ref := range refs {
		ids := v.ids(bleuTokens(ref, tok))
		refLens = append(refLens, len(ids))
		ng := wordNgrams(ids, bleuOrder)
		if refMax == nil {
			refMax = ng
			continue
		}
		for k, c := range ng {
			refMax[k] = max(refMax[k], c)
		}
	}
	ids := v.ids(bleuTokens(hyp, tok))
	st := BLEUStats{HypLen: len(ids), RefLen: closestRefLen(len(ids), refLens)}
	for k, c := range wordNgrams(ids, bleuOrder) {
		st.Total[k.n-1] += c
		st.Correct[k.n-1] += min(c, refMax[k])
	}
	return st
}

func closestRefLen(hypLen int, refLens []int) int {
	best, bestDiff := 0, -1
	for _, l := range refLens {
		d := hypLen - l
		if d < 0 {
			d = -d
		}
		if bestDiff == -1 || d < bestDiff || d == bestDiff && l < best {
			best, bestDiff = l, d
		}
	}
	return best
}

// Score is BLEU on a 0–100 scale with sacreBLEU's "exp" smoothing (each
// order with no match counts as 1/2^k matches, k = 1, 2, …). With
// effectiveOrder, orders the hypothesis is too short to have are left out
// of the geometric mean: sacreBLEU's sentence_bleu does this, its
// corpus_bleu does not.
func (s BLEUStats) Score(effectiveOrder bool) float64 {
	bp := 1.0
	if s.HypLen < s.RefLen {
		bp = 0
		if s.HypLen > 0 {
			bp = math.Exp(1 - float64(s.RefLen)/float64(s.HypLen))
		}
	}
	anyCorrect := false
	for _, c := range s.Correct {
		anyCorrect = anyCorrect || c > 0
	}
	if !anyCorrect {
		return 0
	}
	var precisions [bleuOrder]float64
	smooth := 1.0
	eff := bleuOrder
	for n := 1; n <= bleuOrder; n++ {
		if s.Total[n-1] == 0 {
			break
		}
		if effectiveOrder {
			eff = n
		}
		if s.Correct[n-1] == 0 {
			smooth *= 2
			precisions[n-1] = 100 / (smooth * float64(s.Total[n-1]))
		} else {
			precisions[n-1] = 100 * float64(s.Correct[n-1]) / float64(s.Total[n-1])
		}
	}
	sum := 0.0
	for _, p := range precisions[:eff] {
		sum += floorLog(p)
	}
	return bp * math.Exp(sum/float64(eff))
}

// floorLog is sacreBLEU's my_log: the log of 0 is a very large negative
// number rather than -Inf.
func floorLog(x float64) float64 {
	if x == 0 {
		return -9999999999
	}
	return math.Log(x)
}

// SentenceBLEU is sacreBLEU's sentence_bleu with its defaults: effective
// order, exp smoothing, mixed case.
func SentenceBLEU(hyp string, refs []string, tok Tokenizer) float64 {
	return BLEUSegment(hyp, refs, tok).Score(true)
}

// BLEUSignature is sacreBLEU's signature for corpus BLEU computed as assay
// computes it. nrefs is the number of references per segment, or -1 when
// it varies.
func BLEUSignature(nrefs int, tok Tokenizer, effectiveOrder bool) string {
	return fmt.Sprintf("nrefs:%s|case:mixed|eff:%s|tok:%s|smooth:exp|version:%s",
		nrefsField(nrefs), yesNo(effectiveOrder), tok, SacreBLEUVersion)
}

func nrefsField(n int) string {
	if n < 0 {
		return "var"
	}
	return fmt.Sprint(n)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
