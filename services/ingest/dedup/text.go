package dedup

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// kind is what a token is, which decides what may differ in it.
type kind uint8

const (
	// word is a run of letters (and combining marks, and _) of a script
	// written with spaces, lower-cased. Typos are allowed in it.
	word kind = iota
	// number is a run of digits (with the points and commas inside it),
	// a number word (seven, twice) or a Chinese numeral: never edited.
	number
	// symbol is one character that means something in code or math:
	// < > ( ) [ ] { } + - * / = ! % ^ & | ~ # $ @ \, currency and other
	// symbols. Never edited.
	symbol
	// han is one Han, kana or hangul character: Chinese and Japanese put
	// no spaces between words, so a character is the unit a typo changes.
	han
)

// Token flags.
const (
	// capital: the word began with a capital letter in the text.
	capital uint8 = 1 << iota
	// opening: the word begins the text or a sentence, where a capital
	// says nothing about names.
	opening
	// ident: the word looks like an identifier in code (snake_case,
	// camelCase), where a letter changed is other code.
	ident
)

// token is a normalised token of a text: its bytes (lower-cased, NFKC)
// are a slice of the text's buffer.
type token struct {
	b     []byte
	kind  kind
	flags uint8
}

// text is a text split into tokens, with the hashes the index keys it by.
type text struct {
	toks []token
	buf  []byte // the tokens' bytes, one after the other
	norm []byte // scratch: NFKC of the input
	lit  literals
	// segs: the code-like segments, which a near-duplicate has the same
	// (see segment.go).
	segs []byte
	// cased: the words in code that keep their capitals, to lower them
	// when the whole text is shouted.
	cased []int
}

