package contam

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// simEmbeddings serves the simulator's embeddings; a request holding a
// text that contains fail is answered 500 instead.
func simEmbeddings(t testing.TB, fail string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	h := llmsim.New(llmsim.Options{Seed: 7}).Handler()
	var failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail != "" {
			b, _ := io.ReadAll(r.Body)
			if strings.Contains(string(b), fail) {
				failed.Add(1)
				http.Error(w, `{"error":{"message":"simulated failure"}}`, http.StatusInternalServerError)
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &failed
}

func embedOptions(url string) EmbedOptions {
	return EmbedOptions{
		Client:   llm.New(),
		Endpoint: llm.Endpoint{Name: "embeddings", BaseURL: url + "/v1", Concurrency: 2},
		Embed:    llm.EmbedOptions{Model: llmsim.DefaultEmbedModel, BatchSize: 2},
		Retry:    llm.RetryPolicy{MaxAttempts: 1},
	}
}

// checkLine checks r's JSON line against want, where "…" stands for any
// text; with want empty, r must not be flagged.
func checkLine(t *testing.T, r any, want string, flagged bool) {
	t.Helper()
	line, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	pre, post, wild := strings.Cut(want, "…")
	switch {
	case want == "" && flagged:
		t.Errorf("%s is flagged", line)
	case want == "":
	case wild && (!strings.HasPrefix(string(line), pre) || !strings.HasSuffix(string(line), post)),
		!wild && string(line) != want:
		t.Errorf("%s, want %s", line, want)
	}
}

func trainJSONL(docs ...[2]string) string {
	var b strings.Builder
	for _, d := range docs {
		line, _ := json.Marshal(map[string]string{"id": d[0], "text": d[1]})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestEmbedCheckFindsParaphrases: a paraphrase of a training document,
// which shares no 6-gram with it, is flagged by the embedding check and
// named with its match; a copy is flagged by both checks; an item on the
// same topic asking something else, and one on another topic, are not.
func TestEmbedCheckFindsParaphrases(t *testing.T) {
	srv, _ := simEmbeddings(t, "")
	items := []Doc{
		{ID: "para", Text: "I wish to purchase an inexpensive automobile for my family."},
		{ID: "copy", Text: "How many legs does a spider have, and why do they need so many of them?"},
		{ID: "topic", Text: "I want to sell my old car to a neighbour."},
		{ID: "other", Text: "Summarize the history of the Roman Empire."},
		{ID: "empty", Text: "  "},
	}
	train := trainJSONL(
		[2]string{"t-car", "I want to buy a cheap car for my family."},
		[2]string{"t-spider", "How many legs does a spider have, and why do they need so many of them?"},
		[2]string{"t-cake", "Bake the cake for forty minutes at a low temperature."},
	)
	ix, err := NewIndex(items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := NewEmbedIndex(t.Context(), items, embedOptions(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ix.CheckWith(t.Context(), Source{Path: "-", Stdin: strings.NewReader(train)}, emb)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"para":  `{"id":"para","contaminated":true,"score":0,"embedding_score":0.9…,"embedding_match":"t-car","by":["embedding"]}`,
		"copy":  `{"id":"copy","contaminated":true,"score":1,"match":"t-spider","embedding_score":1,"embedding_match":"t-spider","by":["ngram","embedding"]}`,
		"empty": `{"id":"empty","contaminated":false,"score":0,"embedding_checked":false}`,
	}
	for _, r := range rep.Results {
		checkLine(t, r, want[r.ID], r.Contaminated)
	}
	st := rep.Embedding
	if st.Checked != 4 || st.Unchecked != 1 || st.UncheckedFailed != 0 || st.Flagged != 2 || st.Docs != 3 || st.FailedDocs != 0 || rep.Contaminated != 2 {
		t.Errorf("stats %+v, %d contaminated", st, rep.Contaminated)
	}
}

// TestEmbedCheckFailures: a training batch whose embeddings could not be
// had is counted with its cause, never taken for clean documents; an eval
// item whose call failed is not checked by embeddings and says so; the
// rest is checked.
func TestEmbedCheckFailures(t *testing.T) {
	srv, failed := simEmbeddings(t, "POISON")
	items := []Doc{
		{ID: "a", Text: "I wish to purchase an inexpensive automobile."},
		{ID: "b", Text: "What is the capital of France?"},
		{ID: "c", Text: "POISON in an eval item"},
		{ID: "d", Text: "How do I reset my password?"},
	}
	opt := embedOptions(srv.URL)
	opt.Embed.BatchSize = 1
	ix, _ := NewIndex(items, Options{})
	emb, err := NewEmbedIndex(t.Context(), items, opt)
	if err != nil {
		t.Fatal(err)
	}
	train := trainJSONL(
		[2]string{"t1", "I want to buy a cheap car."},
		[2]string{"t2", "POISON: a document the endpoint cannot embed"},
		[2]string{"t3", "Which city is the capital of France?"},
	)
	rep, err := ix.CheckWith(t.Context(), Source{Path: "-", Stdin: strings.NewReader(train)}, emb)
	if err != nil {
		t.Fatal(err)
	}
	st := rep.Embedding
	if st.FailedDocs != 1 || st.FailedBatches != 1 || st.Docs != 2 || st.UncheckedFailed != 1 || !strings.Contains(st.EvalFailure, "HTTP 500") {
		t.Errorf("stats %+v", st)
	}
	if got := st.CausesByCount(); len(got) != 1 || got[0] != "1 × HTTP 500" {
		t.Errorf("causes %v", got)
	}
	if r := rep.Results[2]; r.Embedding == nil || r.Embedding.Unchecked != whyFailed {
		t.Errorf("the failed eval item: %+v", r.Embedding)
	}
	if r := rep.Results[0]; !r.Embedding.Flagged || r.Embedding.Match != "t1" {
		t.Errorf("item a: %+v", r.Embedding)
	}
	if failed.Load() != 2 {
		t.Errorf("%d failed requests, want 2 (one eval batch, one training batch)", failed.Load())
	}

	all := []Doc{{ID: "x", Text: "POISON one"}, {ID: "y", Text: "POISON two"}}
	if _, err := NewEmbedIndex(t.Context(), all, opt); err == nil || !strings.Contains(err.Error(), "none of the 2 eval items could be embedded") {
		t.Errorf("every eval item failing: %v", err)
	}
}

// TestEmbedIndexFindsTheNearest: every window is compared with the item
// an exact search over every item finds, whenever that item is within the
// threshold — the only case that decides a flag — whether the graph
// answers or, failing its self-check, every item is compared. It logs how
// many the graph alone would have missed. 3,000 simulated questions; each
// query is a reworded copy of one of them (word order shuffled, a word
// dropped).
func TestEmbedIndexFindsTheNearest(t *testing.T) {
	srv, _ := simEmbeddings(t, "")
	opt := embedOptions(srv.URL)
	opt.Embed.BatchSize = 64
	r := rand.New(rand.NewPCG(3, 3))
	words := strings.Fields("spider leg car buy cheap city capital france water drink coffee sleep quality book learn program doctor patient rest week order arrive refund price company year staff river lake mountain poem ocean sea story movie music song game team school student teacher")
	var items []Doc
	for i := range 3000 {
		var q []string
		for range 4 + r.IntN(5) {
			q = append(q, words[r.IntN(len(words))])
		}
		items = append(items, Doc{ID: fmt.Sprint(i), Text: strings.Join(q, " ") + fmt.Sprintf(" %d", i)})
	}
	emb, err := NewEmbedIndex(t.Context(), items, opt)
	if err != nil {
		t.Fatal(err)
	}
	var queries []string
	for i := 0; i < len(items); i += 3 {
		f := strings.Fields(items[i].Text)
		r.Shuffle(len(f)-1, func(a, b int) { f[a], f[b] = f[b], f[a] })
		queries = append(queries, strings.Join(f[1:], " "))
	}
	vs, err := opt.Client.Embed(t.Context(), opt.Endpoint, opt.Embed, queries, opt.Retry)
	if err != nil {
		t.Fatal(err)
	}
	decided, missed, graphMissed := 0, 0, 0
	w := emb.newWorker()
	for q, v := range vs {
		exact, exactCos := -1, float32(-2)
		for i, iv := range emb.vecs {
			if c := dot(v, iv); c > exactCos {
				exact, exactCos = i, c
			}
		}
		if float64(exactCos) < emb.opt.Threshold {
			continue
		}
		decided++
		w.compare([][]float32{v}, func(int) (int64, func() string) { return int64(q), func() string { return fmt.Sprint(q) } })
		if w.best[exact].score < float64(exactCos) {
			missed++
		}
		found := false
		for _, n := range emb.graph.Search(v, graphK) {
			found = found || int(n.Key) == exact || dot(v, n.Value) >= exactCos
		}
		if !found {
			graphMissed++
		}
	}
	search, recall := emb.Search()
	t.Logf("%d of %d queries had an item within the threshold; search %s (the graph found %.3f of the items looking themselves up); missed %d; the graph alone would have missed %d",
		decided, len(queries), search, recall, missed, graphMissed)
	if decided < len(queries)/2 || missed > 0 {
		t.Errorf("missed %d of %d", missed, decided)
	}
	if search == "hnsw" && graphMissed > decided/100 {
		t.Errorf("the graph passed its self-check and missed %d of %d", graphMissed, decided)
	}
}

func TestWindows(t *testing.T) {
	long := strings.Repeat("abcdefghi ", 50) // 500 characters
	for _, tc := range []struct {
		text string
		size int
		n    int
	}{
		{"short", 100, 1},
		{long, 500, 1},
		{long, 200, 3},
		{strings.Repeat("长", 250), 100, 3},
	} {
		ws := windows(tc.text, tc.size)
		if len(ws) != tc.n {
			t.Errorf("%d windows of %d, want %d", len(ws), tc.size, tc.n)
		}
		for _, w := range ws {
			if n := utf8.RuneCountInString(w); n > tc.size {
				t.Errorf("a window of %d characters, more than %d", n, tc.size)
			}
		}
		if !strings.HasPrefix(tc.text, ws[0]) || !strings.HasSuffix(tc.text, ws[len(ws)-1]) {
			t.Errorf("windows do not cover the text")
		}
	}
}
