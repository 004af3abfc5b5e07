package metric

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The tokenizers here reproduce the reference implementations character for
// character, Python's notions of whitespace and lower case included: a
// metric that differs from sacreBLEU or rouge-score on one quote mark is a
// metric nobody can compare with.

// isPySpace is Python's str.isspace, which str.split() splits on: Go's
// unicode.IsSpace plus the ASCII separators U+001C–U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// pyFields is Python's str.split() with no argument.
func pyFields(s string) []string { return strings.FieldsFunc(s, isPySpace) }

// pyRStrip is Python's str.rstrip() with no argument.
func pyRStrip(s string) string { return strings.TrimRightFunc(s, isPySpace) }

// pyStrip is Python's str.strip() with no argument.
func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }

// Tokenizer names a BLEU tokenizer, as sacreBLEU's signature spells it.
type Tokenizer string

const (
	// Tokenizer13a is sacreBLEU's default, mteval-v13a's tokenization.
	Tokenizer13a Tokenizer = "13a"
	// TokenizerZh is sacreBLEU's Chinese tokenizer: each Chinese character
	// is a word, and the rest is tokenised as 13a does (without 13a's
	// markup replacements).
	TokenizerZh Tokenizer = "zh"
)

// bleuTokens tokenises a segment for BLEU exactly as sacreBLEU's
// _preprocess_segment does for the tokenizer (no lowercasing: the
// default is case-sensitive).
func bleuTokens(s string, tok Tokenizer) []string {
	s = pyRStrip(s)
	if tok == TokenizerZh {
		return pyFields(regexpTokenize(spaceChinese(pyStrip(s))))
	}
	return pyFields(tokenize13a(s))
}

// tokenize13a is sacreBLEU's Tokenizer13a.
func tokenize13a(s string) string {
	s = strings.ReplaceAll(s, "<skipped>", "")
	s = strings.ReplaceAll(s, "-\n", "")
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.Contains(s, "&") {
		// In this order: "&amp;lt;" becomes "<", as in sacreBLEU.
		s = strings.ReplaceAll(s, "&quot;", `"`)
		s = strings.ReplaceAll(s, "&amp;", "&")
		s = strings.ReplaceAll(s, "&lt;", "<")
		s = strings.ReplaceAll(s, "&gt;", ">")
	}
	return regexpTokenize(" " + s + " ")
}

// regexpTokenize is sacreBLEU's TokenizerRegexp: four regular-expression
// substitutions applied in turn, each scanning left to right without
// overlapping matches as re.sub does. All the characters they look for are
// ASCII, so scanning bytes gives the same result as scanning runes: a byte
// of a multi-byte rune is never a digit, '.', ',' or '-'.
func regexpTokenize(s string) string {
	b := make([]byte, 0, len(s)+len(s)/2)
	// ([\{-\~\[-\` -\&\(-\+\:-\@\/]) → " \1 "
	for i := 0; i < len(s); i++ {
		if c := s[i]; isBLEUPunct(c) {
			b = append(b, ' ', c, ' ')
		} else {
			b = append(b, c)
		}
	}
	// ([^0-9])([\.,]) → "\1 \2 "
	b = substitutePairs(b, func(x, y byte) bool { return !isDigit(x) && (y == '.' || y == ',') },
		func(out []byte, x, y byte) []byte { return append(out, x, ' ', y, ' ') })
	// ([\.,])([^0-9]) → " \1 \2"
	b = substitutePairs(b, func(x, y byte) bool { return (x == '.' || x == ',') && !isDigit(y) },
		func(out []byte, x, y byte) []byte { return append(out, ' ', x, ' ', y) })
	// ([0-9])(-) → "\1 \2 "
	b = substitutePairs(b, func(x, y byte) bool { return isDigit(x) && y == '-' },
		func(out []byte, x, y byte) []byte { return append(out, x, ' ', y, ' ') })
	return string(b)
}

// substitutePairs is re.sub for a pattern of exactly two characters.
func substitutePairs(s []byte, match func(x, y byte) bool, repl func(out []byte, x, y byte) []byte) []byte {
	out := make([]byte, 0, len(s)+len(s)/4)
	i := 0
	for i < len(s) {
		if i+1 < len(s) && match(s[i], s[i+1]) {
			out = repl(out, s[i], s[i+1])
			i += 2
			continue
		}
		out = append(out, s[i])
		i++
	}
	return out
}

