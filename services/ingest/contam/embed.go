package contam

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/llm"
	"github.com/coder/hnsw"
	"github.com/viterin/vek/vek32"
)

// DefaultEmbeddingThreshold is the cosine from which an eval item and a
// training document count as one text said twice; doc.go says why.
const DefaultEmbeddingThreshold = 0.85

// DefaultWindow is how many characters of a text are embedded at once:
// about 250 to 1,000 tokens, within what small encoders read (512).
const DefaultWindow = 1000

// Parameters of the eval items' HNSW graph (github.com/coder/hnsw):
// graphM neighbours a node, graphEf candidates a search keeps, and
// graphK nearest items a training window is compared with.
const (
	graphM  = 16
	graphEf = 64
	graphK  = 8
)

// The graph's self-check (see [EmbedIndex.Search]): up to selfChecks
// items look themselves up, and at least minSelfRecall of them must be
// found, or every window is compared with every item instead.
const (
	selfChecks    = 256
	minSelfRecall = 0.99
)

// EmbedOptions configure the embedding check ([NewEmbedIndex]).
type EmbedOptions struct {
	// Client calls the endpoint under the process's endpoint policy, with
	// its cache, if any.
	Client   *llm.Client
	Endpoint llm.Endpoint
	Embed    llm.EmbedOptions
	Retry    llm.RetryPolicy
	// Threshold is the cosine from which an item counts as contaminated
	// (default [DefaultEmbeddingThreshold]).
	Threshold float64
	// Window is the longest text embedded at once, in characters
	// (default [DefaultWindow]): a longer training document is embedded
	// in windows overlapping by a quarter, and scored by its best one; an
	// eval item by its first window.
	Window int
}

