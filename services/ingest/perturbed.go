package ingest

import (
	"slices"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/perturb"
)

// perturbed is a robustness copy of sm, a sample of suite su: its last user
// message perturbed by kind — or, for long_context, padded with unrelated
// prose, and for instruction_conflict, preceded by an earlier turn whose
// instruction it overrides — its id the original's with "~kind", linked
// to the original. It is false when kind changes nothing in that message.
func perturbed(sm eval.Sample, su eval.Suite, kind string) (eval.Sample, bool) {
	last := -1
	for i, m := range sm.Messages {
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return eval.Sample{}, false
	}
	seed := sm.Suite + "\x00" + sm.ID
	question := sm.Messages[last].Content
	cp := sm
	cp.Messages = slices.Clone(sm.Messages)
	cp.Perturbation = &eval.Perturbation{Kind: kind, Original: sm.ID}
	switch kind {
	case "long_context":
		lc := su.LongContext.Settings()
		cp.Messages[last].Content, cp.Perturbation.Tokens = perturb.LongContext(seed, question, lc.Tokens, lc.Position != eval.LongContextAfter)
		cp.Perturbation.Question = question
	case "instruction_conflict":
		c := perturb.InstructionConflict(seed, question)
		cp.Messages[last].Content = question + "\n\n" + c.Override
		cp.Messages = slices.Insert(cp.Messages, last,
			eval.Message{Role: "user", Content: c.Instruction}, eval.Message{Role: "assistant", Content: c.Ack})
		cp.Perturbation.Winner, cp.Perturbation.Overridden, cp.Perturbation.Question = "last_turn", c.Instruction, question
	default:
		text, changed, err := perturb.Apply(kind, seed, question)
		if err != nil || !changed {
			return eval.Sample{}, false
		}
		cp.Messages[last].Content = text
	}
	cp.ID = sm.ID + "~" + kind
	cp.Tags = append(slices.Clone(sm.Tags), "perturbed:"+kind)
	cp.Dedup = nil
	return cp, true
}
