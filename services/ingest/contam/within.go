package contam

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Duplicate is what [Index.Within] found of one item of a set: the
// earlier item that repeats it most, by each check. Its fields read as a
// [Result]'s with "training document" read as "earlier item of the set".
type Duplicate struct {
	ID string
	// Duplicate: an earlier item repeats it, by either check.
	Duplicate bool
	// Score is the n-gram score of the pair with the earlier item that
	// shares most with it, whichever of the two is the shorter: the
	// share of one's n-grams found in the other, or their near-duplicate
	// similarity where that is higher (see [Result.Score]); Match is that
	// item's id, empty when no earlier item shares an n-gram with it.
	Score float64
	Match string
	// NGram: Score reached the threshold.
	NGram bool
	// Embedding is the embedding check's finding: the earlier item
	// nearest it and their cosine. Nil when it did not run.
	Embedding *EmbeddingResult
	numericID bool
}

// MarshalJSON writes a [Result]'s line with "duplicate" for
// "contaminated": {"id": …, "duplicate": …, "score": …, "match": …},
// and "embedding_score", "embedding_match" (or "embedding_checked":
// false) and "by" after an embedding check.
func (d Duplicate) MarshalJSON() ([]byte, error) {
	r := Result{ID: d.ID, numericID: d.numericID, Contaminated: d.Duplicate, Score: d.Score, Match: d.Match, NGram: d.NGram, Embedding: d.Embedding}
	return r.appendJSON(nil, "duplicate"), nil
}

// Duplicates is what [Index.Within] found.
type Duplicates struct {
	// Items are the items' findings, in input order.
	Items []Duplicate
	// Flagged counts the items an earlier item repeats, by either check;
	// NGram those the n-grams flag. Empty and Short are as a [Report]'s.
	Flagged, NGram, Empty, Short int
	// Embedding says what the embedding check did (its Docs and Windows
	// are 0: the set is compared with itself); nil when it did not run.
	Embedding *EmbedStats
}

// Within finds the near-duplicates within the items the index was built
// on, given again as items: each item is compared with every earlier one,
// by n-grams as a training document would be, in both directions (an
// item that holds a shorter earlier one repeats it as much as one that
// the earlier holds), and, with emb (an [EmbedIndex] of the same items),
// by the cosine of their embeddings, through emb's graph or, when it
// failed its self-check, exactly. An item is flagged when either check
// reaches its threshold against an earlier item; the first item of a
// group never is. Only ctx's end is an error.
func (ix *Index) Within(ctx context.Context, items []Doc, emb *EmbedIndex) (*Duplicates, error) {
	if len(items) != len(ix.items) {
		return nil, fmt.Errorf("%w: %d items given for an index of %d", ErrOptions, len(items), len(ix.items))
	}
	if emb != nil && len(emb.vecs) != len(ix.items) {
		return nil, fmt.Errorf("%w: the embeddings index holds %d items, the n-gram index %d", ErrOptions, len(emb.vecs), len(ix.items))
	}
	workers := ix.opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ngram, err := parallel(ctx, workers, len(items), withinChunk, func() *worker { return ix.newWorker(nil) },
		func(w *worker) []best { return w.best },
		func(w *worker, j int) { w.within(w.tok.hash(items[j].Text), uint32(j)) })
	if err != nil {
		return nil, err
	}
	d := &Duplicates{Items: make([]Duplicate, len(items))}
	for i, it := range ix.items {
		score := math.Round(ngram[i].score*1e4) / 1e4
		flagged := score >= ix.opt.Threshold
		d.Items[i] = Duplicate{ID: it.id, numericID: it.numericID, Score: score, Match: ngram[i].id, NGram: flagged, Duplicate: flagged}
		if flagged {
			d.NGram++
		}
		switch {
		case it.tokens == 0:
			d.Empty++
		case it.tokens < ix.opt.NGram:
			d.Short++
		}
	}
	if emb != nil {
		near, err := emb.within(ctx, workers)
		if err != nil {
			return nil, err
		}
		for i := range near {
			if near[i].score > 0 {
				near[i].id = ix.items[near[i].ord].id
			}
		}
		d.Embedding = emb.results(near, func(i int, r *EmbeddingResult) {
			d.Items[i].Embedding = r
			d.Items[i].Duplicate = d.Items[i].Duplicate || r.Flagged
		})
	}
	for _, it := range d.Items {
		if it.Duplicate {
			d.Flagged++
		}
	}
	return d, nil
}

