package aggregate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/assay-eval/assay/pkg/eval"
)

// ErrTextGone is what a [Fetcher] returns for a text that is no longer
// stored (its stream was purged or reached its age limit) or no longer
// decodes. An export leaves such a text null and counts it, where the
// report's examples fail: a file of every result is still worth having
// when some of its texts are lost.
var ErrTextGone = errors.New("text is no longer stored")

// fetchParallel bounds the fetches in flight for one batch of rows: enough
// to hide a round trip to NATS, few enough not to crowd out the stages.
const fetchParallel = 16

// Texts are the samples and generations one batch of rows refers to, each
// fetched once.
type Texts struct {
	samples map[uint64]*eval.Sample
	gens    map[uint64]*eval.Generation
	// Missing counts the texts that were asked for and are gone
	// ([ErrTextGone]).
	Missing int
}

// Sample is the sample at seq, or nil when it is gone or was not asked for.
func (t *Texts) Sample(seq uint64) *eval.Sample { return t.samples[seq] }

// Generation is the generation at seq, or nil when it is gone or was not
// asked for.
func (t *Texts) Generation(seq uint64) *eval.Generation { return t.gens[seq] }

// A BatchFetcher is a [Fetcher] that also reads many texts at once, with
// a round trip for many rather than one each; it calls fn once for each
// sequence asked for, in order, and returns an error that stopped it.
type BatchFetcher interface {
	Fetcher
	Samples(ctx context.Context, seqs []uint64, fn func(seq uint64, s *eval.Sample, err error)) error
	Generations(ctx context.Context, seqs []uint64, fn func(seq uint64, g *eval.Generation, err error)) error
}

// FetchTexts fetches the samples and generations at the given stream
// sequences: in batches from a [BatchFetcher], else at most
// [fetchParallel] at a time; sequence 0 (no sample or generation) and
// repeats are skipped. A text that is gone is left out and counted; any
// other failure (NATS unreachable, the context ended) is returned, since
// the texts would then be missing for no reason of theirs.
func FetchTexts(ctx context.Context, fetch Fetcher, samples, gens []uint64) (*Texts, error) {
	if bf, ok := fetch.(BatchFetcher); ok {
		return fetchBatches(ctx, bf, unique(samples), unique(gens))
	}
	t := &Texts{samples: map[uint64]*eval.Sample{}, gens: map[uint64]*eval.Generation{}}
	type job struct {
		seq uint64
		gen bool
	}
	var jobs []job
	for _, seq := range unique(samples) {
		jobs = append(jobs, job{seq, false})
	}
	for _, seq := range unique(gens) {
		jobs = append(jobs, job{seq, true})
	}
	if len(jobs) == 0 {
		return t, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan job)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range min(fetchParallel, len(jobs)) {
		wg.Go(func() {
			for j := range queue {
				var s *eval.Sample
				var g *eval.Generation
				var err error
				if j.gen {
					g, err = fetch.Generation(ctx, j.seq)
				} else {
					s, err = fetch.Sample(ctx, j.seq)
				}
				mu.Lock()
				switch {
				case err == nil && j.gen:
					t.gens[j.seq] = g
				case err == nil:
					t.samples[j.seq] = s
				case errors.Is(err, ErrTextGone):
					t.Missing++
				case first == nil:
					first = err
					cancel()
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("fetching texts: %w", first)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fetching texts: %w", err)
	}
	return t, nil
}

// fetchBatches is FetchTexts from a BatchFetcher: the samples and the
// generations read side by side.
func fetchBatches(ctx context.Context, fetch BatchFetcher, samples, gens []uint64) (*Texts, error) {
	t := &Texts{samples: make(map[uint64]*eval.Sample, len(samples)), gens: make(map[uint64]*eval.Generation, len(gens))}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	// failed counts a text that is gone, and keeps the first other
	// failure.
	failed := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, ErrTextGone):
			t.Missing++
		case first == nil:
			first = err
		}
	}
	wg.Go(func() { fetchInto(ctx, fetch.Samples, samples, t.samples, &mu, failed) })
	wg.Go(func() { fetchInto(ctx, fetch.Generations, gens, t.gens, &mu, failed) })
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("fetching texts: %w", first)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fetching texts: %w", err)
	}
	return t, nil
}

// fetchInto reads the texts at seqs with read into dst (under mu), and
// hands failed every failure.
func fetchInto[T any](ctx context.Context, read func(context.Context, []uint64, func(uint64, *T, error)) error,
	seqs []uint64, dst map[uint64]*T, mu *sync.Mutex, failed func(error)) {
	if len(seqs) == 0 {
		return
	}
	err := read(ctx, seqs, func(seq uint64, v *T, err error) {
		if err != nil {
			failed(err)
			return
		}
		mu.Lock()
		dst[seq] = v
		mu.Unlock()
	})
	if err != nil {
		failed(err)
	}
}

