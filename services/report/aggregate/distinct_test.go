package aggregate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// answersFetcher serves the answers of a distinct run by generation
// sequence; those in gone are no longer stored.
type answersFetcher struct {
	outs map[uint64]string
	gone map[uint64]bool
}

func (f *answersFetcher) Sample(_ context.Context, seq uint64) (*eval.Sample, error) {
	return &eval.Sample{ID: fmt.Sprint(seq), Messages: []eval.Message{{Role: "user", Content: "q"}}}, nil
}

func (f *answersFetcher) Generation(_ context.Context, seq uint64) (*eval.Generation, error) {
	if f.gone[seq] {
		return nil, fmt.Errorf("gen %d: %w", seq, ErrTextGone)
	}
	return &eval.Generation{Output: f.outs[seq]}, nil
}

// distinctRun is a run of suite qa whose answers are outs[variant][i] for
// sample i ("" with failed: a failed generation).
type distinctRun struct {
	spec   *eval.RunSpec
	c      *Collector
	fetch  *answersFetcher
	outs   map[string][]string
	failed map[string]map[int]bool
}

func newDistinctRun(t *testing.T, outs map[string][]string, failed map[string]map[int]bool) *distinctRun {
	t.Helper()
	spec := testSpec()
	spec.Suites = spec.Suites[:1]
	spec.Variants = nil
	for _, v := range []string{"base", "ft", "long"} {
		if outs[v] != nil {
			spec.Variants = append(spec.Variants, eval.Variant{Name: v, BaseURL: "http://" + v + ":8000/v1", Model: "m-" + v})
		}
	}
	r := &distinctRun{spec: spec, c: New(spec), fetch: &answersFetcher{outs: map[uint64]string{}, gone: map[uint64]bool{}}, outs: outs, failed: failed}
	t.Cleanup(r.c.Release)
	for vi, v := range spec.Variants {
		for i, out := range outs[v.Name] {
			seq := uint64(i + 1)
			s := mkScore(spec, v.Name, "qa", fmt.Sprintf("s%03d", i), seq, eval.BucketOK, em(1))
			s.GenSeq = uint64(1000*(vi+1) + i)
			if failed[v.Name][i] {
				s.Bucket, s.Metrics = eval.BucketError, nil
			} else {
				o, c := eval.Edges(out)
				s.OpeningHash, s.ClosingHash = eval.EdgeHash(o), eval.EdgeHash(c)
				r.fetch.outs[s.GenSeq] = out
			}
			mustAdd(t, r.c, s)
		}
	}
	// A robustness copy's answer is not one of the variant's answers.
	cp := mkScore(spec, spec.Baseline, "qa", "s000~typos", 999, eval.BucketOK, em(1))
	cp.Sample.Perturbation = &eval.Perturbation{Kind: "typos", Original: "s000"}
	cp.GenSeq = 999
	r.fetch.outs[999] = "an answer no variant gave to an original sample"
	r.c.AddScore(cp)
	return r
}

// report computes the run's report with distinct-1/2 counted by the
// Parquet export's pass (parquet) or a pass of their own.
func (r *distinctRun) report(t *testing.T, parquet bool) *document.Report {
	t.Helper()
	rows := r.c.Rows()
	defer rows.Release()
	d, err := rows.CountDistinct()
	if err != nil {
		t.Fatal(err)
	}
	if parquet {
		if _, err := rows.WriteScores(t.Context(), io.Discard, r.fetch); err != nil {
			t.Fatal(err)
		}
		// A second pass over the same rows counts nothing again.
		if _, err := rows.WriteScores(t.Context(), io.Discard, r.fetch); err != nil {
			t.Fatal(err)
		}
	} else if err := rows.ReadAnswers(t.Context(), r.fetch); err != nil {
		t.Fatal(err)
	}
	rep, err := r.c.Report(t.Context(), r.fetch, generatedAt, WithDistinct(d))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// oracleWords splits an answer as the test reads words, written apart
// from eval.Words: lower-cased, at whatever is not a letter, digit or
// apostrophe, each Chinese character alone.
func oracleWords(s string) []string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.Is(unicode.Han, r) {
			b.WriteString(" " + string(r) + " ")
		} else {
			b.WriteRune(r)
		}
	}
	return strings.FieldsFunc(b.String(), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	})
}

