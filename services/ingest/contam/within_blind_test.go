package contam

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// blindSource is a line of testdata/blind/labels.jsonl with its source.
type blindSource struct {
	blindLabel
	Source *string `json:"source"`
}

// withinTally is how many items of a kind each check flagged: found
// counts flags naming the item's twin (for the kinds that have one),
// other flags naming anything else.
type withinTally struct{ n, ngramFound, ngramOther, embedFound, embedOther, eitherFound, eitherOther int }

func (c withinTally) String() string {
	return fmt.Sprintf("%3d items: n-grams find %3d (other %2d), embeddings %3d (other %2d), either %3d (other %2d)",
		c.n, c.ngramFound, c.ngramOther, c.embedFound, c.embedOther, c.eitherFound, c.eitherOther)
}

// TestWithinBlind measures assay contamination --within on a suite built
// from testdata/blind, written by someone who had not seen the detector:
// its 439 training texts, then its 322 eval items, as one set. Each
// paraphrase, near copy and translation then repeats an earlier item, its
// source; each hard negative shares the template or topic of an earlier
// training text and asks something else; the clean items and the training
// texts repeat nothing (none is labelled a repeat of another). It counts,
// per kind, the items each check flags with their twin (recall) and with
// anything else (false flags), and pins the figures: a change of the
// detector, its thresholds or the simulator's embeddings that moves one
// fails here, and BENCHMARKS.md says what they were. The simulator's
// embeddings are a bag of concepts from a synonym table, not an encoder:
// their figures measure the plumbing (that a pair the vectors call alike
// is found, named and counted), not what a real model would find.
func TestWithinBlind(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 761 texts through the simulator")
	}
	srv, _ := simEmbeddings(t, "")
	train, _, err := (&Source{Path: "testdata/blind/train.jsonl", IDField: "id"}).ReadAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	evalItems, _, err := (&Source{Path: "testdata/blind/eval.jsonl", IDField: "id"}).ReadAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	items := append(train, evalItems...)
	labels := map[string]blindSource{}
	f, err := os.Open("testdata/blind/labels.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var l blindSource
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		labels[l.ID] = l
	}
	ix, err := NewIndex(items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := NewEmbedIndex(t.Context(), items, embedOptions(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ix.Within(t.Context(), items, emb)
	if err != nil {
		t.Fatal(err)
	}
	if d.Embedding.Checked != len(items) {
		t.Fatalf("%d of %d items embedded", d.Embedding.Checked, len(items))
	}
	by := map[string]*withinTally{}
	for _, it := range d.Items {
		kind, twin := "training text", ""
		if l, ok := labels[it.ID]; ok {
			kind = l.Kind
			if l.HardNegative {
				kind = "hard_negative"
			}
			if l.Source != nil {
				twin = *l.Source
			}
		}
		c := by[kind]
		if c == nil {
			c = &withinTally{}
			by[kind] = c
		}
		c.n++
		count := func(flagged bool, match string, found, other *int) bool {
			switch {
			case !flagged:
				return false
			case twin != "" && match == twin:
				*found++
				return true
			}
			*other++
			return false
		}
		ng := count(it.NGram, it.Match, &c.ngramFound, &c.ngramOther)
		em := count(it.Embedding.Flagged, it.Embedding.Match, &c.embedFound, &c.embedOther)
		switch {
		case ng || em:
			c.eitherFound++
		case it.Duplicate:
			c.eitherOther++
		}
	}
	search, _ := emb.Search()
	t.Logf("%d items (%s search):", len(items), search)
	kinds := []string{"paraphrase", "near_copy", "cross_language", "hard_negative", "clean", "training text"}
	// n, then n-grams found and other, embeddings found and other,
	// either found and other.
	want := map[string]withinTally{
		"paraphrase":     {102, 0, 0, 0, 0, 0, 0},
		"near_copy":      {30, 25, 0, 29, 0, 29, 0},
		"cross_language": {22, 0, 0, 0, 0, 0, 0},
		"hard_negative":  {98, 0, 28, 0, 26, 0, 38},
		"clean":          {70, 0, 0, 0, 0, 0, 0},
		"training text":  {439, 0, 1, 0, 0, 0, 1},
	}
	for _, k := range kinds {
		t.Logf("%-15s %v", k, by[k])
		if c := by[k]; c == nil || *c != want[k] {
			t.Errorf("%s: %v\nwant %v", k, c, want[k])
		}
	}
}