// parse splits s into tokens. NFKC folds full-width forms, ligatures and
// compatibility characters into plain ones; case is folded (a capital is
// remembered in the token's flags); white space and punctuation only
// separate tokens, except where they are part of one or mean something:
// the point in 3.14, an apostrophe inside a word (don't is dont), "!"
// before = or a word or after a number (code and factorials, not the end
// of a sentence), and a mark in code or a quoted literal or between code
// on both sides (os.path, s.split(','), f(x,y); see literal.go). A hyphen
// between letters separates words (well-known is well known). In code and
// in a literal that a straight quote opens a mark keeps its width, and in
// code a letter keeps its case ('，', %Y, \D; see keepWidth). A text that is
// mostly capitals is read without case, in code too: shouting says nothing
// of names, of camelCase or of the code it shouts.
// The tokens are valid until the next call.
func (t *text) parse(s string) {
	t.toks, t.buf = t.toks[:0], t.buf[:0]
	t.segs = appendSegments(t.segs[:0], s)
	if isASCII(s) { // NFKC changes no ASCII text: skip its quick check
		t.norm = append(t.norm[:0], s...)
	} else {
		t.norm = appendNFKC(t.norm[:0], s)
	}
	in := t.norm
	var (
		cur     = -1   // index in toks of the word or number being built, or -1
		start   = 0    // where the current token's bytes begin in buf
		atStart = true // the next word opens a sentence
		upper   = 0    // upper-case letters in the text
		letters = 0
		prev    rune // the previous character, narrowed
		// afterLit: the previous character was a mark of a quoted
		// literal, so that a space after it (', ') is the literal's.
		afterLit bool
		// afterText: the previous character was text (a letter, a
		// digit, a closing bracket) or sentence punctuation after it.
		afterText bool
	)
	t.lit.reset()
	t.cased = t.cased[:0]
	flush := func() {
		if cur < 0 {
			return
		}
		tk := &t.toks[cur]
		tk.b = t.buf[start:len(t.buf)]
		if tk.kind == word && numberWords[string(tk.b)] {
			tk.kind = number
		}
		cur = -1
	}
	begin := func(k kind, flags uint8) {
		flush()
		start = len(t.buf)
		t.toks = append(t.toks, token{kind: k, flags: flags})
		cur = len(t.toks) - 1
	}
	single := func(k kind, r rune) {
		begin(k, 0)
		t.buf = utf8.AppendRune(t.buf, r)
		flush()
	}
	for i := 0; i < len(in); {
		r, size := rune(in[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(in[i:])
		}
		next := rune(0) // 0 at the end of the text
		if i+size < len(in) {
			next, _ = utf8.DecodeRune(in[i+size:])
		}
		i += size
		// wide is r as written: a full-width form is read as its plain
		// character, but kept in code and in a quoted literal, where
		// '，' and ',' are other programs.
		wide := r
		r, next = narrow(r), narrow(next)
		if r == '`' {
			n := 1
			for i < len(in) && in[i] == '`' {
				i++
				n++
			}
			flush()
			t.lit.backticks(n, in[i:])
			prev, afterText = r, false
			continue
		}
		if r == '\n' {
			t.lit.newline()
		}
		if t.lit.code > 0 && (wide == '\'' || wide == '"') {
			t.lit.stringQuote(wide)
		}
		lit := false // r is a mark of a quoted literal
		curKind := kind(255)
		if cur >= 0 {
			curKind = t.toks[cur].kind
		}
		// text: r is text (a letter, a digit, a closing bracket), or
		// sentence punctuation or a closing quote after text.
		text := false
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_'),
			r >= utf8.RuneSelf && unicode.IsLetter(r) && !isCJK(r):
			if curKind != word {
				var f uint8
				if unicode.IsUpper(r) {
					f |= capital
				}
				if atStart {
					f |= opening
				}
				begin(word, f)
				atStart = false
			}
			if unicode.IsUpper(r) {
				upper++
				if len(t.buf) > start && curKind == word {
					t.toks[cur].flags |= ident // an inner capital: camelCase
				}
				if t.lit.code == 0 {
					r = unicode.ToLower(r)
				} else if n := len(t.cased); n == 0 || t.cased[n-1] != cur {
					t.cased = append(t.cased, cur) // %Y is not %y, \d is not \D
				}
			}
			if r == '_' {
				t.toks[cur].flags |= ident
			}
			letters++
			t.buf = utf8.AppendRune(t.buf, r)
			text = true
		case curKind == word && unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me):
			t.buf = utf8.AppendRune(t.buf, r)
			text = true
		case isCJK(r):
			atStart, text = false, true
			if hanNumerals[r] {
				single(number, r)
			} else {
				single(han, r)
			}
		case unicode.IsDigit(r):
			if curKind != number {
				begin(number, 0)
			}
			atStart, text = false, true
			t.buf = utf8.AppendRune(t.buf, r)
		case (r == '.' || r == ',' && t.lit.code == 0) && curKind == number && unicode.IsDigit(next):
			t.buf = append(t.buf, byte(r))
			text = true
		case (r == '\'' || r == '’') && curKind == word && isWordLetter(next):
			// don't, it's: the apostrophe joins; a quote separates.
			text = true
		case t.lit.code == 0 && isQuote(r):
			opened, closed := t.lit.quote(r, prev, next)
			inside := !opened && !closed && len(t.lit.quotes) > 0
			if inside && t.lit.literal(r, prev, next, afterText) {
				single(symbol, literalMark(t.keepWidth(r, wide, afterText)))
				atStart, lit = false, !afterText
				break
			}
			flush()
			text = afterText && (closed || inside)
			if sentenceEnds(r) {
				atStart = true
			}
		case r != '-' && unicode.IsPunct(r) && t.lit.literal(r, prev, next, afterText):
			// os.path, s.split(','), f(x,y), a[1:]: a mark in code, a
			// literal or between code is a symbol (see literal.go).
			single(symbol, literalMark(t.keepWidth(r, wide, afterText)))
			atStart, lit = false, t.lit.code == 0 && len(t.lit.quotes) > 0 && !afterText
		case r == '-' && proseDash(in, i-size):
			flush() // "word -- word": a dash in prose, punctuation
		case r == '-' && curKind == word && isWordLetter(next):
			flush() // a hyphen between letters separates words
		case r == '!' && next != '=' && !isWordLetter(next) && !unicode.IsDigit(next) && next != '(' &&
			!unicode.IsDigit(prev) && prev != ')':
			flush() // the end of a sentence
			atStart, text = true, afterText
		case isSymbol(r):
			single(symbol, t.keepWidth(r, wide, afterText))
			atStart, text = false, isClosingBracket(r)
		case unicode.IsSpace(r) && (t.lit.str != 0 || afterLit && t.lit.closes(next)):
			// ' ' in code, ', ' anywhere: a space inside a string
			// literal is part of it.
			single(symbol, wide)
		default: // spaces, punctuation, controls, invalid UTF-8
			flush()
			if sentenceEnds(r) {
				atStart = true
			}
			text = afterText && unicode.IsPunct(r)
		}
		prev, afterText, afterLit = r, text, lit
	}
	flush()
	if upper*2 > letters && letters >= 8 {
		for _, i := range t.cased {
			tk := &t.toks[i]
			start := len(t.buf)
			t.buf = append(t.buf, bytes.ToLower(tk.b)...)
			tk.b = t.buf[start:]
		}
		for i := range t.toks {
			t.toks[i].flags &^= capital
			if !bytes.ContainsRune(t.toks[i].b, '_') {
				t.toks[i].flags &^= ident
			}
		}
	}
}