// oracle is distinct-1 and distinct-2 of answers counted by brute force.
type oracle struct {
	answers              int
	words, pairs         int
	distinct1, distinct2 float64
}

func distinctOracle(answers []string) oracle {
	o := oracle{answers: len(answers)}
	ws, ps := map[string]bool{}, map[string]bool{}
	for _, a := range answers {
		w := oracleWords(a)
		for i := range w {
			ws[w[i]] = true
			o.words++
			if i > 0 {
				ps[w[i-1]+"\x00"+w[i]] = true
				o.pairs++
			}
		}
	}
	o.distinct1, o.distinct2 = float64(len(ws))/float64(o.words), float64(len(ps))/float64(o.pairs)
	return o
}

// answeredBy are variant's answers (not failed) to the samples where keep
// holds.
func (r *distinctRun) answeredBy(variant string, keep func(i int) bool) []string {
	var out []string
	for i, a := range r.outs[variant] {
		if !r.failed[variant][i] && keep(i) {
			out = append(out, a)
		}
	}
	return out
}

func templateOf(t *testing.T, rep *document.Report, variant string) document.Template {
	t.Helper()
	for _, tp := range rep.Templates {
		if tp.Variant == variant {
			return tp
		}
	}
	t.Fatalf("no template row for %s: %+v", variant, rep.Templates)
	return document.Template{}
}

// phrases makes n answers of words drawn from vocab, length words each
// (length ± 2).
func phrases(rng *rand.Rand, n, length int, vocab []string) []string {
	out := make([]string, n)
	for i := range out {
		w := make([]string, length-2+rng.IntN(5))
		for j := range w {
			w[j] = vocab[rng.IntN(len(vocab))]
		}
		out[i] = strings.Join(w, " ") + "."
	}
	return out
}

func vocabulary(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// TestDistinctEqualsOracle: distinct-1/2 of each variant's answers, and a
// candidate's against the baseline's on the samples both answered, equal
// a brute-force count of the answers' words — through the Parquet
// export's pass and through a pass of their own alike; failed generations
// are left out and counted, robustness copies left out.
func TestDistinctEqualsOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 60
	base := phrases(rng, n, 12, vocabulary("b", 400))
	ft := phrases(rng, n, 6, vocabulary("f", 300))
	for i := range ft {
		if i%5 != 0 {
			ft[i] = "As a helpful assistant, I can tell you: " + ft[i] + " I hope this helps!"
		}
	}
	ft[7] = "北京是中国的首都。" // Chinese, a character a word
	failed := map[string]map[int]bool{"ft": {3: true, 40: true}, "base": {11: true}}
	run := newDistinctRun(t, map[string][]string{"base": base, "ft": ft}, failed)
	for _, parquet := range []bool{true, false} {
		t.Run(fmt.Sprintf("parquet=%v", parquet), func(t *testing.T) {
			rep := run.report(t, parquet)
			for _, v := range []string{"base", "ft"} {
				got := templateOf(t, rep, v).Distinct
				want := distinctOracle(run.answeredBy(v, func(int) bool { return true }))
				if got.N != want.answers || got.Failed != len(failed[v]) || got.Unread != 0 || got.Tokens != int64(want.words) ||
					got.Bigrams != int64(want.pairs) || !got.Exact || got.RelError != nil || got.Undefined != "" {
					t.Errorf("%s: %+v; want %+v", v, got, want)
				}
				if got.Distinct1 == nil || got.Distinct2 == nil || *got.Distinct1 != want.distinct1 || *got.Distinct2 != want.distinct2 {
					t.Errorf("%s: distinct-1 %v, distinct-2 %v; want %v, %v", v, got.Distinct1, got.Distinct2, want.distinct1, want.distinct2)
				}
			}
			if vs := templateOf(t, rep, "base").DistinctVsBaseline; vs != nil {
				t.Errorf("the baseline against itself: %+v", vs)
			}
			vs := templateOf(t, rep, "ft").DistinctVsBaseline
			both := func(i int) bool { return !failed["ft"][i] && !failed["base"][i] }
			wc, wb := distinctOracle(run.answeredBy("ft", both)), distinctOracle(run.answeredBy("base", both))
			if vs == nil || vs.N != n-3 || vs.Excluded != 3 || vs.Tokens != int64(wc.words) || vs.BaselineTokens != int64(wb.words) || vs.Groups < 2 {
				t.Fatalf("ft vs base: %+v; want %d pairs, 3 excluded, %d and %d words", vs, n-3, wc.words, wb.words)
			}
			for k, c := range []struct {
				got        document.DistinctDiff
				cand, base float64
			}{{vs.Distinct1, wc.distinct1, wb.distinct1}, {vs.Distinct2, wc.distinct2, wb.distinct2}} {
				d := c.got
				if d.Candidate == nil || *d.Candidate != c.cand || *d.Baseline != c.base || *d.Delta != c.cand-c.base || d.Undefined != "" {
					t.Errorf("distinct-%d: %+v; want %v against %v", k+1, d, c.cand, c.base)
					continue
				}
				if d.CI == nil || d.CI[0] > *d.Delta || d.CI[1] < *d.Delta || d.CI[0] == d.CI[1] {
					t.Errorf("distinct-%d: interval %v around %v", k+1, d.CI, *d.Delta)
				}
			}
		})
	}
}

