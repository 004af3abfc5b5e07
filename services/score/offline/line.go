package offline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// line is one input line, decoded.
type line struct {
	no      int
	id      json.RawMessage
	output  string
	outputs []string
	refs    []string
	label   string
	choices int
	schema  json.RawMessage
	code    *eval.CodeTest
	extra   map[string]json.RawMessage
}

// answer is an output as a run scores it: with its reasoning
// (<think>…</think>) split off as the pipeline's client does, and
// otherwise byte for byte.
func answer(output string) string {
	a, _ := llm.SplitReasoning(output)
	return a
}

// consumed are the input fields that do not pass through to the output.
var consumed = []string{"output", "outputs", "reference"}

func (s *scorer) decode(no int, raw []byte) (*line, *LineError) {
	fail := func(field, format string, args ...any) (*line, *LineError) {
		return nil, &LineError{s.opt.Source, no, field, fmt.Sprintf(format, args...)}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fail("", "not a JSON object (%v): write one {\"id\", \"output\", \"reference\"} object per line", err)
	}
	if obj == nil {
		return fail("", "null: write one {\"id\", \"output\", \"reference\"} object per line")
	}
	ln := &line{no: no, extra: map[string]json.RawMessage{}}
	for k, v := range obj {
		if !slices.Contains(consumed, k) {
			ln.extra[k] = v
		}
	}
	id, ok := obj["id"]
	switch {
	case !ok:
		return fail("id", "missing: every line needs an id")
	case !isScalarID(id):
		return fail("id", "must be a string or a number, not %s", clip(string(id)))
	}
	ln.id = id
	if v, ok := obj["outputs"]; ok {
		if err := json.Unmarshal(v, &ln.outputs); err != nil || ln.outputs == nil {
			return fail("outputs", "must be a list of strings (the generations for pass@k)")
		}
		for i, out := range ln.outputs {
			ln.outputs[i] = answer(out)
		}
		if len(ln.outputs) > 0 {
			ln.output = ln.outputs[0]
		}
	} else {
		v, ok := obj["output"]
		if !ok {
			return fail("output", "missing: the model's answer (a string)")
		}
		if err := json.Unmarshal(v, &ln.output); err != nil || string(v) == "null" {
			return fail("output", "must be a string, not %s", clip(string(v)))
		}
		ln.output = answer(ln.output)
	}
	if v, ok := obj["reference"]; ok && string(v) != "null" {
		refs, err := decodeRefs(v)
		if err != nil {
			return fail("reference", "%v", err)
		}
		ln.refs = refs
	}
	if len(ln.refs) == 0 {
		var need []string
		for _, m := range s.opt.Metrics {
			if !slices.Contains(referenceFree, m) && !passAtKRE.MatchString(m) {
				need = append(need, m)
			}
		}
		if len(need) > 0 {
			return fail("reference", "missing: %s need one (a string or a list of strings)", strings.Join(need, ", "))
		}
	}
	if len(ln.refs) > 0 {
		ln.label = ln.refs[0]
	}
	if v, ok := obj["choices"]; ok {
		var choices []json.RawMessage
		if err := json.Unmarshal(v, &choices); err != nil {
			return fail("choices", "must be a list of the options")
		}
		ln.choices = len(choices)
	}
	if v, ok := obj["schema"]; ok && string(v) != "null" {
		if slices.Contains(s.opt.Metrics, "json_schema") {
			if _, err := s.schemas.Compile(v); err != nil {
				return fail("schema", "not a usable JSON Schema: %v", err)
			}
		}
		ln.schema = v
	}
	if slices.Contains(s.opt.Metrics, "json_schema") && len(ln.schema) == 0 && len(s.opt.Schema) == 0 {
		return fail("schema", "missing: json_schema needs the line's schema or --schema FILE")
	}
	if v, ok := obj["test"]; ok && string(v) != "null" {
		var ct eval.CodeTest
		var list []string
		switch {
		case json.Unmarshal(v, &ct.Test) == nil:
		case json.Unmarshal(v, &list) == nil && !slices.Contains(list, ""):
			ct.Test = strings.Join(list, "\n") // MBPP's test_list
		default:
			return fail("test", "must be Python test code (a string) or a list of assert statements")
		}
		if strings.TrimSpace(ct.Test) == "" {
			return fail("test", "is empty: a code item needs tests")
		}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"entry_point", &ct.EntryPoint}, {"prompt", &ct.Prompt}, {"setup", &ct.Setup}} {
			if v, ok := obj[f.name]; ok {
				if err := json.Unmarshal(v, f.dst); err != nil {
					return fail(f.name, "must be a string")
				}
			}
		}
		if ct.EntryPoint == "" {
			// Only HumanEval's prompt is code to complete; MBPP's is prose.
			ct.Prompt = ""
		}
		ln.code = &ct
	}
	return ln, nil
}

func isScalarID(v json.RawMessage) bool {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return false
	}
	switch x.(type) {
	case string, float64:
		return true
	}
	return false
}

func decodeRefs(v json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, nil
	}
	var many []*string
	if err := json.Unmarshal(v, &many); err != nil {
		return nil, fmt.Errorf("must be a string or a list of strings, not %s", clip(string(v)))
	}
	if len(many) == 0 {
		return nil, errors.New("is an empty list: give at least one reference")
	}
	out := make([]string, len(many))
	for i, r := range many {
		if r == nil {
			return nil, fmt.Errorf("item %d is null: give the references as strings", i)
		}
		out[i] = *r
	}
	return out, nil
}

func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	i := 40
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
