package eval

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// specDecoder decodes a YAML node tree into the spec's types as yaml.v3
// does, but goes on past every problem and knows the field of each. yaml.v3
// alone gives a line and no field, drops a list element that does not
// decode (so that the indices of the next ones shift), gives up on a whole
// mapping that has a duplicate key, and can only say that a misspelt key
// is unknown, not what was meant. Values (strings, numbers, durations,
// kwargs) are still decoded by yaml.v3, one at a time.
type specDecoder struct {
	file string
	errs SpecErrors
	// broken are the fields (as [fieldName] writes them) whose value did
	// not decode, or is missing because its key was misspelt: a check of
	// them would only repeat a problem already reported.
	broken []string
	// reported are the unknown keys already reported: mappings merged
	// with << into several places share their keys.
	reported map[*yaml.Node]bool
	// merging are the mappings being decoded, to catch one that merges
	// itself, which would never end.
	merging map[*yaml.Node]bool
	// elements maps the index of an element of a list with empty entries
	// left out to its index in the document.
	elements map[string][]int
	// visits counts the nodes decoded, to stop at maxVisits: aliases can
	// make a short document a huge one, which yaml.v3 refuses, and so
	// does the spec decoder.
	visits, maxVisits int
}

// newSpecDecoder decodes doc, a document of file.
func newSpecDecoder(file string, doc *yaml.Node) *specDecoder {
	return &specDecoder{
		file:     file,
		reported: map[*yaml.Node]bool{},
		merging:  map[*yaml.Node]bool{},
		elements: map[string][]int{},
		// Anchors reused a few times over in a spec of any size, but
		// not a document that expands a hundredfold.
		maxVisits: 10_000 + 4*countNodes(doc),
	}
}

// countNodes is the number of nodes in the document under n, aliases not
// followed.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, e := range n.Content {
		c += countNodes(e)
	}
	return c
}

func (d *specDecoder) fail(line int, msg string, path []any) {
	field := fieldName(path...)
	d.errs = append(d.errs, &SpecError{File: d.file, Line: line, Field: field, Msg: msg})
	d.broken = append(d.broken, field)
}

// decode decodes n into v, which is addressable; path is v's field.
func (d *specDecoder) decode(n *yaml.Node, v reflect.Value, path []any) {
	n = unalias(n)
	if n == nil || d.tooMany(n, path) {
		return
	}
	// A null is whatever yaml.v3 makes of it, and so is a value that is
	// not the collection the type wants: its error message says so. A
	// collection tagged !!null is that collection, except where a
	// pointer would be set.
	null := n.ShortTag() == "!!null"
	t := v.Type()
	switch {
	case null && n.Kind == yaml.ScalarNode:
		d.value(n, v, path)
	case t.Kind() == reflect.Pointer && structural(t.Elem()) && n.Kind == yaml.MappingNode && !null:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case t.Kind() == reflect.Struct && structural(t) && n.Kind == yaml.MappingNode:
		d.mapping(n, v, path, map[string]bool{})
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && n.Kind == yaml.SequenceNode:
		// yaml.v3 leaves out an empty entry ("- " alone) of a list of
		// things that cannot be null; every other element is kept,
		// decoded or not, so that the checks after decoding find each
		// at its own line.
		var kept []int
		for i, e := range n.Content {
			if ue := unalias(e); ue == nil || ue.Kind != yaml.ScalarNode || ue.ShortTag() != "!!null" || nullable(t.Elem()) {
				kept = append(kept, i)
			}
		}
		s := reflect.MakeSlice(t, len(kept), len(kept))
		for j, i := range kept {
			d.decode(n.Content[i], s.Index(j), append(path[:len(path):len(path)], i))
		}
		v.Set(s)
		if len(kept) < len(n.Content) {
			d.elements[fieldName(path...)] = kept
		}
	default:
		d.value(n, v, path)
	}
}

// tooMany counts a node visited and reports whether there were too many.
func (d *specDecoder) tooMany(n *yaml.Node, path []any) bool {
	if d.visits++; d.visits == d.maxVisits {
		d.fail(n.Line, "the document contains excessive aliasing: write the values out", path)
	}
	return d.visits >= d.maxVisits
}

// value has yaml.v3 decode n into v whole.
func (d *specDecoder) value(n *yaml.Node, v reflect.Value, path []any) {
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// An alias to its own anchor, and the like.
		d.fail(n.Line, strings.TrimPrefix(err.Error(), "yaml: "), path)
		return
	}
	for _, l := range te.Errors {
		line, msg := n.Line, l
		if m := yamlLineRE.FindStringSubmatch(l); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		d.fail(line, yamlTags.Replace(msg), path)
	}
}

