package metric

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
)

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

// BLEUSegment collects a hypothesis's statistics against its references
// as sacreBLEU does: n-gram counts clipped by the maximum count in any one
// reference, and the reference length closest to the hypothesis's (the
// shorter on a tie).
func BLEUSegment(hyp string, refs []string, tok Tokenizer) BLEUStats {
	sc := getScratch()
	defer putScratch(sc)
	sc.resetIDs()
	// Words are numbered in one vocabulary per segment, and an n-gram of
	// up to four word numbers of 15 bits each is one uint64 key.
	hypIDs := sc.wordIDs(sc.bleuTokenized(hyp, tok), sc.ids[:0])
	sc.ids = hypIDs
	if sc.nextID >= 1<<15 {
		return bleuSegmentSlow(hyp, refs, tok)
	}
	refLens := make([]int, 0, 4)
	sc.refMax.reset(bleuOrder * 8)
	for i, ref := range refs {
		ids := sc.wordIDs(sc.bleuTokenized(ref, tok), sc.refIDs[:0])
		sc.refIDs = ids
		refLens = append(refLens, len(ids))
		if sc.nextID >= 1<<15 {
			return bleuSegmentSlow(hyp, refs, tok)
		}
		t := &sc.refMax
		if i > 0 {
			t = &sc.ref
		}
		t.reset(bleuOrder * len(ids))
		addWordGrams(t, ids)
		if i > 0 {
			for _, slot := range t.slots {
				sc.refMax.raise(t.at(slot))
			}
		}
	}
	st := BLEUStats{HypLen: len(hypIDs), RefLen: closestRefLen(len(hypIDs), refLens)}
	sc.hyp.reset(bleuOrder * len(hypIDs))
	addWordGrams(&sc.hyp, hypIDs)
	for _, slot := range sc.hyp.slots {
		k, c := sc.hyp.at(slot)
		n := k >> 60
		st.Total[n-1] += int(c)
		st.Correct[n-1] += int(min(c, sc.refMax.get(k)))
	}
	return st
}

// wordIDs numbers the whitespace-separated words of s (Python's split).
func (sc *scratch) wordIDs(s string, ids []uint32) []uint32 {
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		var space bool
		n := 1
		if c < utf8.RuneSelf {
			space = c == ' ' || c >= '\t' && c <= '\r' || c >= 0x1c && c <= 0x1f
		} else {
			var r rune
			r, n = utf8.DecodeRuneInString(s[i:])
			space = isPySpace(r)
		}
		if space {
			if start >= 0 {
				ids = append(ids, sc.wordID(s[start:i]))
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i += n
	}
	if start >= 0 {
		ids = append(ids, sc.wordID(s[start:]))
	}
	return ids
}

// addWordGrams counts the 1- to 4-grams of ids, keyed by order (top
// four bits) and the words' numbers.
func addWordGrams(t *gramTable, ids []uint32) {
	for i := range ids {
		var k uint64
		for n := 1; n <= bleuOrder && i+n <= len(ids); n++ {
			k |= uint64(ids[i+n-1]) << (15 * (n - 1))
			t.add(uint64(n)<<60 | k)
		}
	}
}

// bleuSegmentSlow is BLEUSegment for a segment with more distinct words
// than 15 bits number: n-grams are counted by their words, per order.
func bleuSegmentSlow(hyp string, refs []string, tok Tokenizer) BLEUStats {
	var refMax [bleuOrder]map[string]int
	refLens := make([]int, 0, len(refs))
	for i, ref := range refs {
		words := bleuTokens(ref, tok)
		refLens = append(refLens, len(words))
		ng := wordNgrams(words)
		if i == 0 {
			refMax = ng
			continue
		}
		for n := range bleuOrder {
			for k, c := range ng[n] {
				refMax[n][k] = max(refMax[n][k], c)
			}
		}
	}
	words := bleuTokens(hyp, tok)
	st := BLEUStats{HypLen: len(words), RefLen: closestRefLen(len(words), refLens)}
	for n, grams := range wordNgrams(words) {
		for k, c := range grams {
			st.Total[n] += c
			st.Correct[n] += min(c, refMax[n][k])
		}
	}
	return st
}

// wordNgrams counts each order's n-grams; words are joined with a space,
// which no word contains, so that a key is one n-gram only.
func wordNgrams(words []string) [bleuOrder]map[string]int {
	var m [bleuOrder]map[string]int
	for n := 1; n <= bleuOrder; n++ {
		m[n-1] = map[string]int{}
		for i := 0; i+n <= len(words); i++ {
			m[n-1][strings.Join(words[i:i+n], " ")]++
		}
	}
	return m
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

// BLEUSignature is sacreBLEU's signature for BLEU computed as assay
// computes it; see [eval.BLEUSignature].
func BLEUSignature(nrefs int, tok Tokenizer, effectiveOrder bool) string {
	return eval.BLEUSignature(nrefs, string(tok), effectiveOrder)
}
