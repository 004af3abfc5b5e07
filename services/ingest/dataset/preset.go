package dataset

import (
	"fmt"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/tidwall/gjson"
)

// preset is a common dataset shape: where its fields are, and how its
// prompt is built from them.
type preset struct {
	fields   eval.Fields
	template string
	// turnReferences is where a multi-turn question keeps a reference
	// answer per user turn (see eval.Sample.TurnReferences).
	turnReferences string
}

// presets are the shapes of eval.DatasetPresets, as the benchmarks
// publish them.
var presets = map[string]preset{
	// MMLU as CSV or its common JSON exports: question, A–D, answer.
	"mmlu": {fields: eval.Fields{Prompt: "question", Choices: "[A,B,C,D]", Label: "answer"},
		template: "{question}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\nAnswer:"},
	// CMMLU capitalises its columns.
	"cmmlu": {fields: eval.Fields{Prompt: "Question", Choices: "[A,B,C,D]", Label: "Answer"},
		template: "{Question}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\n答案："},
	"ceval": {fields: eval.Fields{ID: "id", Prompt: "question", Choices: "[A,B,C,D]", Label: "answer"},
		template: "{question}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\n答案："},
	// GSM8K's answer ends in "#### 72": num_strict and num_flexible read
	// it as lm-evaluation-harness does.
	"gsm8k":     {fields: eval.Fields{Prompt: "question", Reference: "answer"}},
	"humaneval": {fields: eval.Fields{ID: "task_id", Prompt: "prompt", Test: "test", EntryPoint: "entry_point"}},
	"mbpp": {fields: eval.Fields{ID: "task_id", Test: "test_list", Setup: "test_setup_code"},
		template: "{text}\nYour code should pass these tests:\n\n{test_list}"},
	// MT-Bench questions: turns is a list of user turns, answered turn by
	// turn (eval.Suite.TurnByTurn); reference holds a reference answer per
	// turn for math and coding questions: the last answer scored is the
	// last turn's, and the judge is shown every turn's, as MT-Bench's
	// multi-turn judge prompt shows them.
	"mt-bench": {fields: eval.Fields{ID: "question_id", Messages: "turns", Reference: "reference|@reverse|0"}, turnReferences: "reference"},
	// AlpacaEval: the instruction, and the reference model's output.
	"alpaca": {fields: eval.Fields{Prompt: "instruction", Reference: "output"}},
	// ShareGPT conversations ({from, value} turns) and OpenAI messages:
	// a final assistant turn is the reference answer.
	"sharegpt": {fields: eval.Fields{ID: "id", Messages: "conversations"}},
	"openai":   {fields: eval.Fields{Messages: "messages"}},
}

// withPreset fills what the suite leaves unset from its preset, and says
// where the per-turn references are when the preset has them and the
// suite keeps its reference field.
func withPreset(suite eval.Suite) (f eval.Fields, tmpl, turnRefs string) {
	f, tmpl = suite.Fields, suite.PromptTemplate
	p, ok := presets[suite.Preset]
	if !ok {
		return f, tmpl, ""
	}
	if f.Reference == "" {
		turnRefs = p.turnReferences
	}
	fill := func(dst *string, d string) {
		if *dst == "" {
			*dst = d
		}
	}
	fill(&f.ID, p.fields.ID)
	fill(&f.Prompt, p.fields.Prompt)
	fill(&f.Messages, p.fields.Messages)
	fill(&f.Reference, p.fields.Reference)
	fill(&f.Choices, p.fields.Choices)
	fill(&f.Label, p.fields.Label)
	fill(&f.Test, p.fields.Test)
	fill(&f.EntryPoint, p.fields.EntryPoint)
	fill(&f.Setup, p.fields.Setup)
	fill(&tmpl, p.template)
	return f, tmpl, turnRefs
}

// render builds a prompt from the template's parts. A list of strings goes
// in one item a line (MBPP's tests); other values as their JSON.
func render(parts []eval.TemplatePart, root gjson.Result) (string, string, error) {
	var b strings.Builder
	for _, p := range parts {
		if p.Field == "" {
			b.WriteString(p.Text)
			continue
		}
		v := root.Get(p.Field)
		switch {
		case !Present(v):
			return "", p.Field, fmt.Errorf("missing, but the prompt template uses {%s}", p.Field)
		case v.Type == gjson.String:
			b.WriteString(v.String())
		case v.IsArray():
			for i, item := range v.Array() {
				if i > 0 {
					b.WriteByte('\n')
				}
				if item.Type == gjson.String {
					b.WriteString(item.String())
				} else {
					b.WriteString(item.Raw)
				}
			}
		default:
			b.WriteString(v.Raw)
		}
	}
	return b.String(), "", nil
}
