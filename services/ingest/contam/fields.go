package contam

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/tidwall/gjson"
)

// text returns record i's text, or the problem that keeps it from being
// read.
func (s *Source) text(b *batch, i int) (string, *problem) {
	rec := b.recs[i]
	fail := func(field, format string, args ...any) (string, *problem) {
		return "", &problem{b.ord + int64(i), dataset.Problem{File: b.f.name, Line: rec.line, Field: field, Msg: fmt.Sprintf(format, args...)}}
	}
	if rec.tooLong {
		if b.f.whole {
			return fail("", "the file is larger than %d bytes: split it", s.limit())
		}
		return fail("", "line is longer than %d bytes: shorten the document or split it", s.limit())
	}
	data := b.bytes(i)
	if b.f.whole {
		return string(data), nil
	}
	if !gjson.ValidBytes(data) {
		if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
			return fail("", "not valid JSON: %v", err)
		}
		return fail("", "not valid JSON")
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return fail("", "a line must be a JSON object, not %s", dataset.Kind(root))
	}
	if s.Field != "" {
		v := root.Get(s.Field)
		if !dataset.Present(v) {
			return fail(s.Field, "missing: every line needs its text here")
		}
		t, ok := textOf(v)
		if !ok {
			return fail(s.Field, "must be a string or a list of strings, not %s", dataset.Kind(v))
		}
		return t, nil
	}
	for _, field := range DefaultFields {
		if v := root.Get(field); dataset.Present(v) {
			if t, ok := textOf(v); ok {
				return t, nil
			}
		}
	}
	return fail("", "no text: none of %s holds a string: name the field that holds the text", strings.Join(DefaultFields, ", "))
}

// id returns record i's id; the record's text was read without a problem.
func (s *Source) id(b *batch, i int) (string, bool) {
	rec := b.recs[i]
	if b.f.whole {
		return b.f.name, false
	}
	field := s.IDField
	if field == "" {
		field = "id"
	}
	switch v := gjson.GetBytes(b.bytes(i), field); v.Type {
	case gjson.String:
		if v.Str != "" {
			return v.Str, false
		}
	case gjson.Number:
		return v.Raw, true
	}
	return fmt.Sprintf("%s:%d", b.f.name, rec.line), false
}

func (s *Source) limit() int {
	if s.MaxLine > 0 {
		return s.MaxLine
	}
	return dataset.MaxLine
}

// textOf reads a string, or joins an array's strings with newlines.
func textOf(v gjson.Result) (string, bool) {
	switch {
	case v.Type == gjson.String:
		return v.Str, true
	case v.IsArray():
		var parts []string
		for _, x := range v.Array() {
			if x.Type == gjson.String {
				parts = append(parts, x.Str)
			}
		}
		return strings.Join(parts, "\n"), len(parts) > 0
	}
	return "", false
}
