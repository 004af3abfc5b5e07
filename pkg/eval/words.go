package eval

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"
)

// hanFirst is the first Chinese character (CJK Radicals Supplement): a
// rune below it is not looked up in unicode.Han's tables, as most are not.
const hanFirst = 0x2E80

// Words are text's words as assay reads an answer's wording (its openings
// and closings, [Edges]; the report's distinct words): lower-cased, split
// at anything that is not a letter, a digit or an apostrophe, so that
// punctuation and markup are left out, and each Chinese character a word
// of its own. Each word is a substring of the lower-cased text.
func Words(text string) iter.Seq[string] {
	return func(yield func(string) bool) {
		lower := strings.ToLower(text)
		start := -1 // where the word being read began, -1 between words
		for i, r := range lower {
			switch {
			case r >= hanFirst && unicode.Is(unicode.Han, r):
				if start >= 0 && !yield(lower[start:i]) {
					return
				}
				start = -1
				if !yield(lower[i : i+utf8.RuneLen(r)]) {
					return
				}
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’':
				if start < 0 {
					start = i
				}
			default:
				if start >= 0 && !yield(lower[start:i]) {
					return
				}
				start = -1
			}
		}
		if start >= 0 {
			yield(lower[start:])
		}
	}
}