// withinChunk is how many items a worker takes at once.
const withinChunk = 64

// within scores item j, of tokens toks, as a document against every item
// it shares an n-gram with: each pair's score goes to the later item of
// the two, as a match with the earlier one.
func (w *worker) within(toks []uint64, j uint32) {
	w.touch(toks)
	for _, i := range w.touched {
		later, earlier := max(i, j), min(i, j)
		score := w.score(i, toks, w.best[later].score < 1)
		if i != j && w.best[later].better(score, int64(earlier)) {
			w.best[later] = best{score, int64(earlier), w.ix.items[earlier].id}
		}
	}
}

// within finds, for each item with an embedding, the earlier item nearest
// it: through the graph, each item's nearest items offering each pair's
// cosine to the later of the two, or, when the graph failed its
// self-check, by comparing every item with every earlier one, a block of
// compareChunk items at a time, so that the block stays in the cache
// while the earlier items stream through it once.
func (ix *EmbedIndex) within(ctx context.Context, workers int) ([]best, error) {
	offer := func(bs []best, later, earlier uint32, cos float32) {
		if bs[later].better(float64(cos), int64(earlier)) {
			bs[later] = best{float64(cos), int64(earlier), ""}
		}
	}
	newBests := func() []best { return make([]best, len(ix.vecs)) }
	id := func(bs []best) []best { return bs }
	if !ix.exact {
		return parallel(ctx, workers, len(ix.embedded), withinChunk, newBests, id, func(bs []best, k int) {
			i := ix.embedded[k]
			for _, n := range ix.graph.Search(ix.vecs[i], graphK+1) {
				if n.Key != i {
					offer(bs, max(i, n.Key), min(i, n.Key), dot(ix.vecs[i], n.Value))
				}
			}
		})
	}
	blocks := (len(ix.embedded) + compareChunk - 1) / compareChunk
	return parallel(ctx, workers, blocks, 1, newBests, id, func(bs []best, b int) {
		block := ix.embedded[b*compareChunk : min((b+1)*compareChunk, len(ix.embedded))]
		for k, j := range ix.embedded[:b*compareChunk+len(block)] {
			jv := ix.vecs[j]
			// The block's items after j: j is earlier than them.
			for _, i := range block[max(k-b*compareChunk+1, 0):] {
				offer(bs, i, j, dot(ix.vecs[i], jv))
			}
		}
	})
}

// parallel runs each(s, k) for k in [0, n) on workers, each worker taking
// chunk of them at a time with its own state s (made by newState), and
// merges the bests each state holds (bests(s)) into one per item: the
// highest, the earliest match on a tie.
func parallel[S any](ctx context.Context, workers, n, chunk int, newState func() S, bests func(S) []best, each func(s S, k int)) ([]best, error) {
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	states := make([]S, min(workers, max((n+chunk-1)/chunk, 1)))
	for w := range states {
		s := newState()
		states[w] = s
		g.Go(func() error {
			for {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= n {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				for k := start; k < min(start+chunk, n); k++ {
					each(s, k)
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	merged := bests(states[0])
	for _, s := range states[1:] {
		merge(merged, bests(s))
	}
	return merged, nil
}

// merge keeps in bs, for each item, the better of its best there and in
// other.
func merge(bs, other []best) {
	for i, b := range other {
		if bs[i].better(b.score, b.ord) {
			bs[i] = b
		}
	}
}
