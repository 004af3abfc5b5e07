package metric

import (
	"strings"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
)

// chrF2 as sacreBLEU defines it by default: character n-grams of orders
// 1–6 with whitespace removed, no word n-grams, β = 2.
const (
	chrfOrder = 6
	chrfBeta  = 2
)

// CHRFStats are one segment's (or, summed, a corpus's) chrF statistics:
// for each character n-gram order, the hypothesis's n-grams, the
// reference's and the matches.
type CHRFStats [chrfOrder]struct{ Hyp, Ref, Match int }

// Add sums statistics: corpus chrF is the score of the summed segments.
func (s *CHRFStats) Add(o CHRFStats) {
	for i := range s {
		s[i].Hyp += o[i].Hyp
		s[i].Ref += o[i].Ref
		s[i].Match += o[i].Match
	}
}

// CHRFSegment collects a hypothesis's chrF statistics against the
// reference that gives it the best score (the first on a tie), as
// sacreBLEU does with several references. Whitespace is removed first, as
// sacreBLEU's ”.join(line.split()) does.
func CHRFSegment(hyp string, refs []string) CHRFStats {
	sc := getScratch()
	defer putScratch(sc)
	sc.resetIDs()
	// Characters are numbered in one vocabulary per segment, and an n-gram
	// of up to six numbers of 10 bits each is one uint64 key.
	hypIDs := sc.charIDs(hyp, sc.ids[:0])
	sc.ids = hypIDs
	sc.hyp.reset(chrfOrder * len(hypIDs))
	addCharGrams(&sc.hyp, hypIDs)
	var best CHRFStats
	bestF := -1.0
	for _, ref := range refs {
		refIDs := sc.charIDs(ref, sc.refIDs[:0])
		sc.refIDs = refIDs
		if sc.nextID >= 1<<10 {
			return chrfSegmentSlow(hyp, refs)
		}
		sc.ref.reset(chrfOrder * len(refIDs))
		addCharGrams(&sc.ref, refIDs)
		var st CHRFStats
		for n := 1; n <= chrfOrder; n++ {
			// sacreBLEU counts no hypothesis n-grams of an order the
			// reference has none of.
			if r := len(refIDs) - n + 1; r > 0 {
				st[n-1].Ref = r
				st[n-1].Hyp = max(len(hypIDs)-n+1, 0)
			}
		}
		for _, slot := range sc.hyp.slots {
			k, c := sc.hyp.at(slot)
			if m := min(c, sc.ref.get(k)); m > 0 {
				st[k>>60-1].Match += int(m)
			}
		}
		if f := st.Score(); f > bestF {
			best, bestF = st, f
		}
	}
	if sc.nextID >= 1<<10 {
		return chrfSegmentSlow(hyp, refs)
	}
	return best
}

// charIDs numbers the characters of s but whitespace.
func (sc *scratch) charIDs(s string, ids []uint32) []uint32 {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' || c >= '\t' && c <= '\r' || c >= 0x1c && c <= 0x1f {
				continue
			}
			ids = append(ids, sc.runeID(rune(c)))
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if !isPySpace(r) {
			ids = append(ids, sc.runeID(r))
		}
	}
	return ids
}

// addCharGrams counts the 1- to 6-grams of ids, keyed by order (top four
// bits) and the characters' numbers.
func addCharGrams(t *gramTable, ids []uint32) {
	for i := range ids {
		var k uint64
		for n := 1; n <= chrfOrder && i+n <= len(ids); n++ {
			k |= uint64(ids[i+n-1]) << (10 * (n - 1))
			t.add(uint64(n)<<60 | k)
		}
	}
}

// chrfSegmentSlow is CHRFSegment for a segment with more distinct
// characters than 10 bits number: n-grams are counted as substrings.
func chrfSegmentSlow(hyp string, refs []string) CHRFStats {
	h := charNgrams(hyp)
	var best CHRFStats
	bestF := -1.0
	for _, ref := range refs {
		r := charNgrams(ref)
		var st CHRFStats
		for n := range chrfOrder {
			hypCount, match := 0, 0
			for g, c := range h[n] {
				hypCount += c
				match += min(c, r[n][g])
			}
			refCount := 0
			for _, c := range r[n] {
				refCount += c
			}
			if len(r[n]) == 0 {
				hypCount = 0
			}
			st[n].Hyp, st[n].Ref, st[n].Match = hypCount, refCount, match
		}
		if f := st.Score(); f > bestF {
			best, bestF = st, f
		}
	}
	return best
}

// charNgrams counts the character n-grams of s, orders 1..chrfOrder, with
// whitespace removed.
func charNgrams(s string) [chrfOrder]map[string]int {
	s = strings.Join(pyFields(s), "")
	offs := make([]int, 0, len(s)+1)
	for i := range s {
		offs = append(offs, i)
	}
	runes := len(offs)
	offs = append(offs, len(s))
	var out [chrfOrder]map[string]int
	for n := 1; n <= chrfOrder; n++ {
		m := make(map[string]int, max(runes-n+1, 0))
		for i := 0; i+n <= runes; i++ {
			m[s[offs[i]:offs[i+n]]]++
		}
		out[n-1] = m
	}
	return out
}

// Score is chrF on a 0–100 scale: the F-β of character n-gram precision
// and recall, each averaged over the orders both sides have (sacreBLEU's
// default "effective order", not eps smoothing).
func (s CHRFStats) Score() float64 {
	const factor = chrfBeta * chrfBeta
	avgPrec, avgRec := 0.0, 0.0
	eff := 0
	for _, o := range s {
		if o.Hyp > 0 && o.Ref > 0 {
			avgPrec += float64(o.Match) / float64(o.Hyp)
			avgRec += float64(o.Match) / float64(o.Ref)
			eff++
		}
	}
	if eff == 0 {
		return 0
	}
	avgPrec /= float64(eff)
	avgRec /= float64(eff)
	if avgPrec+avgRec == 0 {
		return 0
	}
	score := (1 + factor) * avgPrec * avgRec
	score /= factor*avgPrec + avgRec
	return 100 * score
}

// SentenceCHRF is sacreBLEU's sentence_chrf with its defaults (chrF2).
func SentenceCHRF(hyp string, refs []string) float64 {
	return CHRFSegment(hyp, refs).Score()
}

// CHRFSignature is sacreBLEU's signature for chrF computed as assay
// computes it; see [eval.CHRFSignature].
func CHRFSignature(nrefs int) string { return eval.CHRFSignature(nrefs) }
