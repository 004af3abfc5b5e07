// Package refusalmodel is the learned half of the refusal detector in
// package metric: a linear model (logistic regression) over hashed n-gram
// features of an answer's start, its training, and its weights file.
//
// It knows nothing of the detector's patterns: package metric combines the
// two (see metric.IsRefusal).
package refusalmodel

import (
	"unicode"
	"unicode/utf8"
)

// Window is how much of an answer's start the model reads, in bytes: the
// same window as the detector's patterns, so that what an answer says after
// it changes nothing. It holds nine answers in ten of the labelled sets
// whole.
const Window = 300

// Feature namespaces: the same n-gram counts differently in the whole
// window, in the first sentence (where a refusal is usually stated) and in
// the last (where a refusal offers something else instead).
const (
	nsHead = iota
	nsFirst
	nsLast
	namespaces
)

// Gram lengths, in runes: Chinese is read in characters and short runs of
// them (a word is mostly one to three characters), Latin text in runs of
// three to five, which catch a word's stem and its neighbour's start
// ("n't h", "unable").
const (
	hanMinN, hanMaxN     = 1, 4
	latinMinN, latinMaxN = 3, 5
)

// maxRunes bounds the normalised window: Window bytes hold no more runes.
const maxRunes = Window

// normalise writes s's normalised runes to buf and returns how many: lower
// case, one space for a run of white space, curly quotes and full-width
// punctuation as their ASCII forms (the sets mix both), and every digit as
// 0 (a number's value says nothing of a refusal).
func normalise(s string, buf *[maxRunes]rune) int {
	n := 0
	space := true // no leading space
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			if space {
				continue
			}
			r, space = ' ', true
		default:
			space = false
			switch r {
			case '’', '‘', '`':
				r = '\''
			case '“', '”', '「', '」', '『', '』', '«', '»':
				r = '"'
			case '，', '、':
				r = ','
			case '。':
				r = '.'
			case '！':
				r = '!'
			case '？':
				r = '?'
			case '：':
				r = ':'
			case '；':
				r = ';'
			case '（':
				r = '('
			case '）':
				r = ')'
			case '～', '〜':
				r = '~'
			default:
				if r >= '0' && r <= '9' || r >= '０' && r <= '９' {
					r = '0'
				} else {
					r = unicode.ToLower(r)
				}
			}
		}
		if n == len(buf) {
			break
		}
		buf[n] = r
		n++
	}
	for n > 0 && buf[n-1] == ' ' {
		n--
	}
	return n
}

// sentenceEnd reports whether r ends a sentence (after normalise, which
// has made full-width punctuation ASCII and a line break a space).
func sentenceEnd(r rune) bool {
	switch r {
	case '.', '!', '?', ';':
		return true
	}
	return false
}

// sentences returns the first and last sentences of runes as [start, end)
// spans. The last is the last one with a letter in it: a closing emoji or
// "~" is no sentence.
func sentences(runes []rune) (first, last [2]int) {
	end := len(runes)
	for i, r := range runes {
		if sentenceEnd(r) {
			end = i + 1
			break
		}
	}
	first = [2]int{0, end}
	// Skip the trailing ends, then find the end before them.
	stop := len(runes)
	for stop > 0 && !hasLetter(runes[stop-1]) {
		stop--
	}
	start := stop
	for start > 0 && !sentenceEnd(runes[start-1]) {
		start--
	}
	last = [2]int{start, stop}
	return first, last
}

func hasLetter(r rune) bool { return unicode.IsLetter(r) }

func isHan(r rune) bool { return r >= 0x2E80 && unicode.Is(unicode.Han, r) }

// isWordRune is a rune of a Latin word: a letter below the CJK blocks, or
// an apostrophe inside one ("can't").
func isWordRune(r rune) bool { return r < 0x2E80 && unicode.IsLetter(r) }

// Hashing: 32-bit FNV-1a over runes, seeded by namespace and kind, with a
// final mix so that the low bits a bucket is taken from are well spread.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func mix(h uint32, r rune) uint32 { return (h ^ uint32(r)) * fnvPrime }

func finish(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Feature kinds, each hashed apart.
const (
	kindChar = iota + 1
	kindWord
	kindBigram
)

func seed(ns, kind int) uint32 { return mix(mix(fnvOffset, rune(ns)), rune(kind)) }

// emitter receives each feature's hash and its namespace.
type emitter func(hash uint32, ns int)

// features emits the hashed features of an answer's start (it reads only
// the first Window bytes of text).
func features(text string, emit emitter) {
	var buf [maxRunes]rune
	if len(text) > Window {
		// Cut on a rune boundary.
		n := Window
		for n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		text = text[:n]
	}
	runes := buf[:normalise(text, &buf)]
	if len(runes) == 0 {
		return
	}
	first, last := sentences(runes)
	span(runes, nsHead, emit)
	span(runes[first[0]:first[1]], nsFirst, emit)
	if last[1] > last[0] && last != first {
		span(runes[last[0]:last[1]], nsLast, emit)
	}
}

// span emits the character n-grams and the word unigrams and bigrams of
// runes in namespace ns.
func span(runes []rune, ns int, emit emitter) {
	// Character n-grams: from each rune, the grams that start there.
	charSeed := seed(ns, kindChar)
	for i := range runes {
		h := charSeed
		han := isHan(runes[i])
		minN, maxN := latinMinN, latinMaxN
		if han {
			minN, maxN = hanMinN, hanMaxN
		}
		for n := 1; n <= maxN && i+n <= len(runes); n++ {
			h = mix(h, runes[i+n-1])
			if n >= minN {
				emit(finish(h), ns)
			}
		}
	}
	// Latin words and word bigrams.
	wordSeed, bigramSeed := seed(ns, kindWord), seed(ns, kindBigram)
	var prev uint32
	havePrev := false
	for i := 0; i < len(runes); {
		if !isWordRune(runes[i]) {
			if runes[i] != ' ' && runes[i] != '\'' {
				havePrev = false // punctuation breaks a bigram
			}
			i++
			continue
		}
		h := wordSeed
		j := i
		for j < len(runes) && (isWordRune(runes[j]) || runes[j] == '\'' && j+1 < len(runes) && isWordRune(runes[j+1])) {
			h = mix(h, runes[j])
			j++
		}
		emit(finish(h), ns)
		if havePrev {
			emit(finish(mix(mix(bigramSeed, rune(prev)), rune(h))), ns)
		}
		prev, havePrev = h, true
		i = j
	}
}
