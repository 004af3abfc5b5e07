package eval

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SpecError is a problem with a run spec, located by file, line and field.
type SpecError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// SpecErrors is every problem found in one spec.
type SpecErrors []*SpecError

func (es SpecErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find each [SpecError].
func (es SpecErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// LoadSpec reads and validates the run spec in file, and checks that every
// suite's dataset exists (paths are relative to the spec's directory).
func LoadSpec(file string) (*RunSpec, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading run spec: %w", err)
	}
	return parseSpec(file, b, func(p string) (string, error) {
		wantDir := IsDatasetDir(p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("%s: no such file: paths are relative to the spec's directory", p)
		case err != nil:
			return "", fmt.Errorf("%s cannot be read: %v", p, errors.Unwrap(err))
		}
		if st.IsDir() != wantDir {
			if st.IsDir() {
				return "", fmt.Errorf("%s is a directory: end the path with / to read every dataset file in it, or name one file", p)
			}
			return "", fmt.Errorf("%s is a file, but the path ends with /, which names a directory", p)
		}
		return p, nil
	})
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// ParseSpec parses a YAML run spec, applies defaults and validates it. file
// is used in error messages only. Every problem is reported, each with the
// line and field it concerns.
func ParseSpec(file string, data []byte) (*RunSpec, error) {
	return parseSpec(file, data, nil)
}

// parseSpec parses and validates a spec; resolve, when set, checks each
// suite's path and returns the local file it names.
func parseSpec(file string, data []byte, resolve func(string) (string, error)) (*RunSpec, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, nil, err)
	}
	// "---" alone or "~" is a document holding null: as empty as no text.
	if len(root.Content) == 0 || root.Content[0].ShortTag() == "!!null" {
		return nil, SpecErrors{{File: file, Msg: "the run spec is empty: see the README for an example"}}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, SpecErrors{{File: file, Line: doc.Line, Msg: "a run spec is a YAML mapping (run:, variants:, suites:, …)"}}
	}
	var spec RunSpec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return nil, yamlError(file, doc, err)
	}
	spec.Source = file
	spec.applyDefaults()
	errs := spec.validate(file, doc)
	if resolve != nil {
		c := &checker{file: file, doc: doc}
		for i := range spec.Suites {
			su := &spec.Suites[i]
			if su.Path == "" {
				continue
			}
			f, err := resolve(su.Path)
			if err != nil {
				c.fail(err.Error(), "suites", i, "path")
				continue
			}
			su.File = f
		}
		if cc := spec.Contamination; cc != nil && cc.Train != "" {
			f, err := resolve(cc.Train)
			if err != nil {
				c.fail(err.Error(), "contamination", "train")
			} else {
				cc.File = f
			}
		}
		errs = append(errs, c.errs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	spec.addIntakeSuites()
	return &spec, nil
}

// yamlTags are yaml.v3's names for kinds of values, as a reader of the spec
// knows them.
var yamlTags = strings.NewReplacer("!!str", "a string", "!!seq", "a list", "!!map", "a mapping",
	"!!int", "a number", "!!float", "a number", "!!bool", "a boolean", "!!timestamp", "a date")

// yamlError turns yaml.v3's errors ("line 4: field x not found in type …")
// into SpecErrors with a line and, when doc is known, the field's path.
func yamlError(file string, doc *yaml.Node, err error) error {
	var te *yaml.TypeError
	var lines []string
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	var out SpecErrors
	for _, l := range lines {
		se := &SpecError{File: file, Msg: l}
		if m := yamlLineRE.FindStringSubmatch(l); m != nil {
			se.Line, _ = strconv.Atoi(m[1])
			se.Msg = m[2]
			if doc != nil {
				se.Field = fieldAt(doc, se.Line, se.Msg)
			}
			if f, ok := strings.CutPrefix(se.Msg, "field "); ok {
				if name, _, ok := strings.Cut(f, " not found"); ok {
					if se.Field == "" {
						se.Field = name
					}
					se.Msg = "unknown field: check its spelling against the README's run spec reference"
				}
			}
			se.Msg = yamlTags.Replace(se.Msg)
		}
		out = append(out, se)
	}
	return out
}

// ParseJudge parses one judge in YAML (the fields of a spec's judges[]),
// for adding it to a run that exists (assay replay). Errors name file,
// line and field.
func ParseJudge(file string, data []byte) (*Judge, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, nil, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, SpecErrors{{File: file, Msg: "a judge is a YAML mapping (name:, base_url:, model:, …)"}}
	}
	var j Judge
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&j); err != nil {
		return nil, yamlError(file, root.Content[0], err)
	}
	j.applyDefaults()
	c := &checker{file: file, doc: root.Content[0]}
	c.judge(j)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return &j, nil
}

// fieldAt names the field, such as variants[1].modle, that a yaml.v3
// message about line concerns. yaml.v3 gives only a line, and flow style
// puts several fields on one: the field whose key or value the message
// quotes is preferred; then, for a mapping or list where something else was
// expected, the outermost one starting on the line; else the innermost
// field on the line.
func fieldAt(doc *yaml.Node, line int, msg string) string {
	quoted := func(s string) bool {
		if s == "" {
			return false
		}
		// yaml.v3 writes a value as `value` (cut to `1234567...` when long),
		// a key as "key" or as the bare word after "field ".
		short := s
		if len(s) > 10 {
			short = s[:7] + "..."
		}
		return strings.Contains(msg, "`"+short+"`") || strings.Contains(msg, strconv.Quote(s)) ||
			strings.HasPrefix(msg, "field "+s+" ")
	}
	var best, collection, last string
	wantKind := yaml.Kind(0)
	switch {
	case strings.Contains(msg, "!!map"):
		wantKind = yaml.MappingNode
	case strings.Contains(msg, "!!seq"):
		wantKind = yaml.SequenceNode
	}
	var walk func(n *yaml.Node, path []any)
	consider := func(key, val *yaml.Node, path []any) {
		if (key == nil || key.Line != line) && val.Line != line {
			return
		}
		name := fieldName(path...)
		last = name
		if best == "" && ((key != nil && quoted(key.Value)) || (val.Kind == yaml.ScalarNode && quoted(val.Value))) {
			best = name
		}
		if collection == "" && wantKind != 0 && val.Kind == wantKind && val.Line == line {
			collection = name
		}
	}
	walk = func(n *yaml.Node, path []any) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := append(slices.Clip(path), n.Content[i].Value)
				consider(n.Content[i], n.Content[i+1], p)
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				p := append(slices.Clip(path), i)
				consider(nil, e, p)
				walk(e, p)
			}
		}
		// Aliases are not followed: their fields were reported where the
		// anchor is.
	}
	walk(doc, nil)
	switch {
	case best != "":
		return best
	case collection != "":
		return collection
	}
	return last
}
