package aggregate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// Distinct-1/2 (see [document.Distinct]) need every answer's words, which
// the score rows do not carry: they are counted where the report reads
// the answers' texts anyway, in the Parquet export's pass over the scores
// ([Rows.WriteScores]), or in a pass of their own ([Rows.ReadAnswers])
// when no Parquet file is written. Memory stays bounded: each corpus of
// answers keeps the counts of its words and a sketch of the distinct ones
// ([gramSketch]), and, to pair the variants by sample, a suite keeps a
// 64-bit key per sample and a byte per sample and variant — less than the
// rows themselves.

// Sizes of the sketches.
const (
	// distinctK sizes the sketch of a variant's words (or word pairs) on
	// a suite: counted exactly up to 24,576 distinct ones, estimated
	// beyond with a relative standard error under 0.8%; 256 KB when full.
	distinctK = 1 << 14
	// distinctGroupK sizes the sketch of a jackknife group's words (or
	// pairs) on one side of a candidate's comparison with the baseline:
	// exact up to 3,072, 32 KB when full, so 2 sides × 2 × 20 groups hold
	// at most 2.6 MB a candidate and suite. Their union, the whole
	// corpus, is exact while each group is, and otherwise keeps at least
	// as many values as a group.
	distinctGroupK = 1 << 11
	// jackGroups is how many groups of samples (drawn by hashing the
	// sample's id) the delete-a-group jackknife leaves out in turn: about
	// 20 for a stable variance with groups large enough to drop (Kott
	// 2001 suggests 15 to 30).
	jackGroups = 20
)

// Reasons distinct-1/2 have no figure.
const (
	distinctNotRead       = "not measured: the report was made without reading the answers' texts"
	distinctContinuous    = "not measured for a continuous run: its answers' texts are not read at every report"
	distinctNoAnswer      = "no answer's text could be read"
	distinctNoWord        = "no word in the answers read"
	distinctNoPair        = "no answer of two words or more: no word pair"
	distinctNoGroups      = "fewer than 2 groups of samples: no interval"
	distinctEmptyLeaveOut = "every word is in one group of samples: no interval"
)

// mechanicalDistinctDrop is how far below the baseline's a candidate's
// distinct-2 must be, as a share of the baseline's, for the mechanical
// flag: a fifth, as a template must be on a fifth of the answers.
const mechanicalDistinctDrop = 0.2

// Distinct counts distinct-1/2 of the answers one pass over a run's texts
// reads (see [Rows.CountDistinct]), for [WithDistinct].
type Distinct struct {
	spec   *eval.RunSpec
	suites map[string]*distinctSuite
	// read: a pass handed it every answer.
	read bool
	// gram is the answer being read's words, reused.
	gram answerGrams
}

// distinctSuite is what Distinct keeps of one suite.
type distinctSuite struct {
	// keys are the samples' keys (sampleKey64), ascending: a sample's
	// position.
	keys []uint64
	// states are each variant's answers by position: 0 none, 1
	// answered, 2 failed (as [answerStates]).
	states map[string][]uint8
	// all are each variant's answers; pairs each candidate's and the
	// baseline's answers to the samples both answered.
	all   map[string]*variantCorpus
	pairs map[string]*distinctPair
}

// gramCorpus counts a body of answers' words and word pairs, and sketches
// the distinct ones.
type gramCorpus struct {
	answers         int
	tokens, bigrams int64
	// grams are the sketches of the words (0) and the word pairs (1),
	// made when a first one comes.
	grams [2]*gramSketch
}

// variantCorpus is every answer of a variant on a suite.
type variantCorpus struct {
	gramCorpus
	failed, unread int
}

// distinctPair is a candidate's answers and the baseline's to the
// samples both answered, group by group (sampleGroup).
type distinctPair struct {
	n, excluded, unread int
	// sides are the candidate's (0) and the baseline's (1).
	sides [2][jackGroups]gramCorpus
}

// answerGrams are one answer's word and word pair values (see unigram,
// bigram).
type answerGrams struct{ words, pairs []uint64 }

// read sets a to output's words and word pairs.
func (a *answerGrams) read(output string) {
	a.words, a.pairs = a.words[:0], a.pairs[:0]
	var prev uint64
	for w := range eval.Words(output) {
		h := gramHash(w)
		if len(a.words) > 0 {
			a.pairs = append(a.pairs, bigram(prev, h))
		}
		a.words = append(a.words, unigram(h))
		prev = h
	}
}

// add counts answer a into c, whose sketches hold k values.
func (c *gramCorpus) add(a *answerGrams, k int) {
	c.answers++
	c.tokens += int64(len(a.words))
	c.bigrams += int64(len(a.pairs))
	for n, vals := range [2][]uint64{a.words, a.pairs} {
		if len(vals) == 0 {
			continue
		}
		if c.grams[n] == nil {
			c.grams[n] = newGramSketch(k)
		}
		for _, v := range vals {
			c.grams[n].add(v)
		}
	}
}

