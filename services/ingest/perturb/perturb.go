// Package perturb makes robustness variants of a prompt: the same question
// with typos, other character widths, other punctuation, extra white space,
// a casual register, or (Chinese) homophone-style character substitutions.
// A model that is robust answers them as it answers the original; the
// report compares each variant's scores on originals and perturbed copies.
//
// Every perturbation is a pure function of the text, its kind and a seed,
// so that a run's copies are the same on every ingest and replica.
package perturb

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kinds are the perturbations a suite can ask for.
var Kinds = []string{"typos", "width", "punctuation", "whitespace", "register", "homophones"}

// Apply returns text perturbed by kind, seeded by seed (a sample's id, say).
// changed is false when the kind has nothing to change in text (no Chinese
// characters for homophones, no ASCII for width): such a copy would only
// duplicate the original.
func Apply(kind, seed, text string) (out string, changed bool, err error) {
	rng := rand.New(rand.NewPCG(seedOf(kind, seed), 0x9e3779b97f4a7c15))
	switch kind {
	case "typos":
		out = typos(rng, text)
	case "width":
		out = width(text)
	case "punctuation":
		out = punctuation(rng, text)
	case "whitespace":
		out = whitespace(rng, text)
	case "register":
		out = register(rng, text)
	case "homophones":
		out = homophones(rng, text)
	default:
		return "", false, fmt.Errorf("unknown perturbation %q: use one of %s", kind, strings.Join(Kinds, ", "))
	}
	return out, out != text, nil
}

// typos swaps two neighbouring letters or drops one, in about one word in
// eight (at least one), never in the first and last letters of a word, so
// the word stays readable; text without such words gets Chinese typos.
func typos(rng *rand.Rand, text string) string {
	words := wordSpans(text)
	var long []span
	for _, w := range words {
		if w.runes >= 4 {
			long = append(long, w)
		}
	}
	if len(long) == 0 {
		return hanTypos(rng, text)
	}
	n := max(1, len(long)/8)
	pick := map[int]bool{}
	for len(pick) < n {
		pick[rng.IntN(len(long))] = true
	}
	var b strings.Builder
	last := 0
	for i, w := range long {
		if !pick[i] {
			continue
		}
		b.WriteString(text[last:w.start])
		rs := []rune(text[w.start:w.end])
		j := 1 + rng.IntN(len(rs)-2) // an inner letter
		if rng.IntN(2) == 0 && j+1 < len(rs)-1 {
			rs[j], rs[j+1] = rs[j+1], rs[j]
		} else {
			rs = append(rs[:j], rs[j+1:]...)
		}
		b.WriteString(string(rs))
		last = w.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// hanTypos swaps a Chinese character with the next or drops it, in about
// one character in fifteen (at least one): the slips of pinyin input.
func hanTypos(rng *rand.Rand, text string) string {
	rs := []rune(text)
	var at []int
	for i, r := range rs {
		if unicode.Is(unicode.Han, r) && i+1 < len(rs) && unicode.Is(unicode.Han, rs[i+1]) {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return text
	}
	n := max(1, len(at)/15)
	rng.Shuffle(len(at), func(i, j int) { at[i], at[j] = at[j], at[i] })
	drop := map[int]bool{}
	for _, i := range at[:n] {
		if rng.IntN(2) == 0 {
			rs[i], rs[i+1] = rs[i+1], rs[i]
		} else {
			drop[i] = true
		}
	}
	var b strings.Builder
	for i, r := range rs {
		if !drop[i] {
			b.WriteRune(r)
		}
	}
	return b.String()
}

type span struct{ start, end, runes int }

// wordSpans are the runs of letters of text.
func wordSpans(text string) []span {
	var out []span
	start, runes := -1, 0
	for i, r := range text {
		if unicode.IsLetter(r) && !unicode.Is(unicode.Han, r) {
			if start < 0 {
				start, runes = i, 0
			}
			runes++
			continue
		}
		if start >= 0 {
			out = append(out, span{start, i, runes})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, span{start, len(text), runes})
	}
	return out
}

// width turns half-width ASCII letters, digits and punctuation into their
// full-width forms, or, in text that already has full-width forms, turns
// those into ASCII: how Chinese keyboards and copy-paste mix them.
func width(text string) string {
	full := strings.ContainsFunc(text, func(r rune) bool { return r >= 0xff01 && r <= 0xff5e })
	return strings.Map(func(r rune) rune {
		switch {
		case full && r >= 0xff01 && r <= 0xff5e:
			return r - 0xfee0
		case full && r == 0x3000:
			return ' '
		case !full && r > ' ' && r <= '~':
			return r + 0xfee0
		}
		return r
	}, text)
}

// cjkPunct pairs ASCII punctuation with its Chinese counterpart.
var cjkPunct = [][2]string{{",", "，"}, {".", "。"}, {"?", "？"}, {"!", "！"}, {":", "："}, {";", "；"}, {"(", "（"}, {")", "）"}}

// punctuation swaps ASCII and Chinese punctuation (whichever the text uses
// more), and drops the final mark or doubles a question mark.
func punctuation(rng *rand.Rand, text string) string {
	ascii, cjk := 0, 0
	for _, p := range cjkPunct {
		ascii += strings.Count(text, p[0])
		cjk += strings.Count(text, p[1])
	}
	var pairs []string
	for _, p := range cjkPunct {
		if cjk > ascii {
			pairs = append(pairs, p[1], p[0])
		} else if p[0] != "." || !strings.ContainsFunc(text, unicode.IsDigit) {
			// "3.14" keeps its point.
			pairs = append(pairs, p[0], p[1])
		}
	}
	out := strings.NewReplacer(pairs...).Replace(text)
	trimmed := strings.TrimRightFunc(out, unicode.IsSpace)
	if r, size := utf8.DecodeLastRuneInString(trimmed); size > 0 {
		switch {
		case (r == '?' || r == '？') && rng.IntN(2) == 0:
			out = trimmed + string(r) + string(r)
		case unicode.IsPunct(r):
			out = trimmed[:len(trimmed)-size]
		}
	}
	return out
}

// whitespace doubles some spaces, adds leading and trailing blank lines,
// and breaks one line in two.
func whitespace(rng *rand.Rand, text string) string {
	var b strings.Builder
	b.WriteString("\n  ")
	for _, r := range text {
		b.WriteRune(r)
		if r == ' ' && rng.IntN(3) == 0 {
			b.WriteString("  ")
		}
	}
	b.WriteString(" \n\n")
	return b.String()
}

// registerPrefixes are casual openings, English and Chinese.
var registerPrefixes = map[bool][]string{
	false: {"hey so quick question - ", "ok so ", "pls help: ", "yo, ", "random q but ", "hi! um, "},
	true:  {"那个，问一下：", "急！", "请问一哈，", "在吗？想问个问题：", "哈喽，", "求助："},
}

// register puts a casual opening before the text and lowercases its first
// letter.
func register(rng *rand.Rand, text string) string {
	zh := hasHan(text)
	ps := registerPrefixes[zh]
	prefix := ps[rng.IntN(len(ps))]
	body := strings.TrimLeftFunc(text, unicode.IsSpace)
	if r, size := utf8.DecodeRuneInString(body); unicode.IsUpper(r) && !zh {
		body = string(unicode.ToLower(r)) + body[size:]
	}
	return prefix + body
}
