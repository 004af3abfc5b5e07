package contam

import (
	"bytes"
	"fmt"
	"index/suffixarray"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// fortuneDir is where Debian's fortune packages (fortunes, fortunes-min,
// fortunes-zh) put their files.
const fortuneDir = "/usr/share/games/fortunes"

// fortune is one fortune cookie of the Debian corpus.
type fortune struct {
	id   string // file#index
	text string
	cjk  bool // mostly Chinese
	// tokens is its number of tokens.
	tokens int
	// frame are its first and last non-empty lines: a poem's title and
	// author, a quote's "-- Author" line.
	first, last string
	// body is its tokens without those of frame lines, space-separated.
	body string
}

// ansi matches the colour escapes of fortunes-zh.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// loadFortunes reads every fortune file, in file order, without the
// fortunes that repeat an earlier one token for token; it skips the test
// when the packages are not installed.
func loadFortunes(t testing.TB) []fortune {
	t.Helper()
	need := []string{"fortunes", "humorists", "tang300", "song100", "chinese"}
	for _, f := range need {
		if _, err := os.Stat(filepath.Join(fortuneDir, f)); err != nil {
			t.Skipf("the Debian fortune packages are not installed (%v): apt-get install fortunes fortunes-min fortunes-zh", err)
		}
	}
	entries, err := os.ReadDir(fortuneDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []fortune
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || filepath.Ext(name) != "" {
			continue // .dat indexes and .u8 links
		}
		data, err := os.ReadFile(filepath.Join(fortuneDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(data) {
			continue
		}
		data = ansi.ReplaceAll(data, nil)
		for i, text := range bytes.Split(data, []byte("\n%\n")) {
			s := strings.Trim(string(text), "\n%")
			toks := tokens(s)
			key := strings.Join(toks, " ")
			if len(toks) == 0 || seen[key] {
				continue
			}
			seen[key] = true
			f := fortune{id: fmt.Sprintf("%s#%d", name, i), text: s, tokens: len(toks)}
			var lines []string
			for l := range strings.Lines(s) {
				if l = strings.TrimSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			f.first, f.last = lines[0], lines[len(lines)-1]
			var body []string
			for _, l := range lines {
				if !frameLine.MatchString(l) {
					body = append(body, tokens(l)...)
				}
			}
			if len(body) == 0 {
				body = toks
			}
			f.body = strings.Join(body, " ")
			cjk := 0
			for _, tok := range toks {
				if r, _ := utf8.DecodeRuneInString(tok); isCJK(r) {
					cjk++
				}
			}
			f.cjk = 2*cjk > len(toks)
			out = append(out, f)
		}
	}
	return out
}

// editWords substitutes or deletes about 5% of text's words (at least one),
// at random places.
func editWords(r *rand.Rand, text string, vocab []string) string {
	words := strings.Fields(text)
	edits := max(1, (len(words)+10)/20)
	for _, i := range r.Perm(len(words))[:edits] {
		if r.IntN(2) == 0 {
			words[i] = vocab[r.IntN(len(vocab))]
		} else {
			words[i] = ""
		}
	}
	return strings.Join(words, " ")
}

// editChars substitutes about 5% of text's Chinese characters (at least
// one), at random places.
func editChars(r *rand.Rand, text string, hanzi []rune) string {
	rs := []rune(text)
	var at []int
	for i, c := range rs {
		if isCJK(c) {
			at = append(at, i)
		}
	}
	edits := max(1, (len(at)+10)/20)
	for _, k := range r.Perm(len(at))[:edits] {
		rs[at[k]] = hanzi[r.IntN(len(hanzi))]
	}
	return string(rs)
}

// debianCase is the corpus the contamination check is measured on.
type debianCase struct {
	train []Doc
	eval  []Doc
	// kind of each eval item: "exact", "edited" or "clean"; source is the
	// training document a planted item was copied from.
	kind   []string
	source []string
	// framed marks clean items whose first or last line (title, author,
	// attribution) is also that of a training document.
	framed []bool
	cjk    []bool
	// copies counts the held-out fortunes left out as copies of training
	// ones; fortunes the training ones.
	copies, fortunes int
}

// buildDebianCase splits the fortunes into training fortunes (80%) and
// held-out clean items, makes training documents of 1 to maxPage training
// fortunes each (a page of quotes: so that most copies are a part of a
// document, not the whole of it), and plants exact and edited copies of
// training fortunes among the items, planted of each kind and language.
func buildDebianCase(t testing.TB, planted, maxPage int) *debianCase {
	fs := loadFortunes(t)
	r := rand.New(rand.NewPCG(1, 2))
	groups := groupFortunes(fs)
	r.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	var train, held []fortune
	for _, g := range groups {
		for _, i := range g {
			if len(train) < len(fs)*4/5 {
				train = append(train, fs[i])
			} else {
				held = append(held, fs[i])
			}
		}
	}
	c := &debianCase{}
	frames := map[string]bool{}
	var vocab []string
	var hanzi []rune
	c.fortunes = len(train)
	page := map[string]string{} // fortune id -> training document id
	for i := 0; i < len(train); {
		size := min(1+r.IntN(maxPage), len(train)-i)
		d := Doc{ID: fmt.Sprintf("page-%d", len(c.train))}
		var texts []string
		for _, f := range train[i : i+size] {
			texts = append(texts, f.text)
			page[f.id] = d.ID
		}
		d.Text = strings.Join(texts, "\n\n")
		c.train = append(c.train, d)
		i += size
	}
	for _, f := range train {
		frames[f.first], frames[f.last] = true, true
		for _, w := range strings.Fields(f.text) {
			if len(vocab) < 50000 && !f.cjk {
				vocab = append(vocab, w)
			}
		}
		for _, ch := range f.text {
			if isCJK(ch) && len(hanzi) < 50000 {
				hanzi = append(hanzi, ch)
			}
		}
	}
	add := func(d Doc, kind, source string, framed, cjk bool) {
		c.eval = append(c.eval, d)
		c.kind = append(c.kind, kind)
		c.source = append(c.source, source)
		c.framed = append(c.framed, framed)
		c.cjk = append(c.cjk, cjk)
	}
	// A held-out fortune whose body stands word for word in a training
	// fortune is a copy, not a clean item ("Subject to change without
	// notice." in "Specifications subject to change without notice.").
	var bodies strings.Builder
	for _, f := range train {
		bodies.WriteString("\x00 " + f.body + " ")
	}
	within := suffixarray.New([]byte(bodies.String()))
	for _, f := range held {
		if within.Lookup([]byte(" "+f.body+" "), 1) != nil {
			c.copies++
			continue
		}
		add(Doc{ID: "clean:" + f.id, Text: f.text}, "clean", "", frames[f.first] || frames[f.last], f.cjk)
	}
	// Plant as many copies of Chinese as of English fortunes: the Chinese
	// ones are fewer but need figures of their own. Edited copies are of
	// fortunes of 20 tokens or more: 5% of fewer is no edit at all.
	for _, cjk := range []bool{false, true} {
		var exact, edit []fortune
		for _, k := range r.Perm(len(train)) {
			switch f := train[k]; {
			case f.cjk != cjk:
			case len(exact) < planted:
				exact = append(exact, f)
			case len(edit) < planted && f.tokens >= 20:
				edit = append(edit, f)
			}
		}
		for _, f := range exact {
			add(Doc{ID: "exact:" + f.id, Text: f.text}, "exact", page[f.id], false, cjk)
		}
		for _, f := range edit {
			var text string
			if cjk {
				text = editChars(r, f.text, hanzi)
			} else {
				text = editWords(r, f.text, vocab)
			}
			add(Doc{ID: "edited:" + f.id, Text: text}, "edited", page[f.id], false, cjk)
		}
	}
	return c
}

// docsJSONL writes docs as JSONL of {"id", "text"} to path.
func docsJSONL(t testing.TB, path string, docs []Doc) {
	t.Helper()
	if err := os.WriteFile(path, jsonl(t, docs), 0o644); err != nil {
		t.Fatal(err)
	}
}

// frameLine matches the lines that frame a fortune rather than make it: an
// attribution ("-- Mark Twain"), a poem's author or title line.
var frameLine = regexp.MustCompile(`^(--|—|作者|题目|《[^》]*》$)`)

// clauseBreak tells where a clause ends.
func clauseBreak(r rune) bool {
	return strings.ContainsRune(`.,;:!?"()[]。，；：！？、《》“”（）`, r)
}

// groupFortunes puts fortunes that share a clause of five tokens or more,
// frame lines left aside, in one group, so that the split keeps each group
// on one side: Debian's files repeat some quotes with another attribution
// and excerpt lines of the Tang poems, and a held-out copy of a training
// fortune is contaminated, not clean.
func groupFortunes(fs []fortune) [][]int {
	parent := make([]int, len(fs))
	for i := range parent {
		parent[i] = i
	}
	var root func(int) int
	root = func(i int) int {
		if parent[i] != i {
			parent[i] = root(parent[i])
		}
		return parent[i]
	}
	owner := map[string]int{}
	for i, f := range fs {
		var body []string
		for line := range strings.Lines(f.text) {
			if line = strings.TrimSpace(line); !frameLine.MatchString(line) {
				body = append(body, line)
			}
		}
		for _, clause := range strings.FieldsFunc(strings.Join(body, " "), clauseBreak) {
			toks := tokens(clause)
			if len(toks) < 5 {
				continue
			}
			key := strings.Join(toks, " ")
			if j, ok := owner[key]; ok {
				parent[root(i)] = root(j)
			} else {
				owner[key] = i
			}
		}
	}
	byRoot := map[int][]int{}
	for i := range fs {
		byRoot[root(i)] = append(byRoot[root(i)], i)
	}
	var out [][]int
	for i := range fs {
		if g, ok := byRoot[i]; ok {
			out = append(out, g)
		}
	}
	return out
}

// TestDebianCorpus measures the check on texts that ship with Debian: the
// fortune cookies of the fortunes, fortunes-min and fortunes-zh packages
// (English quotes and jokes, Tang and Song poems, Chinese sayings, many of
// them under an author line or a title). Training documents are pages of
// one to four fortunes; the eval items are held-out fortunes, clean
// negatives, and planted exact and ~5%-edited copies of training fortunes.
func TestDebianCorpus(t *testing.T) {
	c := buildDebianCase(t, 300, 4)
	path := filepath.Join(t.TempDir(), "train.jsonl")
	docsJSONL(t, path, c.train)
	ix, err := NewIndex(c.eval, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ix.Check(t.Context(), Source{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Train.Docs != int64(len(c.train)) || rep.Train.Failed != 0 {
		t.Fatalf("read %d training documents (%d failed), want %d", rep.Train.Docs, rep.Train.Failed, len(c.train))
	}
	type tally struct{ n, flagged, matched int }
	groups := map[string]*tally{}
	lowest := 1.0 // the lowest score of an edited copy
	for i, r := range rep.Results {
		if c.kind[i] == "edited" {
			lowest = min(lowest, r.Score)
		}
		key := c.kind[i] + " en"
		if c.cjk[i] {
			key = c.kind[i] + " zh"
		}
		if c.framed[i] {
			key += " framed"
		}
		for _, k := range []string{c.kind[i], key} {
			g := groups[k]
			if g == nil {
				g = &tally{}
				groups[k] = g
			}
			g.n++
			if r.Contaminated {
				g.flagged++
			}
			if r.Match == c.source[i] {
				g.matched++
			}
		}
	}
	rate := func(k string) float64 { return float64(groups[k].flagged) / float64(groups[k].n) }
	t.Logf("%d training documents (pages of %d fortunes), %d eval items (%d held-out copies of training fortunes left out)", len(c.train), c.fortunes, len(c.eval), c.copies)
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		g := groups[k]
		t.Logf("  %-18s %5d items, %5d flagged (%.2f%%)", k, g.n, g.flagged, 100*float64(g.flagged)/float64(g.n))
	}
	t.Logf("recall: exact %.2f%%, edited %.2f%% (lowest score %.3f); false flags %.2f%% (%.2f%% of the %d sharing a title or author line)",
		100*rate("exact"), 100*rate("edited"), lowest, 100*rate("clean"),
		100*float64(groups["clean en framed"].flagged+groups["clean zh framed"].flagged)/float64(groups["clean en framed"].n+groups["clean zh framed"].n),
		groups["clean en framed"].n+groups["clean zh framed"].n)
	if got := rate("exact"); got != 1 {
		t.Errorf("recall on exact copies %.4f, want 1", got)
	}
	if got := rate("edited"); got < 0.95 {
		t.Errorf("recall on edited copies %.4f, want ≥ 0.95", got)
	}
	for _, k := range []string{"clean", "clean en", "clean en framed", "clean zh", "clean zh framed"} {
		if got := rate(k); got > 0.02 {
			t.Errorf("%s: false flags %.4f, want ≤ 0.02", k, got)
		}
	}
	if n := groups["clean en framed"].n + groups["clean zh framed"].n; n < 1000 {
		t.Errorf("only %d clean items share a title or author line with training", n)
	}
	for _, k := range []string{"exact", "edited"} {
		if g := groups[k]; float64(g.matched) < 0.99*float64(g.n) {
			t.Errorf("%s: %d of %d matched the page they were copied from", k, g.matched, g.n)
		}
	}
}
