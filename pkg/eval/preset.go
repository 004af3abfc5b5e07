package eval

import (
	"errors"
	"fmt"
	"strings"
)

// DatasetPresets are the dataset shapes a suite can name instead of
// mapping fields by hand: multiple choice (MMLU, CMMLU, C-Eval), GSM8K,
// HumanEval, MBPP, AlpacaEval instructions, ShareGPT and OpenAI-messages
// conversations. services/ingest/dataset defines them.
var DatasetPresets = []string{"mmlu", "cmmlu", "ceval", "gsm8k", "humaneval", "mbpp", "mt-bench", "alpaca", "sharegpt", "openai"}

// TurnByTurn reports whether a suite's conversations are generated turn by
// turn: it asks for it, or its preset is MT-Bench's.
func (su Suite) TurnByTurn() bool { return su.GenerateTurns || su.Preset == "mt-bench" }

// PerturbationKinds are the robustness copies a suite can ask for:
// services/ingest/perturb makes them.
var PerturbationKinds = []string{"typos", "width", "punctuation", "whitespace", "register", "homophones", "long_context", "instruction_conflict"}

// TemplatePart is a piece of a prompt template: literal text, or a field
// (a gjson path) whose value goes in.
type TemplatePart struct {
	Text  string
	Field string
}

// ParsePromptTemplate splits a prompt template into its parts: "{path}"
// is a field, "{{" and "}}" are literal braces.
func ParsePromptTemplate(t string) ([]TemplatePart, error) {
	var parts []TemplatePart
	var lit strings.Builder
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '{' && i+1 < len(t) && t[i+1] == '{', c == '}' && i+1 < len(t) && t[i+1] == '}':
			lit.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(t[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("the { at byte %d is not closed: write {field}, or {{ for a brace", i)
			}
			field := strings.TrimSpace(t[i+1 : i+1+end])
			if field == "" || strings.ContainsAny(field, "{\n") {
				return nil, fmt.Errorf("%q at byte %d is not a field: write {field}, or {{ for a brace", t[i:i+2+end], i)
			}
			if lit.Len() > 0 {
				parts = append(parts, TemplatePart{Text: lit.String()})
				lit.Reset()
			}
			parts = append(parts, TemplatePart{Field: field})
			i += end + 1
		case c == '}':
			return nil, fmt.Errorf("the } at byte %d closes nothing: write }} for a brace", i)
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, TemplatePart{Text: lit.String()})
	}
	return parts, nil
}

// CheckPromptTemplate reports what is wrong with a prompt template.
func CheckPromptTemplate(t string) error {
	if t == "" {
		return nil
	}
	parts, err := ParsePromptTemplate(t)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p.Field != "" {
			return nil
		}
	}
	return errors.New("names no field: the prompt would be the same for every record")
}
