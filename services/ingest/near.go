package ingest

import (
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/contam"
)

// nearFilter drops a suite's near-duplicate samples as they are read: the
// first of a group is kept, and each later one is recorded with its twin.
type nearFilter struct {
	index *contam.NearIndex // nil: the suite turned the check off
	kept  []string          // ids, in the index's order
}

func newNearFilter(su eval.Suite) *nearFilter {
	threshold := contam.DefaultNearThreshold
	if su.NearDuplicates != nil {
		threshold = *su.NearDuplicates
	}
	if threshold <= 0 {
		return &nearFilter{}
	}
	return &nearFilter{index: contam.NewNearIndex(threshold)}
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
	twin, sim := f.index.Add(b.String())
	if twin < 0 {
		f.kept = append(f.kept, sm.ID)
		return eval.DroppedDuplicate{}, false
	}
	return eval.DroppedDuplicate{ID: sm.ID, Twin: f.kept[twin], Source: sm.Source, Similarity: sim}, true
}
