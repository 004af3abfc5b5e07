// Package schema compiles and applies the JSON Schemas that samples carry:
// ingest checks a sample's schema is usable, score validates answers with
// it. Both compile the same way, so a schema ingest accepts is one score
// can use.
//
// Schemas are draft 2020-12 unless they say otherwise. External references
// are refused at compile time: a dataset must not make assay read files or
// the network.
package schema

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// url names a schema while it is compiled. It is hierarchical so that a
// relative $ref ("other.json", "/etc/passwd") resolves to another URL and
// reaches the refusing loader; under an opaque URL such as
// "assay:schema.json" it resolved to the schema itself, and every answer
// then failed validation with a reference cycle.
const url = "https://assay.invalid/schema.json"

type refuse struct{}

func (refuse) Load(u string) (any, error) {
	return nil, fmt.Errorf("external schema reference %q is not allowed", u)
}

// Compile compiles a schema. Its error is one line: the failures of the
// schema against its metaschema, each with the place it concerns.
func Compile(raw []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuse{})
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("not a usable JSON Schema: %s", oneLine(err))
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("not a usable JSON Schema: %s", oneLine(err))
	}
	return sch, nil
}

// oneLine flattens a compiler error, which lists metaschema failures as an
// indented tree.
func oneLine(err error) string {
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		p := message.NewPrinter(language.English)
		var leaves []string
		var walk func(*jsonschema.ValidationError)
		walk = func(e *jsonschema.ValidationError) {
			if len(e.Causes) == 0 {
				at := "/" + strings.Join(e.InstanceLocation, "/")
				leaves = append(leaves, fmt.Sprintf("at %s: %s", at, e.ErrorKind.LocalizedString(p)))
			}
			for _, c := range e.Causes {
				walk(c)
			}
		}
		walk(ve)
		return strings.Join(leaves, "; ")
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// Cache keeps compiled schemas by content; it is safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	cache map[[32]byte]*jsonschema.Schema
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{cache: map[[32]byte]*jsonschema.Schema{}} }

// Compile returns the compiled schema, compiling it on first use.
func (c *Cache) Compile(raw []byte) (*jsonschema.Schema, error) {
	key := sha256.Sum256(raw)
	c.mu.Lock()
	sch, ok := c.cache[key]
	c.mu.Unlock()
	if ok {
		return sch, nil
	}
	sch, err := Compile(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.cache) > 10000 {
		clear(c.cache)
	}
	c.cache[key] = sch
	c.mu.Unlock()
	return sch, nil
}

// Validate checks v (decoded with json.Number numbers, as
// jsonschema.UnmarshalJSON does) against sch and returns nil or an error
// naming the failing path, e.g. "/total: got string, want number".
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
