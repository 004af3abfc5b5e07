package contam

import (
	"fmt"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/ingest/internal/rss"
)

// trainItemWords is the length of a synthetic training item: an
// instruction-tuning example of about 400 bytes.
const trainItemWords = 60

// BenchmarkEmbeddingContamination checks 10,000 eval items against
// 100,000 training items with the simulator's embeddings, served over
// real HTTP at zero latency by a server in this process (sharing its
// CPUs, as a local endpoint would): the n-gram check and the embedding
// check in one pass. The eval items are the 40 of testdata/paraphrases.jsonl
// and 9,960 synthetic questions of 10 to 30 words; the training stream is
// synthetic items of about 60 words with the corpus's 70 training texts
// (40 paraphrases of eval items, 30 texts on an eval item's topic) spread
// among them. It reports training items per second, the time to embed and
// index the eval set, the peak RSS, how many planted paraphrases the
// embeddings found (recall) and how many synthetic eval items they
// flagged (false flags). -bench EmbeddingContamination/train=100000
// -benchtime 1x gives the figures of BENCHMARKS.md; train=5000 is a
// quick run.
func BenchmarkEmbeddingContamination(b *testing.B) {
	s := newSynth()
	pairs := readCorpus(b)
	srv := httptest.NewServer(llmsim.New(llmsim.Options{Seed: 7}).Handler())
	b.Cleanup(srv.Close)
	for _, docs := range []int{5_000, 100_000} {
		b.Run(fmt.Sprintf("train=%d", docs), func(b *testing.B) {
			var items []Doc
			var planted []string
			paraphrased := map[int]bool{}
			seen := map[string]int{}
			for _, p := range pairs {
				i, ok := seen[p.Eval]
				if !ok {
					i = len(items)
					seen[p.Eval] = i
					items = append(items, Doc{ID: "q" + strconv.Itoa(i), Text: p.Eval})
				}
				if p.Paraphrase {
					paraphrased[i] = true
				}
				planted = append(planted, p.Train)
			}
			corpus := len(items)
			for i := len(items); i < 10_000; i++ {
				items = append(items, Doc{ID: "q" + strconv.Itoa(i), Text: string(s.words(nil, uint64(1<<41+i), 10+i%21))})
			}
			opt := EmbedOptions{
				Client:   llm.New(),
				Endpoint: llm.Endpoint{Name: "embeddings", BaseURL: srv.URL + "/v1", Concurrency: 4},
				Embed:    llm.EmbedOptions{Model: llmsim.DefaultEmbedModel, BatchSize: 64},
			}
			var rep *Report
			var indexSecs float64
			var search string
			start := time.Now()
			for b.Loop() {
				t0 := time.Now()
				ix, err := NewIndex(items, Options{})
				if err != nil {
					b.Fatal(err)
				}
				emb, err := NewEmbedIndex(b.Context(), items, opt)
				if err != nil {
					b.Fatal(err)
				}
				indexSecs = time.Since(t0).Seconds()
				search, _ = emb.Search()
				rep, err = ix.CheckWith(b.Context(), Source{Path: "-", Stdin: s.trainStream(docs, trainItemWords, planted)}, emb)
				if err != nil {
					b.Fatal(err)
				}
			}
			secs := time.Since(start).Seconds() / float64(b.N)
			st := rep.Embedding
			if want := int64(docs + len(planted)); st.Docs != want || st.FailedDocs != 0 || st.Checked != len(items) {
				b.Fatalf("embedded %d training items (%d failed) and %d eval items; want %d and %d", st.Docs, st.FailedDocs, st.Checked, want, len(items))
			}
			found, falseFlags := 0, 0
			for i, r := range rep.Results {
				switch {
				case paraphrased[i] && r.Embedding.Flagged:
					found++
				case i >= corpus && r.Embedding.Flagged:
					falseFlags++
				}
			}
			b.ReportMetric(secs, "s/op")
			b.ReportMetric(float64(docs+len(planted))/(secs-indexSecs), "train-items/s")
			b.ReportMetric(indexSecs, "eval-index-s")
			b.ReportMetric(float64(found)/float64(len(paraphrased)), "recall")
			b.ReportMetric(float64(falseFlags), "false-flags")
			b.ReportMetric(float64(rss.Peak())/(1<<20), "peak-RSS-MiB")
			b.Logf("%d training items × %d eval items in %.1fs (%s search; GOMAXPROCS %d): %d of %d planted paraphrases found, %d of %d synthetic items flagged",
				docs+len(planted), len(items), secs, search, runtime.GOMAXPROCS(0), found, len(paraphrased), falseFlags, len(items)-corpus)
		})
	}
}
