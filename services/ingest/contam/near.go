package contam

// Near-duplicates within an eval set: MinHash signatures of each text's
// shingles, banded for locality-sensitive hashing, so that a new text is
// compared only with the earlier texts that share a band; a candidate is
// then confirmed with the exact Jaccard similarity of the shingle sets,
// so that the estimate never decides alone.

// DefaultNearThreshold is the Jaccard similarity of word (or CJK
// character) 3-gram shingles from which two eval items are near
// duplicates: a question that differs from another in one entity of twenty
// words stays below it (about 0.7), a copy with a changed article or an
// added full stop is above it.
const DefaultNearThreshold = 0.8

// nearMinTokens is the fewest tokens a text needs for a near-duplicate
// check: shorter ones ("What is 2+2?") are near anything of their shape,
// and exact deduplication covers them.
const nearMinTokens = 8

const (
	nearShingle = 3
	nearBands   = 16
	nearRows    = 4 // 16 bands of 4: a pair at Jaccard 0.8 shares a band with probability 1-(1-0.8^4)^16 ≈ 0.9996
)

// NearIndex finds near-duplicates among texts added one by one: the first
// of a group is kept, and each later one is reported with its twin. It is
// not safe for concurrent use.
type NearIndex struct {
	threshold float64
	tok       tokenizer
	sets      [][]uint64 // each kept text's sorted shingle set
	bands     map[[2]uint64][]int
}

// NewNearIndex returns an index flagging similarity at or above threshold
// (0 means [DefaultNearThreshold]).
func NewNearIndex(threshold float64) *NearIndex {
	if threshold <= 0 {
		threshold = DefaultNearThreshold
	}
	return &NearIndex{threshold: threshold, bands: map[[2]uint64][]int{}}
}

// Add checks text against the texts kept so far. It returns the index (in
// order of the kept texts) of the most similar one and their similarity
// when text is a near-duplicate; otherwise it keeps text and returns -1.
func (x *NearIndex) Add(text string) (twin int, similarity float64) {
	toks := x.tok.hash(text)
	if len(toks) < nearMinTokens {
		x.sets = append(x.sets, nil) // kept, but never anyone's twin
		return -1, 0
	}
	set := shingles(nil, toks, nearShingle)
	sig := minhash(set)
	best, bestSim := -1, 0.0
	seen := map[int]bool{}
	var keys [nearBands][2]uint64
	for b := range nearBands {
		keys[b] = [2]uint64{uint64(b), gramHash(sig[b*nearRows : (b+1)*nearRows])}
		for _, c := range x.bands[keys[b]] {
			if seen[c] {
				continue
			}
			seen[c] = true
			if s := jaccard(set, x.sets[c]); s > bestSim || s == bestSim && best >= 0 && c < best {
				best, bestSim = c, s
			}
		}
	}
	if best >= 0 && bestSim >= x.threshold {
		return best, bestSim
	}
	id := len(x.sets)
	x.sets = append(x.sets, set)
	for _, k := range keys {
		x.bands[k] = append(x.bands[k], id)
	}
	return -1, 0
}

// minhash is the set's MinHash signature: for each of the bands × rows hash
// functions (a shingle hash xor-ed with a fixed seed and re-mixed), the
// smallest value over the set.
func minhash(set []uint64) [nearBands * nearRows]uint64 {
	var sig [nearBands * nearRows]uint64
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	for _, h := range set {
		for i := range sig {
			v := gramEnd(h^minhashSeeds[i], i)
			if v < sig[i] {
				sig[i] = v
			}
		}
	}
	return sig
}

var minhashSeeds = func() (s [nearBands * nearRows]uint64) {
	x := uint64(0x9e3779b97f4a7c15)
	for i := range s {
		x = gramStep(x, uint64(i)+1)
		s[i] = x
	}
	return s
}()
