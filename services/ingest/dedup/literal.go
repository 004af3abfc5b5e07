package dedup

import (
	"unicode"
	"unicode/utf8"
)

// Literals. Punctuation separates tokens only where it is sentence
// punctuation. In code and in quoted literals it is what the question
// asks about: "s.split(',')" and "s.split('.')", "count the ',' in the
// line" and "count the ';'" are other questions. So a mark is a symbol
//   - inside a code span: a ``` fence, or `backticks` closed on the line;
//   - inside quotes ('…', "…", “…”, ‘…’, 「…」, 『…』) unless it follows
//     text (a word, a number, a closing bracket or quote, or another
//     such mark) and is followed by a space, the end of the line or the
//     quote, a closing bracket, Chinese text or another mark: the comma
//     in "Hello, world." is a sentence's, the one in ', ' is a literal;
//   - anywhere, when it joins code on both sides (a word, a number or a
//     bracket): a.b, f(x,y), a;b, a?b:c, or stands against a bracket
//     inside it: a[1:], a[:1], (1,).
// Such a mark keeps its width in code and in straight quotes ('，' is not
// ','); a space inside a string in code, or between a literal's mark and
// its closing quote (', '), is a symbol too.
// The quote marks themselves separate, so that straight, curly and corner
// quotes around the same words are the same text; a quote mark inside
// another's literal ("'") is a symbol, straight or curly alike.

// quoteClass is the kind of quotation a mark opens or closes (0 for none)
// and whether it may open and close one. Straight quotes do both; which
// one they do depends on their neighbours (see opensQuote).
func quoteClass(r rune) (class rune, open, close bool) {
	switch r {
	case '"':
		return '"', true, true
	case '\'':
		return '\'', true, true
	case '“':
		return '"', true, false
	case '”':
		return '"', false, true
	case '‘':
		return '\'', true, false
	case '’':
		return '\'', false, true
	case '「':
		return '「', true, false
	case '」':
		return '「', false, true
	case '『':
		return '『', true, false
	case '』':
		return '『', false, true
	}
	return 0, false, false
}

// literals is the state of the spans a text is in while it is parsed.
type literals struct {
	code   int    // the backticks that close the code span being read (3 or more: a fence), 0 outside code
	quotes []rune // the classes of the open quotes, innermost last
	marks  []rune // the marks that opened them
	str    rune   // the quote of the string literal open in code, or 0
}

func (l *literals) reset() { l.code, l.quotes, l.marks, l.str = 0, l.quotes[:0], l.marks[:0], 0 }

// straight reports whether the innermost open quote is a straight one, as
// code writes its strings ('，', "；").
func (l *literals) straight() bool {
	n := len(l.marks)
	return n > 0 && (l.marks[n-1] == '\'' || l.marks[n-1] == '"')
}

// stringQuote reads a straight quote q in code: it opens a string literal,
// or closes the one it opened.
func (l *literals) stringQuote(q rune) {
	switch l.str {
	case 0:
		l.str = q
	case q:
		l.str = 0
	}
}

// newline closes the quotes and inline code open on a line: a stray
// quote or backtick makes no literal of the rest of the text.
func (l *literals) newline() {
	l.quotes, l.marks, l.str = l.quotes[:0], l.marks[:0], 0
	if l.code < 3 {
		l.code = 0
	}
}

// backticks reads a run of n backticks, followed by rest: it closes the
// code span it ends, or opens a fence (three or more) or an inline span
// that a run as long closes on the same line.
func (l *literals) backticks(n int, rest []byte) {
	l.str = 0
	switch {
	case l.code >= 3:
		if n >= l.code {
			l.code = 0
		}
	case l.code > 0:
		if n == l.code {
			l.code = 0
		}
	case n >= 3:
		l.code = n
	case closedOnLine(rest, n):
		l.code = n
	}
}

// closedOnLine reports whether a run of exactly n backticks comes in rest
// before the end of the line.
func closedOnLine(rest []byte, n int) bool {
	for i := 0; i < len(rest) && rest[i] != '\n'; {
		if rest[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(rest) && rest[j] == '`' {
			j++
		}
		if j-i == n {
			return true
		}
		i = j
	}
	return false
}

// quote reads the quote mark r between prev and next outside code: it
// opens or closes a quotation (and is a separator), or else it is a mark
// like any other, a literal inside a quotation.
func (l *literals) quote(r, prev, next rune) (opened, closed bool) {
	class, open, close := quoteClass(r)
	straight := r == '"' || r == '\''
	if n := len(l.quotes); n > 0 && close && class == l.quotes[n-1] &&
		(!straight || !isCodeChar(next)) {
		l.quotes, l.marks = l.quotes[:n-1], l.marks[:n-1]
		return false, true
	}
	if open && (!straight || !isCodeChar(prev) && !isClosingBracket(prev) && next != 0 && !unicode.IsSpace(next)) &&
		!l.closes(next) {
		l.quotes, l.marks = append(l.quotes, class), append(l.marks, r)
		return true, false
	}
	return false, false
}

func isQuote(r rune) bool {
	class, _, _ := quoteClass(r)
	return class != 0
}

// closes reports whether r may close the innermost open quotation: a mark
// right before it is its content, not a quotation of its own ("'").
func (l *literals) closes(r rune) bool {
	if len(l.quotes) == 0 {
		return false
	}
	class, _, close := quoteClass(r)
	return close && class == l.quotes[len(l.quotes)-1]
}

// literal reports whether the punctuation mark r, between prev and next,
// is a symbol (see the rules above); afterText says whether what came
// before it was text or sentence punctuation.
func (l *literals) literal(r, prev, next rune, afterText bool) bool {
	if l.code > 0 {
		return true
	}
	if joinsCode(prev, next) {
		switch r {
		case ',', '.', ';', ':', '?':
			return true
		}
	}
	if len(l.quotes) == 0 {
		return false
	}
	if !afterText {
		return true
	}
	switch {
	case next == 0, unicode.IsSpace(next), isCJK(next), isClosingBracket(next), l.closes(next):
		return false
	case unicode.IsPunct(next) && !isSymbol(next):
		return false
	}
	return true
}

// joinsCode reports whether a mark between prev and next touches code on
// both sides: a.b, f(x,y), a;b, x[0].y, or a bracket on the inside of it:
// a[1:], a[:1], (1,).
func joinsCode(prev, next rune) bool {
	return (isCodeChar(prev) || isClosingBracket(prev) || isOpeningBracket(prev)) &&
		(isCodeChar(next) || isOpeningBracket(next) || isClosingBracket(next) && !isClosingBracket(prev))
}

// isCodeChar reports whether r may be part of an identifier or a number.
func isCodeChar(r rune) bool {
	return r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_') ||
		r >= utf8.RuneSelf && (isWordLetter(r) || unicode.IsDigit(r))
}

func isClosingBracket(r rune) bool { return r == ')' || r == ']' || r == '}' }

func isOpeningBracket(r rune) bool { return r == '(' || r == '[' || r == '{' }

// literalMark is the token of a quote mark that is a literal: curly and
// straight quotes are the same symbol.
func literalMark(r rune) rune {
	switch r {
	case '“', '”':
		return '"'
	case '‘', '’':
		return '\''
	}
	return r
}
