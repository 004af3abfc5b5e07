package dedup

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// showMisses prints the pairs of the development sets the detector gets
// wrong, to tune on. It never prints the held-out set's pairs: that set
// is only measured, so that its figures say how the rule does on pairs
// it was not tuned on.
var showMisses = flag.Bool("dedup.misses", false, "print the development pairs the detector gets wrong")

// heldOut and codeHeldOut are the labelled sets that are only measured,
// never tuned on. codeHeldOut (code and quoted literals) was written by a
// third labeller after the rule was tuned on near_code_dev.jsonl and
// near_code_dev2.jsonl.
const (
	heldOut     = "near_heldout.jsonl"
	codeHeldOut = "near_code_heldout.jsonl"
)

// labelledPair is one line of testdata/near_*.jsonl (see testdata/README).
type labelledPair struct {
	ID     string `json:"id"`
	A      string `json:"a"`
	B      string `json:"b"`
	Label  string `json:"label"` // distinct or duplicate
	Lang   string `json:"lang"`
	Change string `json:"change"`
}

// tally counts pairs and how many the detector called near-duplicates.
type tally struct{ pairs, dup int }

func (t *tally) add(dup bool) {
	t.pairs++
	if dup {
		t.dup++
	}
}

// TestLabelled measures the detector on the labelled pairs: on each file,
// no distinct pair may be dropped and at least 95 % of the duplicates
// must be caught. With -v it prints the table per language and kind of
// change:
//
//	go test ./services/ingest/dedup -run TestLabelled -v
func TestLabelled(t *testing.T) {
	for _, file := range []string{"near_dev.jsonl", "near_code_dev.jsonl", "near_code_dev2.jsonl", heldOut, codeHeldOut} {
		t.Run(strings.TrimSuffix(file, ".jsonl"), func(t *testing.T) {
			pairs := readLabelled(t, filepath.Join("testdata", file))
			byKind := map[[3]string]*tally{}
			total := map[string]*tally{"distinct": {}, "duplicate": {}}
			for _, p := range pairs {
				x := NewIndex(DefaultMinSimilarity)
				x.Add(p.A)
				m, dup := x.Add(p.B)
				k := [3]string{p.Label, p.Lang, p.Change}
				if byKind[k] == nil {
					byKind[k] = &tally{}
				}
				byKind[k].add(dup)
				total[p.Label].add(dup)
				if *showMisses && file != heldOut && file != codeHeldOut && dup != (p.Label == "duplicate") {
					t.Logf("%s (%s, %s, %s): near-duplicate %v %+v\n  a: %q\n  b: %q", p.ID, p.Label, p.Lang, p.Change, dup, m, p.A, p.B)
				}
			}
			keys := make([][3]string, 0, len(byKind))
			for k := range byKind {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b [3]string) int {
				return strings.Compare(strings.Join(a[:], "\x00"), strings.Join(b[:], "\x00"))
			})
			var b strings.Builder
			fmt.Fprintf(&b, "%s: %d pairs\n%-10s %-4s %-24s %6s %8s\n", file, len(pairs), "label", "lang", "change", "pairs", "dropped")
			for _, k := range keys {
				c := byKind[k]
				fmt.Fprintf(&b, "%-10s %-4s %-24s %6d %8d\n", k[0], k[1], k[2], c.pairs, c.dup)
			}
			for _, lang := range []string{"en", "zh"} {
				var l tally
				for k, c := range byKind {
					if k[0] == "duplicate" && k[1] == lang {
						l.pairs += c.pairs
						l.dup += c.dup
					}
				}
				fmt.Fprintf(&b, "%s duplicates caught: %d of %d (%.1f %%)\n", lang, l.dup, l.pairs, 100*float64(l.dup)/float64(max(l.pairs, 1)))
			}
			d, u := total["distinct"], total["duplicate"]
			recall := float64(u.dup) / float64(max(u.pairs, 1))
			fmt.Fprintf(&b, "distinct pairs dropped: %d of %d; duplicates caught: %d of %d (%.1f %%)", d.dup, d.pairs, u.dup, u.pairs, 100*recall)
			t.Log("\n" + b.String())
			if d.dup > 0 {
				t.Errorf("%s: %d distinct pairs dropped, want 0", file, d.dup)
			}
			if recall < 0.95 {
				t.Errorf("%s: %.1f %% of the duplicates caught, want 95 %% or more", file, 100*recall)
			}
		})
	}
}

func readLabelled(t *testing.T, path string) []labelledPair {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening the labelled pairs: %v", err)
	}
	defer f.Close()
	var out []labelledPair
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var p labelledPair
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		if p.Label != "distinct" && p.Label != "duplicate" {
			t.Fatalf("%s:%d: label %q: want distinct or duplicate", path, line, p.Label)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no pairs", path)
	}
	return out
}
