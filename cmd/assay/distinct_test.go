package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/report/document"
)

// TestDistinctEndToEnd: a fine-tune that wraps most of its answers in a
// fixed opening and closing (the simulator's template persona), against a
// base that never does, on an English suite and a Chinese one, both
// failing some generations for good. Each variant's distinct-1/2, and the
// fine-tune's against the base's on the samples both answered, equal a
// count made here from the answers in the run's Parquet file — in the
// report the run's end stored (counted in the Parquet files' pass), and
// in those `assay report` writes with and without Parquet (a pass of its
// own).
func TestDistinctEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var samples []eval.Sample
	prompts := map[[2]string]string{} // by suite and sample id
	var sums, capitals strings.Builder
	for i := range 40 {
		id, q := fmt.Sprintf("q%d", i), fmt.Sprintf("What is %d plus %d? Answer with a number only.", i, i+3)
		fmt.Fprintf(&sums, "{\"id\": %q, \"prompt\": %q, \"reference\": [\"%d\"]}\n", id, q, 2*i+3)
		samples = append(samples, eval.Sample{ID: id, Messages: []eval.Message{{Role: "user", Content: q}}, Reference: &eval.Reference{Answers: []string{fmt.Sprint(2*i + 3)}}})
		prompts[[2]string{"sums", id}] = q
	}
	cities := [][2]string{{"中国", "北京"}, {"日本", "东京"}, {"法国", "巴黎"}, {"英国", "伦敦"}, {"德国", "柏林"}, {"意大利", "罗马"}, {"西班牙", "马德里"}, {"俄罗斯", "莫斯科"}}
	for i := range 24 {
		c := cities[i%len(cities)]
		id, q, ref := fmt.Sprintf("c%d", i), fmt.Sprintf("第%d题：%s的首都是哪里？请用一句话回答。", i+1, c[0]), fmt.Sprintf("%s的首都是%s。", c[0], c[1])
		fmt.Fprintf(&capitals, "{\"id\": %q, \"prompt\": %q, \"reference\": [%q]}\n", id, q, ref)
		samples = append(samples, eval.Sample{ID: id, Messages: []eval.Message{{Role: "user", Content: q}}, Reference: &eval.Reference{Answers: []string{ref}}})
		prompts[[2]string{"capitals", id}] = q
	}
	for name, body := range map[string]string{"sums.jsonl": sums.String(), "capitals.jsonl": capitals.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	personas := map[string]llmsim.Persona{
		"base": {Name: "sim-base", Accuracy: 0.7, Down: 0.05},
		"ft":   {Name: "sim-ft", Accuracy: 0.7, Template: 0.8, Down: 0.1},
	}
	sim := llmsim.New(llmsim.Options{Seed: 4, Personas: []llmsim.Persona{personas["base"], personas["ft"]}, Key: llmsim.KeyFromSamples(samples)})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	spec := fmt.Sprintf(`run: dst
baseline: base
variants:
  - {name: base, base_url: %[1]s/v1, model: sim-base}
  - {name: ft,   base_url: %[1]s/v1, model: sim-ft}
retry: {max_attempts: 2, initial_backoff: 5ms, max_backoff: 10ms}
suites:
  - {name: sums, path: sums.jsonl, metrics: [num_match]}
  - {name: capitals, path: capitals.jsonl, metrics: [em], lang: zh}
`, srv.URL)
	p := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := eval.LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	sys := runToCompletion(t, s)

	// The answers, from the Parquet file, each checked against what the
	// simulator says it answered.
	out := writeReport(t, sys, "dst", "json,parquet")
	tbl := readParquetFile(t, filepath.Join(out, "scores.parquet"))
	suites, ids, variants, outputs := stringColumn(t, tbl, "suite"), stringColumn(t, tbl, "sample_id"), stringColumn(t, tbl, "variant"), stringColumn(t, tbl, "output")
	answers := map[[3]string]string{} // by suite, sample and variant; failed: absent
	failed := map[[2]string]int{}     // by suite and variant
	for i := range suites {
		d := sim.Decide(personas[variants[i]], prompts[[2]string{suites[i], ids[i]}])
		if outputs[i] == "<null>" {
			if !d.Down {
				t.Fatalf("%s/%s/%s: no answer, yet the simulator answered", suites[i], ids[i], variants[i])
			}
			failed[[2]string{suites[i], variants[i]}]++
			continue
		}
		if outputs[i] != d.Text {
			t.Fatalf("%s/%s/%s: %q in the Parquet file, %q from the simulator", suites[i], ids[i], variants[i], outputs[i], d.Text)
		}
		answers[[3]string{suites[i], ids[i], variants[i]}] = outputs[i]
	}
	if len(answers)+failed[[2]string{"sums", "ft"}]+failed[[2]string{"sums", "base"}]+failed[[2]string{"capitals", "ft"}]+failed[[2]string{"capitals", "base"}] != 2*64 ||
		failed[[2]string{"sums", "ft"}]+failed[[2]string{"capitals", "ft"}] == 0 {
		t.Fatalf("%d answers, failed %v: want 128 scores, some of ft's failed", len(answers), failed)
	}
	// corpus is variant's answers on suite to the samples where keep holds.
	corpus := func(suite, variant string, keep func(id string) bool) []string {
		var out []string
		for k, a := range answers {
			if k[0] == suite && k[2] == variant && keep(k[1]) {
				out = append(out, a)
			}
		}
		return out
	}
	all := func(string) bool { return true }

	mdOut := writeReport(t, sys, "dst", "json,md")
	reports := map[string]*document.Report{"json,parquet": readReport(t, out), "json,md": readReport(t, mdOut)}
	stored, err := storedReport(t.Context(), sys.Env.Bus, "dst")
	if err != nil {
		t.Fatal(err)
	}
	reports["stored"] = stored
	for how, rep := range reports {
		if len(rep.Templates) != 4 {
			t.Fatalf("%s: templates %+v", how, rep.Templates)
		}
		for _, tp := range rep.Templates {
			want := countDistinct(corpus(tp.Suite, tp.Variant, all))
			d := tp.Distinct
			if d.N != want.answers || d.Failed != failed[[2]string{tp.Suite, tp.Variant}] || d.Tokens != int64(want.words) || d.Bigrams != int64(want.pairs) ||
				!d.Exact || d.Distinct1 == nil || *d.Distinct1 != want.distinct1 || d.Distinct2 == nil || *d.Distinct2 != want.distinct2 {
				t.Errorf("%s: %s on %s: %+v (distinct-1 %v, distinct-2 %v); want %+v", how, tp.Variant, tp.Suite, d, deref(d.Distinct1), deref(d.Distinct2), want)
			}
			if tp.Variant == "base" {
				if tp.DistinctVsBaseline != nil {
					t.Errorf("%s: the base against itself on %s: %+v", how, tp.Suite, tp.DistinctVsBaseline)
				}
				continue
			}
			both := func(id string) bool {
				_, a := answers[[3]string{tp.Suite, id, "ft"}]
				_, b := answers[[3]string{tp.Suite, id, "base"}]
				return a && b
			}
			wc, wb := countDistinct(corpus(tp.Suite, "ft", both)), countDistinct(corpus(tp.Suite, "base", both))
			vs := tp.DistinctVsBaseline
			if vs == nil || vs.N != wc.answers || vs.Tokens != int64(wc.words) || vs.BaselineTokens != int64(wb.words) {
				t.Fatalf("%s: ft vs base on %s: %+v; want %d samples, %d and %d words", how, tp.Suite, vs, wc.answers, wc.words, wb.words)
			}
			for k, c := range []struct {
				got        document.DistinctDiff
				cand, base float64
			}{{vs.Distinct1, wc.distinct1, wb.distinct1}, {vs.Distinct2, wc.distinct2, wb.distinct2}} {
				if c.got.Candidate == nil || *c.got.Candidate != c.cand || *c.got.Baseline != c.base || *c.got.Delta != c.cand-c.base ||
					c.got.CI == nil || c.got.CI[0] > *c.got.Delta || c.got.CI[1] < *c.got.Delta {
					t.Errorf("%s: ft vs base on %s, distinct-%d: %+v; want %v against %v", how, tp.Suite, k+1, c.got, c.cand, c.base)
				}
			}
			// The template lengthens the answers: more words, so distinct-2
			// alone does not flag it; its openings do.
			if !tp.Mechanical || strings.Contains(tp.Why, "distinct-2") || vs.Tokens <= vs.BaselineTokens {
				t.Errorf("%s: ft on %s: mechanical %v, %q", how, tp.Suite, tp.Mechanical, tp.Why)
			}
		}
	}
	if md, err := os.ReadFile(filepath.Join(mdOut, "report.md")); err != nil || !strings.Contains(string(md), "Distinct-1 and distinct-2") {
		t.Errorf("report.md shows no distinct-1/2 (%v)", err)
	}
}

// distinctCount is distinct-1 and distinct-2 of a body of answers.
type distinctCount struct {
	answers, words, pairs int
	distinct1, distinct2  float64
}

// countDistinct counts distinct-1/2 of answers by brute force, splitting
// words apart from eval.Words: lower-cased, at whatever is not a letter,
// digit or apostrophe, each Chinese character a word.
func countDistinct(answers []string) distinctCount {
	c := distinctCount{answers: len(answers)}
	words, pairs := map[string]bool{}, map[string]bool{}
	for _, a := range answers {
		var b strings.Builder
		for _, r := range strings.ToLower(a) {
			if unicode.Is(unicode.Han, r) {
				b.WriteString(" " + string(r) + " ")
			} else {
				b.WriteRune(r)
			}
		}
		ws := strings.FieldsFunc(b.String(), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’' })
		for i, w := range ws {
			words[w] = true
			c.words++
			if i > 0 {
				pairs[ws[i-1]+" "+w] = true
				c.pairs++
			}
		}
	}
	c.distinct1, c.distinct2 = float64(len(words))/float64(c.words), float64(len(pairs))/float64(c.pairs)
	return c
}
