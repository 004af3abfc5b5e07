package eval

import "testing"

// TestOutputHash: answers that differ in case or white space alone are the
// same answer; any other difference, punctuation included, is not.
func TestOutputHash(t *testing.T) {
	same := [][2]string{{"Paris.", "paris. "}, {"The answer\n\nis  42", "the answer is 42"}, {"", "   "}, {"北京", " 北京\n"}}
	for _, p := range same {
		if OutputHash(p[0]) != OutputHash(p[1]) {
			t.Errorf("%q and %q hash apart", p[0], p[1])
		}
	}
	differ := [][2]string{{"Paris", "Paris."}, {"42", "43"}, {"a b", "ab"}, {"北京", "南京"}, {"", "0"}}
	for _, p := range differ {
		if OutputHash(p[0]) == OutputHash(p[1]) {
			t.Errorf("%q and %q hash alike", p[0], p[1])
		}
	}
}
