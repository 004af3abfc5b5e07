package dedup

import (
	"bytes"
	"math"
	"runtime"
	"slices"

	"github.com/assay-eval/assay/pkg/offheap"

	"github.com/assay-eval/assay/services/ingest/seqhash"
)

// DefaultMinSimilarity sets how many typos a near-duplicate may have: at
// most one token in five (1 - 0.8) may differ, and only by a typo; one
// typo is allowed in any text, so a short one may have a lower
// [Match.Similarity].
const DefaultMinSimilarity = 0.8

// Match is a near-duplicate found: the earlier text it repeats, how alike
// they are and why.
type Match struct {
	// Twin is the number of the kept text it repeats, counting kept texts
	// from 0 in the order they were added.
	Twin int
	// Similarity is the share of the tokens the two texts have in common
	// after normalisation (the rest differ by typos): 1 for texts that
	// differ only in case, width, spacing or punctuation, in (0, 1].
	Similarity float64
	// Why says how they differ, for a person reading the report.
	Why string
}

// Index finds near-duplicates among texts added one by one: the first of
// a group is kept, and each later one is reported with its twin. It is
// deterministic and not safe for concurrent use.
type Index struct {
	minSim float64
	closed bool

	// The kept texts' tokens, encoded (see encode) one after the other in
	// slabs, so that growing the store never copies it. With a spill, a
	// full slab is written to a file and is nil here (see spill.go).
	slabs [][]byte
	sp    *spill
	// docs are the kept texts' places (a million are 24 MB). They, the
	// postings and the two tables are mapped outside the Go heap
	// (package offheap), so that the collector, which lets the heap grow
	// to about twice what is live, does not double them: [Index.Close]
	// releases them.
	docs offheap.Vec[doc]
	ndoc int32

	// exact holds the first kept text with each exact token sequence
	// (as the text's number d, head -2-d), one lookup for a copy that
	// differs in case or spacing only; a key that shares its slot with
	// another's (see [slot]) is found by the candidate keys instead.
	exact   *table
	buckets *table // candidate keys (see keys) to their postings
	posts   offheap.Vec[posting]

	cur, other text // scratch
	m          matcher
	seen       []int32
	ks         []key
}

// bucket is a key's postings: a list through [Index.posts], newest first,
// or, while the key has one text d, head -2-d and no posting (most keys
// are one text's: a posting each would be 8 bytes a key). n counts every
// text with the key, also those past [maxBucket] that were not stored.
type bucket struct{ head, n int32 }

// bucket returns the bucket of the key in slot i. The table holds a head
// only: -2-d for a key of one text d, else a header posting whose doc is
// n and whose next is the list.
func (x *Index) bucket(i int) bucket {
	head, ok := x.buckets.get(i)
	switch {
	case !ok:
		return bucket{head: -1}
	case head < -1:
		return bucket{head: head, n: 1}
	}
	h := x.posts.At(int(head))
	return bucket{head: h.next, n: h.doc}
}

type posting struct{ doc, next int32 }

// doc is where a kept text's tokens are, slabs[slab][start:end], and the
// hash of its code segments, which a near-duplicate has the same.
type doc struct {
	slab, start, end, ntoks int32
	segs                    uint64
}

// slabSize is the size of a slab of kept texts; a text larger than it
// has a slab of its own.
const slabSize = 1 << 20

// maxBucket is the most texts a candidate key keeps. A key shared by more
// is a template's common text, which tells nothing: a near-duplicate also
// shares a key that is rarer (see keys). Together with [maxVerify] it
// bounds the work per text, so that adding n texts takes time linear in n
// however templated they are.
const maxBucket = 16

// maxVerify is the most candidates a text is compared with.
const maxVerify = 32

// NewIndex returns an index for which texts are near-duplicates when at
// most a share 1 - minSimilarity of their tokens (and at least one)
// differ by typos; minSimilarity is in (0, 1], out of range means
// [DefaultMinSimilarity], and 1 finds only copies that differ in case,
// width, spacing and punctuation.
func NewIndex(minSimilarity float64) *Index {
	if !(minSimilarity > 0 && minSimilarity <= 1) {
		minSimilarity = DefaultMinSimilarity
	}
	x := &Index{minSim: minSimilarity, exact: &table{}, buckets: &table{}}
	// An index dropped without Close releases its tables when collected.
	runtime.AddCleanup(x, (*table).free, x.exact)
	runtime.AddCleanup(x, (*table).free, x.buckets)
	return x
}

// Len is the number of texts kept.
func (x *Index) Len() int { return int(x.ndoc) }

func (x *Index) doc(d int32) doc { return x.docs.At(int(d)) }

// Add checks text against the texts kept so far: when it nearly repeats
// one, it reports the most similar (the earliest of equals); otherwise it
// keeps text.
func (x *Index) Add(s string) (Match, bool) {
	if x.closed {
		return Match{}, false
	}
	x.cur.parse(s)
	toks := x.cur.toks
	segs := segmentsHash(x.cur.segs)
	exact, ks := x.keys(toks)
	exact = seqhash.Step(exact, segs)
	if d, ok := x.exactTwin(exact); ok {
		if sim, why, ok := x.compare(toks, segs, d); ok && sim == 1 {
			return Match{Twin: int(d), Similarity: 1, Why: why}, true
		}
	}
	best, bestSim, bestWhy := int32(-1), 0.0, ""
	if x.minSim < 1 {
		// The rarest keys first: a near-duplicate shares one of them.
		slices.SortFunc(ks, func(a, b key) int { return int(a.n - b.n) })
		x.seen = x.seen[:0]
		for _, k := range ks {
			if k.n > maxBucket || len(x.seen) >= maxVerify {
				break
			}
			if k.n == 0 {
				continue
			}
			for p := x.bucket(k.slot).head; p != -1 && len(x.seen) < maxVerify; {
				var d int32
				if p < -1 { // the key's only text, in the bucket itself
					d, p = -2-p, -1
				} else {
					next := x.posts.At(int(p))
					d, p = next.doc, next.next
				}
				if slices.Contains(x.seen, d) {
					continue
				}
				x.seen = append(x.seen, d)
				if sim, why, ok := x.compare(toks, segs, d); ok && (sim > bestSim || sim == bestSim && d < best) {
					best, bestSim, bestWhy = d, sim, why
				}
			}
		}
	}
	if best >= 0 {
		return Match{Twin: int(best), Similarity: bestSim, Why: bestWhy}, true
	}
	x.keep(toks, segs, exact, ks)
	return Match{}, false
}

