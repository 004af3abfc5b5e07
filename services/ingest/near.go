package ingest

import (
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/assay-eval/assay/services/ingest/dedup"
)

// nearFilter drops a suite's near-duplicate samples as they are read (see
// package dedup for the rule): the first of a group is kept, and each
// later one is recorded with its twin.
type nearFilter struct {
	index *dedup.Index // nil: the suite turned the check off
	kept  dataset.IDs  // in the index's order
}

// newNearFilter reads the suite's near_duplicates: absent is
// [dedup.DefaultMinSimilarity], 0 turns the check off, and another value
// is the least similarity (the share of tokens two samples have in
// common, the rest differing by typos) at which the later is dropped; 1
// drops only copies that differ in case, width, spacing or punctuation.
func newNearFilter(su eval.Suite) *nearFilter {
	minSim := dedup.DefaultMinSimilarity
	if su.NearDuplicates != nil {
		minSim = *su.NearDuplicates
	}
	if minSim <= 0 {
		return &nearFilter{}
	}
	x := dedup.NewIndex(minSim)
	// A million prompts' texts are about 150 MB: the index keeps them
	// in a temporary file, and reads a text back when it is a candidate.
	x.SpillTo("")
	return &nearFilter{index: x}
}

// close releases the index's spill file, and says whether the index
// could not spill (it then held the suite's texts in memory).
func (f *nearFilter) close() error {
	if f.index == nil {
		return nil
	}
	f.index.Close()
	return f.index.SpillFailed()
}

// check reports whether sm nearly repeats a sample kept before it. An
// error is a kept sample the index could not read back from its spill
// file: the suite must be read again.
func (f *nearFilter) check(sm eval.Sample) (eval.DroppedDuplicate, bool, error) {
	if f.index == nil {
		return eval.DroppedDuplicate{}, false, nil
	}
	// The user's turns: a system prompt the samples share would make
	// every pair of them look alike.
	var b strings.Builder
	for _, m := range sm.Messages {
		if m.Role == "user" {
			b.WriteString(m.Content)
			b.WriteByte('\n')
		}
	}
	m, dup := f.index.Add(b.String())
	if err := f.index.Err(); err != nil {
		return eval.DroppedDuplicate{}, false, err
	}
	if !dup {
		f.kept.Append(sm.ID)
		return eval.DroppedDuplicate{}, false, nil
	}
	return eval.DroppedDuplicate{ID: sm.ID, Twin: f.kept.At(m.Twin), Source: sm.Source, Similarity: m.Similarity, Why: m.Why}, true, nil
}
