package dedup

import (
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Code segments. Two texts are near-duplicates only when their code-like
// segments are the same, in the same order, byte for byte: in code a
// changed mark, letter case, width or space is another program, while
// only prose may differ by the trivial edits the rule allows. Rules
// patched per kind of change (width here, case there) kept missing a
// kind; a verbatim comparison misses none. A segment is
//   - a fenced block (``` to a run of as many backticks) or an inline
//     `span` closed on its line: its content;
//   - a quotation whose content looks like a literal: no letter or digit
//     in it (',', ', ', 「；」), a code token in it, or a single word in
//     straight quotes ('ABC', "True"). Its content is kept with the kind
//     of quote, straight or curly alike (' ‘’ 『』 are one, " “” 「」 the
//     other): '$HOME' is not "$HOME", while “,” and 「,」 are one literal.
//     A quotation of prose ("Read it twice, then answer.") is prose;
//   - a code token in prose: a run of characters between spaces (and
//     Chinese text, which writes no spaces) that mixes letters or digits
//     with code marks, x[::-1], a.b(c), A1:A5, %Y-%m-%d, \d+, 3.5e-2,
//     s.split(', ') with the string it quotes. Not code: the sentence
//     punctuation after it and the brackets and quotes around it that it
//     does not close itself ("end.", "(see", "it)."), a number (3.14,
//     4,517, -5, 50%), a word with hyphens or apostrophes between letters
//     (well-known, don't), and letters joined by points (e.g., U.S.).
//     A token written wholly in full-width forms (１２＋５) was typed in
//     a Chinese input method's width, and is read narrowed;
//   - a row of data between spaces in Chinese text, short fields joined
//     by commas, semicolons or bars (张三,北京,海淀,25): its separators
//     are the data's, where ',' and '，' are other rows.

// Segment kinds, the first byte of a segment's encoding.
const (
	segCode  = 'c' // a fence or an inline code span
	segQuote = 'q' // a quoted literal, after its quote kind
	segToken = 't' // a code token in prose
	segRow   = 'r' // a row of data in Chinese text
)

// appendSegments appends the code-like segments of s to dst, each as its
// kind, its length and its bytes.
func appendSegments(dst []byte, s string) []byte {
	switch shoutsWide, shouts, _ := letterCase(s); {
	case shoutsWide:
		s = narrowString(s)
		if _, shouts, _ := letterCase(s); shouts {
			s = strings.ToLower(s)
		}
	case shouts:
		s = strings.ToLower(s)
	}
	var (
		run      = -1 // where the run of non-space characters being read began, or -1
		proseEnd = -1 // the closing quote of a prose quotation being read, or -1
	)
	flush := func(end int) {
		if run >= 0 {
			dst = appendToken(dst, s[run:end])
			run = -1
		}
	}
	cjk := false // the text has Chinese (or Japanese, Korean) in it
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case r == '`':
			n := 1
			for i+n < len(s) && s[i+n] == '`' {
				n++
			}
			if end, close, ok := codeSpan(s, i+n, n); ok {
				flush(i)
				content := s[i+n : end]
				if n >= 3 {
					content = strings.ReplaceAll(content, "\r\n", "\n")
				}
				dst = appendSegment(dst, segCode, 0, content)
				i = close
				continue
			}
			if run < 0 {
				run = i
			}
			i += n
			continue
		case i == proseEnd:
			flush(i)
			proseEnd = -1
		case isQuote(r) && run < 0:
			if end, close, ok := quotation(s, i, r); ok {
				content := s[i+size : end]
				if looksLiteral(content, r) {
					if r != '\'' && r != '"' && fullWidth(content) {
						content = narrowString(content) // 「：」 is 「:」 typed in Chinese
					}
					dst = appendSegment(dst, segQuote, quoteKind(r), content)
					i = close
					continue
				}
				if proseEnd < 0 || end < proseEnd {
					proseEnd = end
				}
			} else if i+size < len(s) && strings.IndexByte(formulaMarks, s[i+size]) >= 0 {
				run = i // '=SUM(A1:A10): the quote makes the formula text
			}
		case (r == '\'' || r == '"') && run >= 0 && opensString(s[run:i]):
			// s.split(', '), print("a b"): a string in a token is the
			// token's, spaces and all.
			line := s[i+1 : min(len(s), i+1+maxQuote)]
			if nl := strings.IndexByte(line, '\n'); nl >= 0 {
				line = line[:nl]
			}
			if end := strings.IndexByte(line, byte(r)); end >= 0 {
				i += 1 + end + 1
				continue
			}
		case r < utf8.RuneSelf && asciiSpace[r]:
			flush(i)
		case r >= utf8.RuneSelf && (unicode.IsSpace(r) || isCJK(r) || separates(r)):
			cjk = cjk || isCJK(r)
			flush(i)
		default:
			if run < 0 {
				run = i
			}
		}
		i += size
	}
	flush(len(s))
	if !cjk || !strings.ContainsAny(s, ",;|") {
		return dst
	}
	for f := range strings.FieldsSeq(s) {
		if isRow(f) {
			dst = appendSegment(dst, segRow, 0, f)
		}
	}
	return dst
}