// exactTwin returns the kept text first kept with exact token sequence
// exact (or one whose sequence shares its slot).
func (x *Index) exactTwin(exact uint64) (int32, bool) {
	head, ok := x.exact.get(x.exact.find(exact))
	return -2 - head, ok
}

// compare compares toks, with code segments of hash segs, with kept text d.
func (x *Index) compare(toks []token, segs uint64, d int32) (sim float64, why string, ok bool) {
	dc := x.doc(d)
	if dc.segs != segs {
		return 0, "", false
	}
	n := max(len(toks), int(dc.ntoks))
	budget := opsBudget(n, x.minSim)
	if diff := len(toks) - int(dc.ntoks); diff > budget || -diff > budget {
		return 0, "", false
	}
	enc, ok := x.text(dc)
	if !ok {
		return 0, "", false
	}
	x.other.toks = decode(x.other.toks[:0], enc)
	return x.m.similarity(x.other.toks, toks, x.minSim) // the kept text first, as in [Compare]
}

func (x *Index) keep(toks []token, segs, exact uint64, ks []key) {
	d := x.ndoc
	size := encodedSize(toks)
	if len(x.slabs) == 0 || len(x.slabs[len(x.slabs)-1])+size > cap(x.slabs[len(x.slabs)-1]) {
		if x.sp != nil && len(x.slabs) > 0 {
			x.spillSlab(len(x.slabs) - 1)
		}
		x.slabs = append(x.slabs, make([]byte, 0, max(slabSize, size)))
	}
	last := len(x.slabs) - 1
	start := len(x.slabs[last])
	x.slabs[last] = encode(x.slabs[last], toks)
	x.docs.Append(doc{slab: int32(last), start: int32(start), end: int32(len(x.slabs[last])), ntoks: int32(len(toks)), segs: segs})
	x.ndoc++
	x.exact.reserve([]key{{h: exact}})
	if i := x.exact.find(exact); !x.exact.has(i) {
		x.exact.set(i, exact, -2-d)
	}
	if x.minSim == 1 {
		return
	}
	x.buckets.reserve(ks)
	for _, k := range ks {
		// The slot is found again here, not taken from the lookup: two
		// keys of this text new to the table may have probed to the same
		// empty slot, and the first now holds it.
		k.slot = x.buckets.find(k.h)
		head, ok := x.buckets.get(k.slot)
		switch {
		case !ok:
			x.buckets.set(k.slot, k.h, -2-d) // most keys are one text's: no posting
		case head < -1:
			// A second text: the first gets a posting, and the
			// bucket a header counting them.
			n := int32(x.posts.Len())
			x.posts.Append(posting{doc: -2 - head, next: -1})
			x.posts.Append(posting{doc: d, next: n})
			x.posts.Append(posting{doc: 2, next: n + 1})
			x.buckets.set(k.slot, k.h, n+2)
		default:
			// The header stays where it is as postings are appended.
			h := x.posts.Ptr(int(head))
			if h.doc < maxBucket {
				x.posts.Append(posting{doc: d, next: h.next})
				h.next = int32(x.posts.Len() - 1)
			}
			h.doc = min(h.doc+1, math.MaxInt32-1)
		}
	}
}

// opsBudget is the most differences two texts of n tokens (the longer)
// may have at minSim: one in 1/(1-minSim) tokens, and one in any text
// (a typo is no difference, also in a question of three words), but none
// at 1.
func opsBudget(n int, minSim float64) int {
	if minSim >= 1 {
		return 0
	}
	return max(1, int(math.Floor((1-minSim)*float64(n)+1e-9)))
}

// similarity compares two token sequences: a near-duplicate at minSim or
// not, how similar and why.
func (m *matcher) similarity(a, b []token, minSim float64) (sim float64, why string, ok bool) {
	n := max(len(a), len(b))
	if n == 0 {
		return 1, explain(nil), true
	}
	ops, ok := m.align(a, b, opsBudget(n, minSim))
	if !ok {
		return 0, "", false
	}
	// A typo in a text of one token leaves no token in common; it is
	// still a near-duplicate, half alike rather than not at all.
	return max(1-float64(ops)/float64(n), 0.5/float64(n)), explain(m.ops), true
}

// Compare reports whether b nearly repeats a at minSimilarity (as
// [NewIndex] takes it), with their similarity and how b differs from a.
// The relation is symmetric; an [Index] finds the same matches, but for
// copies with several typos among texts that share most of their words
// (see keys.go).
func Compare(a, b string, minSimilarity float64) (Match, bool) {
	if !(minSimilarity > 0 && minSimilarity <= 1) {
		minSimilarity = DefaultMinSimilarity
	}
	var ta, tb text
	var m matcher
	ta.parse(a)
	tb.parse(b)
	if !bytes.Equal(ta.segs, tb.segs) {
		return Match{}, false
	}
	sim, why, ok := m.similarity(ta.toks, tb.toks, minSimilarity)
	return Match{Similarity: sim, Why: why}, ok
}
