package contam

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Defaults of [Options]; doc.go says why.
const (
	DefaultNGram     = 6
	DefaultThreshold = 0.5
)

// shingleSize is the length of the shingles the near-duplicate similarity
// is computed on: short enough that a few edits leave most shingles of a
// copy intact, long enough that texts in the same language do not share
// most of theirs.
const shingleSize = 3

// Options configure a check.
type Options struct {
	// NGram is the length, in tokens, of the n-grams looked for in the
	// training documents (default [DefaultNGram]).
	NGram int
	// Threshold is the score from which an item counts as contaminated
	// (default [DefaultThreshold]).
	Threshold float64
	// Workers check training documents at once (default GOMAXPROCS).
	Workers int
}

func (o Options) withDefaults() (Options, error) {
	if o.NGram == 0 {
		o.NGram = DefaultNGram
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if o.NGram < 1 || o.NGram > 64 {
		return o, fmt.Errorf("%w: n-gram length %d: use 1 to 64 tokens", ErrOptions, o.NGram)
	}
	if !(o.Threshold > 0 && o.Threshold <= 1) || math.IsNaN(o.Threshold) {
		return o, fmt.Errorf("%w: threshold %v: use a share above 0 and at most 1", ErrOptions, o.Threshold)
	}
	return o, nil
}

// Index holds what the training documents are checked against: every eval
// item's n-grams and shingles. It is built once and only read afterwards,
// so any number of checks may use it at once.
type Index struct {
	opt   Options
	items []item
	// table maps an n-gram to its index g among the items' distinct
	// n-grams; the items holding it are post[start[g]:start[g+1]].
	table table
	start []uint32
	post  []uint32
	// shortLens has bit k set when an item is k < n tokens long: such an
	// item is one gram of all its tokens, looked for in every document.
	shortLens uint64
}

// item is an eval item as the index keeps it.
type item struct {
	id        string
	numericID bool
	// grams is the number of its distinct n-grams: the denominator of its
	// score. One for an item shorter than n tokens.
	grams int
	// shingles are its distinct shingles, sorted.
	shingles []uint64
	tokens   int
}

// NewIndex indexes the eval items.
func NewIndex(items []Doc, opt Options) (*Index, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	n := opt.NGram
	ix := &Index{opt: opt, items: make([]item, len(items))}
	type pair struct {
		gram uint64
		item uint32
	}
	var pairs []pair
	var tok tokenizer
	var gs []uint64
	for i, d := range items {
		it := &ix.items[i]
		it.id, it.numericID = d.ID, d.numericID
		toks := tok.hash(d.Text)
		it.tokens = len(toks)
		switch {
		case len(toks) == 0:
			continue
		case len(toks) < n:
			gs = append(gs[:0], gramHash(toks))
			ix.shortLens |= 1 << len(toks)
		default:
			gs = grams(gs[:0], toks, n)
			slices.Sort(gs)
			gs = slices.Compact(gs)
		}
		it.grams = len(gs)
		for _, g := range gs {
			pairs = append(pairs, pair{g, uint32(i)})
		}
		it.shingles = shingles(nil, toks, shingleSize)
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		return cmp.Or(cmp.Compare(a.gram, b.gram), cmp.Compare(a.item, b.item))
	})
	distinct := 0
	for i, p := range pairs {
		if i == 0 || p.gram != pairs[i-1].gram {
			distinct++
		}
	}
	ix.table = newTable(distinct)
	ix.start = make([]uint32, 0, distinct+1)
	ix.post = make([]uint32, len(pairs))
	for i, p := range pairs {
		if i == 0 || p.gram != pairs[i-1].gram {
			ix.table.insert(p.gram, uint32(len(ix.start)))
			ix.start = append(ix.start, uint32(i))
		}
		ix.post[i] = p.item
	}
	ix.start = append(ix.start, uint32(len(pairs)))
	return ix, nil
}

// Options are the options the index was built with, defaults filled in.
func (ix *Index) Options() Options { return ix.opt }
