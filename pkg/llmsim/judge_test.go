package llmsim_test

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// multiTurnPrompt is a judge prompt in the multi-turn form, as the judge
// stage writes it.
const multiTurnPrompt = eval.MarkRefConvStart + "\n\n### User:\nAnd how many pens for 10 dollars?\n\n### Reference answer:\n15 pens\n\n" + eval.MarkRefConvEnd + "\n\n\n" +
	eval.MarkConvAStart + "\n\n### User:\nHow much do 12 pens cost?\n\n### Assistant A:\n8 dollars\n\n### User:\nAnd how many pens for 10 dollars?\n\n### Assistant A:\n15 pens\n\n" + eval.MarkConvAEnd + "\n\n\n" +
	eval.MarkConvBStart + "\n\n### User:\nHow much do 12 pens cost?\n\n### Assistant B:\n6 dollars\n\n### User:\nAnd how many pens for 10 dollars?\n\n### Assistant B:\n20 pens\n\n" + eval.MarkConvBEnd

func TestParseJudgePrompt(t *testing.T) {
	for _, tc := range []struct {
		name, prompt string
		q, a, b      string
		ok           bool
	}{
		{
			name:   "single answer",
			prompt: "[Question]\nWhat is 2+2?\n\n" + eval.MarkRefStart + "\n4\n" + eval.MarkRefEnd + "\n\n" + eval.MarkAStart + "\n4\n" + eval.MarkAEnd + "\n\n" + eval.MarkBStart + "\n5\n" + eval.MarkBEnd,
			q:      "What is 2+2?", a: "4", b: "5", ok: true,
		},
		{name: "conversations: the last turn is graded", prompt: multiTurnPrompt, q: "And how many pens for 10 dollars?", a: "15 pens", b: "20 pens", ok: true},
		{name: "conversation B missing", prompt: multiTurnPrompt[:strings.Index(multiTurnPrompt, eval.MarkConvBStart)]},
		{name: "no answer heading", prompt: eval.MarkConvAStart + "\n### User:\nq\n" + eval.MarkConvAEnd + eval.MarkConvBStart + "\n### User:\nq\n" + eval.MarkConvBEnd},
		{name: "no markers", prompt: "Which is better?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, a, b, ok := llmsim.ParseJudgePrompt(tc.prompt)
			if ok != tc.ok || ok && (q != tc.q || a != tc.a || b != tc.b) {
				t.Errorf("got (%q, %q, %q, %v), want (%q, %q, %q, %v)", q, a, b, ok, tc.q, tc.a, tc.b, tc.ok)
			}
		})
	}
}

func FuzzParseJudgePrompt(f *testing.F) {
	f.Add(multiTurnPrompt)
	f.Add(eval.MarkConvAStart + "### Assistant A:" + eval.MarkConvAEnd + eval.MarkConvBStart + eval.MarkConvBEnd)
	f.Add("[Question]\nq\n" + eval.MarkAStart + "a" + eval.MarkAEnd + eval.MarkBStart + "b" + eval.MarkBEnd)
	f.Fuzz(func(t *testing.T, prompt string) {
		q, a, b, ok := llmsim.ParseJudgePrompt(prompt)
		if !ok {
			return
		}
		for _, part := range []string{q, a, b} {
			if !strings.Contains(prompt, part) {
				t.Fatalf("parsed %q, which is not in the prompt", part)
			}
		}
	})
}
