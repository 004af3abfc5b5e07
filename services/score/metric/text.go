package metric

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/eval"
)

// Lang selects the tokenisation of the text metrics.
type Lang string

const (
	// LangEN tokenises as the reference implementations do by default.
	LangEN Lang = "en"
	// LangZH makes Chinese characters tokens: text without spaces between
	// words would otherwise be one token, or none.
	LangZH Lang = "zh"
)

// ParseLang reads a --lang or lang: value.
func ParseLang(s string) (Lang, error) {
	switch l := Lang(strings.ToLower(strings.TrimSpace(s))); l {
	case LangEN, LangZH:
		return l, nil
	}
	return "", fmt.Errorf("unknown language %q: use en or zh", s)
}

// DetectLang is zh when any of texts contains a Han character, else en:
// a Chinese reference is scored as Chinese even where the answer wandered
// into English.
func DetectLang(texts ...string) Lang {
	for _, s := range texts {
		if IsCJK(s) {
			return LangZH
		}
	}
	return LangEN
}

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

// pyLower is Python's str.lower() where it differs from Go's rune-by-rune
// lowering in a way the metrics can see: İ (U+0130) becomes "i" and a
// combining dot, and a capital sigma that ends a word becomes ς.
func pyLower(s string) string {
	if strings.ContainsRune(s, '\u0130') {
		s = strings.ReplaceAll(s, "\u0130", "i\u0307")
	}
	if !strings.ContainsRune(s, 'Σ') {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	for i, r := range rs {
		if r == 'Σ' && finalSigma(rs, i) {
			rs[i] = 'ς'
		} else {
			rs[i] = unicode.ToLower(r)
		}
	}
	return string(rs)
}

// finalSigma is Unicode's Final_Sigma condition as CPython applies it: a
// cased letter before the sigma and none after it, skipping
// case-ignorable characters on both sides.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	k := i + 1
	for k < len(rs) && caseIgnorable(rs[k]) {
		k++
	}
	return k == len(rs) || !cased(rs[k])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable is Unicode's Case_Ignorable: marks, format characters,
// modifiers, and the word-internal punctuation of Word_Break.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00b7', '\u0387', '\u05f4', '\u2018', '\u2019', '\u2024', '\u2027', '\ufe13', '\ufe52', '\ufe55', '\uff07', '\uff0e', '\uff1a':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// NormalizeEN is the official SQuAD v1.1 answer normalisation: lowercase,
// remove ASCII punctuation, remove the articles a/an/the, collapse
// whitespace. It is kept exact (curly quotes stay) so that assay's EM and F1
// equal the numbers teams already have from the SQuAD script.
func NormalizeEN(s string) string {
	s = pyLower(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf && isASCIIPunct(byte(r)) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.Join(pyFields(removeArticles(b.String())), " ")
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

// NormalizeZH lowercases and removes all punctuation and symbols (ASCII,
// full-width and CJK alike) and all whitespace.
func NormalizeZH(s string) string {
	s = pyLower(s)
	var b strings.Builder
	for _, r := range s {
		if isPySpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tokensZH splits Chinese text for F1: lowercase, punctuation and symbols
// removed, then every run of ASCII letters and digits is a token, and so is
// every other character but whitespace, which only separates.
func tokensZH(s string) []string {
	var out []string
	start := -1
	s = pyLower(s)
	var b strings.Builder
	for _, r := range s {
		if !unicode.IsPunct(r) && !unicode.IsSymbol(r) {
			b.WriteRune(r)
		}
	}
	s = b.String()
	for i, r := range s {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
		if !isPySpace(r) {
			out = append(out, string(r))
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// Tokens are the units of F1: SQuAD words, or Chinese characters.
func Tokens(s string, lang Lang) []string {
	if lang == LangZH {
		return tokensZH(s)
	}
	return pyFields(NormalizeEN(s))
}

// CountTokens approximates an LLM tokenizer when the endpoint reported no
// usage: each run of ASCII letters or digits is a token, and so is every
// other non-space character.
func CountTokens(s string) int { return eval.ApproxTokens(s) }