// count is the number of words (n 0) or word pairs (n 1).
func (c *gramCorpus) count(n int) int64 {
	if n == 0 {
		return c.tokens
	}
	return c.bigrams
}

// sampleKey64 is a sample's key among its suite's: 64 bits, so a suite of
// a million samples has its keys in 8 MB (two of its ids would share a key
// with a chance of about 3 in 10⁸, and be counted as one sample).
func sampleKey64(id string) uint64 { return mix64(gramHash(id)) }

// sampleGroup is the jackknife group of the sample of key k.
func sampleGroup(k uint64) int { return int((k >> 32) % jackGroups) }

// CountDistinct indexes the rows' samples (a pass over the rows, not
// their texts) and returns the Distinct that the rows' first pass over
// their answers — [Rows.WriteScores] or [Rows.ReadAnswers] — counts
// distinct-1/2 into. Call it before that pass. A continuous run has none
// (nil): its reports come too often to read every answer for each.
func (r *Rows) CountDistinct() (*Distinct, error) {
	if r.spec.Continuous != nil {
		return nil, nil
	}
	d := &Distinct{spec: r.spec, suites: map[string]*distinctSuite{}}
	// The keys of every original sample's rows, a suite's in a slice
	// sized once (counted first): at a million samples, growing it by
	// appending would leave as much again behind. A suite's entry is
	// made once, under a copy of its name: assigning to a key that is
	// there would store the batch's string, valid only while it is read.
	type suiteRows struct {
		n    int
		keys []uint64
	}
	bySuite := map[string]*suiteRows{}
	for _, count := range []bool{true, false} {
		err := r.scoreBatches.each(func(rec arrow.RecordBatch) error {
			suite := rec.Column(colSuite).(*array.String)
			sample := rec.Column(colSample).(*array.String)
			pert := rec.Column(colPerturbation).(*array.String)
			for i := range int(rec.NumRows()) {
				if pert.Value(i) != "" {
					continue
				}
				sr := bySuite[suite.Value(i)]
				if sr == nil {
					sr = &suiteRows{}
					bySuite[strings.Clone(suite.Value(i))] = sr
				}
				if count {
					sr.n++
					continue
				}
				if sr.keys == nil {
					sr.keys = make([]uint64, 0, sr.n)
				}
				sr.keys = append(sr.keys, sampleKey64(sample.Value(i)))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for suite, sr := range bySuite {
		ks := sr.keys
		slices.Sort(ks)
		// Each sample once, in a slice of its own size.
		d.suites[suite] = &distinctSuite{keys: slices.Clone(slices.Compact(ks)), states: map[string][]uint8{},
			all: map[string]*variantCorpus{}, pairs: map[string]*distinctPair{}}
		delete(bySuite, suite)
	}
	err := r.scoreBatches.each(func(rec arrow.RecordBatch) error {
		d.eachOriginal(rec, func(_ int, ds *distinctSuite, variant string, pos int, failed bool) {
			st := ds.states[variant]
			if st == nil {
				st = make([]uint8, len(ds.keys))
				ds.states[strings.Clone(variant)] = st
			}
			st[pos] = 1
			if failed {
				st[pos] = 2
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	base := r.spec.Baseline
	for _, ds := range d.suites {
		for v, st := range ds.states {
			vc := &variantCorpus{}
			for _, s := range st {
				if s == 2 {
					vc.failed++
				}
			}
			ds.all[v] = vc
			bs := ds.states[base]
			if v == base || bs == nil {
				continue
			}
			p := &distinctPair{}
			for i, s := range st {
				switch {
				case s == 0 || bs[i] == 0:
				case s == 2 || bs[i] == 2:
					p.excluded++
				default:
					p.n++
				}
			}
			ds.pairs[v] = p
		}
	}
	r.distinctMu.Lock()
	r.distinct = d
	r.distinctMu.Unlock()
	return d, nil
}

// eachOriginal hands fn each row of rec that is an original sample's (not
// a robustness copy's), by its index in rec, with its suite and position;
// variant is valid only during fn.
func (d *Distinct) eachOriginal(rec arrow.RecordBatch, fn func(row int, ds *distinctSuite, variant string, pos int, failed bool)) {
	suite := rec.Column(colSuite).(*array.String)
	sample := rec.Column(colSample).(*array.String)
	variant := rec.Column(colVariant).(*array.String)
	bucket := rec.Column(colBucket).(*array.String)
	pert := rec.Column(colPerturbation).(*array.String)
	var ds *distinctSuite
	for i := range int(rec.NumRows()) {
		if i == 0 || suite.Value(i) != suite.Value(i-1) {
			ds = d.suites[suite.Value(i)]
		}
		if ds == nil || pert.Value(i) != "" {
			continue
		}
		if pos, ok := slices.BinarySearch(ds.keys, sampleKey64(sample.Value(i))); ok {
			fn(i, ds, variant.Value(i), pos, bucket.Value(i) == string(eval.BucketError))
		}
	}
}

// addBatch counts the answers of a batch of score rows whose texts were
// fetched into t, gens[i] being row i's generation. A failed generation
// was counted by the index; an answer whose text is gone is unread.
func (d *Distinct) addBatch(rec arrow.RecordBatch, gens []uint64, t *Texts) {
	d.eachOriginal(rec, func(row int, ds *distinctSuite, variant string, pos int, failed bool) {
		if !failed {
			out, ok := answered(t.Generation(gens[row]))
			d.add(ds, variant, pos, out, ok)
		}
	})
}

// add counts variant's answer out to the sample at pos of ds, or, when
// its text could not be read (ok false), that it is unread.
func (d *Distinct) add(ds *distinctSuite, variant string, pos int, out string, ok bool) {
	vc := ds.all[variant]
	if vc == nil {
		return
	}
	// The pairs it is on: the candidate's with the baseline, or, for the
	// baseline's answer, every candidate's that answered the sample.
	var on []*distinctPair
	var side int
	base := d.spec.Baseline
	if variant == base {
		side = 1
		for c, p := range ds.pairs {
			if ds.states[c][pos] == 1 {
				on = append(on, p)
			}
		}
	} else if p := ds.pairs[variant]; p != nil && ds.states[base][pos] == 1 {
		on = append(on, p)
	}
	if !ok {
		vc.unread++
		for _, p := range on {
			p.unread++
		}
		return
	}
	d.gram.read(out)
	vc.add(&d.gram, distinctK)
	g := sampleGroup(ds.keys[pos])
	for _, p := range on {
		p.sides[side][g].add(&d.gram, distinctGroupK)
	}
}

// ReadAnswers reads the answers of the rows' scores, batch by batch, for
// the Distinct the rows count into ([Rows.CountDistinct]): the pass a
// report makes when it writes no Parquet file. A text that is gone is
// counted as unread; any other failure is returned.
func (r *Rows) ReadAnswers(ctx context.Context, fetch Fetcher) error {
	d := r.takeDistinct()
	if d == nil {
		return nil
	}
	err := r.scoreBatches.each(func(rec arrow.RecordBatch) error {
		gseq := rec.Column(colGenSeq).(*array.Uint64)
		gens := make([]uint64, rec.NumRows())
		var want []uint64
		d.eachOriginal(rec, func(row int, _ *distinctSuite, _ string, _ int, failed bool) {
			if !failed {
				gens[row] = gseq.Value(row)
				want = append(want, gens[row])
			}
		})
		t, err := FetchTexts(ctx, fetch, nil, want)
		if err != nil {
			return err
		}
		d.addBatch(rec, gens, t)
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the answers: %w", err)
	}
	d.read = true
	return nil
}

// takeDistinct is the Distinct the rows count into, once: a second pass
// over the same answers would count them twice.
func (r *Rows) takeDistinct() *Distinct {
	r.distinctMu.Lock()
	defer r.distinctMu.Unlock()
	d := r.distinct
	r.distinct = nil
	return d
}

// ReportOption sets how [Collector.Report] computes a report.
type ReportOption func(*reportOptions)

type reportOptions struct {
	distinct *Distinct
}

// WithDistinct gives the report the distinct-1/2 that d counted over the
// answers of the rows it was made for (taken from the collector the
// report is computed from, with nothing added since).
func WithDistinct(d *Distinct) ReportOption {
	return func(o *reportOptions) { o.distinct = d }
}

// distinctFigures are the figures of variant's answers on suite, and, for
// a candidate, against the baseline's; why says why there are none.
func (d *Distinct) figures(suite, variant, why string) (document.Distinct, *document.DistinctDelta) {
	if why == "" && (d == nil || !d.read) {
		why = distinctNotRead
	}
	if why != "" {
		return document.Distinct{Undefined: why}, nil
	}
	ds := d.suites[suite]
	if ds == nil || ds.all[variant] == nil {
		return document.Distinct{Undefined: distinctNoAnswer}, nil
	}
	var vs *document.DistinctDelta
	if p := ds.pairs[variant]; p != nil && p.n+p.excluded > 0 {
		vs = p.delta()
	}
	return ds.all[variant].figures(), vs
}

// figures are distinct-1/2 over every answer of the variant.
func (vc *variantCorpus) figures() document.Distinct {
	out := document.Distinct{N: vc.answers, Failed: vc.failed, Unread: vc.unread, Tokens: vc.tokens, Bigrams: vc.bigrams, Exact: true}
	var relErr float64
	for n, x := range []**float64{&out.Distinct1, &out.Distinct2} {
		if vc.count(n) > 0 {
			m := vc.grams[n].kmv()
			*x = ptr(m.estimate() / float64(vc.count(n)))
			out.Exact = out.Exact && m.exact
			relErr = max(relErr, m.relErr())
		}
	}
	if !out.Exact {
		out.RelError = &relErr
	}
	switch {
	case vc.answers == 0:
		out.Undefined = distinctNoAnswer
	case vc.tokens == 0:
		out.Undefined = distinctNoWord
	case vc.bigrams == 0:
		out.Undefined = distinctNoPair
	}
	return out
}

// delta is the candidate's distinct-1/2 against the baseline's on the
// samples both answered, with delete-a-group jackknife intervals.
func (p *distinctPair) delta() *document.DistinctDelta {
	out := &document.DistinctDelta{N: p.n, Excluded: p.excluded}
	for g := range jackGroups {
		out.Tokens += p.sides[0][g].tokens
		out.BaselineTokens += p.sides[1][g].tokens
		if p.sides[0][g].answers > 0 {
			out.Groups++
		}
	}
	out.Distinct1, out.Distinct2 = p.diff(0), p.diff(1)
	return out
}

// diff is distinct-n's difference (n 0 for words, 1 for word pairs).
func (p *distinctPair) diff(n int) document.DistinctDiff {
	switch {
	case p.unread > 0:
		return document.DistinctDiff{Undefined: fmt.Sprintf("%d of the answers to the samples both answered could not be read", p.unread)}
	case p.n == 0:
		return document.DistinctDiff{Undefined: noPairUndefined}
	}
	var parts [2][jackGroups]kmv
	for side := range parts {
		for g := range parts[side] {
			parts[side][g] = p.sides[side][g].grams[n].kmv()
		}
	}
	// ratio is distinct-n of a side with group skip left out (-1: none);
	// ok is false when the rest holds no word (pair); relErr is its
	// sketch's.
	ratio := func(side int, skip int) (r, relErr float64, ok bool) {
		var in []kmv
		var total int64
		for g := range jackGroups {
			if g != skip {
				in = append(in, parts[side][g])
				total += p.sides[side][g].count(n)
			}
		}
		if total == 0 {
			return 0, 0, false
		}
		u := unionKMV(in...)
		return u.estimate() / float64(total), u.relErr(), true
	}
	c, cErr, okC := ratio(0, -1)
	b, bErr, okB := ratio(1, -1)
	if !okC || !okB {
		why := distinctNoWord
		if n == 1 {
			why = distinctNoPair
		}
		return document.DistinctDiff{Undefined: why}
	}
	out := document.DistinctDiff{Candidate: &c, Baseline: &b, Delta: ptr(c - b)}
	var leaveOut []float64
	for g := range jackGroups {
		if p.sides[0][g].answers == 0 {
			continue
		}
		cg, _, okC := ratio(0, g)
		bg, _, okB := ratio(1, g)
		if !okC || !okB {
			out.Undefined = distinctEmptyLeaveOut
			return out
		}
		leaveOut = append(leaveOut, cg-bg)
	}
	// The sketches' own error, which leaving groups out barely shows,
	// widens the interval (0 when both were counted exactly).
	ci, ok := jackknifeInterval(c-b, leaveOut, math.Hypot(cErr*c, bErr*b))
	if !ok {
		out.Undefined = distinctNoGroups
		return out
	}
	out.CI = &[2]float64{max(-1, ci[0]), min(1, ci[1])}
	return out
}

// distinctMechanical says why a candidate's distinct-2 makes it
// mechanical (see [document.Template]), "" when it does not: at least a
// fifth below the baseline's on the same samples, the interval of the
// difference below 0, in no more words than the baseline's — a corpus
// repeats more word pairs by its length alone, so fewer distinct pairs
// in more words would not tell a template from a longer answer.
func distinctMechanical(vs *document.DistinctDelta) string {
	if vs == nil {
		return ""
	}
	d := vs.Distinct2
	if d.CI == nil || d.Candidate == nil || d.Baseline == nil || d.CI[1] >= 0 ||
		*d.Candidate > (1-mechanicalDistinctDrop)*(*d.Baseline) || vs.Tokens > vs.BaselineTokens {
		return ""
	}
	return fmt.Sprintf("its distinct-2 %.2f against the baseline's %.2f on the same %d samples (%+.2f [%+.2f, %+.2f]), in no more words (%d against %d)",
		*d.Candidate, *d.Baseline, vs.N, *d.Delta, d.CI[0], d.CI[1], vs.Tokens, vs.BaselineTokens)
}