// TestDistinctMechanical: a candidate whose answers reuse a handful of
// words, in fewer words than the baseline's, is flagged mechanical by its
// distinct-2 though no opening repeats; the same wording at greater
// length is not (a longer corpus repeats more pairs by its length alone),
// nor is a candidate drawn as the baseline is.
func TestDistinctMechanical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 200
	tiny := vocabulary("t", 12)
	outs := map[string][]string{
		"base": phrases(rng, n, 12, vocabulary("w", 2000)),
		"ft":   phrases(rng, n, 10, tiny),
		"long": phrases(rng, n, 30, tiny),
	}
	run := newDistinctRun(t, outs, nil)
	rep := run.report(t, false)
	ft, long := templateOf(t, rep, "ft"), templateOf(t, rep, "long")
	if !ft.Mechanical || !strings.Contains(ft.Why, "distinct-2") || strings.Contains(ft.Why, "top opening") {
		t.Errorf("ft: mechanical %v: %q; want flagged by distinct-2 alone", ft.Mechanical, ft.Why)
	}
	if d := long.DistinctVsBaseline.Distinct2; d.CI == nil || d.CI[1] >= 0 || strings.Contains(long.Why, "distinct-2") {
		t.Errorf("long: distinct-2 %+v, why %q; want lower, but not flagged: its answers are longer", d, long.Why)
	}

	same := newDistinctRun(t, map[string][]string{
		"base": phrases(rng, n, 12, vocabulary("w", 2000)),
		"ft":   phrases(rng, n, 12, vocabulary("w", 2000)),
	}, nil)
	if tp := templateOf(t, same.report(t, true), "ft"); tp.Mechanical {
		t.Errorf("ft drawn as the baseline is flagged: %q", tp.Why)
	}
}

// TestDistinctJackknifeCovers: over corpora drawn alike for the candidate
// and the baseline, the interval of the difference holds 0 about 95% of
// the time; a candidate that repeats its wording is told apart every time.
func TestDistinctJackknifeCovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const reps, n = 100, 120
	vocab := vocabulary("w", 600)
	covered, told := 0, 0
	for range reps {
		// p's candidate and baseline draw from the same words; q's
		// candidate from a few of them.
		p, q := &distinctPair{}, &distinctPair{}
		var a answerGrams
		add := func(pair *distinctPair, side, g int, vocab []string) {
			a.read(phrases(rng, 1, 10, vocab)[0])
			pair.sides[side][g].add(&a, distinctGroupK)
		}
		for i := range n {
			g := sampleGroup(sampleKey64(fmt.Sprint(i, rng.Uint64())))
			add(p, 0, g, vocab)
			add(p, 1, g, vocab)
			add(q, 0, g, vocab[:40])
			add(q, 1, g, vocab)
		}
		p.n, q.n = n, n
		if d := p.delta().Distinct2; d.CI != nil && d.CI[0] <= 0 && 0 <= d.CI[1] {
			covered++
		}
		if d := q.delta().Distinct2; d.CI != nil && d.CI[1] < 0 {
			told++
		}
	}
	if covered < 85 || told != reps {
		t.Errorf("alike: interval held 0 in %d of %d; repetitive: told apart in %d", covered, reps, told)
	}
}