// formulaMarks are the marks after which an unclosed quote belongs to the
// code it stands before ('=SUM(A1:A10) is text in a spreadsheet).
const formulaMarks = "=+-*/\\|&^%$#@~<>"

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// isRow reports whether f, a run between spaces, is a row of short
// fields (张三,北京,海淀,25), with a separator a program splits on:
// Chinese text between its commas is no token of its own, but a row is
// data, and its separators are the row's.
func isRow(f string) bool {
	if !strings.ContainsAny(f, ",;|") || !strings.ContainsFunc(f, isCJK) {
		return false
	}
	fields := 0
	for field := range strings.FieldsFuncSeq(f, func(r rune) bool {
		return r == ',' || r == ';' || r == '|' || r == '，' || r == '；' || r == '｜'
	}) {
		n := 0
		for _, r := range field {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
			n++
		}
		if n > 4 {
			return false
		}
		fields++
	}
	return fields >= 3
}

// codeSpan finds the end of the code span whose n opening backticks end
// at from: a run of n or more closes a fence (n ≥ 3), one of exactly n on
// the same line an inline span. It returns where the content ends, where
// the closing run ends, and whether it is a span: an unclosed fence runs
// to the end of the text.
func codeSpan(s string, from, n int) (end, close int, ok bool) {
	for i := from; i < len(s); {
		if s[i] == '\n' && n < 3 {
			return 0, 0, false
		}
		if s[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '`' {
			j++
		}
		if j-i == n || n >= 3 && j-i > n {
			return i, j, true
		}
		i = j
	}
	if n >= 3 {
		return len(s), len(s), true
	}
	return 0, 0, false
}

// quotation finds the closing mark of the quotation that q at s[at]
// opens, on the same line: where its content ends, where the quotation
// ends, and whether there is one. A straight quote followed by a letter
// or a digit is an apostrophe, not a closing quote (don't, 'tis).
func quotation(s string, at int, q rune) (end, close int, ok bool) {
	class, open, _ := quoteClass(q)
	if !open {
		return 0, 0, false
	}
	from := at + utf8.RuneLen(q)
	for i := from; i < min(len(s), from+maxQuote); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\n' {
			return 0, 0, false
		}
		c, _, closes := quoteClass(r)
		if closes && c == class && i > from && (q != '\'' && q != '"' || r == q) {
			next, _ := utf8.DecodeRuneInString(s[i+size:])
			if !isCodeChar(next) {
				return i, i + size, true
			}
		}
		i += size
	}
	return 0, 0, false
}

// maxQuote bounds the length of a quotation, and of a string in a code
// token, so that a line of a thousand stray quotes is read in linear time.
const maxQuote = 512

// hasCodeToken reports whether one of the runs between spaces in s is a
// code token.
func hasCodeToken(s string) bool {
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return unicode.IsSpace(r) || isCJK(r) || separates(r) }) {
		if len(appendToken(nil, f)) > 0 {
			return true
		}
	}
	return false
}

// quoteKind is the kind of a literal's quotes: single or double, straight,
// curly or corner alike.
func quoteKind(q rune) byte {
	switch q {
	case '\'', '‘', '’', '『', '』':
		return '\''
	}
	return '"'
}

