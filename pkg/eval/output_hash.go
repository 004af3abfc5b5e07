package eval

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// OutputHash identifies an answer for comparing variants' outputs: the
// FNV-1a hash (64 bits, in hex) of the answer with its case folded and its
// white space collapsed, so that "Paris." and "paris. " are the same
// answer and "Paris" and "Paris." are not. A hash of the empty answer is
// that of "".
func OutputHash(output string) string {
	return hashHex(strings.Join(strings.Fields(strings.ToLower(output)), " "))
}

// hashHex is the FNV-1a hash of s (64 bits) in hex.
func hashHex(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return strconv.FormatUint(h.Sum64(), 16)
}
