package eval

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
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
		return nil, yamlError(file, err)
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
	d, err := decodeDoc(file, data, doc, &spec)
	if err != nil {
		return nil, err
	}
	spec.Source = file
	spec.applyDefaults()
	c := &checker{file: file, doc: doc, broken: d.broken, elements: d.elements}
	spec.validate(c)
	if resolve != nil {
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
	}
	if errs := inLineOrder(d.errs, c.errs); len(errs) > 0 {
		return nil, errs
	}
	spec.addIntakeSuites()
	return &spec, nil
}

// decodeDoc decodes doc, the document of data, into out (a *RunSpec or
// *Judge) leniently, with every problem found on the way.
//
// yaml.v3, strict about unknown fields, decodes it too and has the last
// word: a document it refuses is never accepted, though the problems
// reported are the spec decoder's, which say more.
func decodeDoc(file string, data []byte, doc *yaml.Node, out any) (*specDecoder, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	strict := dec.Decode(reflect.New(reflect.TypeOf(out).Elem()).Interface())
	d := newSpecDecoder(file, doc)
	d.decode(doc, reflect.ValueOf(out).Elem(), nil)
	if strict != nil && len(d.errs) == 0 {
		return nil, yamlError(file, strict)
	}
	return d, nil
}

// inLineOrder is every problem of lists, sorted by line, so that the
// report reads down the file.
func inLineOrder(lists ...SpecErrors) SpecErrors {
	var all SpecErrors
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.SortStableFunc(all, func(a, b *SpecError) int { return cmp.Compare(a.Line, b.Line) })
	return all
}

// yamlTags are yaml.v3's names for kinds of values, as a reader of the spec
// knows them.
var yamlTags = strings.NewReplacer("!!str", "a string", "!!seq", "a list", "!!map", "a mapping",
	"!!int", "a number", "!!float", "a number", "!!bool", "a boolean", "!!timestamp", "a date", "!!null", "a null")

// yamlError turns errors yaml.v3 returns for a whole document ("yaml: line
// 2: mapping values are not allowed …") into SpecErrors with a line.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	var lines []string
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	var out SpecErrors
	for _, l := range lines {
		se := &SpecError{File: file, Msg: strings.TrimPrefix(l, "yaml: ")}
		if m := yamlLineRE.FindStringSubmatch(l); m != nil {
			se.Line, _ = strconv.Atoi(m[1])
			se.Msg = yamlTags.Replace(m[2])
		}
		out = append(out, se)
	}
	return out
}

// ParseJudge parses one judge in YAML (the fields of a spec's judges[]),
// for adding it to a run that exists (assay replay). Like [ParseSpec], it
// reports every problem, each with its line and field.
func ParseJudge(file string, data []byte) (*Judge, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, SpecErrors{{File: file, Msg: "a judge is a YAML mapping (name:, base_url:, model:, …)"}}
	}
	doc := root.Content[0]
	var j Judge
	d, err := decodeDoc(file, data, doc, &j)
	if err != nil {
		return nil, err
	}
	j.applyDefaults()
	c := &checker{file: file, doc: doc, broken: d.broken, elements: d.elements}
	c.judge(j)
	if errs := inLineOrder(d.errs, c.errs); len(errs) > 0 {
		return nil, errs
	}
	return &j, nil
}
