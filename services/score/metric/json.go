package metric

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var fenceRE = regexp.MustCompile("(?s)```(?:json|JSON)?\\s*\\n(.*?)\\n?```")

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
	if dec.More() {
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		return nil, false // trailing data
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
	case json.Number:
		fx, err1 := x.Float64()
		fy, ok := toFloat(b)
		return err1 == nil && ok && NumbersEqual(fx, fy)
	case float64:
		fy, ok := toFloat(b)
		return ok && NumbersEqual(x, fy)
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
			if !equalJSON(v, y[k]) {
				return false
			}
		}
		return true
	}
	return a == b
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

// Schemas compiles JSON Schemas (draft 2020-12 unless a schema says
// otherwise) and keeps them by content. External references are refused:
// a dataset must not make assay read files or the network.
type Schemas struct {
	mu    sync.Mutex
	cache map[[32]byte]*jsonschema.Schema
}

// NewSchemas returns an empty schema cache.
func NewSchemas() *Schemas { return &Schemas{cache: map[[32]byte]*jsonschema.Schema{}} }

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema reference %q is not allowed", url)
}

// Compile returns the compiled schema.
func (s *Schemas) Compile(raw []byte) (*jsonschema.Schema, error) {
	key := sha256.Sum256(raw)
	s.mu.Lock()
	sch, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return sch, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource("assay:schema.json", doc); err != nil {
		return nil, fmt.Errorf("adding schema: %w", err)
	}
	sch, err = c.Compile("assay:schema.json")
	if err != nil {
		return nil, fmt.Errorf("compiling schema: %w", err)
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[key] = sch
	s.mu.Unlock()
	return sch, nil
}

// Validate checks v (as decoded by [ExtractJSON]) against sch and returns
// nil or an error naming the failing path, e.g. "/total: got string, want
// number".
func Validate(sch *jsonschema.Schema, v any) error {
	err := sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	path := "/" + strings.Join(ve.InstanceLocation, "/")
	msg := ve.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "jsonschema validation failed") {
		msg = msg[i+2:]
	}
	return fmt.Errorf("%s: %s", path, msg)
}
