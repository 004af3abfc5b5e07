package contam

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"strconv"

	"github.com/assay-eval/assay/services/ingest/seqhash"
	"golang.org/x/sync/errgroup"
)

// Result is one eval item's verdict.
type Result struct {
	ID string
	// Contaminated: Score reached the threshold.
	Contaminated bool
	// Score is the share of the item's n-grams found in the training
	// document that holds most of them, or, where the item is a
	// near-duplicate of a document and that is higher, their similarity;
	// 0 to 1, rounded to 4 decimals.
	Score float64
	// Match is the id of that document; empty when no document shares an
	// n-gram with the item.
	Match string
	// NGram: Score reached the threshold. Contaminated is NGram unless
	// the embedding check flagged the item too.
	NGram bool
	// Embedding is the embedding check's finding, nil when it did not
	// run ([Index.CheckWith]).
	Embedding *EmbeddingResult
	numericID bool
}

// MarshalJSON writes {"id": …, "contaminated": …, "score": …, "match": …},
// the id as a number when it was one in the input, match left out when
// empty. After an embedding check it adds "embedding_score" and
// "embedding_match" (or "embedding_checked": false, when the item has no
// embedding), and for a contaminated item "by": the checks that flagged
// it, "ngram" and "embedding".
func (r Result) MarshalJSON() ([]byte, error) {
	return r.appendJSON(nil, "contaminated"), nil
}

// appendJSON writes r's line to b, its verdict under the key flag.
func (r Result) appendJSON(b []byte, flag string) []byte {
	b = append(b, `{"id":`...)
	if r.numericID {
		b = append(b, r.ID...)
	} else {
		b = strconv.AppendQuote(b, r.ID)
	}
	b = append(b, `,"`+flag+`":`...)
	b = strconv.AppendBool(b, r.Contaminated)
	b = appendScore(b, "score", r.Score, "match", r.Match)
	if e := r.Embedding; e != nil {
		if e.Unchecked != "" {
			b = append(b, `,"embedding_checked":false`...)
		} else {
			b = appendScore(b, "embedding_score", e.Score, "embedding_match", e.Match)
		}
		if r.Contaminated {
			by := make([]string, 0, 2)
			if r.NGram {
				by = append(by, "ngram")
			}
			if e.Flagged {
				by = append(by, "embedding")
			}
			list, _ := json.Marshal(by)
			b = append(append(b, `,"by":`...), list...)
		}
	}
	return append(b, '}')
}

// appendScore writes ,"<score>":score and, when match is not empty,
// ,"<matchKey>":"match" (as encoding/json quotes it, HTML escapes
// included, as the output always had them).
func appendScore(b []byte, scoreKey string, score float64, matchKey, match string) []byte {
	b = append(b, `,"`+scoreKey+`":`...)
	b = strconv.AppendFloat(b, score, 'f', -1, 64)
	if match != "" {
		m, _ := json.Marshal(match)
		b = append(append(b, `,"`+matchKey+`":`...), m...)
	}
	return b
}

// Report is a check's outcome.
type Report struct {
	// Results are the items' verdicts, in the order of the items.
	Results []Result
	// Contaminated counts the contaminated items; Empty the items without
	// a single token, which cannot be checked; Short the items shorter
	// than the n-gram length, which count as contaminated when they occur
	// word for word in a training document.
	Contaminated int
	Empty        int
	Short        int
	// Train says what was read of the training documents.
	Train Stats
	// Embedding says what the embedding check did; nil when it did not
	// run.
	Embedding *EmbedStats
}

// best is the training document sharing most with an item so far.
type best struct {
	score float64
	ord   int64 // the document's place in the input: the first one wins ties
	id    string
}

// better reports whether a score for the document at ord beats b.
func (b best) better(score float64, ord int64) bool {
	return score > b.score || score == b.score && score > 0 && ord < b.ord
}

// Check streams the training documents of src through the index and
// returns every item's verdict. Documents that cannot be read (bad JSON,
// no text) are counted and skipped; an error is returned only when the
// source cannot be read or ctx ends.
func (ix *Index) Check(ctx context.Context, src Source) (*Report, error) {
	return ix.CheckWith(ctx, src, nil)
}

