package metric

import (
	"bytes"
	"encoding/json"
	"io"
	"math/big"
	"regexp"
	"strings"
)

// fenceRE is a Markdown code fence, optionally tagged json in any case;
// models also write it on one line ("```json {…}```").
var fenceRE = regexp.MustCompile("(?s)```(?i:json)?[ \\t]*\\n?(.*?)```")

// ExtractJSON returns the JSON value an answer consists of: the whole
// answer, or the contents of a ``` fence. Prose around unfenced JSON makes
// the answer invalid, as it would be for a program reading it.
func ExtractJSON(text string) (any, bool) {
	text = strings.TrimSpace(text)
	if v, ok := decodeJSON(text); ok {
		return v, true
	}
	for _, m := range fenceRE.FindAllStringSubmatch(text, -1) {
		if v, ok := decodeJSON(m[1]); ok {
			return v, true
		}
	}
	return nil, false
}

func decodeJSON(s string) (any, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	// Anything after the value, even a stray "]" or "}" that dec.More
	// does not report, makes the text something other than one JSON value.
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// JSONFields is the share of the expected object's keys whose value the
// answer's object matches: strings compared trimmed and case-folded,
// numbers by value, arrays and other values exactly.
func JSONFields(got, want any) float64 {
	w, ok := want.(map[string]any)
	if !ok {
		if equalJSON(got, want) {
			return 1
		}
		return 0
	}
	if len(w) == 0 {
		return 1
	}
	g, ok := got.(map[string]any)
	if !ok {
		return 0
	}
	n := 0
	for k, wv := range w {
		if gv, ok := g[k]; ok && equalJSON(gv, wv) {
			n++
		}
	}
	return float64(n) / float64(len(w))
}

func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(y))
	case json.Number, float64:
		return equalNumber(a, b)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			// A missing key is not a null: {"a": null} differs from {"b": null}.
			yv, ok := y[k]
			if !ok || !equalJSON(v, yv) {
				return false
			}
		}
		return true
	}
	return a == b
}

// equalNumber compares JSON numbers. Integers as written compare exactly,
// however long (ids, phone numbers and timestamps are numbers too); others
// by value with [NumbersEqual]; a number beyond float64 only equals the
// same literal.
func equalNumber(a, b any) bool {
	if x, ok := bigInt(a); ok {
		if y, ok := bigInt(b); ok {
			return x.Cmp(y) == 0
		}
	}
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if okA && okB {
		return NumbersEqual(fa, fb)
	}
	na, okA := a.(json.Number)
	nb, okB := b.(json.Number)
	return okA && okB && na == nb
}

func bigInt(v any) (*big.Int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	return new(big.Int).SetString(string(n), 10)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// DecodeReference decodes a reference JSON value the way answers are
// decoded, so that the two compare.
func DecodeReference(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