// TestDistinctUnread: an answer whose text is gone is left out of its
// variant's figures and counted; the comparison on the samples both
// answered, which it belongs to, is then not made.
func TestDistinctUnread(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	run := newDistinctRun(t, map[string][]string{"base": phrases(rng, 30, 8, vocabulary("b", 100)), "ft": phrases(rng, 30, 8, vocabulary("f", 100))}, nil)
	run.fetch.gone[1000+4] = true // base's answer to s004
	rep := run.report(t, true)
	base := templateOf(t, rep, "base").Distinct
	want := distinctOracle(run.answeredBy("base", func(i int) bool { return i != 4 }))
	if base.N != 29 || base.Unread != 1 || base.Distinct1 == nil || *base.Distinct1 != want.distinct1 {
		t.Errorf("base: %+v; want 29 read, 1 unread, distinct-1 %v", base, want.distinct1)
	}
	vs := templateOf(t, rep, "ft").DistinctVsBaseline
	if vs == nil || vs.Distinct2.Delta != nil || !strings.Contains(vs.Distinct2.Undefined, "could not be read") {
		t.Errorf("ft vs base with an answer unread: %+v", vs)
	}
}

// TestDistinctNotMeasured: a report made without reading the answers, and
// a continuous run's, say distinct-1/2 were not measured, with nulls.
func TestDistinctNotMeasured(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	run := newDistinctRun(t, map[string][]string{"base": phrases(rng, 10, 8, vocabulary("b", 50)), "ft": phrases(rng, 10, 8, vocabulary("f", 50))}, nil)
	rep, err := run.c.Report(t.Context(), run.fetch, generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range rep.Templates {
		if d := tp.Distinct; d.Distinct1 != nil || d.Distinct2 != nil || d.Undefined != distinctNotRead || tp.DistinctVsBaseline != nil {
			t.Errorf("%s: %+v", tp.Variant, d)
		}
	}
	spec := *run.spec
	spec.Continuous = &eval.Continuous{}
	c := New(&spec)
	defer c.Release()
	rows := c.Rows()
	defer rows.Release()
	if d, err := rows.CountDistinct(); d != nil || err != nil {
		t.Errorf("a continuous run counts distinct-1/2: %v, %v", d, err)
	}
	if f, _ := (*Distinct)(nil).figures("qa", "ft", distinctContinuous); f.Undefined != distinctContinuous || f.Distinct1 != nil {
		t.Errorf("continuous: %+v", f)
	}
}

// syntheticDistinct is a Distinct of one suite of n samples that base and
// ft both answered, ready to be handed their answers.
func syntheticDistinct(n int) (*Distinct, *distinctSuite) {
	spec := testSpec()
	ds := &distinctSuite{states: map[string][]uint8{}, all: map[string]*variantCorpus{}, pairs: map[string]*distinctPair{"ft": {n: n}}}
	for i := range n {
		ds.keys = append(ds.keys, sampleKey64(fmt.Sprintf("s%d", i)))
	}
	slices.Sort(ds.keys)
	for _, v := range []string{"base", "ft"} {
		ds.states[v] = bytes.Repeat([]byte{1}, n)
		ds.all[v] = &variantCorpus{}
	}
	return &Distinct{spec: spec, suites: map[string]*distinctSuite{"qa": ds}, read: true}, ds
}

// bytes is the memory the sketches of variant's answers on the suite
// hold, and, for a candidate, those of its comparison.
func (ds *distinctSuite) bytes(variant string) int {
	n := 0
	for _, s := range ds.all[variant].grams {
		if s != nil {
			n += s.bytes()
		}
	}
	if p := ds.pairs[variant]; p != nil {
		for side := range p.sides {
			for g := range p.sides[side] {
				for _, s := range p.sides[side][g].grams {
					if s != nil {
						n += s.bytes()
					}
				}
			}
		}
	}
	return n
}

// TestDistinctBoundedMemory: past the sketches' exact counts, a
// candidate's sketches on a suite stay within 3 MB however many answers
// come, and its distinct-1/2 are estimates within three standard errors
// of the brute-force count.
func TestDistinctBoundedMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n = 20_000
	d, ds := syntheticDistinct(n)
	vocab := vocabulary("w", 30_000)
	outs := map[string][]string{"base": phrases(rng, n, 20, vocab), "ft": phrases(rng, n, 20, vocab)}
	for _, v := range []string{"base", "ft"} {
		for i, out := range outs[v] {
			pos, _ := slices.BinarySearch(ds.keys, sampleKey64(fmt.Sprintf("s%d", i)))
			d.add(ds, v, pos, out, true)
		}
	}
	if got := ds.bytes("ft"); got > 3<<20 {
		t.Errorf("ft's sketches hold %d bytes", got)
	}
	got, vs := d.figures("qa", "ft", "")
	want := distinctOracle(outs["ft"])
	if got.Exact || got.RelError == nil || *got.RelError > 0.01 {
		t.Fatalf("%+v: want an estimate", got)
	}
	for k, c := range [][2]float64{{*got.Distinct1, want.distinct1}, {*got.Distinct2, want.distinct2}} {
		if err := math.Abs(c[0]/c[1] - 1); err > 3**got.RelError {
			t.Errorf("distinct-%d %v, counted %v: relative error %.4f over 3 × %.4f", k+1, c[0], c[1], err, *got.RelError)
		}
	}
	if d2 := vs.Distinct2; d2.CI == nil || d2.CI[0] > 0 || d2.CI[1] < 0 {
		t.Errorf("two corpora drawn alike: distinct-2 %+v", d2)
	}
}

