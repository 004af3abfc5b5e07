package ingest

import (
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/dedup"
)

// nearFilter drops a suite's near-duplicate samples as they are read (see
// package dedup for the rule): the first of a group is kept, and each
// later one is recorded with its twin.
type nearFilter struct {
	index *dedup.Index // nil: the suite turned the check off
	kept  []string     // ids, in the index's order
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
	return &nearFilter{index: dedup.NewIndex(minSim)}
}

// check reports whether sm nearly repeats a sample kept before it.
func (f *nearFilter) check(sm eval.Sample) (eval.DroppedDuplicate, bool) {
	if f.index == nil {
		return eval.DroppedDuplicate{}, false
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
	if !dup {
		f.kept = append(f.kept, sm.ID)
		return eval.DroppedDuplicate{}, false
	}
	return eval.DroppedDuplicate{ID: sm.ID, Twin: f.kept[m.Twin], Source: sm.Source, Similarity: m.Similarity, Why: m.Why}, true
}