// mapping decodes the keys of n into the struct v. set holds the fields
// already set: a key written out wins over one merged in with <<, and an
// earlier merged mapping over a later one, as in yaml.v3.
func (d *specDecoder) mapping(n *yaml.Node, v reflect.Value, path []any, set map[string]bool) {
	if d.tooMany(n, path) {
		return
	}
	if d.merging[n] {
		d.fail(n.Line, "merges itself with <<: merge another mapping", path)
		return
	}
	d.merging[n] = true
	defer delete(d.merging, n)
	fields, names := yamlFields(v.Type())
	at := func(key string) []any { return append(path[:len(path):len(path)], key) }
	var merge *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if dup := duplicateKey(n, i); dup != nil {
			d.fail(k.Line, fmt.Sprintf("mapping key %q already defined at line %d", k.Value, dup.Line), at(k.Value))
			continue
		}
		if isMergeKey(k) {
			merge = val
			continue
		}
		var key string
		if kn := unalias(k); kn == nil || kn.Kind != yaml.ScalarNode {
			d.value(k, reflect.New(reflect.TypeFor[string]()).Elem(), path)
			continue
		} else if kn.ShortTag() != "!!null" {
			key = kn.Value
		}
		if key == "" {
			d.fail(k.Line, "has a key with no name: name the field, or remove the line", path)
			continue
		}
		if set[key] {
			continue
		}
		set[key] = true
		f, ok := fields[key]
		if !ok {
			d.unknown(n, k, key, names, path)
			continue
		}
		d.decode(val, v.Field(f), at(key))
	}
	if merge == nil {
		return
	}
	merge = unalias(merge)
	var maps []*yaml.Node
	switch {
	case merge != nil && merge.Kind == yaml.MappingNode:
		maps = []*yaml.Node{merge}
	case merge != nil && merge.Kind == yaml.SequenceNode:
		for _, m := range merge.Content {
			maps = append(maps, unalias(m))
		}
	}
	for _, m := range maps {
		if m == nil || m.Kind != yaml.MappingNode {
			maps = nil
			break
		}
	}
	if maps == nil {
		line := n.Line
		if merge != nil {
			line = merge.Line
		}
		d.fail(line, "<< merges a mapping or a list of mappings, nothing else", path)
		return
	}
	for _, m := range maps {
		d.mapping(m, v, path, set)
	}
}

// unknown reports a key k of mapping n that is no field, with the field
// it is nearest to, or else all of them. A field the mapping sets already
// is a poorer guess than one it lacks: beside model:, modle: is more likely
// mode: than a second model.
func (d *specDecoder) unknown(n, k *yaml.Node, key string, names []string, path []any) {
	unset := slices.DeleteFunc(slices.Clone(names), func(name string) bool {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				return true
			}
		}
		return false
	})
	near := suggest(key, unset)
	if len(near) == 0 {
		near = suggest(key, names)
	}
	// The field meant is probably missing, and saying so again ("model:
	// is required") would be noise; this holds in every mapping a merged
	// key lands in, though the key is reported once.
	for _, f := range near {
		d.broken = append(d.broken, fieldName(append(path[:len(path):len(path)], f)...))
	}
	if d.reported[k] {
		return
	}
	d.reported[k] = true
	field := append(path[:len(path):len(path)], key)
	if len(near) == 0 {
		d.fail(k.Line, "unknown field: use one of "+strings.Join(names, ", "), field)
		return
	}
	d.fail(k.Line, "unknown field: did you mean "+orList(near)+"?", field)
}

// duplicateKey is the earlier key of n that the key at i repeats, if any.
func duplicateKey(n *yaml.Node, i int) *yaml.Node {
	k := n.Content[i]
	for j := 0; j < i; j += 2 {
		if p := n.Content[j]; p.Kind == k.Kind && p.Value == k.Value {
			return p
		}
	}
	return nil
}

// isMergeKey is yaml.v3's test for the << of a merge.
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

// nullable reports whether yaml.v3 can decode a null into a t.
func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
		return true
	}
	return false
}

// unalias follows an alias to its anchor's node.
func unalias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// structural reports whether the spec decoder walks a struct's fields
// itself; a type that decodes itself (a duration, a time) is a value.
func structural(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
		return false
	}
	p := reflect.PointerTo(t)
	return !p.Implements(yamlUnmarshaler) && !p.Implements(textUnmarshaler)
}

// yamlFields maps the YAML keys of struct type t to its fields' indices,
// named as yaml.v3 names them, and lists the keys in the struct's order.
func yamlFields(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}