// BenchmarkDistinct hands a candidate's and the baseline's answers (20
// words each) to a Distinct; B/suite-variant is the memory a candidate's
// sketches hold on the suite.
func BenchmarkDistinct(b *testing.B) {
	rng := rand.New(rand.NewPCG(15, 16))
	const n = 1 << 14
	outs := phrases(rng, n, 20, vocabulary("w", 50_000))
	d, ds := syntheticDistinct(n)
	b.ResetTimer()
	for i := range b.N {
		for _, v := range []string{"base", "ft"} {
			d.add(ds, v, i%n, outs[i%n], true)
		}
	}
	b.ReportMetric(float64(ds.bytes("ft")), "B/suite-variant")
}

// TestDistinctKeys: every template row carries distinct (with all its
// keys, null figures when not measured) and distinct_vs_baseline (null
// for the baseline and when not measured).
func TestDistinctKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	run := newDistinctRun(t, map[string][]string{"base": phrases(rng, 10, 8, vocabulary("b", 50)), "ft": phrases(rng, 10, 8, vocabulary("f", 50))}, nil)
	notRead, err := run.c.Report(t.Context(), run.fetch, generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range []*document.Report{notRead, run.report(t, true)} {
		var doc struct {
			Templates []map[string]any `json:"templates"`
		}
		if err := json.Unmarshal(encode(t, rep), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Templates) != 2 {
			t.Fatalf("templates %v", doc.Templates)
		}
		for _, tp := range doc.Templates {
			d, ok := tp["distinct"].(map[string]any)
			if !ok {
				t.Fatalf("%v: distinct %v", tp["variant"], tp["distinct"])
			}
			for _, k := range []string{"n", "failed", "unread", "tokens", "bigrams", "distinct_1", "distinct_2", "exact", "rel_error", "undefined"} {
				if _, ok := d[k]; !ok {
					t.Errorf("%v: distinct has no %q", tp["variant"], k)
				}
			}
			vs, ok := tp["distinct_vs_baseline"]
			if !ok {
				t.Errorf("%v: no distinct_vs_baseline", tp["variant"])
			}
			if vs != nil {
				for _, k := range []string{"n", "excluded", "tokens", "baseline_tokens", "distinct_1", "distinct_2", "groups"} {
					if _, ok := vs.(map[string]any)[k]; !ok {
						t.Errorf("%v: distinct_vs_baseline has no %q", tp["variant"], k)
					}
				}
				for _, k := range []string{"candidate", "baseline", "delta", "ci", "undefined"} {
					if _, ok := vs.(map[string]any)["distinct_2"].(map[string]any)[k]; !ok {
						t.Errorf("%v: distinct_vs_baseline.distinct_2 has no %q", tp["variant"], k)
					}
				}
			}
		}
	}
}
