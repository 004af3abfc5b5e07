package aggregate

import "strings"

// strs makes the strings read from a batch the report's own. A string read
// from an Arrow batch points into the batch's body, and one kept keeps the
// whole body — every column of it — alive after a batch read back from a
// spill segment is released: rows holding such strings would hold the
// whole table in memory again. A value is copied once and shared by every
// row that has it (suites, variants, buckets, causes, clusters are few).
type strs map[string]string

// of is v's shared copy.
func (s strs) of(v string) string {
	if v == "" {
		return ""
	}
	if w, ok := s[v]; ok {
		return w
	}
	w := strings.Clone(v)
	s[w] = w
	return w
}
