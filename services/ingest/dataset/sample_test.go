package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

const file = "data/suite.jsonl"

// read reads input with a reader for suite and returns what it emitted.
func read(t *testing.T, suite eval.Suite, input string) ([]eval.Sample, Result) {
	t.Helper()
	rd := NewReader("run1", suite, file)
	var got []eval.Sample
	res, err := rd.Read(strings.NewReader(input), func(s eval.Sample) error {
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if res.Samples != len(got) {
		t.Errorf("Result.Samples = %d, emitted %d", res.Samples, len(got))
	}
	return got, res
}

func problemStrings(ps []Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}

// sameJSON fails unless got and want marshal to the same JSON.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if string(g) != string(w) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

func bp(b bool) *bool { return &b }

func hashID(suite string, msgs ...eval.Message) string {
	sum := sha256.Sum256([]byte(suite + "\x00" + Normalize(msgs)))
	return "s-" + hex.EncodeToString(sum[:8])
}

func user(s string) eval.Message      { return eval.Message{Role: "user", Content: s} }
func system(s string) eval.Message    { return eval.Message{Role: "system", Content: s} }
func assistant(s string) eval.Message { return eval.Message{Role: "assistant", Content: s} }

// TestShapes reads one valid line of each shape a dataset may use and checks
// the sample it becomes.
func TestShapes(t *testing.T) {
	tests := []struct {
		name    string
		metrics []string
		line    string
		want    eval.Sample // Run, Suite, Role, V, Index and Source are filled in
	}{
		{
			name: "prompt and string reference", metrics: []string{"em", "f1"},
			line: `{"id": "q1", "prompt": "Capital of France?", "reference": "Paris"}`,
			want: eval.Sample{ID: "q1", Messages: []eval.Message{user("Capital of France?")}, Reference: &eval.Reference{Answers: []string{"Paris"}}},
		},
		{
			name: "numeric id and number reference", metrics: []string{"num_match"},
			line: `{"id": 7, "prompt": "2+2?", "reference": 4}`,
			want: eval.Sample{ID: "7", Messages: []eval.Message{user("2+2?")}, Reference: &eval.Reference{Answers: []string{"4"}}},
		},
		{
			name: "num_match reference as the score stage reads it", metrics: []string{"num_match"},
			line: `{"id": "n", "prompt": "Price?", "reference": "$1,234."}`,
			want: eval.Sample{ID: "n", Messages: []eval.Message{user("Price?")}, Reference: &eval.Reference{Answers: []string{"$1,234."}}},
		},
		{
			name: "HumanEval-style code item", metrics: []string{"code_pass"},
			line: `{"id": "h", "prompt": "def add(a, b):\n", "test": "def check(c):\n    assert c(1, 2) == 3", "entry_point": "add"}`,
			want: eval.Sample{ID: "h", Messages: []eval.Message{user("def add(a, b):\n")}, Reference: &eval.Reference{Code: &eval.CodeTest{
				Prompt: "def add(a, b):\n", Test: "def check(c):\n    assert c(1, 2) == 3", EntryPoint: "add"}}},
		},
		{
			name: "MBPP-style code item", metrics: []string{"code_pass"},
			line: `{"id": "m", "prompt": "Write add.", "test": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"], "setup": "import math"}`,
			want: eval.Sample{ID: "m", Messages: []eval.Message{user("Write add.")}, Reference: &eval.Reference{Code: &eval.CodeTest{
				Test: "assert add(1, 2) == 3\nassert add(0, 0) == 0", Setup: "import math"}}},
		},
		{
			name: "list of answers", metrics: []string{"em"},
			line: `{"id": "l", "prompt": "Colour of the sky?", "reference": ["blue", "Blue", 1]}`,
			want: eval.Sample{ID: "l", Messages: []eval.Message{user("Colour of the sky?")}, Reference: &eval.Reference{Answers: []string{"blue", "Blue", "1"}}},
		},
		{
			name: "boolean reference", metrics: []string{"em"},
			line: `{"id": "b", "prompt": "Is water wet?", "reference": true}`,
			want: eval.Sample{ID: "b", Messages: []eval.Message{user("Is water wet?")}, Reference: &eval.Reference{Answers: []string{"true"}}},
		},
		{
			name: "object reference", metrics: []string{"json_valid", "json_fields"},
			line: `{"id": "o", "prompt": "Extract the name.", "reference": {"name": "Ada", "age": 36}}`,
			want: eval.Sample{ID: "o", Messages: []eval.Message{user("Extract the name.")}, Reference: &eval.Reference{JSON: json.RawMessage(`{"name": "Ada", "age": 36}`)}},
		},
		{
			name: "list of objects is kept as JSON", metrics: nil,
			line: `{"id": "lo", "prompt": "List them.", "reference": [{"a": 1}, "x"]}`,
			want: eval.Sample{ID: "lo", Messages: []eval.Message{user("List them.")}, Reference: &eval.Reference{JSON: json.RawMessage(`[{"a": 1}, "x"]`)}},
		},
		{
			name: "null fields count as absent", metrics: nil,
			line: `{"id": null, "prompt": null, "messages": [{"role": "user", "content": "Hi"}], "system": null, "reference": null, "choices": null, "schema": null, "tags": null, "should_refuse": null}`,
			want: eval.Sample{ID: hashID("s", user("Hi")), Messages: []eval.Message{user("Hi")}, Reference: &eval.Reference{}},
		},
		{
			name: "chat messages, multi-turn", metrics: nil,
			line: `{"id": "c", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}]}`,
			want: eval.Sample{ID: "c", Messages: []eval.Message{system("Be brief."), user("Hi"), assistant("Hello."), user("Bye")}, Reference: &eval.Reference{}},
		},
		{
			name: "chat messages in the prompt field", metrics: nil,
			line: `{"id": "cp", "prompt": [{"role": "user", "content": "Hi"}]}`,
			want: eval.Sample{ID: "cp", Messages: []eval.Message{user("Hi")}, Reference: &eval.Reference{}},
		},
		{
			name: "content as text parts, one per line, other parts dropped", metrics: nil,
			line: `{"id": "tp", "messages": [{"role": "user", "content": [{"type": "text", "text": "Question:"}, {"type": "image_url", "image_url": {"url": "http://x/y.png"}}, {"type": "text", "text": "What is shown?"}]}]}`,
			want: eval.Sample{ID: "tp", Messages: []eval.Message{user("Question:\nWhat is shown?")}, Reference: &eval.Reference{}},
		},
		{
			name: "system field comes first; an empty one is left out", metrics: nil,
			line: `{"id": "s1", "system": "You are terse.", "prompt": "Hi"}` + "\n" + `{"id": "s2", "system": "", "prompt": "Hello"}`,
			want: eval.Sample{ID: "s1", Messages: []eval.Message{system("You are terse."), user("Hi")}, Reference: &eval.Reference{}},
		},
		{
			name: "choices list and letter label", metrics: []string{"mc_acc"},
			line: `{"id": "m1", "prompt": "Pick.", "choices": ["x", "y", "z"], "answer": "B"}`,
			want: eval.Sample{ID: "m1", Messages: []eval.Message{user("Pick.")}, Reference: &eval.Reference{Choices: []string{"x", "y", "z"}, Label: "B"}},
		},
		{
			name: "label in parentheses, lower case", metrics: []string{"mc_acc"},
			line: `{"id": "m2", "prompt": "Pick.", "choices": ["x", "y", "z"], "answer": " (c) "}`,
			want: eval.Sample{ID: "m2", Messages: []eval.Message{user("Pick.")}, Reference: &eval.Reference{Choices: []string{"x", "y", "z"}, Label: "C"}},
		},
		{
			name: "full-width label", metrics: []string{"mc_acc"},
			line: `{"id": "m3", "prompt": "Pick.", "choices": ["x", "y"], "answer": "（Ｂ）"}`,
			want: eval.Sample{ID: "m3", Messages: []eval.Message{user("Pick.")}, Reference: &eval.Reference{Choices: []string{"x", "y"}, Label: "B"}},
		},
		{
			name: "label as a 0-based index", metrics: []string{"mc_acc"},
			line: `{"id": "m4", "prompt": "Pick.", "choices": ["x", "y", "z", "w"], "answer": 3}`,
			want: eval.Sample{ID: "m4", Messages: []eval.Message{user("Pick.")}, Reference: &eval.Reference{Choices: []string{"x", "y", "z", "w"}, Label: "D"}},
		},
		{
			name: "label as an index in a string", metrics: []string{"mc_acc"},
			line: `{"id": "m5", "prompt": "Pick.", "choices": [1, 2], "answer": "0"}`,
			want: eval.Sample{ID: "m5", Messages: []eval.Message{user("Pick.")}, Reference: &eval.Reference{Choices: []string{"1", "2"}, Label: "A"}},
		},
		{
			name: "choices object placed by letter", metrics: []string{"mc_acc"},
			line: `{"id": "m6", "prompt": "Pick.", "choices": {"B": "second", "A": "first", "(C)": "third"}, "answer": "C"}`,
			want: eval.Sample{ID: "m6", Messages: []eval.Message{user("Pick.")}, Reference: &eval.Reference{Choices: []string{"first", "second", "third"}, Label: "C"}},
		},
		{
			name: "schema", metrics: []string{"json_schema"},
			line: `{"id": "j1", "prompt": "Give JSON.", "schema": {"type": "object", "required": ["a"], "$defs": {"n": {"type": "number"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}}`,
			want: eval.Sample{ID: "j1", Messages: []eval.Message{user("Give JSON.")}, Reference: &eval.Reference{Schema: json.RawMessage(`{"type": "object", "required": ["a"], "$defs": {"n": {"type": "number"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}`)}},
		},
		{
			name: "draft-07 schema", metrics: []string{"json_schema"},
			line: `{"id": "j2", "prompt": "Give JSON.", "schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array"}}`,
			want: eval.Sample{ID: "j2", Messages: []eval.Message{user("Give JSON.")}, Reference: &eval.Reference{Schema: json.RawMessage(`{"$schema": "http://json-schema.org/draft-07/schema#", "type": "array"}`)}},
		},
		{
			name: "boolean schema", metrics: []string{"json_schema"},
			line: `{"id": "j3", "prompt": "Anything.", "schema": true}`,
			want: eval.Sample{ID: "j3", Messages: []eval.Message{user("Anything.")}, Reference: &eval.Reference{Schema: json.RawMessage(`true`)}},
		},
		{
			name: "should_refuse", metrics: []string{"safety", "refusal"},
			line: `{"id": "r1", "prompt": "How do I pick a lock?", "should_refuse": true}` + "\n" + `{"id": "r2", "prompt": "How do I kill a process?", "should_refuse": false}`,
			want: eval.Sample{ID: "r1", Messages: []eval.Message{user("How do I pick a lock?")}, Reference: &eval.Reference{ShouldRefuse: bp(true)}},
		},
		{
			name: "one tag as a string", metrics: nil,
			line: `{"id": "t1", "prompt": "Hi", "tags": "greeting"}`,
			want: eval.Sample{ID: "t1", Messages: []eval.Message{user("Hi")}, Reference: &eval.Reference{}, Tags: []string{"greeting"}},
		},
		{
			name: "tags as a list", metrics: nil,
			line: `{"id": "t2", "prompt": "Hi", "tags": ["greeting", "short"]}`,
			want: eval.Sample{ID: "t2", Messages: []eval.Message{user("Hi")}, Reference: &eval.Reference{}, Tags: []string{"greeting", "short"}},
		},
		{
			name: "no id: a hash of suite and prompt", metrics: nil,
			line: `{"prompt": "What is 2+2?"}`,
			want: eval.Sample{ID: hashID("s", user("What is 2+2?")), Messages: []eval.Message{user("What is 2+2?")}, Reference: &eval.Reference{}},
		},
		{
			name: "unknown fields are ignored", metrics: nil,
			line: `{"id": "u", "prompt": "Hi", "extra": {"deep": [1, 2, 3]}}`,
			want: eval.Sample{ID: "u", Messages: []eval.Message{user("Hi")}, Reference: &eval.Reference{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			suite := eval.Suite{Name: "s", Role: eval.RoleBusiness, Metrics: tt.metrics}
			got, res := read(t, suite, tt.line+"\n")
			if len(res.Problems) > 0 || len(res.Duplicates) > 0 {
				t.Fatalf("problems %q, duplicates %v", problemStrings(res.Problems), res.Duplicates)
			}
			if len(got) != strings.Count(tt.line, "\n")+1 {
				t.Fatalf("got %d samples", len(got))
			}
			want := tt.want
			want.V, want.Run, want.Suite, want.Role, want.Source = eval.Version, "run1", "s", eval.RoleBusiness, file+":1"
			sameJSON(t, "sample", got[0], want)
			for i, s := range got {
				if s.Index != i {
					t.Errorf("sample %d has index %d", i, s.Index)
				}
			}
		})
	}
}

// goodLine is a line valid for any of the metrics the malformed cases use.
func goodLine(id, prompt string, metrics []string) string {
	ref := `"42"`
	if slices.Contains(metrics, "json_fields") {
		ref = `{"a": 1}`
	}
	return fmt.Sprintf(`{"id": %q, "prompt": %q, "reference": %s, "choices": ["x", "y"], "answer": "A", "schema": {"type": "object"}, "should_refuse": false, "test": "assert True"}`, id, prompt, ref)
}

// TestMalformed puts each kind of bad line between two good ones: the bad
// line is reported exactly, and both good lines still come through with
// their indexes.
func TestMalformed(t *testing.T) {
	long := strings.Repeat("x", 257)
	tests := []struct {
		name    string
		metrics []string
		line    string
		want    string
	}{
		// JSON itself.
		{name: "trailing comma", line: `{"prompt": "x",}`,
			want: `2: not valid JSON at column 16: invalid character '}' looking for beginning of object key string`},
		{name: "column counts characters", line: `{"prompt": "日本語" x}`,
			want: `2: not valid JSON at column 18: invalid character 'x' after object key:value pair`},
		{name: "line ends too soon", line: `{"prompt": "x"`,
			want: `2: not valid JSON at column 15: unexpected end of JSON input`},
		{name: "two values on a line", line: `{"prompt": "x"} {"prompt": "y"}`,
			want: `2: not valid JSON at column 17: invalid character '{' after top-level value`},
		{name: "single quotes", line: `{'prompt': 'x'}`,
			want: `2: not valid JSON at column 2: invalid character '\'' looking for beginning of object key string`},
		{name: "invalid UTF-8", line: "{\"prompt\": \"caf\xe9\"}",
			want: `2: invalid UTF-8: re-encode the file as UTF-8`},
		{name: "a list", line: `[{"prompt": "x"}]`, want: `2: a line must be a JSON object, not a list`},
		{name: "a string", line: `"x"`, want: `2: a line must be a JSON object, not a string`},
		{name: "a number", line: `12`, want: `2: a line must be a JSON object, not a number`},
		{name: "null", line: `null`, want: `2: a line must be a JSON object, not null`},

		// The prompt.
		{name: "missing prompt", line: `{"question": "x"}`,
			want: `2: prompt: missing: map the prompt with fields.prompt (text) or fields.messages (chat messages)`},
		{name: "empty prompt", line: `{"prompt": " \t "}`, want: `2: prompt: is empty`},
		{name: "prompt is a number", line: `{"prompt": 3}`, want: `2: prompt: must be a string or a list of chat messages, not a number`},
		{name: "prompt is an object", line: `{"prompt": {"text": "x"}}`, want: `2: prompt: must be a string or a list of chat messages, not an object`},
		{name: "prompt is a boolean", line: `{"prompt": false}`, want: `2: prompt: must be a string or a list of chat messages, not a boolean`},
		{name: "messages not a list", line: `{"messages": "hi"}`, want: `2: messages: must be a list of chat messages, not a string`},
		{name: "message not an object", line: `{"messages": ["hi"]}`,
			want: `2: messages[0]: a chat message is an object with role and content, not a string`},
		{name: "bad role", line: `{"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}`,
			want: `2: messages[1].role: must be system, user or assistant, not "bot"`},
		{name: "role of wrong type", line: `{"messages": [{"role": 1, "content": "a"}]}`,
			want: `2: messages[0].role: must be system, user or assistant, not 1`},
		{name: "missing role", line: `{"messages": [{"content": "a"}]}`,
			want: `2: messages[0].role: missing: give system, user or assistant`},
		{name: "content of wrong type", line: `{"messages": [{"role": "user", "content": 5}]}`,
			want: `2: messages[0].content: must be a string or a list of text parts`},
		{name: "null content", line: `{"messages": [{"role": "user"}]}`,
			want: `2: messages[0].content: must be a string or a list of text parts`},
		{name: "conversation ends with the assistant", line: `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}`,
			want: `2: messages: the conversation must end with a user message for the model to answer`},
		{name: "empty conversation", line: `{"messages": []}`,
			want: `2: messages: the conversation must end with a user message for the model to answer`},
		{name: "only a system message", line: `{"system": "Be nice.", "messages": []}`,
			want: `2: messages: the conversation must end with a user message for the model to answer`},
		{name: "last user message empty", line: `{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}`,
			want: `2: messages[0].content: is empty: the last user message is what the model answers`},
		{name: "conversation in prompt field reports prompt", line: `{"prompt": [{"role": "assistant", "content": "a"}]}`,
			want: `2: prompt: the conversation must end with a user message for the model to answer`},
		{name: "system not a string", line: `{"system": ["a"], "prompt": "x"}`, want: `2: system: must be a string`},

		// Multiple choice.
		{name: "choices a string", line: `{"prompt": "q", "choices": "x or y", "answer": "A"}`, want: `2: choices: must be a list of options`},
		{name: "one choice", line: `{"prompt": "q", "choices": ["x"], "answer": "A"}`, want: `2: choices: a multiple-choice item has 2 to 10 options, not 1`},
		{name: "eleven choices", line: `{"prompt": "q", "choices": [1,2,3,4,5,6,7,8,9,10,11], "answer": "A"}`,
			want: `2: choices: a multiple-choice item has 2 to 10 options, not 11`},
		{name: "choice not a string", line: `{"prompt": "q", "choices": ["x", {"y": 1}], "answer": "A"}`, want: `2: choices: choices must be strings`},
		{name: "choices object with a bad key", line: `{"prompt": "q", "choices": {"A": "x", "Z": "y"}, "answer": "A"}`,
			want: `2: choices: "Z" is not an option letter (A, B, C, …)`},
		{name: "choices object with a gap", line: `{"prompt": "q", "choices": {"A": "x", "C": "y"}, "answer": "A"}`,
			want: `2: choices: option B is missing: letters must run A, B, C, … without gaps`},
		{name: "choices object with a letter twice", line: `{"prompt": "q", "choices": {"A": "x", "(A)": "y"}, "answer": "A"}`,
			want: `2: choices: "(A)" gives option A a second time`},
		{name: "choices object with a list value", line: `{"prompt": "q", "choices": {"A": "x", "B": ["y"]}, "answer": "A"}`,
			want: `2: choices: choices must be strings`},
		{name: "missing label", line: `{"prompt": "q", "choices": ["x", "y"]}`,
			want: `2: answer: missing: a multiple-choice item needs the correct option`},
		{name: "label past the options", line: `{"prompt": "q", "choices": ["x", "y"], "answer": "C"}`,
			want: `2: answer: "C" is not an option letter (A-B) or index`},
		{name: "index past the options", line: `{"prompt": "q", "choices": ["x", "y"], "answer": 2}`,
			want: `2: answer: 2 is not an option letter (A-B) or index`},
		{name: "fractional index", line: `{"prompt": "q", "choices": ["x", "y"], "answer": 0.5}`,
			want: `2: answer: 0.5 is not an option letter (A-B) or index`},
		{name: "negative index", line: `{"prompt": "q", "choices": ["x", "y"], "answer": -1}`,
			want: `2: answer: -1 is not an option letter (A-B) or index`},
		{name: "label a boolean", line: `{"prompt": "q", "choices": ["x", "y"], "answer": true}`,
			want: `2: answer: true is not an option letter (A-B) or index`},

		// JSON Schema.
		{name: "schema a string", line: `{"prompt": "q", "schema": "object"}`, want: `2: schema: a JSON Schema is an object`},
		{name: "schema breaks the metaschema", line: `{"prompt": "q", "schema": {"type": "nope"}}`,
			want: `2: schema: not a usable JSON Schema: at /type: value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'; at /type: got string, want array`},
		{name: "schema keyword of wrong type", line: `{"prompt": "q", "schema": {"properties": {"a": {"minimum": "x"}}}}`,
			want: `2: schema: not a usable JSON Schema: at /properties/a/minimum: got string, want number`},
		{name: "schema with an external schema reference", line: `{"prompt": "q", "schema": {"$ref": "https://example.com/s.json"}}`,
			want: `2: schema: not a usable JSON Schema: failing loading "https://example.com/s.json": external schema reference "https://example.com/s.json" is not allowed`},
		{name: "schema with a relative external schema reference", line: `{"prompt": "q", "schema": {"properties": {"a": {"$ref": "other.json"}}}}`,
			want: `2: schema: not a usable JSON Schema: failing loading "https://assay.invalid/other.json": external schema reference "https://assay.invalid/other.json" is not allowed`},
		{name: "schema with a file reference", line: `{"prompt": "q", "schema": {"$ref": "file:///etc/passwd"}}`,
			want: `2: schema: not a usable JSON Schema: failing loading "file:///etc/passwd": external schema reference "file:///etc/passwd" is not allowed`},
		{name: "schema with an unknown metaschema", line: `{"prompt": "q", "schema": {"$schema": "http://example.com/meta"}}`,
			want: `2: schema: not a usable JSON Schema: failing loading "http://example.com/meta": external schema reference "http://example.com/meta" is not allowed`},
		{name: "schema with a dangling pointer", line: `{"prompt": "q", "schema": {"$ref": "#/$defs/x"}}`,
			want: `2: schema: not a usable JSON Schema: json-pointer in "https://assay.invalid/schema.json#/$defs/x" not found`},

		// What the suite's metrics need.
		{name: "em without reference", metrics: []string{"em"}, line: `{"prompt": "q"}`,
			want: `2: reference: missing, but the suite's metric em needs it`},
		{name: "em with an object reference", metrics: []string{"em"}, line: `{"prompt": "q", "reference": {"a": 1}}`,
			want: `2: reference: is an object, but the suite's metric em needs a text answer (a string, a number or a list of them)`},
		{name: "f1 with an empty list", metrics: []string{"f1"}, line: `{"prompt": "q", "reference": []}`,
			want: `2: reference: is a list, but the suite's metric f1 needs a text answer (a string, a number or a list of them)`},
		{name: "num_match with a word", metrics: []string{"num_match"}, line: `{"prompt": "q", "reference": "forty-two"}`,
			want: `2: reference: "forty-two" is not a number and does not end in "#### <number>", but the suite's metric num_match needs one`},
		{name: "num_match with a unit", metrics: []string{"num_match"}, line: `{"prompt": "q", "reference": "42 kg"}`,
			want: `2: reference: "42 kg" is not a number and does not end in "#### <number>", but the suite's metric num_match needs one`},
		{name: "num_match with a GSM8K answer that is not a number", metrics: []string{"num_match"},
			line: `{"prompt": "q", "reference": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nSo she sold 48+24 = <<48+24=72>>72 clips.\n#### seventy-two"}`,
			want: `2: reference: "Natalia sold 48/2 = <<48/2=24>…72>>72 clips.\n#### seventy-two" is not a number and does not end in "#### <number>", but the suite's metric num_match needs one`},
		{name: "mc_acc without choices", metrics: []string{"mc_acc"}, line: `{"prompt": "q", "answer": "A"}`,
			want: `2: choices: missing, but the suite's metric mc_acc needs it`},
		{name: "json_schema without schema", metrics: []string{"json_schema"}, line: `{"prompt": "q"}`,
			want: `2: schema: missing, but the suite's metric json_schema needs it`},
		{name: "json_fields without reference", metrics: []string{"json_fields"}, line: `{"prompt": "q"}`,
			want: `2: reference: missing, but the suite's metric json_fields needs it`},
		{name: "json_fields with a string", metrics: []string{"json_fields"}, line: `{"prompt": "q", "reference": "{\"a\": 1}"}`,
			want: `2: reference: is a string, but the suite's metric json_fields needs a JSON object`},
		{name: "json_fields with a list", metrics: []string{"json_fields"}, line: `{"prompt": "q", "reference": [{"a": 1}]}`,
			want: `2: reference: is a list, but the suite's metric json_fields needs a JSON object`},
		{name: "safety without should_refuse", metrics: []string{"safety"}, line: `{"prompt": "q"}`,
			want: `2: should_refuse: missing, but the suite's metric safety needs it`},
		{name: "code_pass without tests", metrics: []string{"code_pass"}, line: `{"prompt": "q"}`,
			want: `2: test: missing, but the suite's metric code_pass needs it`},
		{name: "test not code", line: `{"prompt": "q", "test": 3}`,
			want: `2: test: must be Python test code (a string) or a list of assert statements, not a number`},
		{name: "test list with a number", line: `{"prompt": "q", "test": ["assert 1", 2]}`,
			want: `2: test[1]: must be a string (one assert statement)`},
		{name: "blank test", line: `{"prompt": "q", "test": "  "}`, want: `2: test: is empty: a code item needs tests`},
		{name: "entry_point not a string", line: `{"prompt": "q", "test": "assert 1", "entry_point": ["f"]}`,
			want: `2: entry_point: must be a string, not a list`},
		{name: "bleu without reference", metrics: []string{"bleu"}, line: `{"prompt": "q"}`,
			want: `2: reference: missing, but the suite's metric bleu needs it`},
		{name: "should_refuse a string", line: `{"prompt": "q", "should_refuse": "yes"}`, want: `2: should_refuse: must be true or false`},

		// Tags.
		{name: "tag not a string", line: `{"prompt": "q", "tags": ["a", 1]}`, want: `2: tags: tags must be strings`},
		{name: "tags a number", line: `{"prompt": "q", "tags": 1}`, want: `2: tags: must be a string or a list of strings`},

		// Ids.
		{name: "id a list", line: `{"id": [1], "prompt": "q"}`, want: `2: id: must be a string or a number, not a list`},
		{name: "id a boolean", line: `{"id": true, "prompt": "q"}`, want: `2: id: must be a string or a number, not a boolean`},
		{name: "id an object", line: `{"id": {"n": 1}, "prompt": "q"}`, want: `2: id: must be a string or a number, not an object`},
		{name: "id empty", line: `{"id": "", "prompt": "q"}`, want: `2: id: must not be empty`},
		{name: "id too long", line: `{"id": "` + long + `", "prompt": "q"}`, want: `2: id: is longer than 256 bytes`},
		{name: "id with a line break", line: `{"id": "a\nb", "prompt": "q"}`, want: `2: id: "a\nb" contains a control character`},
		{name: "id with trailing space", line: `{"id": "a ", "prompt": "q"}`, want: `2: id: "a " starts or ends with white space`},
		{name: "duplicate id, different prompt", line: `{"id": "g1", "prompt": "another question"}`,
			want: `2: id: id "g1" is already used on line 1: ids must be unique within a suite`},
		{name: "duplicate numeric id", line: `{"id": 1.0, "prompt": "another question"}`,
			want: `2: id: id "1" is already used on line 1: ids must be unique within a suite`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			suite := eval.Suite{Name: "s", Role: eval.RoleBenchmark, Metrics: tt.metrics}
			first := goodLine("g1", "first question", tt.metrics)
			if strings.Contains(tt.name, "numeric id") {
				first = strings.Replace(first, `"g1"`, `1`, 1)
			}
			input := first + "\n" + tt.line + "\n" + goodLine("g3", "third question", tt.metrics) + "\n"
			got, res := read(t, suite, input)
			sameJSON(t, "problems", problemStrings(res.Problems), []string{file + ":" + tt.want})
			if len(got) != 2 {
				t.Fatalf("got %d samples, want the 2 good lines", len(got))
			}
			for i, want := range []struct {
				source, prompt string
			}{{file + ":1", "first question"}, {file + ":3", "third question"}} {
				if got[i].Index != i || got[i].Source != want.source || got[i].Messages[0].Content != want.prompt {
					t.Errorf("sample %d: index %d, source %s, prompt %q", i, got[i].Index, got[i].Source, got[i].Messages[0].Content)
				}
			}
			if len(res.Duplicates) != 0 {
				t.Errorf("duplicates %v", res.Duplicates)
			}
		})
	}
}

// TestMalformedTogether reads every kind of bad line in one file: each is
// reported on its own line and no good line is lost.
func TestMalformedTogether(t *testing.T) {
	lines := []string{
		`{"id": "a", "prompt": "one", "reference": "1"}`,
		`{"prompt": "x",}`,
		"{\"prompt\": \"\xff\"}",
		`[]`,
		`{"id": "b", "prompt": "two", "reference": "2"}`,
		`{"question": "x"}`,
		`{"prompt": 1}`,
		`{"messages": [{"role": "bot", "content": "x"}]}`,
		`{"messages": [{"role": "assistant", "content": "x"}]}`,
		`{"prompt": "q", "choices": ["x"], "answer": "A"}`,
		`{"prompt": "q", "choices": ["x", "y"], "answer": "Q"}`,
		`{"prompt": "q", "schema": {"type": 1}, "reference": "1"}`,
		`{"prompt": "q"}`,
		`{"prompt": "q", "reference": "x"}`,
		`{"id": [], "prompt": "q", "reference": "1"}`,
		`{"id": "a", "prompt": "q", "reference": "1"}`,
		`{"id": "c", "prompt": "three", "reference": "3"}`,
	}
	suite := eval.Suite{Name: "s", Metrics: []string{"em", "num_match"}}
	got, res := read(t, suite, strings.Join(lines, "\n"))
	var ids []string
	for i, s := range got {
		ids = append(ids, fmt.Sprintf("%d:%s:%s", s.Index, s.ID, s.Source))
		_ = i
	}
	sameJSON(t, "samples", ids, []string{"0:a:" + file + ":1", "1:b:" + file + ":5", "2:c:" + file + ":17"})
	var lineNos []int
	for _, p := range res.Problems {
		lineNos = append(lineNos, p.Line)
		if p.File != file {
			t.Errorf("problem %v names file %q", p, p.File)
		}
	}
	sameJSON(t, "problem lines", lineNos, []int{2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
}

func TestProblemError(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{"a.jsonl", 3, "prompt", "is empty"}, "a.jsonl:3: prompt: is empty"},
		{Problem{"a.jsonl", 4, "", "invalid UTF-8"}, "a.jsonl:4: invalid UTF-8"},
		{Problem{"d/b.jsonl", 10, "messages[0].role", "bad"}, "d/b.jsonl:10: messages[0].role: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.p.Error(); got != tt.want {
				t.Errorf("got %q", got)
			}
		})
	}
}

