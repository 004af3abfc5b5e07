package aggregate

import (
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/eval"
)

// sampleIndex numbers each suite's samples in id order: a sample's
// position. The report's final pass reads the results batch by batch, in
// the order they arrived, and puts each sample's values at its position in
// dense arrays, so that every sum runs in key order — the report is the
// same to the last bit however the results arrived — without a table of
// rows sorted in memory (at 1M samples such a table weighed about 500 MB,
// where the index weighs about 50).
type sampleIndex struct {
	suites map[string]*suiteSamples
	// perturbed are the suites with robustness copies among their results.
	perturbed map[string]bool
}

// suiteSamples are one suite's samples, in id order.
type suiteSamples struct {
	// ids[p] is the id of the sample at position p. The ids are the
	// index's own copies: a row may keep one.
	ids []string
	// sampleSeq[p] is the sample's stream sequence in ASSAY_SAMPLES, from
	// any of its rows that carries it (0 when none does).
	sampleSeq []uint64
	// baseOK[p] reports that the baseline answered the sample and its
	// answer is in the ok bucket; baseGen[p] is the baseline's generation
	// (0 when it has no score).
	baseOK  []bool
	baseGen []uint64
	// baseChars[p] is the length of the baseline's answer when it is in
	// the ok bucket (-1 otherwise: a refusal or a wrong answer says
	// nothing about how long an answer needs to be).
	baseChars []int32
}

// n is the number of the suite's samples (none for a nil suite).
func (s *suiteSamples) n() int {
	if s == nil {
		return 0
	}
	return len(s.ids)
}

// pos is the position of sample id, or -1 when the suite (nil for a suite
// not indexed) has no such sample. A row the index does not have is one
// its read did not get: a read that failed, which the report returns.
func (s *suiteSamples) pos(id string) int32 {
	if s == nil {
		return -1
	}
	if p, ok := slices.BinarySearch(s.ids, id); ok {
		return int32(p)
	}
	return -1
}

// suite is the samples of suite name, nil when it has none.
func (x *sampleIndex) suite(name string) *suiteSamples { return x.suites[name] }

// pos is the position of sample id of suite, or -1 when not indexed.
func (x *sampleIndex) pos(suite, id string) int32 {
	if s := x.suites[suite]; s != nil {
		return s.pos(id)
	}
	return -1
}

// missedIndex records that a pass read a row the index does not have,
// which only a failed read of the index's own makes possible: the report
// is then not given.
func (c *Collector) missedIndex() {
	if c.readErr == nil {
		c.readErr = errors.New("a result is not in the index of the run's samples: a read of the results failed")
	}
}

// sampleIndex indexes the samples that have a score or a judgment: two
// reads of the sample ids (one to number them, one for what the buckets
// need of each sample), the judgments' once.
func (c *Collector) sampleIndex() *sampleIndex {
	x := &sampleIndex{suites: map[string]*suiteSamples{}, perturbed: map[string]bool{}}
	distinct := map[string]map[string]struct{}{}
	in := strs{}
	add := func(suite, id string) {
		m := distinct[suite]
		if m == nil {
			m = map[string]struct{}{}
			distinct[in.of(suite)] = m
		}
		if _, ok := m[id]; !ok {
			m[strings.Clone(id)] = struct{}{}
		}
	}
	c.each(c.scores, func(rec arrow.RecordBatch) {
		suite := rec.Column(colSuite).(*array.String)
		sample := rec.Column(colSample).(*array.String)
		pert := rec.Column(colPerturbation).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			add(suite.Value(i), sample.Value(i))
			if pert.Value(i) != "" && !x.perturbed[suite.Value(i)] {
				x.perturbed[in.of(suite.Value(i))] = true
			}
		}
	})
	c.each(c.judgments, func(rec arrow.RecordBatch) {
		suite := rec.Column(jcSuite).(*array.String)
		sample := rec.Column(jcSample).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			add(suite.Value(i), sample.Value(i))
		}
	})
	for suite, m := range distinct {
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		// Let the collector have the set while the slice is sorted.
		delete(distinct, suite)
		slices.Sort(ids)
		x.suites[suite] = &suiteSamples{ids: ids, sampleSeq: make([]uint64, len(ids)), baseOK: make([]bool, len(ids)), baseGen: make([]uint64, len(ids)),
			baseChars: slices.Repeat([]int32{-1}, len(ids))}
	}
	c.each(c.scores, func(rec arrow.RecordBatch) {
		suite := rec.Column(colSuite).(*array.String)
		sample := rec.Column(colSample).(*array.String)
		sseq := rec.Column(colSampleSeq).(*array.Uint64)
		variant := rec.Column(colVariant).(*array.String)
		bucket := rec.Column(colBucket).(*array.String)
		gseq := rec.Column(colGenSeq).(*array.Uint64)
		chars := rec.Column(colOutputChars).(*array.Int64)
		var s *suiteSamples
		for i := 0; i < int(rec.NumRows()); i++ {
			if i == 0 || suite.Value(i) != suite.Value(i-1) {
				s = x.suites[suite.Value(i)]
			}
			p := s.pos(sample.Value(i))
			if p < 0 {
				c.missedIndex()
				continue
			}
			if q := sseq.Value(i); q > 0 {
				s.sampleSeq[p] = q
			}
			if variant.Value(i) == c.spec.Baseline {
				s.baseOK[p] = bucket.Value(i) == string(eval.BucketOK)
				s.baseGen[p] = gseq.Value(i)
				// Only a good answer says how long an answer needs to be.
				if bucket.Value(i) == string(eval.BucketOK) {
					s.baseChars[p] = int32(min(chars.Value(i), math.MaxInt32))
				}
			}
		}
	})
	return x
}
