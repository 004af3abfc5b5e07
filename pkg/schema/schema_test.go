package schema

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const orderSchema = `{
	"type": "object",
	"required": ["items", "total"],
	"properties": {
		"total": {"type": "number"},
		"a/b": {"type": "string"},
		"items": {
			"type": "array",
			"items": {
				"type": "object",
				"required": ["sku", "qty"],
				"properties": {
					"sku": {"type": "string"},
					"qty": {"type": "integer", "minimum": 1}
				}
			}
		},
		"tags": {"type": "array", "items": {"enum": ["x", "y: z"]}}
	}
}`

func TestValidate(t *testing.T) {
	sch, err := NewCache().Compile([]byte(orderSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		answer string
		want   string // "" for valid
	}{
		{"valid", `{"total": 3, "items": [{"sku": "a", "qty": 1}]}`, ""},
		{"top-level type", `{"total": "3", "items": []}`, "/total: got string, want number"},
		{"nested minimum", `{"total": 1, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 0}]}`, "/items/1/qty: minimum: got 0, want 1"},
		{"nested required", `{"total": 1, "items": [{"sku": "a"}]}`, "/items/0: missing property 'qty'"},
		{"nested integer", `{"total": 1, "items": [{"sku": "a", "qty": 1.5}]}`, "/items/0/qty: got number, want integer"},
		{"root required", `{"items": []}`, "/: missing property 'total'"},
		{"root type", `[1]`, "/: got array, want object"},
		{"key with a slash is escaped", `{"total": 1, "items": [], "a/b": 3}`, "/a~1b: got number, want string"},
		{"message with a colon is kept whole", `{"total": 1, "items": [], "tags": ["q"]}`, "/tags/0: value must be one of 'x', 'y: z'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.answer))
			if err != nil {
				t.Fatalf("%q: %v", tt.answer, err)
			}
			err = Validate(sch, v)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestValidateDeterministic: the validator visits an object's keys in map
// order; the reason must not change from one run to the next, or replays
// and the report's examples would differ.
func TestValidateDeterministic(t *testing.T) {
	sch, err := NewCache().Compile([]byte(orderSchema))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"total": "x", "a/b": 1, "items": [{"qty": 0}], "tags": [1]}`))
	first := Validate(sch, v).Error()
	for range 50 {
		if got := Validate(sch, v).Error(); got != first {
			t.Fatalf("Validate gave %q, then %q", first, got)
		}
	}
}

func TestCompile(t *testing.T) {
	s := NewCache()
	a, err := s.Compile([]byte(`{"type": "string"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Compile([]byte(`{"type": "string"}`))
	if err != nil || a != b {
		t.Errorf("the same schema compiled twice: %p then %p (%v), want the cached one", a, b, err)
	}
	tests := []struct {
		name    string
		schema  string
		wantErr string
	}{
		{"not JSON", `{"type":`, "schema is not JSON"},
		{"invalid keyword value", `{"type": 5}`, "not a usable JSON Schema: at /type: "},
		{"local $defs reference", `{"$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s"}`, ""},
		{"draft-07 by $schema (bundled, not fetched)", `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"}`, ""},
		{"unknown $schema", `{"$schema": "https://example.com/my-meta", "type": "string"}`, "not allowed"},
		{"file reference", `{"$ref": "file:///etc/passwd"}`, "not allowed"},
		{"relative reference", `{"$ref": "other.json"}`, "not allowed"},
		{"absolute path reference", `{"$ref": "/etc/passwd"}`, "not allowed"},
		{"reference relative to an $id", `{"$id": "https://example.com/s.json", "$ref": "t.json"}`, "not allowed"},
		{"nested reference", `{"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}`, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCache().Compile([]byte(tt.schema))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Compile: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Compile = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestCompileRefusesExternalRefs proves that a dataset's schema cannot make
// assay fetch a URL or read a file: the references point at a live local
// server and an existing file, and neither is touched.
func TestCompileRefusesExternalRefs(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type": "string"}`))
	}))
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(file, []byte(`{"type": "string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{srv.URL + "/s.json", "file://" + file, file} {
		t.Run(ref, func(t *testing.T) {
			raw, _ := json.Marshal(map[string]any{"$ref": ref})
			if _, err := NewCache().Compile(raw); err == nil || !strings.Contains(err.Error(), "not allowed") {
				t.Errorf("Compile with $ref %q = %v, want a refusal", ref, err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the schema server was asked %d times, want 0", n)
	}
}
