package contam

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FNV-1a, 64 bits: a token's hash is FNV-1a of its normalised UTF-8 bytes,
// the same on every run and machine, so that indexes and scores are too.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// tokenizer splits text into tokens. NFKC folds full-width letters and
// digits, ligatures and compatibility forms into their plain forms, and
// case is folded, so "ＧＰＴ-４" and "gpt 4" give the same tokens. A word
// is a run of letters, digits and combining marks; a Han, kana or hangul
// character is a token of its own, since Chinese and Japanese put no spaces
// between words; everything else (punctuation, symbols, spaces, invalid
// UTF-8) separates tokens and is dropped. Its buffers are reused: a
// tokenizer belongs to one goroutine.
type tokenizer struct {
	norm   []byte
	text   []byte // the tokens, one after the other
	ends   []int  // where each token ends in text
	hashes []uint64
}

// split fills t.text and t.ends with text's tokens.
func (t *tokenizer) split(s string) {
	t.text, t.ends = t.text[:0], t.ends[:0]
	if isASCII(s) { // NFKC changes no ASCII text: skip its quick check
		t.norm = append(t.norm[:0], s...)
	} else {
		t.norm = norm.NFKC.AppendString(t.norm[:0], s)
	}
	text := t.norm
	inWord := false
	flush := func() {
		if inWord {
			t.ends = append(t.ends, len(t.text))
			inWord = false
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				flush()
				continue
			}
			t.text = append(t.text, c)
			inWord = true
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		i += size
		switch {
		case isCJK(r):
			flush()
			t.text = utf8.AppendRune(t.text, r)
			inWord = true
			flush()
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc):
			t.text = utf8.AppendRune(t.text, unicode.ToLower(r))
			inWord = true
		default: // including invalid UTF-8, which decodes as U+FFFD
			flush()
		}
	}
	flush()
}

// hash returns the FNV-1a hashes of text's tokens, valid until the next
// call.
func (t *tokenizer) hash(text string) []uint64 {
	t.split(text)
	t.hashes = t.hashes[:0]
	start := 0
	for _, end := range t.ends {
		h := uint64(fnvOffset)
		for _, c := range t.text[start:end] {
			h = (h ^ uint64(c)) * fnvPrime
		}
		t.hashes = append(t.hashes, h)
		start = end
	}
	return t.hashes
}

// tokens returns text's tokens as strings, for tests and for explaining a
// score.
func tokens(text string) []string {
	var t tokenizer
	t.split(text)
	out := make([]string, len(t.ends))
	start := 0
	for i, end := range t.ends {
		out[i] = string(t.text[start:end])
		start = end
	}
	return out
}

// isCJK reports whether r is written without spaces between words, so that
// each character is a token: Han (Chinese characters, kanji), hiragana,
// katakana and hangul.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
