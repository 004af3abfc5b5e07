package eval

import (
	"unicode"
	"unicode/utf8"
)

// ApproxTokens approximates an LLM tokenizer, the same for every model:
// each run of ASCII letters or digits is a token, and so is every other
// character that is not a space (a Chinese character, a punctuation
// mark). Real tokenizers differ from it by about a third either way.
func ApproxTokens(s string) int {
	n := 0
	inWord := false
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if !inWord {
				n++
				inWord = true
			}
		case unicode.IsSpace(r):
			inWord = false
		default:
			n++
			inWord = false
		}
	}
	return n
}
