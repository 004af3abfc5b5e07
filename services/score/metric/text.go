package metric

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsCJK reports whether s contains a Han character; such text is compared
// character by character, since it has no spaces between words.
func IsCJK(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// NormalizeEN is the official SQuAD v1.1 answer normalisation: lowercase,
// remove ASCII punctuation, remove the articles a/an/the, collapse
// whitespace. It is kept exact (curly quotes stay) so that assay's EM and F1
// equal the numbers teams already have from the SQuAD script.
func NormalizeEN(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf && isASCIIPunct(byte(r)) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(removeArticles(b.String())), " ")
}

// removeArticles blanks the words a, an and the. It is SQuAD's
// re.sub(r'\b(a|an|the)\b', ' ', text): a word ends at any rune that is not
// a letter, digit or underscore, so the article in "€the" or "the°" goes
// too, which splitting on spaces alone would miss.
func removeArticles(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		j := i + n
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !isWordRune(r) {
				break
			}
			j += n
		}
		switch w := s[i:j]; w {
		case "a", "an", "the":
			b.WriteByte(' ')
		default:
			b.WriteString(w)
		}
		i = j
	}
	return b.String()
}

// isWordRune is Python's \w for str patterns (isalnum or underscore).
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func isASCIIPunct(c byte) bool {
	return strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0
}

// NormalizeZH lowercases, removes ASCII and CJK punctuation and all
// whitespace.
func NormalizeZH(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tokensZH splits normalised Chinese text into characters, keeping runs of
// ASCII letters and digits whole.
func tokensZH(s string) []string {
	var out []string
	var word strings.Builder
	flush := func() {
		if word.Len() > 0 {
			out = append(out, word.String())
			word.Reset()
		}
	}
	for _, r := range NormalizeZH(s) {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			word.WriteRune(r)
			continue
		}
		flush()
		out = append(out, string(r))
	}
	flush()
	return out
}

// Tokens are the units of F1: SQuAD words, or Chinese characters.
func Tokens(s string, zh bool) []string {
	if zh {
		return tokensZH(s)
	}
	return strings.Fields(NormalizeEN(s))
}

// CountTokens approximates an LLM tokenizer when the endpoint reported no
// usage: each run of ASCII letters or digits is a token, and so is every
// other non-space character.
func CountTokens(s string) int {
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
