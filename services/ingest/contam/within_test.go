package contam

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestWithin: within one set, a later copy of an item is flagged by both
// checks and names it; a paraphrase by embeddings alone; an item holding
// a shorter earlier one whole by n-grams, though its own n-grams are
// mostly not in the earlier one; the first item of each group, and
// unrelated items, never. An item whose embeddings call failed is not
// checked by embeddings, says so and is counted; the rest is checked.
func TestWithin(t *testing.T) {
	srv, failed := simEmbeddings(t, "OUTAGE")
	items := []Doc{
		{ID: "spider", Text: "How many legs does a spider have?"},
		{ID: "car", Text: "I want to buy a cheap car for my family."},
		{ID: "story", Text: contamStoryText},
		{ID: "cake", Text: "Bake the cake for forty minutes at a low temperature."},
		{ID: "copy", Text: contamStoryText},
		{ID: "para", Text: "I wish to purchase an inexpensive automobile for my family."},
		{ID: "longer", Text: "How many legs does a spider have? Count them on the picture, then say why insects have fewer and which of them fly."},
		{ID: "down", Text: "OUTAGE: the endpoint cannot embed this one"},
		{ID: "empty", Text: "  "},
	}
	opt := embedOptions(srv.URL)
	opt.Embed.BatchSize = 1
	ix, err := NewIndex(items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := NewEmbedIndex(t.Context(), items, opt)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ix.Within(t.Context(), items, emb)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"copy":   `{"id":"copy","duplicate":true,"score":1,"match":"story","embedding_score":1,"embedding_match":"story","by":["ngram","embedding"]}`,
		"para":   `{"id":"para","duplicate":true,"score":0,"embedding_score":0.9…,"embedding_match":"car","by":["embedding"]}`,
		"longer": `{"id":"longer","duplicate":true,"score":1,"match":"spider",…,"by":["ngram"]}`,
		"down":   `{"id":"down","duplicate":false,"score":0,"embedding_checked":false}`,
		"empty":  `{"id":"empty","duplicate":false,"score":0,"embedding_checked":false}`,
	}
	if len(d.Items) != len(items) {
		t.Fatalf("%d results for %d items", len(d.Items), len(items))
	}
	for i, r := range d.Items {
		if r.ID != items[i].ID {
			t.Fatalf("result %d is %s, want %s", i, r.ID, items[i].ID)
		}
		checkLine(t, r, want[r.ID], r.Duplicate)
	}
	st := d.Embedding
	if d.Flagged != 3 || d.NGram != 2 || st.Flagged != 2 || st.Checked != 7 || st.Unchecked != 2 || st.UncheckedFailed != 1 || !strings.Contains(st.EvalFailure, "HTTP 500") {
		t.Errorf("%d flagged (%d by n-grams); embeddings %+v", d.Flagged, d.NGram, st)
	}
	if failed.Load() != 1 {
		t.Errorf("%d failed calls, want 1", failed.Load())
	}
	// Without embeddings, the n-grams alone.
	d, err = ix.Within(t.Context(), items, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Flagged != 2 || d.Embedding != nil || !d.Items[4].Duplicate || !d.Items[6].Duplicate {
		t.Errorf("n-grams alone: %d flagged, embedding %v", d.Flagged, d.Embedding)
	}
}

// contamStoryText is long enough for 6-grams.
const contamStoryText = "The storm came in from the west just after noon and the fishing boats hurried back to the harbour with their nets still half empty."

// TestWithinMatchesAllPairs holds Within's embedding check to every pair
// compared: each item's best cosine with an earlier item and that item
// (the earliest of equals), over several blocks of the exact comparison,
// with every worker count; and the graph's search, on a set so small
// that it returns every item, to the same.
func TestWithinMatchesAllPairs(t *testing.T) {
	srv, _ := simEmbeddings(t, "")
	opt := embedOptions(srv.URL)
	opt.Embed.BatchSize = 64
	r := rand.New(rand.NewPCG(5, 5))
	words := strings.Fields("spider leg car buy cheap city capital france water drink coffee sleep book learn program doctor rest order refund price river lake poem ocean story music team school")
	var items []Doc
	for i := range 2*compareChunk + 37 {
		var q []string
		if i > 0 && i%7 == 0 {
			// A copy of an earlier item, reworded a little.
			q = strings.Fields(items[r.IntN(i)].Text)
			q[r.IntN(len(q))] = words[r.IntN(len(words))]
		} else {
			for range 3 + r.IntN(4) {
				q = append(q, words[r.IntN(len(words))])
			}
		}
		items = append(items, Doc{ID: fmt.Sprint(i), Text: strings.Join(q, " ")})
	}
	check := func(t *testing.T, items []Doc, exact bool, workers int) {
		t.Helper()
		emb, err := NewEmbedIndex(t.Context(), items, opt)
		if err != nil {
			t.Fatal(err)
		}
		emb.exact = exact
		ix, _ := NewIndex(items, Options{Workers: workers})
		d, err := ix.Within(t.Context(), items, emb)
		if err != nil {
			t.Fatal(err)
		}
		flagged := 0
		for i, it := range d.Items {
			var b best
			for j := range i {
				b2 := best{float64(dot(emb.vecs[i], emb.vecs[j])), int64(j), items[j].ID}
				if b.better(b2.score, b2.ord) {
					b = b2
				}
			}
			score := float64(float32(b.score))
			got := it.Embedding
			if got.Match != b.id || got.Score < roundTo4(score)-1e-4 || got.Score > roundTo4(score)+1e-4 {
				t.Errorf("item %d: %+v, want %s at %.4f", i, got, b.id, score)
			}
			if got.Flagged {
				flagged++
			}
		}
		t.Logf("%d items, exact %v, %d workers: %d flagged by embeddings", len(items), exact, workers, flagged)
	}
	for _, workers := range []int{1, 3} {
		check(t, items, true, workers)
	}
	check(t, items[:graphK+1], false, 2)
}

func roundTo4(x float64) float64 { return float64(int64(x*1e4+0.5)) / 1e4 }

// FuzzWithin: within a set, an item held whole by a later one makes that
// one a near-duplicate, and no item is ever matched with itself or a
// later item, or flagged first of the set.
func FuzzWithin(f *testing.F) {
	for _, s := range []string{"one", "床前明月光，疑是地上霜。", contamStoryText, "a a a a a a a a", "x\x00y z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		items := []Doc{{ID: "a", Text: "unrelated words"}, {ID: "t", Text: text}, {ID: "c", Text: "before. " + text + " .after"}, {ID: "t2", Text: text}}
		ix, err := NewIndex(items, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		d, err := ix.Within(t.Context(), items, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range d.Items {
			earlier := map[string]bool{}
			for _, e := range items[:i] {
				earlier[e.ID] = true
			}
			if it.Score < 0 || it.Score > 1 || (it.Match != "" && !earlier[it.Match]) || (i == 0 && it.Duplicate) {
				t.Fatalf("item %d: %+v", i, it)
			}
		}
		if len(tokens(text)) > 0 {
			if c := d.Items[2]; !c.Duplicate || c.Score != 1 || (c.Match != "t" && c.Match != "a") {
				t.Fatalf("the longer copy: %+v", c)
			}
		}
	})
}
