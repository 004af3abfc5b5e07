package eval

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// ListItem is one name of a YAML list-or-string value ([StringList]), with
// the node it was written in and its index: in a list, the element's; in
// one string, the name's among its names (for errors' lines and fields).
type ListItem struct {
	Value string
	Node  *yaml.Node
	Index int
}

// StringList reads a YAML value that is a list of strings or one string
// (null: none). Every string is split at its commas and trimmed, and empty
// names dropped, so `[a, b]`, `a,b` and `[a, "b, c"]` all list their
// names. It is the one reading of such keys (assay.yaml's services and
// endpoint_allow, the endpoints file's allow and hosts), so that they
// agree. A value of another shape, or a list element that is not a
// string, is returned as bad (nil items).
func StringList(n *yaml.Node) (items []ListItem, bad *yaml.Node) {
	// index < 0: each name is numbered in turn.
	add := func(e *yaml.Node, index int) {
		for s := range strings.SplitSeq(e.Value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				i := index
				if i < 0 {
					i = len(items)
				}
				items = append(items, ListItem{Value: s, Node: e, Index: i})
			}
		}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!null" {
			add(n, -1)
		}
		return items, nil
	case yaml.SequenceNode:
		for j, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return nil, e
			}
			add(e, j)
		}
		return items, nil
	}
	return nil, n
}

// Values are the items' names.
func Values(items []ListItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out
}
