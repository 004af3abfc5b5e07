package eval

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePromptTemplate(t *testing.T) {
	got, err := ParsePromptTemplate("{question}\nA. {choices.0} {{x}} }}")
	want := []TemplatePart{{Field: "question"}, {Text: "\nA. "}, {Field: "choices.0"}, {Text: " {x} }"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v", got, err)
	}
	for tmpl, msg := range map[string]string{
		"Q: {":       "the { at byte 3 is not closed",
		"Q: {}":      `"{}" at byte 3 is not a field`,
		"Q: } {a}":   "the } at byte 3 closes nothing",
		"{{only}}":   "names no field",
		"{a\nb} {c}": "is not a field",
	} {
		if err := CheckPromptTemplate(tmpl); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", tmpl, err, msg)
		}
	}
	if err := CheckPromptTemplate(""); err != nil {
		t.Error(err)
	}
}

func FuzzParsePromptTemplate(f *testing.F) {
	for _, s := range []string{"{q}", "{{", "}}", "{a}{b}", "{", "}", "x{y}z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := ParsePromptTemplate(s)
		if err != nil {
			return
		}
		for _, p := range parts {
			if (p.Text == "") == (p.Field == "") {
				t.Fatalf("part %+v", p)
			}
		}
	})
}