// unique is seqs without 0 and without repeats, in ascending order (which
// reads a stream's blocks in order).
func unique(seqs []uint64) []uint64 {
	out := slices.Clone(seqs)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && out[0] == 0 {
		out = out[1:]
	}
	return out
}

// jsonText is v as compact JSON with <, > and & kept as they are: the text
// is read by people and data tools, not embedded in HTML.
func jsonText(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Messages and references were decoded from JSON: they encode.
		panic(fmt.Sprintf("encoding %T: %v", v, err))
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// referenceText is a sample's reference as JSON text, "" when it has none.
func referenceText(s *eval.Sample) string {
	if s.Reference == nil {
		return ""
	}
	return jsonText(s.Reference)
}

// answered is a generation's answer, or false when there is none: the
// generation is gone, or it failed for good (its empty output is not an
// answer).
func answered(g *eval.Generation) (string, bool) {
	if g == nil || g.Error != "" {
		return "", false
	}
	return g.Output, true
}

// side is what a judgment needs of one variant's answer to a sample: where
// its generation is, and which model and parameters made it.
type side struct {
	genSeq        uint64
	model, params string
}

// storedSide is a side as the index keeps it, its model and parameters
// interned: a run has a handful of each, and the index an entry per score.
type storedSide struct {
	genSeq        uint64
	model, params uint32
}

// SideIndex finds each variant's generation of a sample, for the texts of
// the judgments (which name the variants, not their generations), and a
// sample's sequence for a dead letter's row (which knows the sample by id
// only).
type SideIndex struct {
	sides map[[16]byte]storedSide
	// samples are the sequences of the samples that rows without one
	// (dead letters) need, keyed by (suite, id); only those are kept.
	samples map[[16]byte]uint64
	strs    []string
	ids     map[string]uint32
	// models are the spec's, for a variant whose score has not arrived or
	// was dead-lettered.
	models map[string]string
}

// NewSideIndex returns an empty index of the run of spec.
func NewSideIndex(spec *eval.RunSpec) *SideIndex {
	x := &SideIndex{sides: map[[16]byte]storedSide{}, samples: map[[16]byte]uint64{}, ids: map[string]uint32{}, models: map[string]string{}}
	for _, v := range spec.Variants {
		x.models[v.Name] = v.Model
	}
	return x
}

// needSample asks the index to find the sequence of the sample (suite, id)
// among the scores it is given: a dead letter's row knows its sample by id
// only.
func (x *SideIndex) needSample(suite, id string) {
	x.samples[sampleKey(suite, id)] = 0
}

func sampleKey(suite, id string) [16]byte { return hashKey("sample", suite, id) }

// Add records variant's generation of the sample (suite, id).
func (x *SideIndex) Add(variant, suite, id string, sampleSeq, genSeq uint64, model, params string) {
	x.sides[scoreKey(variant, suite, id)] = storedSide{genSeq, x.intern(model), x.intern(params)}
	if sampleSeq > 0 && len(x.samples) > 0 {
		k := sampleKey(suite, id)
		if _, need := x.samples[k]; need {
			x.samples[k] = sampleSeq
		}
	}
}

func (x *SideIndex) intern(s string) uint32 {
	id, ok := x.ids[s]
	if !ok {
		id = uint32(len(x.strs))
		s = strings.Clone(s) // not a view of a batch or a message
		x.strs, x.ids[s] = append(x.strs, s), id
	}
	return id
}

// AddScore records a score's generation.
func (x *SideIndex) AddScore(s *eval.Score) {
	x.Add(s.Variant, s.Sample.Suite, s.Sample.ID, s.Sample.Seq, s.GenSeq, s.Model, s.Params)
}

// side is variant's generation of the sample: no generation when none was
// recorded, and then the spec's model.
func (x *SideIndex) side(variant, suite, id string) side {
	s := side{model: x.models[variant]}
	if st, ok := x.sides[scoreKey(variant, suite, id)]; ok {
		s.genSeq, s.params = st.genSeq, x.strs[st.params]
		if m := x.strs[st.model]; m != "" {
			s.model = m
		}
	}
	return s
}

// SampleSeq is the sample's sequence: seq when it is known, else what any
// variant's score of it says (when it was asked for), else 0.
func (x *SideIndex) SampleSeq(suite, id string, seq uint64) uint64 {
	if seq > 0 {
		return seq
	}
	return x.samples[sampleKey(suite, id)]
}

// GenSeq is variant's generation of the sample, 0 when none is known.
func (x *SideIndex) GenSeq(variant, suite, id string) uint64 {
	return x.side(variant, suite, id).genSeq
}
