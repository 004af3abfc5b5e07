package metric

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestExtractJSON(t *testing.T) {
	obj := map[string]any{"a": json.Number("1")}
	tests := []struct {
		name   string
		text   string
		want   any
		wantOK bool
	}{
		{"object", `{"a": 1}`, obj, true},
		{"surrounding whitespace", "\n  {\"a\": 1}  \n", obj, true},
		{"array", `[1, "x"]`, []any{json.Number("1"), "x"}, true},
		{"scalar", `42`, json.Number("42"), true},
		{"string", `"ok"`, "ok", true},
		{"null is valid JSON", `null`, nil, true},
		{"big integers keep their digits", `{"id": 12345678901234567890}`, map[string]any{"id": json.Number("12345678901234567890")}, true},
		{"json fence", "```json\n{\"a\": 1}\n```", obj, true},
		{"JSON fence upper-case", "```JSON\n{\"a\": 1}\n```", obj, true},
		{"Json fence mixed case", "```Json\n{\"a\": 1}\n```", obj, true},
		{"bare fence", "```\n{\"a\": 1}\n```", obj, true},
		{"fence on one line", "```json {\"a\": 1}```", obj, true},
		{"fence with prose around", "Here you go:\n\n```json\n{\"a\": 1}\n```\nHope this helps!", obj, true},
		{"second fence is the JSON one", "```python\nprint(1)\n```\nand\n```json\n{\"a\": 1}\n```", obj, true},
		// Prose around unfenced JSON: a program reading the answer fails.
		{"trailing prose", "{\"a\": 1}\nHope this helps!", nil, false},
		{"leading prose", "Sure! {\"a\": 1}", nil, false},
		{"two values", `{"a": 1} {"b": 2}`, nil, false},
		{"stray closing bracket", `{"a": 1}]`, nil, false},
		{"stray closing brace", `{"a": 1}}`, nil, false},
		{"invalid JSON in the fence", "```json\n{a: 1}\n```", nil, false},
		{"syntax error", `{"a": }`, nil, false},
		{"curly quotes", `{“a”: 1}`, nil, false},
		{"truncated", `{"a": [1, 2`, nil, false},
		{"empty", "", nil, false},
		{"empty fence", "```json\n```", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractJSON(tt.text)
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExtractJSON(%q) = %#v, %v; want %#v, %v", tt.text, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestJSONFields(t *testing.T) {
	tests := []struct {
		name      string
		got, want string
		score     float64
	}{
		{"all match, strings folded, numbers by value", `{"name": " alice ", "age": 30.0}`, `{"name": "Alice", "age": 30}`, 1},
		{"one of two missing", `{"name": "Alice"}`, `{"name": "Alice", "age": 30}`, 0.5},
		{"number as a string is wrong", `{"name": "Alice", "age": "30"}`, `{"name": "Alice", "age": 30}`, 0.5},
		{"extra keys do not hurt", `{"name": "Alice", "age": 30, "x": 1}`, `{"name": "Alice", "age": 30}`, 1},
		{"not an object", `[1]`, `{"a": 1}`, 0},
		{"empty expected object", `{"x": 1}`, `{}`, 1},
		{"bool", `{"ok": true}`, `{"ok": true}`, 1},
		{"bool as string", `{"ok": "true"}`, `{"ok": true}`, 0},
		{"null", `{"v": null}`, `{"v": null}`, 1},
		{"missing is not null", `{}`, `{"v": null}`, 0},
		{"array exact", `{"t": [1, "A"]}`, `{"t": [1, "a"]}`, 1},
		{"array order", `{"t": [2, 1]}`, `{"t": [1, 2]}`, 0},
		{"nested object", `{"o": {"x": 1, "y": "Z"}}`, `{"o": {"y": "z", "x": 1}}`, 1},
		{"nested key missing is not null", `{"o": {"y": null}}`, `{"o": {"x": null}}`, 0},
		{"nested extra key", `{"o": {"x": 1, "y": 2}}`, `{"o": {"x": 1}}`, 0},
		{"scalar expected", `"paris"`, `"Paris"`, 1},
		{"scalar number expected", `3.0`, `3`, 1},
		{"scalar mismatch", `4`, `3`, 0},
		{"type mismatch", `"3"`, `3`, 0},
		// Long integers compare exactly: a float tolerance would accept
		// the wrong phone number or id.
		{"phone number off by one digit", `{"phone": 13800138009}`, `{"phone": 13800138000}`, 0},
		{"long id beyond float64 precision", `{"id": 12345678901234567891}`, `{"id": 12345678901234567890}`, 0},
		{"long id equal", `{"id": 12345678901234567890}`, `{"id": 12345678901234567890}`, 1},
		{"integer against its decimal form", `{"n": 30.0}`, `{"n": 30}`, 1},
		{"exponent form", `{"n": 1e2}`, `{"n": 100}`, 1},
		{"float formatting forgiven", `{"p": 0.30000000000000004}`, `{"p": 0.3}`, 1},
		{"beyond float64, same literal", `{"x": 1e400}`, `{"x": 1e400}`, 1},
		{"beyond float64, other literal", `{"x": 1e400}`, `{"x": 2e400}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractJSON(tt.got)
			if !ok {
				t.Fatalf("ExtractJSON(%q) failed", tt.got)
			}
			want, err := DecodeReference([]byte(tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if s := JSONFields(got, want); s != tt.score {
				t.Errorf("JSONFields(%s, %s) = %v, want %v", tt.got, tt.want, s, tt.score)
			}
		})
	}
	// Floats from encoding/json without UseNumber compare by value too.
	if s := JSONFields(map[string]any{"a": 1.0}, map[string]any{"a": json.Number("1")}); s != 1 {
		t.Errorf("float64 vs json.Number = %v, want 1", s)
	}
}

func TestDecodeReference(t *testing.T) {
	v, err := DecodeReference([]byte(`{"n": 1.50}`))
	if err != nil || !reflect.DeepEqual(v, map[string]any{"n": json.Number("1.50")}) {
		t.Errorf("DecodeReference = %#v, %v", v, err)
	}
	if _, err := DecodeReference([]byte(`{"n":`)); err == nil {
		t.Error("DecodeReference of truncated JSON: want an error")
	}
}

func FuzzExtractJSON(f *testing.F) {
	for _, s := range []string{
		`{"a": 1}`, "```json\n{\"a\": 1}\n```", "```json {\"a\":1}```", `{"a": 1}]`, `{"a": 1} trailing`,
		"```\n```", "``````", `[1, 2`, `null`, "\"\\ud800\"", `1e400`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ExtractJSON(s)
		if !ok {
			if v != nil {
				t.Fatalf("ExtractJSON(%q) = %#v with ok false", s, v)
			}
			return
		}
		// What was extracted is JSON: it encodes, and decodes to itself.
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("ExtractJSON(%q) = %#v, which does not encode: %v", s, v, err)
		}
		back, ok := ExtractJSON(string(raw))
		if !ok || !reflect.DeepEqual(back, v) {
			t.Fatalf("round trip of %q: %#v became %#v (%v)", s, v, back, ok)
		}
		// And it is complete: JSONFields of a value against itself is 1.
		if f := JSONFields(v, v); f != 1 {
			t.Fatalf("JSONFields(v, v) = %v for %q", f, s)
		}
	})
}
