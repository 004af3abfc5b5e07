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
	sc := getScratch()
	defer putScratch(sc)
	return pyFields(sc.bleuTokenized(s, tok))
}

// bleuTokenized is the segment as the tokenizer leaves it, before it is
// split on whitespace.
func (sc *scratch) bleuTokenized(s string, tok Tokenizer) string {
	s = pyRStrip(s)
	b := sc.buf[:0]
	if tok == TokenizerZh {
		for _, r := range pyStrip(s) {
			if isSacreChinese(r) {
				b = append(b, ' ')
				b = utf8.AppendRune(b, r)
				b = append(b, ' ')
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
	} else {
		// Tokenizer13a first; ReplaceAll returns s itself when there is
		// nothing to replace.
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
		b = append(b, ' ')
		b = append(b, s...)
		b = append(b, ' ')
	}
	out, spare := regexpTokenize(b, sc.buf2[:0])
	sc.buf, sc.buf2 = out, spare
	return string(out)
}

// tokenize13a is sacreBLEU's Tokenizer13a, as a string.
func tokenize13a(s string) string {
	sc := getScratch()
	defer putScratch(sc)
	return sc.bleuTokenized(s, Tokenizer13a)
}

// regexpTokenize is sacreBLEU's TokenizerRegexp: four regular-expression
// substitutions applied in turn, each scanning left to right without
// overlapping matches as re.sub does. All the characters they look for are
// ASCII, so scanning bytes gives the same result as scanning runes: a byte
// of a multi-byte rune is never a digit, '.', ',' or '-'. It works in src
// and spare, and returns the result and the buffer left over. Each later
// pass is re.sub for a pattern of exactly two characters: a match consumes
// both, and scanning resumes after them.
func regexpTokenize(src, spare []byte) (out, left []byte) {
	// ([\{-\~\[-\` -\&\(-\+\:-\@\/]) → " \1 "
	b := spare[:0]
	for _, c := range src {
		if isBLEUPunct(c) {
			b = append(b, ' ', c, ' ')
		} else {
			b = append(b, c)
		}
	}
	src, b = b, src[:0]
	// ([^0-9])([\.,]) → "\1 \2 "
	for i := 0; i < len(src); i++ {
		if x := src[i]; i+1 < len(src) && !isDigit(x) && (src[i+1] == '.' || src[i+1] == ',') {
			b = append(b, x, ' ', src[i+1], ' ')
			i++
			continue
		}
		b = append(b, src[i])
	}
	src, b = b, src[:0]
	// ([\.,])([^0-9]) → " \1 \2"
	for i := 0; i < len(src); i++ {
		if x := src[i]; i+1 < len(src) && (x == '.' || x == ',') && !isDigit(src[i+1]) {
			b = append(b, ' ', x, ' ', src[i+1])
			i++
			continue
		}
		b = append(b, src[i])
	}
	src, b = b, src[:0]
	// ([0-9])(-) → "\1 \2 "
	for i := 0; i < len(src); i++ {
		if x := src[i]; i+1 < len(src) && isDigit(x) && src[i+1] == '-' {
			b = append(b, x, ' ', '-', ' ')
			i++
			continue
		}
		b = append(b, src[i])
	}
	return b, src[:0]
}

// isBLEUPunct is the character class [\{-\~\[-\` -\&\(-\+\:-\@\/]: ASCII
// punctuation and space except ' , - and . (which the later rules handle).
func isBLEUPunct(c byte) bool { return bleuPunct[c] }

var bleuPunct = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= '{' && c <= '~' || c >= '[' && c <= '`' || c >= ' ' && c <= '&' ||
			c >= '(' && c <= '+' || c >= ':' && c <= '@' || c == '/'
	}
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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
	sc := getScratch()
	defer putScratch(sc)
	return strings.Fields(sc.rougeTokenized(s, lang, stem))
}

// rougeTokenized is the tokens of s separated by single spaces (no token
// contains one).
func (sc *scratch) rougeTokenized(s string, lang Lang, stem bool) string {
	b := sc.buf[:0]
	word := -1 // start of the current token in b
	flush := func() {
		if word < 0 {
			return
		}
		if stem && len(b)-word > 3 {
			w := string(b[word:])
			b = append(b[:word], PorterStem(w)...)
		}
		b = append(b, ' ')
		word = -1
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c >= 'a' && c <= 'z' || isDigit(c) {
				if word < 0 {
					word = len(b)
				}
				b = append(b, c)
			} else {
				flush()
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch lr := pyLowerASCII(r); {
		case lr != 0:
			if word < 0 {
				word = len(b)
			}
			b = append(b, lr)
			if r == '\u0130' {
				// Python lowercases İ to "i" and a combining dot, which
				// ends the token.
				flush()
			}
		case lang == LangZH && unicode.Is(unicode.Han, r):
			flush()
			b = append(b, s[i-n:i]...)
			b = append(b, ' ')
		default:
			flush()
		}
	}
	flush()
	sc.buf = b
	return string(b)
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