// TestFieldMapping maps nested dataset fields with gjson paths, as a SQuAD
// or MMLU export needs, and names those paths in problems.
func TestFieldMapping(t *testing.T) {
	suite := eval.Suite{Name: "squad", Role: eval.RoleBenchmark, Metrics: []string{"em", "f1"}, Fields: eval.Fields{
		ID: "meta.uid", Prompt: "data.question", System: "data.context", Reference: "answers.text", Tags: "meta.tags",
	}}
	input := strings.Join([]string{
		`{"meta": {"uid": "sq-1", "tags": ["wiki"]}, "data": {"context": "Paris is in France.", "question": "Where is Paris?"}, "answers": {"text": ["France", "in France"], "answer_start": [12, 9]}}`,
		`{"meta": {"uid": "sq-2"}, "data": {"question": "Where is Rome?"}, "answers": {"text": [], "answer_start": []}}`,
		`{"meta": {"uid": "sq-3"}, "question": "Where is Oslo?", "answers": {"text": ["Norway"]}}`,
		`{"meta": {"uid": "sq-4"}, "data": {"question": "Where is Bern?"}, "answers": {"text": ["Switzerland"]}, "prompt": "ignored: not mapped"}`,
		`{"meta": {"uid": ["x"]}, "data": {"question": "Where is Kyiv?"}, "answers": {"text": ["Ukraine"]}}`,
	}, "\n")
	got, res := read(t, suite, input)
	sameJSON(t, "problems", problemStrings(res.Problems), []string{
		file + ":2: answers.text: is a list, but the suite's metric em needs a text answer (a string, a number or a list of them)",
		file + ":3: data.question: missing: map the prompt with fields.prompt (text) or fields.messages (chat messages)",
		file + ":5: meta.uid: must be a string or a number, not a list",
	})
	want := []eval.Sample{
		{V: 1, Run: "run1", ID: "sq-1", Suite: "squad", Role: eval.RoleBenchmark, Index: 0, Source: file + ":1", Tags: []string{"wiki"},
			Messages:  []eval.Message{system("Paris is in France."), user("Where is Paris?")},
			Reference: &eval.Reference{Answers: []string{"France", "in France"}}},
		{V: 1, Run: "run1", ID: "sq-4", Suite: "squad", Role: eval.RoleBenchmark, Index: 1, Source: file + ":4",
			Messages:  []eval.Message{user("Where is Bern?")},
			Reference: &eval.Reference{Answers: []string{"Switzerland"}}},
	}
	sameJSON(t, "samples", got, want)

	t.Run("multiple choice", func(t *testing.T) {
		suite := eval.Suite{Name: "mmlu", Metrics: []string{"mc_acc"}, Fields: eval.Fields{
			Prompt: "question", Choices: "options", Label: "gold.index",
		}}
		got, res := read(t, suite, `{"question": "2+2?", "options": ["3", "4"], "gold": {"index": 1}}`+"\n"+
			`{"question": "3+3?", "options": ["6", "7"], "gold": {"index": 2}}`+"\n"+
			`{"question": "4+4?", "options": ["8", "9"], "answer": "A"}`)
		sameJSON(t, "problems", problemStrings(res.Problems), []string{
			file + ":2: gold.index: 2 is not an option letter (A-B) or index",
			file + ":3: gold.index: missing: a multiple-choice item needs the correct option",
		})
		if len(got) != 1 || got[0].Reference.Label != "B" || !slices.Equal(got[0].Reference.Choices, []string{"3", "4"}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("chat messages under another name", func(t *testing.T) {
		suite := eval.Suite{Name: "chat", Fields: eval.Fields{Messages: "conversation.turns"}}
		got, res := read(t, suite, `{"conversation": {"turns": [{"role": "user", "content": "Hi"}]}}`+"\n"+
			`{"conversation": {"turns": [{"role": "human", "content": "Hi"}]}}`)
		sameJSON(t, "problems", problemStrings(res.Problems), []string{
			file + `:2: conversation.turns[0].role: must be system, user or assistant, not "human"`,
		})
		if len(got) != 1 || got[0].Messages[0] != user("Hi") {
			t.Errorf("got %+v", got)
		}
	})
}

// TestStableIDs: an id without one in the dataset depends on the suite and
// the normalised prompt only, so it is the same in every run and every
// reading.
func TestStableIDs(t *testing.T) {
	input := `{"prompt": "What is 2+2?"}` + "\n" + `{"system": "Be brief.", "prompt": "What is 2+2?"}` + "\n"
	suite := eval.Suite{Name: "math"}
	first, _ := read(t, suite, input)
	again, _ := read(t, suite, input)
	other, _ := read(t, eval.Suite{Name: "math2"}, input)
	if len(first) != 2 {
		t.Fatalf("got %d samples", len(first))
	}
	// sha256("math\x00user:what is 2+2?\n") (printf … | sha256sum), first 8
	// bytes: pinned so that a
	// change to normalisation, which would re-key every stored sample, is
	// seen.
	const pinned = "s-e7d2bc604c4f54cb"
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"pinned", first[0].ID, pinned},
		{"formula", first[0].ID, hashID("math", user("What is 2+2?"))},
		{"same in another reading", again[0].ID, first[0].ID},
		{"same with system, again", again[1].ID, first[1].ID},
		{"system changes the id", first[1].ID, hashID("math", system("Be brief."), user("What is 2+2?"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
	t.Run("another suite, another id", func(t *testing.T) {
		if other[0].ID == first[0].ID || other[1].ID == first[1].ID {
			t.Errorf("math2 ids %s %s equal math's", other[0].ID, other[1].ID)
		}
	})
	t.Run("run does not matter", func(t *testing.T) {
		rd := NewReader("another-run", suite, "elsewhere.jsonl")
		var ids []string
		if _, err := rd.Read(strings.NewReader(input), func(s eval.Sample) error { ids = append(ids, s.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if ids[0] != first[0].ID {
			t.Errorf("got %s, want %s", ids[0], first[0].ID)
		}
	})
}

// TestDuplicates: exact duplicates after normalisation (NFKC, case,
// whitespace, every turn) are dropped and recorded with the sample they
// duplicate; near duplicates are kept.
func TestDuplicates(t *testing.T) {
	lines := []string{
		`{"prompt": "What is 2+2?"}`,                                                              // 1 kept
		`{"prompt": "  what   IS\t2+2? "}`,                                                        // 2 case and spaces
		`{"prompt": "ｗｈａｔ　ｉｓ　２＋２？"}`,                                                              // 3 full width
		`{"id": "x", "prompt": "WHAT IS 2+2?"}`,                                                   // 4 own id, still a duplicate
		`{"messages": [{"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]}`, // 5 text parts
		`{"prompt": "What is 2+3?"}`,                                                              // 6 kept
		`{"system": "Be brief.", "prompt": "What is 2+2?"}`,                                       // 7 kept: system differs
		`{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "What is 2+2?"}]}`, // 8 kept
		`{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "HELLO"}, {"role": "user", "content": "what is 2+2?"}]}`, // 9 dup of 8
		`{"id": "y", "prompt": "What is 2+3?", "reference": "5"}`,                                                                                   // 10 dup of 6 although the reference differs
		`{"messages": [{"role": "assistant", "content": "What is 2+2?"}, {"role": "user", "content": "What is 2+2?"}]}`,                             // 11 kept: roles count
	}
	suite := eval.Suite{Name: "s"}
	got, res := read(t, suite, strings.Join(lines, "\n"))
	id1 := hashID("s", user("What is 2+2?"))
	id6 := hashID("s", user("What is 2+3?"))
	id8 := hashID("s", user("Hi"), assistant("Hello"), user("What is 2+2?"))
	sameJSON(t, "duplicates", res.Duplicates, []eval.DroppedDuplicate{
		{ID: id1, Twin: id1, Source: file + ":2"},
		{ID: id1, Twin: id1, Source: file + ":3"},
		{ID: "x", Twin: id1, Source: file + ":4"},
		{ID: id1, Twin: id1, Source: file + ":5"},
		{ID: hashID("s", user("hi"), assistant("HELLO"), user("what is 2+2?")), Twin: id8, Source: file + ":9"},
		{ID: "y", Twin: id6, Source: file + ":10"},
	})
	var kept []string
	for _, s := range got {
		kept = append(kept, fmt.Sprintf("%d %s", s.Index, s.Source))
	}
	sameJSON(t, "kept", kept, []string{"0 " + file + ":1", "1 " + file + ":6", "2 " + file + ":7", "3 " + file + ":8", "4 " + file + ":11"})
	if len(res.Problems) != 0 {
		t.Errorf("problems %q", problemStrings(res.Problems))
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		msgs []eval.Message
		want string
	}{
		{"collapses whitespace", []eval.Message{user(" a \t b\n\nc ")}, "user:a b c\n"},
		{"lower case", []eval.Message{user("ÀB")}, "user:àb\n"},
		{"NFKC", []eval.Message{user("ｆｕｌｌ　ｗｉｄｔｈ ①")}, "user:full width 1\n"},
		{"every turn, with roles", []eval.Message{system("S"), user("U")}, "system:s\nuser:u\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.msgs); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