// CheckWith is [Index.Check] that also checks every training document
// against emb, an [EmbedIndex] of the same eval items, in the same pass
// over the training data: an item is contaminated when either check flags
// it. The workers are at least as many as the embeddings endpoint's
// concurrency, since they mostly wait for it.
func (ix *Index) CheckWith(ctx context.Context, src Source, emb *EmbedIndex) (*Report, error) {
	workers := ix.opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if emb != nil {
		if len(emb.vecs) != len(ix.items) {
			return nil, fmt.Errorf("%w: the embeddings index holds %d items, the n-gram index %d", ErrOptions, len(emb.vecs), len(ix.items))
		}
		workers = max(workers, emb.opt.Endpoint.Concurrency)
	}
	g, ctx := errgroup.WithContext(ctx)
	free, todo := make(chan *batch, 2*workers+2), make(chan *batch, workers)
	for range cap(free) {
		free <- &batch{}
	}
	var files int
	g.Go(func() error {
		n, err := src.read(ctx, free, todo)
		files = n
		return err
	})
	ws := make([]*worker, workers)
	ews := make([]*embedWorker, 0, workers)
	for i := range ws {
		w := ix.newWorker(&src)
		ws[i] = w
		var ew *embedWorker
		if emb != nil {
			ew = emb.newWorker()
			ews = append(ews, ew)
		}
		g.Go(func() error {
			for b := range todo {
				if err := ctx.Err(); err != nil {
					return err
				}
				w.batch(b)
				if ew != nil {
					if err := ew.batch(ctx, &src, b); err != nil {
						return err
					}
				}
				free <- b
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rep := ix.report(ws, files)
	if emb != nil {
		emb.report(rep, ews)
	}
	return rep, nil
}

// report merges the workers' findings.
func (ix *Index) report(ws []*worker, files int) *Report {
	rep := &Report{Results: make([]Result, len(ix.items))}
	tallies := make([]*tally, len(ws))
	for i, w := range ws {
		tallies[i] = &w.tally
	}
	rep.Train = stats(files, tallies...)
	for i, it := range ix.items {
		var b best
		for _, w := range ws {
			if wb := w.best[i]; b.better(wb.score, wb.ord) {
				b = wb
			}
		}
		score := math.Round(b.score*1e4) / 1e4
		flagged := score >= ix.opt.Threshold
		rep.Results[i] = Result{ID: it.id, numericID: it.numericID, Score: score, Match: b.id, Contaminated: flagged, NGram: flagged}
		if rep.Results[i].Contaminated {
			rep.Contaminated++
		}
		switch {
		case it.tokens == 0:
			rep.Empty++
		case it.tokens < ix.opt.NGram:
			rep.Short++
		}
	}
	return rep
}

// worker checks training documents against the index, keeping its own
// bests; its scratch space is reused from document to document.
type worker struct {
	ix  *Index
	src *Source
	tok tokenizer
	// seen[g] == gen: n-gram g was already counted for this document.
	seen []uint32
	gen  uint32
	// hits[i] is how many of item i's n-grams this document holds;
	// touched lists the items with hits.
	hits     []uint32
	touched  []uint32
	shingles []uint64
	best     []best
	tally    tally
}

func (ix *Index) newWorker(src *Source) *worker {
	return &worker{
		ix:   ix,
		src:  src,
		seen: make([]uint32, len(ix.start)),
		hits: make([]uint32, len(ix.items)),
		best: make([]best, len(ix.items)),
	}
}

func (w *worker) batch(b *batch) {
	for i, rec := range b.recs {
		text, p := w.src.text(b, i)
		if p != nil {
			w.tally.fail(*p)
			continue
		}
		w.tally.doc(rec.end - rec.start)
		w.doc(w.tok.hash(text), b.ord+int64(i), func() string {
			id, _ := w.src.id(b, i)
			return id
		})
	}
}

// doc scores one training document, of tokens toks, for every item it
// shares an n-gram with; id is called only when it beats an item's best.
func (w *worker) doc(toks []uint64, ord int64, id func() string) {
	w.touch(toks)
	for _, i := range w.touched {
		// Nothing beats a score of 1 already found (a later document
		// loses ties).
		w.offer(i, w.score(i, toks, w.best[i].score < 1), ord, id)
	}
}

// touch counts the n-grams of a document, of tokens toks, that each item
// holds, and lists the items holding any in w.touched: [worker.score]
// then scores each once.
func (w *worker) touch(toks []uint64) {
	ix := w.ix
	n := ix.opt.NGram
	if w.gen++; w.gen == 0 {
		clear(w.seen)
		w.gen = 1
	}
	w.touched = w.touched[:0]
	w.shingles = w.shingles[:0]
	for i := range toks {
		h := uint64(seqhash.Seed)
		for j, t := range toks[i:min(i+n, len(toks))] {
			h = seqhash.Step(h, t)
			if k := j + 1; k == n || ix.shortLens&(1<<k) != 0 {
				w.count(seqhash.Finish(h, k))
			}
		}
	}
}

// score is touched item i's score for the document [worker.touch] read,
// of tokens toks: the share of its n-grams the document holds, or, with
// near set and where higher, their near-duplicate similarity. It resets
// the item's count for the next document.
func (w *worker) score(i uint32, toks []uint64, near bool) float64 {
	ix := w.ix
	it := &ix.items[i]
	score := float64(w.hits[i]) / float64(it.grams)
	w.hits[i] = 0
	// A near-duplicate is of about the item's length, and counts from
	// the threshold on.
	a, b := it.tokens, len(toks)
	if score < 1 && near && float64(min(a, b)) >= ix.opt.Threshold*float64(max(a, b)) {
		if len(w.shingles) == 0 {
			w.shingles = shingles(w.shingles, toks, shingleSize)
		}
		if j := jaccard(it.shingles, w.shingles); j >= ix.opt.Threshold {
			score = max(score, j)
		}
	}
	return score
}

// count counts the gram of hash h for the items that hold it, once a
// document.
func (w *worker) count(h uint64) {
	ix := w.ix
	g, ok := ix.table.lookup(h)
	if !ok || w.seen[g] == w.gen {
		return
	}
	w.seen[g] = w.gen
	for _, it := range ix.post[ix.start[g]:ix.start[g+1]] {
		if w.hits[it] == 0 {
			w.touched = append(w.touched, it)
		}
		w.hits[it]++
	}
}

func (w *worker) offer(i uint32, score float64, ord int64, id func() string) {
	if w.best[i].better(score, ord) {
		w.best[i] = best{score, ord, id()}
	}
}
