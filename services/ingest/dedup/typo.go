package dedup

import (
	"bytes"
	"unicode/utf8"
)

// wordTypo reports whether two different words a and b can be one word
// with a typo: one slip of the hand (a letter substituted, dropped or
// doubled inside the word, or two neighbouring letters swapped) in words
// that are not names, numbers, identifiers in code or very short. The first letter is never
// touched, and only a swap reaches the last one, because real words that
// differ there are usually other words (cat and cats, able and unable,
// do and dont); a slip inside a long word rarely makes another word.
func wordTypo(a, b token) bool {
	if a.kind != word || b.kind != word || isName(a, b) || isName(b, a) || (a.flags|b.flags)&ident != 0 {
		return false
	}
	ra, rb := runesOf(a.b), runesOf(b.b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(ra) < 3 || ra[0] != rb[0] {
		return false
	}
	switch len(rb) - len(ra) {
	case 0:
		if swapped(ra, rb) {
			return true
		}
		// One substitution, neither first nor last, in a word of four
		// letters or more.
		diff := -1
		for i := range ra {
			if ra[i] != rb[i] {
				if diff >= 0 {
					return false
				}
				diff = i
			}
		}
		return len(ra) >= 4 && diff > 0 && diff < len(ra)-1
	case 1:
		// One letter dropped (or added), not the first or the last.
		i := 0
		for i < len(ra) && ra[i] == rb[i] {
			i++
		}
		if i == 0 || i >= len(rb)-1 {
			return false
		}
		return string(ra[i:]) == string(rb[i+1:])
	}
	return false
}

// swapped reports whether a and b (of one length) differ by two
// neighbouring letters swapped, not the first.
func swapped(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == 0 || i+1 >= len(a) || a[i] != b[i+1] || a[i+1] != b[i] {
		return false
	}
	return string(a[i+2:]) == string(b[i+2:])
}

// isName reports whether t is a name, given that u stands at its place in
// the other text: a word capitalised inside a sentence, or one opening a
// sentence unless it or u is a common word ("Whta is" and "What is", but
// not "Anna has" and "Anne has").
func isName(t, u token) bool {
	if t.flags&capital == 0 {
		return false
	}
	if t.flags&opening == 0 {
		return true
	}
	return !commonWords[string(t.b)] && !commonWords[string(u.b)]
}

func runesOf(b []byte) []rune { return bytes.Runes(b) }

// merged reports whether the words a and b written together are c: a
// space dropped or added ("cannot" and "can not", "e-mail" and "email").
func merged(a, b, c token) bool {
	if a.kind != word || b.kind != word || c.kind != word || len(a.b)+len(b.b) != len(c.b) {
		return false
	}
	return bytes.HasPrefix(c.b, a.b) && bytes.HasSuffix(c.b, b.b)
}

// hanTypo reports whether two different characters can be one with a
// typo: a pair a pinyin typist confuses (的 and 得, 在 and 再) or that
// look alike (己 and 已).
func hanTypo(a, b token) bool {
	if a.kind != han || b.kind != han {
		return false
	}
	ra, _ := utf8.DecodeRune(a.b)
	rb, _ := utf8.DecodeRune(b.b)
	return confusable(ra, rb)
}

// commonWords are the words a sentence often opens with: a capital on
// them is the sentence's, so a typo in them is a typo, not another name.
var commonWords = setOf(
	"a", "about", "according", "after", "all", "also", "among", "an", "and", "answer", "any", "are", "as",
	"assume", "at", "based", "because", "before", "between", "briefly", "but", "by", "calculate", "can",
	"choose", "classify", "compare", "complete", "compose", "compute", "consider", "convert", "correct",
	"could", "create", "define", "describe", "design", "determine", "did", "do", "does", "draft", "during",
	"each", "edit", "estimate", "evaluate", "every", "explain", "express", "extract", "fill", "find",
	"fix", "for", "format", "from", "generate", "give", "given", "has", "have", "help", "here", "how",
	"identify", "if", "imagine", "implement", "in", "is", "it", "let", "list", "look", "make", "many",
	"may", "most", "name", "now", "of", "on", "once", "one", "only", "other", "outline", "paraphrase",
	"please", "predict", "prove", "provide", "question", "rank", "read", "recommend", "rewrite", "say",
	"select", "should", "show", "simplify", "since", "so", "solve", "some", "sort", "state", "suggest",
	"summarise", "summarize", "suppose", "take", "tell", "that", "the", "then", "there", "these", "they",
	"this", "those", "to", "translate", "under", "use", "using", "was", "we", "what", "when", "where",
	"which", "while", "who", "whom", "whose", "why", "will", "with", "within", "without", "would",
	"write", "you", "your",
)