// keepWidth returns the mark r, written wide, as its token keeps it:
// full-width in code and in a literal that a straight quote opens ('，',
// sep='；'), plain in prose, where "１，２" is "1,2" and a Chinese
// quotation 「：」 is 「:」. Letters and digits are always plain: Python
// reads its identifiers in NFKC too.
func (t *text) keepWidth(r, wide rune, afterText bool) rune {
	if t.lit.code > 0 || t.lit.straight() && !afterText {
		return wide
	}
	return r
}

// narrow maps a full-width form of an ASCII character (U+FF01 to U+FF5E)
// to that character, as NFKC does.
func narrow(r rune) rune {
	if r >= 0xff01 && r <= 0xff5e {
		return r - 0xff01 + '!'
	}
	return r
}

// appendNFKC appends s in NFKC to dst but for the full-width forms of
// ASCII characters, which parse narrows where they are prose and keeps
// where they are code (see narrow).
func appendNFKC(dst []byte, s string) []byte {
	for {
		i := indexWide(s)
		if i < 0 {
			return appendNFKCPart(dst, s)
		}
		dst = appendNFKCPart(dst, s[:i])
		dst = append(dst, s[i:i+3]...)
		s = s[i+3:]
	}
}

// appendNFKCPart appends s in NFKC to dst, copying it when it is already
// normal: appending to a non-empty dst, NFKC allocates its buffer.
func appendNFKCPart(dst []byte, s string) []byte {
	if norm.NFKC.IsNormalString(s) {
		return append(dst, s...)
	}
	return norm.NFKC.AppendString(dst, s)
}

// indexWide returns the index of the first full-width form of an ASCII
// character in s (U+FF01 to U+FF5E: EF BC 81 to EF BD 9E in UTF-8), or -1.
func indexWide(s string) int {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == 0xef && (s[i+1] == 0xbc && s[i+2] >= 0x81 || s[i+1] == 0xbd && s[i+2] <= 0x9e) {
			return i
		}
	}
	return -1
}

// proseDash reports whether the '-' at b[at] is in a run of two or more
// standing between spaces: the dash typed for "—" in prose. A single '-',
// or dashes against a word or a number (i--, --flag, 5--3), stay symbols.
func proseDash(b []byte, at int) bool {
	j, k := at, at
	for j > 0 && b[j-1] == '-' {
		j--
	}
	for k < len(b) && b[k] == '-' {
		k++
	}
	return k-j >= 2 && (j == 0 || b[j-1] == ' ') && (k == len(b) || b[k] == ' ')
}

// isSymbol reports whether r means something in code or math, so that a
// change to it is a change of the question: "<>" and "()" are different
// brackets, "x+1" is not "x-1", "$5" is not "€5".
func isSymbol(r rune) bool {
	if r < utf8.RuneSelf {
		switch r {
		case '<', '>', '(', ')', '[', ']', '{', '}', '+', '-', '*', '/', '=', '!', '%', '^', '&', '|', '~', '#', '$', '@', '\\':
			return true
		}
		return false
	}
	return unicode.In(r, unicode.Sm, unicode.Sc, unicode.So)
}

// sentenceEnds reports whether r ends a sentence (or a line, or a label
// such as "Question:"), after which a capital is no sign of a name.
func sentenceEnds(r rune) bool {
	switch r {
	case '.', '?', '!', ':', ';', '\n', '\r', '。', '？', '！', '…', '"', '“', '”', '「', '」':
		return true
	}
	return false
}

func isWordLetter(r rune) bool {
	return r == '_' || unicode.IsLetter(r) && !isCJK(r)
}

// isCJK reports whether r is written without spaces between words, so that
// each character is a token: Han (Chinese characters, kanji), hiragana,
// katakana and hangul.
func isCJK(r rune) bool {
	return r >= 0x2e80 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// numberWords are English words for numbers: a question about seven
// apples is not one about eleven, and "three" is never a typo of "there".
var numberWords = setOf(
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
	"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
	"hundred", "thousand", "million", "billion", "trillion", "dozen",
	"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
	"once", "twice", "thrice", "half", "quarter", "double", "triple", "single", "none", "both",
)

// hanNumerals are the Chinese numerals, everyday and financial: 三 and 四
// differ as 3 and 4 do.
var hanNumerals = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range "〇零一二三四五六七八九十百千万亿两壹贰叁肆伍陆柒捌玖拾佰仟萬億兩貳參陸" {
		m[r] = true
	}
	return m
}()

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
