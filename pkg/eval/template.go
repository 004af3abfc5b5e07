package eval

import (
	"slices"
	"strings"
	"unicode"
)

// Edges are how an answer opens and closes: its first and last few words,
// lower-cased, punctuation and markup left out (three words, or four
// characters of Chinese). A fine-tune that has learnt a template opens or
// closes most answers alike.
func Edges(output string) (opening, closing string) {
	toks := slices.Collect(Words(output))
	edge := func(ts []string) string {
		if len(ts) == 0 {
			return ""
		}
		if n := []rune(ts[0]); len(n) == 1 && unicode.Is(unicode.Han, n[0]) {
			return strings.Join(ts, "")
		}
		return strings.Join(ts, " ")
	}
	n := func(first string) int {
		if r := []rune(first); len(r) == 1 && unicode.Is(unicode.Han, r[0]) {
			return 4
		}
		return 3
	}
	if len(toks) == 0 {
		return "", ""
	}
	k := min(n(toks[0]), len(toks))
	opening = edge(toks[:k])
	k = min(n(toks[len(toks)-1]), len(toks))
	closing = edge(toks[len(toks)-k:])
	return opening, closing
}

// EdgeHash identifies an opening or closing ([Edges]) on a score: "" for
// none.
func EdgeHash(edge string) string {
	if edge == "" {
		return ""
	}
	return hashHex(edge)
}
