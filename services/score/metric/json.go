package metric

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
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

// Schemas compiles JSON Schemas (draft 2020-12 unless a schema says
// otherwise) and keeps them by content. External references are refused:
// a dataset must not make assay read files or the network.
type Schemas struct {
	mu    sync.Mutex
	cache map[[32]byte]*jsonschema.Schema
}

// NewSchemas returns an empty schema cache.
func NewSchemas() *Schemas { return &Schemas{cache: map[[32]byte]*jsonschema.Schema{}} }

// schemaURL names the suite's schema. It is hierarchical so that a
// relative $ref ("other.json", "/etc/passwd") resolves to another URL and
// reaches noLoader at compile time; under an opaque URL such as
// "assay:schema.json" it resolved to the schema itself and every answer
// then failed validation with a reference cycle.
const schemaURL = "https://assay.invalid/schema.json"

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
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("adding schema: %w", err)
	}
	sch, err = c.Compile(schemaURL)
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
	// The validator walks an object's keys in map order, so the causes
	// come in a different order on each run: pick the leaf by location
	// so that the same answer always gets the same reason.
	var leaves []jsonschema.OutputUnit
	var walk func(u jsonschema.OutputUnit)
	walk = func(u jsonschema.OutputUnit) {
		if len(u.Errors) == 0 {
			if u.Error != nil {
				leaves = append(leaves, u)
			}
			return
		}
		for _, c := range u.Errors {
			walk(c)
		}
	}
	walk(*ve.DetailedOutput())
	if len(leaves) == 0 {
		return err
	}
	first := slices.MinFunc(leaves, func(a, b jsonschema.OutputUnit) int {
		if c := strings.Compare(a.InstanceLocation, b.InstanceLocation); c != 0 {
			return c
		}
		if c := strings.Compare(a.KeywordLocation, b.KeywordLocation); c != 0 {
			return c
		}
		return strings.Compare(a.Error.String(), b.Error.String())
	})
	path := first.InstanceLocation
	if path == "" {
		path = "/"
	}
	return fmt.Errorf("%s: %s", path, first.Error.String())
}
