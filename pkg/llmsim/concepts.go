package llmsim

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// conceptsText is the simulated embedder's table of synonym groups
// (see concepts.txt).
//
//go:embed concepts.txt
var conceptsText string

// conceptTable maps words to the concepts the simulated embedder embeds.
type conceptTable struct {
	// words maps a stemmed English word (or a number) to its concept.
	words map[string]string
	// han maps a Chinese word of one to six characters to its concept;
	// maxHan is the longest, in characters.
	han    map[string]string
	maxHan int
	// light are the concepts that weigh little.
	light map[string]bool
}

// concepts is the parsed table; the file is part of the binary, and its
// test checks that it parses.
var concepts = sync.OnceValue(func() *conceptTable {
	t, err := parseConcepts(conceptsText)
	if err != nil {
		panic("llmsim: concepts.txt: " + err.Error())
	}
	return t
})

// parseConcepts reads the table: a group of words a line, the first
// naming the group, "#" comments, and "@light" lines listing concepts
// that weigh little. A word in two groups is an error.
func parseConcepts(text string) (*conceptTable, error) {
	t := &conceptTable{words: map[string]string{}, han: map[string]string{}, light: map[string]bool{}}
	var lights []string
	var errs []string
	for n, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if fields[0] == "@light" {
			lights = append(lights, fields[1:]...)
			continue
		}
		name := fields[0]
		for _, w := range fields {
			w = strings.ToLower(w)
			key, m := stem(w), t.words
			if isHan(w) {
				key, m = w, t.han
				t.maxHan = max(t.maxHan, utf8.RuneCountInString(w))
			}
			if had, ok := m[key]; ok && had != name {
				errs = append(errs, fmt.Sprintf("line %d: %q is in group %s and in group %s", n+1, w, had, name))
				continue
			}
			m[key] = name
		}
	}
	for _, c := range lights {
		t.light[c] = true
	}
	for _, c := range lights {
		if !t.hasConcept(c) {
			errs = append(errs, fmt.Sprintf("@light: %q names no group", c))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return t, nil
}

func (t *conceptTable) hasConcept(c string) bool {
	for _, m := range []map[string]string{t.words, t.han} {
		for _, v := range m {
			if v == c {
				return true
			}
		}
	}
	return false
}

// isHan reports whether s is all Chinese characters.
func isHan(s string) bool {
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return s != ""
}

// stopwords are English words that say nothing of what a text is about:
// dropped, as an IDF weight would all but drop them.
var stopwords = setOf(`a an the and or nor of to in on at by for from with without into onto about
	above below over under between among through during before after up down out off
	is are was were am been being it its it's this that these those there here then than
	i me my mine we us our ours you your yours he him his she her hers they them their theirs
	s t d ll re ve m o y not no yes as such too also just only own same other another
	will would shall may might dont doesnt didnt cant wont isnt arent wasnt werent please still yet`)

// hanStopwords are the Chinese particles and function characters dropped
// likewise.
var hanStopwords = setOf(`的 了 着 过 吗 呢 吧 啊 呀 么 和 与 及 或 是 在 也 就 都 而 把 被 这 那 个 之 其 于 以 我 你 他 她 它 们 请`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// stem strips the commonest English inflections, lightly: plurals,
// -ing, -ed, -ly, a possessive and a final e. It is no Porter stemmer,
// only enough that "purchase", "purchases", "purchased" and "purchasing"
// meet; the table is stemmed the same way, so a crude stem still matches.
func stem(w string) string {
	w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
	if len(w) <= 3 || !isASCIIWord(w) || unstemmed[w] {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") || strings.HasSuffix(w, "ied"):
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		w = undouble(w[:len(w)-3])
	case strings.HasSuffix(w, "ed") && len(w) > 4:
		w = undouble(w[:len(w)-2])
	case strings.HasSuffix(w, "ly") && len(w) > 5 && w[len(w)-3] != 'i':
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	if len(w) > 3 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	return w
}

// unstemmed are words that look inflected and are not.
var unstemmed = setOf(`news series species physics mathematics politics economics glasses always perhaps`)

// undouble drops a stem's doubled last consonant: "running" → "run".
func undouble(s string) string {
	if n := len(s); n >= 3 && s[n-1] == s[n-2] && !strings.ContainsRune("aeiouls", rune(s[n-1])) {
		return s[:n-1]
	}
	return s
}

func isASCIIWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
