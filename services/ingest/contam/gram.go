package contam

import (
	"slices"

	"github.com/assay-eval/assay/services/ingest/seqhash"
)

// gramHash hashes a run of token hashes into one: an n-gram's hash. It is
// built a token at a time (seqhash.Step), so that one pass over a document
// gives the hashes of its n-grams and of every shorter gram starting at
// the same token; seqhash.Finish mixes in the length, so that a gram and the
// shorter ones it begins with do not share a hash, and spreads every bit
// over the table index.
func gramHash(toks []uint64) uint64 {
	h := uint64(seqhash.Seed)
	for _, t := range toks {
		h = seqhash.Step(h, t)
	}
	return seqhash.Finish(h, len(toks))
}

// grams appends the hash of every n-gram of toks to dst; a text shorter
// than n tokens has none.
func grams(dst, toks []uint64, n int) []uint64 {
	for i := 0; i+n <= len(toks); i++ {
		dst = append(dst, gramHash(toks[i:i+n]))
	}
	return dst
}

// shingles appends the sorted, distinct hashes of toks' k-grams to dst: the
// set the near-duplicate similarity is computed on. A text shorter than k
// tokens is one shingle of all its tokens; an empty one has none.
func shingles(dst, toks []uint64, k int) []uint64 {
	start := len(dst)
	if len(toks) > 0 && len(toks) < k {
		return append(dst, gramHash(toks))
	}
	dst = grams(dst, toks, k)
	slices.Sort(dst[start:])
	return dst[:start+len(slices.Compact(dst[start:]))]
}

// jaccard is |a ∩ b| / |a ∪ b| of two sorted, distinct sets.
func jaccard(a, b []uint64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	both := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			both++
			i++
			j++
		}
	}
	return float64(both) / float64(len(a)+len(b)-both)
}

// table maps an n-gram's hash to its index among the eval items' distinct
// n-grams: open addressing with linear probing, at most half full, keys
// and values in separate arrays. Nearly every lookup is a miss (a training
// document shares few n-grams with the eval set), and with millions of
// keys each probe of the keys would be a cache miss, so a bit filter of 16
// bits a key, small enough to stay in cache, answers most of them first:
// it has a bit set for each key, indexed by the hash's high bits (the
// table uses the low ones), and lets about one miss in sixteen through.
// Zero marks an empty slot; a hash of zero is stored as one.
type table struct {
	filter []uint64
	shift  uint
	keys   []uint64
	ids    []uint32
	mask   uint64
}

func newTable(n int) table {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	bits := uint(6)
	for 1<<bits < 16*n {
		bits++
	}
	return table{
		filter: make([]uint64, 1<<(bits-6)),
		shift:  64 - bits,
		keys:   make([]uint64, size),
		ids:    make([]uint32, size),
		mask:   uint64(size - 1),
	}
}

func (t *table) insert(h uint64, id uint32) {
	h = max(h, 1)
	b := h >> t.shift
	t.filter[b>>6] |= 1 << (b & 63)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		if t.keys[i] == 0 {
			t.keys[i], t.ids[i] = h, id
			return
		}
	}
}

func (t *table) lookup(h uint64) (uint32, bool) {
	h = max(h, 1)
	if b := h >> t.shift; t.filter[b>>6]&(1<<(b&63)) == 0 {
		return 0, false
	}
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case h:
			return t.ids[i], true
		case 0:
			return 0, false
		}
	}
}
