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

// BenchmarkWithin finds the near-duplicates within a set of 10,000 items
// (1,000 for a quick run) by n-grams and by the simulator's embeddings,
// served over real HTTP at zero latency by a server in this process
// (sharing its CPUs, as a local endpoint would): synthetic questions of
// 10 to 30 words with both texts of each pair of testdata/paraphrases.jsonl
// spread among them. It reports items per second, the time to embed the
// set and to compare it with itself, the peak RSS, how many of the 40
// paraphrase pairs the embeddings found (the later text flagged with the
// earlier as its match) and how many synthetic items either check
// flagged. -bench Within/items=10000 -benchtime 1x gives the figures of
// BENCHMARKS.md.
func BenchmarkWithin(b *testing.B) {
	s := newSynth()
	pairs := readCorpus(b)
	srv := httptest.NewServer(llmsim.New(llmsim.Options{Seed: 7}).Handler())
	b.Cleanup(srv.Close)
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			// The planted texts go to every (n / planted)th place, each
			// pair's eval text first; the rest is synthetic.
			var planted []string
			at := map[string]int{}
			type pair struct{ first, second string }
			var paraphrases []pair
			for _, p := range pairs {
				for _, text := range []string{p.Eval, p.Train} {
					if _, ok := at[text]; !ok {
						at[text] = -1
						planted = append(planted, text)
					}
				}
				if p.Paraphrase {
					paraphrases = append(paraphrases, pair{p.Eval, p.Train})
				}
			}
			items := make([]Doc, n)
			step := n / len(planted)
			synthetic := map[int]bool{}
			for i := range items {
				items[i].ID = "q" + strconv.Itoa(i)
				if k := i / step; i%step == 0 && k < len(planted) {
					items[i].Text = planted[k]
					at[planted[k]] = i
					continue
				}
				// Seeds 64 apart: words(seed) and words(seed+1) are one stream
				// shifted by a word, which would make neighbours near-copies.
				items[i].Text = string(s.words(nil, uint64(1<<41+64*i), 10+i%21))
				synthetic[i] = true
			}
			opt := EmbedOptions{
				Client:   llm.New(),
				Endpoint: llm.Endpoint{Name: "embeddings", BaseURL: srv.URL + "/v1", Concurrency: 4},
				Embed:    llm.EmbedOptions{Model: llmsim.DefaultEmbedModel, BatchSize: 64},
			}
			var d *Duplicates
			var embedSecs, compareSecs float64
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
				t1 := time.Now()
				d, err = ix.Within(b.Context(), items, emb)
				if err != nil {
					b.Fatal(err)
				}
				embedSecs, compareSecs = t1.Sub(t0).Seconds(), time.Since(t1).Seconds()
				search, _ = emb.Search()
			}
			secs := time.Since(start).Seconds() / float64(b.N)
			if d.Embedding.Checked != n {
				b.Fatalf("%d of %d items embedded", d.Embedding.Checked, n)
			}
			found, falseFlags := 0, 0
			for _, p := range paraphrases {
				later, earlier := max(at[p.first], at[p.second]), min(at[p.first], at[p.second])
				if e := d.Items[later].Embedding; e.Flagged && e.Match == items[earlier].ID {
					found++
				}
			}
			for i, it := range d.Items {
				if synthetic[i] && it.Duplicate {
					falseFlags++
				}
			}
			b.ReportMetric(secs, "s/op")
			b.ReportMetric(float64(n)/secs, "items/s")
			b.ReportMetric(embedSecs, "embed-s")
			b.ReportMetric(compareSecs, "compare-s")
			b.ReportMetric(float64(found)/float64(len(paraphrases)), "recall")
			b.ReportMetric(float64(falseFlags), "false-flags")
			b.ReportMetric(float64(rss.Peak())/(1<<20), "peak-RSS-MiB")
			b.Logf("%d items in %.2fs (embedded in %.2fs, compared in %.2fs, %s search; GOMAXPROCS %d): %d of %d planted paraphrase pairs found, %d of %d synthetic items flagged",
				n, secs, embedSecs, compareSecs, search, runtime.GOMAXPROCS(0), found, len(paraphrases), falseFlags, len(synthetic))
		})
	}
}
