package main

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/score/metric"
)

// TestComparisonsEndToEnd: a merged fine-tune, the same adapter mounted at
// run time that answers otherwise on a known tenth of the prompts, and an
// int4 build that parts from the merged weights on a known share and then
// breaks its JSON; the spec compares each with the merged weights. Each
// comparison's identical answers, and each metric's means, discordant
// samples and paired difference, equal what the simulator decided, sample
// by sample.
func TestComparisonsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	writeDemoSuites(t, dir, "business", "qa")
	personas := []llmsim.Persona{
		{Name: "c-base", Accuracy: 0.6, Refusal: 0.03},
		{Name: "c-merged", Accuracy: 0.75, Refusal: 0.03, JSONBreak: 0.05},
		{Name: "c-lora", Like: "c-merged", Differ: 0.1, Accuracy: 0.6, Refusal: 0.03, JSONBreak: 0.05},
		{Name: "c-int4", Like: "c-merged", Differ: 0.2, Accuracy: 0.75, Refusal: 0.03, JSONBreak: 1},
	}
	spec := func(url string) *eval.RunSpec {
		t.Helper()
		y := fmt.Sprintf(`run: cmp
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: c-base}
  - {name: ft-merged, base_url: %[1]s, model: c-merged}
  - {name: ft-lora, base_url: %[1]s, model: c-lora}
  - {name: ft-int4, base_url: %[1]s, model: c-int4}
decoding: {temperature: 0, max_tokens: 256, seed: 1}
suites:
  - {name: business, role: business, path: business.jsonl, metrics: [json_valid, json_fields]}
  - {name: qa, role: benchmark, path: qa.jsonl, metrics: [em]}
compare: [[ft-lora, ft-merged], [ft-int4, ft-merged]]
`, url)
		p := filepath.Join(dir, "run.yaml")
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := eval.LoadSpec(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	samples := readSamples(t, spec("http://127.0.0.1:1/v1"))
	sim := llmsim.New(llmsim.Options{Seed: 9, Personas: personas, Key: llmsim.KeyFromSamples(samples)})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sys := runToCompletion(t, spec(srv.URL+"/v1"))
	rep := readReport(t, writeReport(t, sys, "cmp", "json,md"))

	// The oracle: each persona's answer to every sample, scored by the
	// suite's metrics.
	persona := map[string]llmsim.Persona{"ft-merged": personas[1], "ft-lora": personas[2], "ft-int4": personas[3]}
	scorer := metric.NewScorer(nil)
	suiteMetrics := map[string][]string{"business": {"json_valid", "json_fields"}, "qa": {"em"}}
	type answer struct {
		hash    string
		metrics map[string]float64
	}
	answerOf := func(v string, s eval.Sample) answer {
		prompt := eval.LastUserMessage(s.Messages)
		d := sim.Decide(persona[v], prompt)
		r, err := scorer.Score(context.Background(), metric.Input{Output: d.Answer, Prompt: prompt, FinishReason: d.FinishReason,
			Reference: s.Reference, Metrics: suiteMetrics[s.Suite]})
		if err != nil {
			t.Fatal(err)
		}
		return answer{eval.OutputHash(d.Answer), r.Metrics}
	}
	if len(rep.Comparisons) != 4 {
		t.Fatalf("%d comparisons, want 2 pairs × 2 suites: %+v", len(rep.Comparisons), rep.Comparisons)
	}
	parted := 0
	for _, c := range rep.Comparisons {
		n, identical := 0, 0
		type counts struct {
			n, aOnly, bOnly int
			sumA, sumB      float64
		}
		want := map[string]*counts{}
		for _, s := range samples {
			if s.Suite != c.Suite {
				continue
			}
			a, b := answerOf(c.A, s), answerOf(c.B, s)
			n++
			if a.hash == b.hash {
				identical++
			}
			for _, m := range suiteMetrics[s.Suite] {
				x, okx := a.metrics[m]
				y, oky := b.metrics[m]
				if !okx || !oky {
					continue
				}
				w := want[m]
				if w == nil {
					w = &counts{}
					want[m] = w
				}
				w.n++
				w.sumA, w.sumB = w.sumA+x, w.sumB+y
				if x == 1 && y == 0 {
					w.aOnly++
				}
				if x == 0 && y == 1 {
					w.bOnly++
				}
			}
		}
		if c.N != n || c.Hashed != n || c.Identical != identical || c.Excluded != 0 {
			t.Errorf("%s vs %s on %s: %d answered, %d hashed, %d identical; want %d, %d, %d", c.A, c.B, c.Suite, c.N, c.Hashed, c.Identical, n, n, identical)
		}
		parted += n - identical
		if len(c.Metrics) != len(want) {
			t.Errorf("%s vs %s on %s: %d metrics compared, want %d", c.A, c.B, c.Suite, len(c.Metrics), len(want))
		}
		for _, m := range c.Metrics {
			w := want[m.Metric]
			if w == nil {
				t.Errorf("%s on %s: metric %s not expected", c.A, c.Suite, m.Metric)
				continue
			}
			delta := (w.sumA - w.sumB) / float64(w.n)
			if m.N != w.n || math.Abs(m.Delta-delta) > 1e-9 || math.Abs(m.A-w.sumA/float64(w.n)) > 1e-9 {
				t.Errorf("%s vs %s on %s, %s: n %d, a %v, delta %v; want %d, %v, %v", c.A, c.B, c.Suite, m.Metric, m.N, m.A, m.Delta, w.n, w.sumA/float64(w.n), delta)
			}
			if eval.MetricBinary(m.Metric) && (m.Test != "mcnemar" || m.Discordant == nil || *m.Discordant != [2]int{w.aOnly, w.bOnly}) {
				t.Errorf("%s vs %s on %s, %s: test %s, discordant %v; want mcnemar, [%d %d]", c.A, c.B, c.Suite, m.Metric, m.Test, m.Discordant, w.aOnly, w.bOnly)
			}
		}
	}
	if parted == 0 {
		t.Fatal("the compared variants never parted: the test would not tell a comparison from none")
	}
	md, err := os.ReadFile(filepath.Join(writeReport(t, sys, "cmp", "md"), "report.md"))
	if err != nil || !strings.Contains(string(md), "ft-int4 vs ft-merged on business: ") {
		t.Errorf("report.md has no comparison line (%v)", err)
	}
}
