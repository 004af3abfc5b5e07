package contam

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"testing"
)

// blindLabel is a line of testdata/blind/labels.jsonl.
type blindLabel struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	HardNegative bool   `json:"hard_negative"`
	Lang         string `json:"lang"`
}

// TestEmbeddingContaminationBlind measures both checks, with the
// simulator's embeddings, on testdata/blind: 439 training documents and
// 322 eval items written by someone who had not seen the detector
// (paraphrases, near copies, translations, hard negatives and clean
// items; see its README). It logs, per kind and language, how many items
// each check flags at the default thresholds, and fails when a figure
// moves past what was measured (BENCHMARKS.md): the near copies found, no
// clean item without a twin flagged, the hard negatives flagged at most
// as often as measured. The simulator's embeddings are a bag of concepts
// from a table, not a model: they find the paraphrases whose words the
// table knows, and a real embedding model is what the paraphrase figures
// are for.
func TestEmbeddingContaminationBlind(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 761 texts through the simulator")
	}
	srv, _ := simEmbeddings(t, "")
	var labels []blindLabel
	f, err := os.Open("testdata/blind/labels.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l blindLabel
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		labels = append(labels, l)
	}
	evalSrc := Source{Path: "testdata/blind/eval.jsonl", IDField: "id"}
	items, _, err := evalSrc.ReadAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := NewEmbedIndex(t.Context(), items, embedOptions(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ix.CheckWith(t.Context(), Source{Path: "testdata/blind/train.jsonl", IDField: "id"}, emb)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(labels) {
		t.Fatalf("%d results for %d labels", len(rep.Results), len(labels))
	}
	type tally struct{ n, ngram, embedding, any int }
	by := map[string]*tally{}
	for i, r := range rep.Results {
		l := labels[i]
		if r.ID != l.ID {
			t.Fatalf("result %d is %s, label %s", i, r.ID, l.ID)
		}
		kind := l.Kind
		if l.HardNegative {
			kind = "hard_negative"
		}
		for _, k := range []string{kind + "/" + l.Lang, kind} {
			c := by[k]
			if c == nil {
				c = &tally{}
				by[k] = c
			}
			c.n++
			if r.NGram {
				c.ngram++
			}
			if r.Embedding != nil && r.Embedding.Flagged {
				c.embedding++
			}
			if r.Contaminated {
				c.any++
			}
		}
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := by[k]
		t.Logf("%-20s %3d items: n-grams flag %3d, embeddings %3d, either %3d", k, c.n, c.ngram, c.embedding, c.any)
	}
	check := func(kind string, ok func(c *tally) bool, want string) {
		if c := by[kind]; c == nil || !ok(c) {
			t.Errorf("%s: %+v; want %s", kind, c, want)
		}
	}
	check("near_copy", func(c *tally) bool { return c.n == 30 && c.any >= 29 }, "29 or more of 30 flagged")
	check("clean", func(c *tally) bool { return c.n == 70 && c.any == 0 }, "none of 70 flagged")
	check("hard_negative", func(c *tally) bool { return c.n == 98 && c.any <= 38 }, "at most 38 of 98 flagged")
	check("paraphrase", func(c *tally) bool { return c.n == 102 && c.ngram == 0 }, "no paraphrase found by n-grams (they share no 6-gram)")
}
