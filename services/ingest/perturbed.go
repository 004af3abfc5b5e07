package ingest

import (
	"slices"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/perturb"
)

// perturbed is a robustness copy of sm: its last user message perturbed
// by kind, its id the original's with "~kind", linked to the original.
// It is false when kind changes nothing in that message.
func perturbed(sm eval.Sample, kind string) (eval.Sample, bool) {
	last := -1
	for i, m := range sm.Messages {
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return eval.Sample{}, false
	}
	text, changed, err := perturb.Apply(kind, sm.Suite+"\x00"+sm.ID, sm.Messages[last].Content)
	if err != nil || !changed {
		return eval.Sample{}, false
	}
	cp := sm
	cp.Messages = slices.Clone(sm.Messages)
	cp.Messages[last].Content = text
	cp.Perturbation = &eval.Perturbation{Kind: kind, Original: sm.ID}
	cp.ID = sm.ID + "~" + kind
	cp.Tags = append(slices.Clone(sm.Tags), "perturbed:"+kind)
	cp.Dedup = nil
	return cp, true
}