// looksLiteral reports whether a quotation's content is a literal rather
// than prose: no letter or digit in it, a code token in it, or one word
// in straight quotes.
func looksLiteral(content string, q rune) bool {
	if !strings.ContainsFunc(content, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return true
	}
	if hasCodeToken(content) || strings.TrimSpace(content) != content {
		return true
	}
	return (q == '\'' || q == '"') && !strings.ContainsFunc(content, unicode.IsSpace)
}

// opensString reports whether a straight quote after before, the token
// read so far, opens a string: after a mark (=, (, [, a comma) or a
// string prefix (r'…', f"…"), not after a word, where it is an
// apostrophe or a closing quote.
func opensString(before string) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	if !isCodeChar(r) {
		return r != '.' && r != '!' && r != '?'
	}
	prefix := strings.TrimRightFunc(before, func(r rune) bool { return strings.ContainsRune("rRbBfFuU", r) })
	if len(before)-len(prefix) > 2 || len(before) == len(prefix) {
		return false
	}
	p, _ := utf8.DecodeLastRuneInString(prefix)
	return prefix == "" || !isCodeChar(p)
}

// separates reports whether r, outside code and quotations, ends a token
// like a space: Chinese punctuation and the dashes and marks of prose.
func separates(r rune) bool {
	if r == '（' || r == '）' {
		return true // brackets of Chinese prose, never of code
	}
	if r < utf8.RuneSelf || r >= 0xff01 && r <= 0xff5e || isQuote(r) {
		return false
	}
	return r >= 0x3000 && r <= 0x303f || unicode.IsPunct(r)
}

// appendToken appends the run of non-space characters tok to dst when it
// is a code token (see above).
func appendToken(dst []byte, tok string) []byte {
	if !hasMark(tok) {
		return dst // a word: most tokens are
	}
	tok = trimProse(tok)
	switch {
	case fullWidth(tok):
		tok = narrowString(tok)
	case !strings.ContainsAny(tok, "'\"`"):
		// INV-２０２３-０４５７: digits and letters typed wide outside a
		// string are the same code; marks are not (A1：A5).
		tok = strings.Map(func(r rune) rune {
			if n := narrow(r); n != r && (unicode.IsLetter(n) || unicode.IsDigit(n)) {
				return n
			}
			return r
		}, tok)
	}
	if !isCodeToken(tok) {
		return dst
	}
	return appendSegment(dst, segToken, 0, tok)
}

// trimProse strips from a token the sentence punctuation after it and the
// brackets and quotes around it that it does not close or open itself.
func trimProse(tok string) string {
	// The trailing loop takes no opener, nor the leading one a closer:
	// which brackets tok holds is read once, not per mark taken (a token
	// of a thousand ')' would be quadratic).
	opens, closes := brackets(tok, isOpeningBracket), brackets(tok, isClosingBracket)
	for tok != "" {
		r, size := utf8.DecodeLastRuneInString(tok)
		n := narrow(r)
		switch {
		case strings.ContainsRune(".,;:!?", n), isQuote(r):
		case isClosingBracket(n) && !opens[bracketIndex(openerOf(n))]:
		default:
			size = 0
		}
		if size == 0 {
			break
		}
		tok = tok[:len(tok)-size]
	}
	for tok != "" {
		r, size := utf8.DecodeRuneInString(tok)
		n := narrow(r)
		if isQuote(r) && len(tok) > size && strings.IndexByte(formulaMarks, tok[size]) >= 0 {
			break // '=SUM(A1:A10): a quote that makes a formula text, not prose
		}
		if !(isQuote(r) || strings.ContainsRune(",;:!?", n) || isOpeningBracket(n) && !closes[bracketIndex(closerOf(n))]) {
			break
		}
		tok = tok[size:]
	}
	return tok
}

// isCodeToken reports whether tok mixes letters or digits with code
// marks, and is not a number, a hyphenated word or an abbreviation.
func isCodeToken(tok string) bool {
	alnum, marks := false, false
	for _, r := range tok {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			alnum = true
		case r < utf8.RuneSelf && strings.ContainsRune("[]{}()<>=+-*/\\|&^%$#@~;:,.'\"`_", r),
			r >= 0xff01 && r <= 0xff5e:
			marks = true
		}
	}
	if !alnum || !marks {
		return false
	}
	return !isNumber(tok) && !isProseWord(tok) && !isAbbreviation(tok)
}