func (o EmbedOptions) withDefaults() (EmbedOptions, error) {
	if o.Threshold == 0 {
		o.Threshold = DefaultEmbeddingThreshold
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	switch {
	case o.Client == nil:
		return o, fmt.Errorf("%w: no client to call the embeddings endpoint", ErrOptions)
	case !(o.Threshold > 0 && o.Threshold <= 1):
		return o, fmt.Errorf("%w: embeddings threshold %v: use a cosine above 0 and at most 1", ErrOptions, o.Threshold)
	case o.Window < 16:
		return o, fmt.Errorf("%w: window of %d characters: use 16 or more", ErrOptions, o.Window)
	}
	o.Endpoint.Concurrency = max(o.Endpoint.Concurrency, 1)
	return o, nil
}

// EmbedIndex holds the eval items' embeddings in an HNSW graph, which
// finds the items nearest a training document's embedding without
// comparing it with all of them. Like [Index], it is built once and only
// read afterwards.
type EmbedIndex struct {
	opt   EmbedOptions
	graph *hnsw.Graph[uint32]
	// selfRecall is the share of the items the graph found when they
	// looked themselves up; exact is set when it was too low, and every
	// window is then compared with every item (embedded lists them).
	selfRecall float64
	exact      bool
	embedded   []uint32
	// vecs[i] is item i's vector, nil when it has none: why[i] says why.
	vecs [][]float32
	why  []string
	// unchecked counts the items without a vector; failed those whose
	// embedding was asked for and not obtained, with the first failure.
	unchecked, failed int
	failure           string
}

// Reasons an eval item has no embedding.
const (
	whyEmpty  = "no text"
	whyFailed = "the embeddings call failed"
)

// NewEmbedIndex embeds the eval items and builds their graph. Items are
// sent in batches, at most the endpoint's concurrency at once; an item
// whose batch fails for good is left out, counted and named in the
// results (not checked by embeddings), while the others are checked. It
// fails when no item could be embedded, or ctx ends.
func NewEmbedIndex(ctx context.Context, items []Doc, opt EmbedOptions) (*EmbedIndex, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	ix := &EmbedIndex{opt: opt, vecs: make([][]float32, len(items)), why: make([]string, len(items))}
	var todo []int
	for i, d := range items {
		if strings.TrimSpace(d.Text) == "" {
			ix.why[i] = whyEmpty
			continue
		}
		todo = append(todo, i)
	}
	batch := opt.Embed.BatchSize
	if batch <= 0 {
		batch = llm.DefaultEmbedBatch
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, opt.Endpoint.Concurrency)
	for start := 0; start < len(todo); start += batch {
		idx := todo[start:min(start+batch, len(todo))]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			texts := make([]string, len(idx))
			for k, i := range idx {
				texts[k] = windows(items[i].Text, opt.Window)[0]
			}
			vs, err := opt.Client.Embed(ctx, opt.Endpoint, opt.Embed, texts, opt.Retry)
			mu.Lock()
			defer mu.Unlock()
			for k, i := range idx {
				if err != nil {
					ix.why[i] = whyFailed
					ix.failed++
					if ix.failure == "" {
						ix.failure = err.Error()
					}
					continue
				}
				ix.vecs[i] = vs[k]
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ix.failed > 0 && ix.failed == len(todo) {
		return nil, fmt.Errorf("none of the %d eval items could be embedded: %s", len(todo), ix.failure)
	}
	ix.graph = hnsw.NewGraph[uint32]()
	ix.graph.M, ix.graph.EfSearch, ix.graph.Distance = graphM, graphEf, hnsw.CosineDistance
	// Levels drawn from a fixed seed: the same items make the same graph.
	ix.graph.Rng = rand.New(rand.NewSource(1))
	for i, v := range ix.vecs {
		if v == nil {
			ix.unchecked++
			continue
		}
		if d := ix.graph.Dims(); d != 0 && d != len(v) {
			// Batches answered by different models behind one URL.
			return nil, fmt.Errorf("the endpoint gave vectors of %d and of %d numbers: is one model serving %s?", d, len(v), opt.Endpoint.BaseURL)
		}
		ix.graph.Add(hnsw.MakeNode(uint32(i), v))
		ix.embedded = append(ix.embedded, uint32(i))
	}
	ix.selfCheck()
	return ix, nil
}

// selfCheck has up to selfChecks items, spread over the set, look
// themselves up in the graph, and falls back to comparing every window
// with every item when fewer than minSelfRecall of them are found.
//
// github.com/coder/hnsw v0.6.1, the newest release the module proxy
// serves, finds few of them on vectors like these (its heap's Max and
// PopLast take an arbitrary element, and its search stops at the first
// step that does not improve the best result: fixed upstream in pull
// requests 20 to 22, not released): TestEmbedIndexFindsTheNearest
// measures it. A release that finds them passes the check and is used
// as it is.
func (ix *EmbedIndex) selfCheck() {
	n := len(ix.embedded)
	if n == 0 {
		ix.selfRecall = 1
		return
	}
	step := max(n/selfChecks, 1)
	found, asked := 0, 0
	for k := 0; k < n; k += step {
		i := ix.embedded[k]
		asked++
		for _, nb := range ix.graph.Search(ix.vecs[i], graphK) {
			if nb.Key == i || dot(nb.Value, ix.vecs[i]) >= 1-1e-6 {
				found++
				break
			}
		}
	}
	ix.selfRecall = float64(found) / float64(asked)
	ix.exact = ix.selfRecall < minSelfRecall
}

// Search says how windows are compared with the items: "hnsw" (with the
// graph's nearest items) or "exact" (with every item, when the graph
// failed its self-check), and the share of items the graph found when
// they looked themselves up.
func (ix *EmbedIndex) Search() (string, float64) {
	if ix.exact {
		return "exact", ix.selfRecall
	}
	return "hnsw", ix.selfRecall
}

// Options are the options the index was built with, defaults filled in.
func (ix *EmbedIndex) Options() EmbedOptions { return ix.opt }

// windows cuts text into pieces of at most size characters, overlapping
// by a quarter, each cut moved back to a space where one is near, so
// that a passage shorter than a quarter of the window lies whole in one
// of them. A text of at most size characters is one window.
func windows(text string, size int) []string {
	if utf8.RuneCountInString(text) <= size {
		return []string{text}
	}
	rs := []rune(text)
	step := size - size/4
	var out []string
	for start := 0; start < len(rs); {
		end := min(start+size, len(rs))
		if end < len(rs) {
			// Back to a space within the last eighth, if there is one.
			for e := end; e > end-size/8; e-- {
				if unicode.IsSpace(rs[e-1]) {
					end = e
					break
				}
			}
		}
		if w := string(rs[start:end]); strings.TrimSpace(w) != "" {
			out = append(out, w)
		}
		if end == len(rs) {
			break
		}
		start += min(step, end-start)
	}
	if len(out) == 0 {
		out = []string{text}
	}
	return out
}

// EmbedStats say what the embedding check did.
type EmbedStats struct {
	// Checked counts the eval items with an embedding; Unchecked those
	// without (no text, or their call failed: UncheckedFailed of them),
	// which embeddings did not check.
	Checked, Unchecked, UncheckedFailed int
	// EvalFailure is the first eval batch's failure, if any.
	EvalFailure string
	// Flagged counts the items whose best cosine reached the threshold.
	Flagged int
	// Docs counts the training documents embedded whole; Windows the
	// pieces embedded.
	Docs, Windows int64
	// FailedDocs counts the training documents not wholly embedded (a
	// batch holding one of their windows failed for good): they were not
	// checked by embeddings, and the check is incomplete. FailedBatches
	// counts the requests that failed, Causes them by [llm.Cause].
	FailedDocs, FailedBatches int64
	Causes                    map[string]int64
}

// embedWorker checks training documents against an [EmbedIndex], keeping
// its own bests.
type embedWorker struct {
	ix   *EmbedIndex
	best []best
	// The pieces of the batch being checked: text, document (index in
	// the batch) and whether the document has failed.
	texts  []string
	owners []int
	failed []bool
	// vecs are windows embedded and not yet compared, of the documents
	// vecOwners.
	vecs      [][]float32
	vecOwners []int
	stats     EmbedStats
}

// compareChunk is how many windows are compared with every item at once:
// 256 vectors of 384 numbers take 384 KiB, which a core's cache holds
// while the items stream through it.
const compareChunk = 256

func (ix *EmbedIndex) newWorker() *embedWorker {
	return &embedWorker{ix: ix, best: make([]best, len(ix.vecs)), stats: EmbedStats{Causes: map[string]int64{}}}
}

// batch embeds the readable documents of b, a batch of the endpoint's
// size at a time, and offers each window's nearest items its cosine. A
// failed call is counted, never taken for a clean document; only ctx's
// end is an error.
func (w *embedWorker) batch(ctx context.Context, src *Source, b *batch) error {
	opt := &w.ix.opt
	w.texts, w.owners = w.texts[:0], w.owners[:0]
	w.failed = slices.Grow(w.failed[:0], len(b.recs))[:len(b.recs)]
	clear(w.failed)
	docs := 0
	for i := range b.recs {
		text, p := src.text(b, i)
		if p != nil || strings.TrimSpace(text) == "" {
			continue // a problem, counted by the n-gram worker
		}
		docs++
		for _, win := range windows(text, opt.Window) {
			w.texts = append(w.texts, win)
			w.owners = append(w.owners, i)
		}
	}
	size := opt.Embed.BatchSize
	if size <= 0 {
		size = llm.DefaultEmbedBatch
	}
	// The windows embedded are compared compareChunk at a time, however
	// few texts a request takes: each chunk reads every item once.
	w.vecs, w.vecOwners = w.vecs[:0], w.vecOwners[:0]
	flush := func(force bool) {
		for len(w.vecs) >= compareChunk || force && len(w.vecs) > 0 {
			n := min(len(w.vecs), compareChunk)
			owners := w.vecOwners[:n]
			w.compare(w.vecs[:n], func(k int) (int64, func() string) {
				rec := owners[k]
				return b.ord + int64(rec), func() string {
					id, _ := src.id(b, rec)
					return id
				}
			})
			w.vecs, w.vecOwners = w.vecs[n:], w.vecOwners[n:]
		}
	}
	for start := 0; start < len(w.texts); start += size {
		end := min(start+size, len(w.texts))
		vs, err := opt.Client.Embed(ctx, opt.Endpoint, opt.Embed, w.texts[start:end], opt.Retry)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.stats.FailedBatches++
			w.stats.Causes[llm.Cause(err)]++
			for _, o := range w.owners[start:end] {
				w.failed[o] = true
			}
			continue
		}
		w.stats.Windows += int64(len(vs))
		w.vecs = append(w.vecs, vs...)
		w.vecOwners = append(w.vecOwners, w.owners[start:end]...)
		flush(false)
	}
	flush(true)
	for i, f := range w.failed {
		if f {
			w.stats.FailedDocs++
			docs--
			w.failed[i] = false
		}
	}
	w.stats.Docs += int64(docs)
	return nil
}

// compare offers windows' nearest items their exact cosine with each
// window: the graph's nearest, or every item. doc gives window k's
// document: its place in the input and its id (called only for a new
// best).
func (w *embedWorker) compare(windows [][]float32, doc func(k int) (int64, func() string)) {
	if !w.ix.exact {
		for k, v := range windows {
			ord, id := doc(k)
			for _, n := range w.ix.graph.Search(v, graphK) {
				w.offer(n.Key, dot(v, n.Value), ord, id)
			}
		}
		return
	}
	// Item by item, each against the whole batch of windows: the batch
	// stays in the cache while the items stream through it once, rather
	// than once a window.
	ords := make([]int64, len(windows))
	ids := make([]func() string, len(windows))
	for k := range windows {
		ords[k], ids[k] = doc(k)
	}
	for _, i := range w.ix.embedded {
		iv := w.ix.vecs[i]
		for k, v := range windows {
			w.offer(i, dot(v, iv), ords[k], ids[k])
		}
	}
}

func (w *embedWorker) offer(i uint32, cos float32, ord int64, id func() string) {
	if w.best[i].better(float64(cos), ord) {
		w.best[i] = best{float64(cos), ord, id()}
	}
}

// dot is the cosine of two vectors of length 1.
func dot(a, b []float32) float32 { return vek32.Dot(a, b) }

// report merges the workers' findings into rep's results.
func (ix *EmbedIndex) report(rep *Report, ws []*embedWorker) {
	bests := make([]best, len(ix.vecs))
	for _, w := range ws {
		merge(bests, w.best)
	}
	st := ix.results(bests, func(i int, e *EmbeddingResult) {
		r := &rep.Results[i]
		r.Embedding = e
		if e.Flagged && !r.Contaminated {
			r.Contaminated = true
			rep.Contaminated++
		}
	})
	for _, w := range ws {
		st.Docs += w.stats.Docs
		st.Windows += w.stats.Windows
		st.FailedDocs += w.stats.FailedDocs
		st.FailedBatches += w.stats.FailedBatches
		for c, n := range w.stats.Causes {
			st.Causes[c] += n
		}
	}
	rep.Embedding = st
}

// results hands set each item's finding from its best match (bests[i]),
// and counts them: an item without an embedding is unchecked, and says
// why.
func (ix *EmbedIndex) results(bests []best, set func(i int, e *EmbeddingResult)) *EmbedStats {
	st := &EmbedStats{Causes: map[string]int64{}, Unchecked: ix.unchecked, UncheckedFailed: ix.failed, EvalFailure: ix.failure}
	for i, v := range ix.vecs {
		if v == nil {
			set(i, &EmbeddingResult{Unchecked: ix.why[i]})
			continue
		}
		st.Checked++
		score := math.Round(bests[i].score*1e4) / 1e4
		e := &EmbeddingResult{Score: score, Match: bests[i].id, Flagged: score >= ix.opt.Threshold}
		if e.Flagged {
			st.Flagged++
		}
		set(i, e)
	}
	return st
}

// EmbeddingResult is what the embedding check found of one eval item.
type EmbeddingResult struct {
	// Score is the best cosine between the item's embedding and a
	// training document's (its best window's), rounded to 4 decimals;
	// Match is that document.
	Score float64
	Match string
	// Flagged: Score reached the threshold.
	Flagged bool
	// Unchecked says why the item was not checked by embeddings ("" when
	// it was).
	Unchecked string
}

// CausesByCount lists the failure causes of st as "count × cause",
// most first.
func (st *EmbedStats) CausesByCount() []string {
	causes := make([]string, 0, len(st.Causes))
	for c := range st.Causes {
		causes = append(causes, c)
	}
	slices.SortFunc(causes, func(a, b string) int {
		return cmp.Or(cmp.Compare(st.Causes[b], st.Causes[a]), cmp.Compare(a, b))
	})
	out := make([]string, len(causes))
	for i, c := range causes {
		out[i] = fmt.Sprintf("%d × %s", st.Causes[c], c)
	}
	return out
}
