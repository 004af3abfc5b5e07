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
	h := fnv.New64a()
	for i, w := range strings.Fields(strings.ToLower(output)) {
		if i > 0 {
			h.Write([]byte{' '})
		}
		h.Write([]byte(w))
	}
	return strconv.FormatUint(h.Sum64(), 16)
}