// isNumber: 3.14, 4,517, -5, 50%, $5, 9:30 — a number of prose, which the
// tokens compare as one.
func isNumber(tok string) bool {
	tok = narrowString(tok)
	tok = strings.TrimLeft(tok, "+-$€£¥")
	tok = strings.TrimSuffix(tok, "%")
	digits := false
	for i, r := range tok {
		switch {
		case '0' <= r && r <= '9':
			digits = true
		case (r == '.' || r == ',' || r == ':') && digits && i+1 < len(tok) && '0' <= tok[i+1] && tok[i+1] <= '9':
		default:
			return false
		}
	}
	return digits
}

// isProseWord: well-known, don't, students' — letters joined by hyphens
// and apostrophes.
func isProseWord(tok string) bool {
	prev := rune(0)
	for _, r := range tok {
		switch {
		case unicode.IsLetter(r):
		case (r == '-' || r == '\'') && unicode.IsLetter(prev):
		default:
			return false
		}
		prev = r
	}
	return true
}

// isAbbreviation: e.g, i.e, U.S.A, a.m — single letters joined by points.
func isAbbreviation(tok string) bool {
	for i, r := range tok {
		if i%2 == 0 && !(r < utf8.RuneSelf && unicode.IsLetter(r)) || i%2 == 1 && r != '.' {
			return false
		}
	}
	return true
}

// fullWidth reports whether tok is written wholly in full-width forms.
func fullWidth(tok string) bool {
	for _, r := range tok {
		if !(r >= 0xff01 && r <= 0xff5e) {
			return false
		}
	}
	return tok != ""
}

// brackets reports which of the brackets kind accepts ((, [ and {, or
// ), ] and }) tok holds, in ASCII or full width, by [bracketIndex].
func brackets(tok string, kind func(rune) bool) (has [3]bool) {
	for _, r := range tok {
		if n := narrow(r); kind(n) {
			has[bracketIndex(n)] = true
		}
	}
	return has
}

// bracketIndex numbers a bracket's pair: 0 round, 1 square, 2 curly.
func bracketIndex(r rune) int {
	switch r {
	case '(', ')':
		return 0
	case '[', ']':
		return 1
	}
	return 2
}

func openerOf(r rune) rune {
	switch r {
	case ')':
		return '('
	case ']':
		return '['
	}
	return '{'
}

func closerOf(r rune) rune {
	switch r {
	case '(':
		return ')'
	case '[':
		return ']'
	}
	return '}'
}

func appendSegment(dst []byte, kind, quote byte, content string) []byte {
	dst = append(dst, kind, quote)
	dst = binary.AppendUvarint(dst, uint64(len(content)))
	return append(dst, content...)
}

// segmentsHash is FNV-1a of a text's encoded segments, which an [Index]
// keeps for each text.
func segmentsHash(segs []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range segs {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// narrowString maps the full-width forms in s to ASCII.
func narrowString(s string) string { return strings.Map(narrow, s) }

// letterCase reports whether a text is written for the most part in
// full-width letters (wide) or in capitals (shouts), as parse reads it:
// then its width is the input method's and its case the shouter's, in
// code too, and its segments are read narrowed or lower-cased. Only that
// text is: %Y-%m-%d is still not a shouted %Y-%M-%D.
func letterCase(s string) (wide, shouts bool, letters int) {
	wideN, upper := 0, 0
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z':
			letters++
		case 'A' <= r && r <= 'Z':
			letters++
			upper++
		case r < utf8.RuneSelf:
		case r >= 0xff21 && r <= 0xff3a || r >= 0xff41 && r <= 0xff5a:
			wideN++
			letters++
			if r <= 0xff3a {
				upper++
			}
		case unicode.IsLetter(r) && !isCJK(r):
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
	}
	return wideN*2 > letters && wideN >= 8, upper*2 > letters && letters >= 8, letters
}

// hasMark reports whether tok has a character a code token needs besides
// letters and digits: an ASCII mark, or anything not ASCII.
func hasMark(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return true
		}
	}
	return false
}
