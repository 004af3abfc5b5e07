package ingest

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/perturb"
)

// TestContextCopies: a long_context copy pads the question's turn with as
// much prose as its suite asks, where it asks, and says how much; an
// instruction_conflict copy puts the instruction and its acknowledgement
// before the question's turn, which ends by overriding it, and records the
// expected winner. The system message and earlier turns stay as they were.
func TestContextCopies(t *testing.T) {
	sm := eval.Sample{ID: "q1", Suite: "qa", Messages: []eval.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "Hello."}, {Role: "assistant", Content: "Hi."},
		{Role: "user", Content: "What is the capital of Peru?"}}}
	question := sm.Messages[3].Content

	for _, c := range []struct {
		lc     *eval.LongContext
		tokens int
		before bool
	}{{nil, eval.DefaultLongContextTokens, true}, {&eval.LongContext{Tokens: 300, Position: eval.LongContextAfter}, 300, false}} {
		cp, ok := perturbed(sm, eval.Suite{Name: "qa", LongContext: c.lc}, "long_context")
		if !ok || cp.ID != "q1~long_context" || cp.Perturbation.Kind != "long_context" || cp.Perturbation.Original != "q1" {
			t.Fatalf("copy %+v", cp)
		}
		if len(cp.Messages) != 4 || cp.Messages[0] != sm.Messages[0] || cp.Messages[2] != sm.Messages[2] {
			t.Fatalf("messages %+v", cp.Messages)
		}
		got := cp.Messages[3].Content
		if c.before != strings.HasSuffix(got, "\n\n"+question) || !c.before && !strings.HasPrefix(got, question+"\n\n") {
			t.Errorf("the question is not where the prose leaves it: %.60q…", got)
		}
		if n := cp.Perturbation.Tokens; n < c.tokens || n != perturb.CountTokens(strings.TrimSpace(strings.Replace(got, question, "", 1))) {
			t.Errorf("%d tokens recorded, %d asked", n, c.tokens)
		}
		if sm.Messages[3].Content != question {
			t.Fatal("the original was changed")
		}
	}

	cp, ok := perturbed(sm, eval.Suite{Name: "qa"}, "instruction_conflict")
	if !ok || cp.ID != "q1~instruction_conflict" {
		t.Fatalf("copy %+v", cp)
	}
	want := perturb.InstructionConflict("qa\x00q1", question)
	if len(cp.Messages) != 6 || cp.Messages[0] != sm.Messages[0] || cp.Messages[2] != sm.Messages[2] ||
		cp.Messages[3] != (eval.Message{Role: "user", Content: want.Instruction}) || cp.Messages[4] != (eval.Message{Role: "assistant", Content: want.Ack}) ||
		cp.Messages[5] != (eval.Message{Role: "user", Content: question + "\n\n" + want.Override}) {
		t.Fatalf("messages %+v", cp.Messages)
	}
	if p := cp.Perturbation; p.Winner != "last_turn" || p.Overridden != want.Instruction || p.Tokens != 0 {
		t.Errorf("perturbation %+v", p)
	}
	if len(sm.Messages) != 4 {
		t.Fatal("the original was changed")
	}
}