// isBLEUPunct is the character class [\{-\~\[-\` -\&\(-\+\:-\@\/]: ASCII
// punctuation and space except ' , - and . (which the later rules handle).
func isBLEUPunct(c byte) bool {
	return c >= '{' && c <= '~' || c >= '[' && c <= '`' || c >= ' ' && c <= '&' ||
		c >= '(' && c <= '+' || c >= ':' && c <= '@' || c == '/'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// spaceChinese surrounds every character sacreBLEU's zh tokenizer counts
// as Chinese with spaces.
func spaceChinese(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for _, r := range s {
		if isSacreChinese(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sacreChinese are the ranges of sacreBLEU's TokenizerZh._is_chinese_char,
// as that code really compares them. Two of its bounds are written as
// '\u20000' and '\u2f800', which Python reads as two-character strings
// ("\u2000" + "0"); a single character compares with them as U+2001..U+2A6D
// and U+2F81..U+2FA1. So general punctuation (curly quotes, the ellipsis,
// dashes), arrows and mathematical symbols are "Chinese" and become words
// of their own, while CJK Extension B characters are not. We keep that, as
// it is what every published sacreBLEU zh score was computed with.
var sacreChinese = [][2]rune{
	{0x3400, 0x4db5}, {0x4e00, 0x9fa5}, {0x9fa6, 0x9fbb}, {0xf900, 0xfa2d},
	{0xfa30, 0xfa6a}, {0xfa70, 0xfad9}, {0x2001, 0x2a6d}, {0x2f81, 0x2fa1},
	{0xff00, 0xffef}, {0x2e80, 0x2eff}, {0x3000, 0x303f}, {0x31c0, 0x31ef},
	{0x2f00, 0x2fdf}, {0x2ff0, 0x2fff}, {0x3100, 0x312f}, {0x31a0, 0x31bf},
	{0xfe10, 0xfe1f}, {0xfe30, 0xfe4f}, {0x2600, 0x26ff}, {0x2700, 0x27bf},
	{0x3200, 0x32ff}, {0x3300, 0x33ff},
}

func isSacreChinese(r rune) bool {
	if r < 0x2001 {
		return false
	}
	for _, rg := range sacreChinese {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

// rougeTokens is rouge-score's default tokenizer: the text lowercased, and
// every maximal run of [a-z0-9] a token; with stem, tokens longer than three
// characters are Porter-stemmed as rouge-score does with NLTK's stemmer.
// With zh, every Han character is a token as well (rouge-score's tokenizer
// drops Chinese text entirely, so that ROUGE of any two Chinese texts is
// 0).
func rougeTokens(s string, lang Lang, stem bool) []string {
	var out []string
	var word []byte
	flush := func() {
		if len(word) == 0 {
			return
		}
		w := string(word)
		if stem && len(w) > 3 {
			w = PorterStem(w)
		}
		out = append(out, w)
		word = word[:0]
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r < utf8.RuneSelf {
			c := byte(r)
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c >= 'a' && c <= 'z' || isDigit(c) {
				word = append(word, c)
			} else {
				flush()
			}
			continue
		}
		switch lr := pyLowerASCII(r); {
		case lr != 0:
			word = append(word, lr)
			if r == '\u0130' {
				// Python lowercases İ to "i" and a combining dot, which
				// ends the token.
				flush()
			}
		case lang == LangZH && unicode.Is(unicode.Han, r):
			flush()
			out = append(out, s[i-n:i])
		default:
			flush()
		}
	}
	flush()
	return out
}

// pyLowerASCII is the ASCII letter a non-ASCII rune lowercases to in
// Python, or 0: the Kelvin sign becomes k, and İ becomes i (followed by a
// combining dot).
func pyLowerASCII(r rune) byte {
	switch r {
	case '\u212a': // KELVIN SIGN
		return 'k'
	case '\u0130': // LATIN CAPITAL LETTER I WITH DOT ABOVE
		return 'i'
	}
	return 0
}
