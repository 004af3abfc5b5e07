package eval

import "testing"

// TestEdges: an answer's first and last three words, lower-cased, with
// punctuation and markup left out; four characters of Chinese.
func TestEdges(t *testing.T) {
	for _, c := range []struct{ in, open, close string }{
		{"**Certainly!** Here is the answer: Paris. Hope this helps!", "certainly here is", "hope this helps"},
		{"Paris", "paris", "paris"},
		{"It's 42.", "it's 42", "it's 42"},
		{"好的，这是我的回答。北京。希望对您有帮助！", "好的这是", "您有帮助"},
		{"  \n** ", "", ""},
	} {
		o, c2 := Edges(c.in)
		if o != c.open || c2 != c.close {
			t.Errorf("Edges(%q) = %q, %q; want %q, %q", c.in, o, c2, c.open, c.close)
		}
	}
	if EdgeHash("") != "" || EdgeHash("hope this helps") == EdgeHash("hope this help") {
		t.Error("edge hashes")
	}
}
