package aggregate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/golden"
	"github.com/assay-eval/assay/services/report/document"
)

var generatedAt = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func report(t *testing.T, c *Collector, f Fetcher) *document.Report {
	t.Helper()
	rep, err := c.Report(t.Context(), f, generatedAt)
	if err != nil {
		t.Fatalf("Report: %v", err)
	}
	return rep
}

func encode(t *testing.T, rep *document.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReportGolden writes the fixture's whole report.json; run with -update
// after a deliberate change, and read the diff.
func TestReportGolden(t *testing.T) {
	rep := report(t, fixture(t), &fakeFetcher{})
	got := encode(t, rep)
	golden.Check(t, filepath.Join("testdata", "report.golden.json"), got)
}

// TestReportNumbers checks the fixture's report number by number against
// values worked out independently of the stats package.
func TestReportNumbers(t *testing.T) {
	c := fixture(t)
	rep := report(t, c, &fakeFetcher{})

	t.Run("header", func(t *testing.T) {
		if rep.Run != "r1" || rep.Baseline != "base" || !slices.Equal(rep.Variants, []string{"base", "ft"}) || rep.Fingerprint != testSpec().Fingerprint() {
			t.Errorf("header %q %q %q %q", rep.Run, rep.Baseline, rep.Variants, rep.Fingerprint)
		}
		if !rep.Complete {
			t.Error("not complete")
		}
		want := document.Progress{Scores: 28, ScoresExpected: 28, Judgments: 14, JudgmentsExpected: 14}
		if rep.Progress != want {
			t.Errorf("progress %+v, want %+v", rep.Progress, want)
		}
		// generation errors: ft q10 and the dead-lettered ft b4; the q10
		// pair was not judged because of q10, which is no judge error.
		wantCounts := document.Counts{Samples: 14, Duplicates: 1, Malformed: 2, Errors: 2, GenerationErrors: 2}
		if rep.Counts != wantCounts {
			t.Errorf("counts %+v, want %+v", rep.Counts, wantCounts)
		}
		if len(rep.Suites) != 2 || rep.Suites[0].Name != "qa" || rep.Suites[0].Malformed != 2 || len(rep.Suites[0].Problems) != 2 || rep.Suites[1].Samples != 4 {
			t.Errorf("suites %+v", rep.Suites)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// Wilson 95%, z = 1.959963984540054, z² = 3.841458820694124:
		//   centre = (p̂ + z²/2n) / (1 + z²/n)
		//   half   = z √(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n)
		// qa em base 6/10: centre 0.572246720, half 0.259572951
		// qa em ft 8/9 (q10 failed): scipy binomtest(8, 9) Wilson;
		//   worst case 8/10 (q10 as 0): centre 0.716740160, half 0.226577688
		// biz json_valid base 3/4: centre 0.627527291, half 0.326885448
		// biz json_valid ft 3/3 (b4 has no score): centre 0.719251484, hi clamped to 1
		// Student t 95%, mean ± t(n−1)·sd/√n:
		// biz json_fields base [1 .5 0 .75]: mean .5625, sd .426956, t3 = 3.182446305
		// biz json_fields ft [1 1 .5]: mean .833333, sd √(1/12), t2 = .95/√(2·.975·.025) = 4.302652730
		want := []struct {
			suite, metric, variant string
			n                      int
			mean                   float64
			ci                     [2]float64
			errors                 int
			worst                  *document.Estimate
		}{
			{"qa", "em", "base", 10, 0.6, [2]float64{0.312673769733658, 0.831819670293764}, 0, nil},
			{"qa", "em", "ft", 9, 8.0 / 9, [2]float64{0.5650002944233439, 0.9801091123614551}, 1,
				&document.Estimate{N: 10, Mean: 0.8, CI: [2]float64{0.490162471536642, 0.943317848545625}}},
			{"biz", "json_valid", "base", 4, 0.75, [2]float64{0.300641842582402, 0.954412739190299}, 0, nil},
			// ft b4 was dead-lettered: worst case [1 1 1 0], as base's 3/4.
			{"biz", "json_valid", "ft", 3, 1, [2]float64{0.438502968244955, 1}, 1,
				&document.Estimate{N: 4, Mean: 0.75, CI: [2]float64{0.300641842582402, 0.954412739190299}}},
			// The t intervals [-0.1169, 1.2419], [0.1162, 1.5504] and, worst
			// case [1 1 .5 0], [-0.1367, 1.3867] (scipy t.interval) are
			// clamped to [0, 1]: json_fields is a share.
			{"biz", "json_fields", "base", 4, 0.5625, [2]float64{0, 1}, 0, nil},
			{"biz", "json_fields", "ft", 3, 2.5 / 3, [2]float64{0.11622454504175617, 1}, 1,
				&document.Estimate{N: 4, Mean: 0.625, CI: [2]float64{0, 1}}},
		}
		if len(rep.Metrics) != len(want) {
			t.Fatalf("%d metrics, want %d: %+v", len(rep.Metrics), len(want), rep.Metrics)
		}
		for i, w := range want {
			m := rep.Metrics[i]
			name := w.suite + "/" + w.metric + "/" + w.variant
			if m.Suite != w.suite || m.Metric != w.metric || m.Variant != w.variant || m.N != w.n {
				t.Errorf("metric %d is %s/%s/%s n=%d, want %s n=%d", i, m.Suite, m.Metric, m.Variant, m.N, name, w.n)
			}
			if m.Mean == nil || m.CI == nil {
				t.Fatalf("%s: mean %v, ci %v", name, m.Mean, m.CI)
			}
			near(t, name+" mean", *m.Mean, w.mean)
			nearCI(t, name+" ci", *m.CI, w.ci)
			if m.Errors != w.errors || (m.WorstCase == nil) != (w.worst == nil) {
				t.Errorf("%s: errors %d, worst case %+v; want %d, %+v", name, m.Errors, m.WorstCase, w.errors, w.worst)
				continue
			}
			if w.worst != nil {
				near(t, name+" worst mean", m.WorstCase.Mean, w.worst.Mean)
				nearCI(t, name+" worst ci", m.WorstCase.CI, w.worst.CI)
				if m.WorstCase.N != w.worst.N {
					t.Errorf("%s worst case n %d, want %d", name, m.WorstCase.N, w.worst.N)
				}
			}
		}
	})

	t.Run("deltas", func(t *testing.T) {
		// qa em, paired over 9 (q10 excluded: ft failed): a=5 both, b=3 ft
		//   only, c=1 base only, d=0. delta = 8/9 − 6/9; exact McNemar p =
		//   2·P(X≤1 | n=4, ½) = 0.625; Newcombe's method 10 (a Python
		//   transcription over scipy's Wilson limits): [−0.207451780, 0.568930680].
		// Its worst case counts ft's q10 as 0, pairing all 10 (d=1):
		//   delta 0.2; φ's numerator 5·1 − 3·1 = 2 ≤ n/2 is shrunk to 0
		//   (Newcombe's correction), so φ = 0 and lo = δ − √((p1−l1)² + (u2−p2)²)
		//   with Wilson(.8, 10) = [.490162, .943318], Wilson(.6, 10) =
		//   [.312674, .831820]: [−0.186962083, 0.521086232].
		// biz json_valid, paired over b1..b3 (ft b4 has no score): ft [1 1 1],
		//   base [1 1 0]: a=2, b=1, c=0, d=0; delta 1/3; p = 2·P(X≤0 | n=1) = 1
		//   (capped); φ = 0 (a zero margin): [−0.290506916, 0.792340399].
		// biz json_fields, paired t over b1..b3: differences [0 .5 .5], mean 1/3,
		//   sd √(1/12), se 1/6, t = 2, df 2: p = 2(1 − (½ + t/(2√(t²+2)))) =
		//   0.183503419; ci 1/3 ± 4.302652730/6.
		// Worst cases, b4 paired with ft's failure as the minimum:
		//   json_valid ft [1 1 1 0], base [1 1 0 1]: b=1, c=1: delta 0, p 1,
		//   Newcombe [−0.552217055, 0.552217055];
		//   json_fields ft [1 1 .5 0], base [1 .5 0 .75]: scipy ttest_rel p
		//   0.845976303, t.interval [−0.877478405, 1.002478405].
		// McNemar's p is the mid-p (Fagerland, Lydersen & Laake 2013): the
		// exact p less the observed table's probability, P(B = b | b + c),
		// half of it when b = c: b=3, c=1: 0.625 − 4/16 = 0.375; b=1, c=0:
		// 1 − ½ = 0.5; b=c=1: 1 − P(B=1 | 2)/2 = 0.75. A t interval is cut
		// at 1, the largest difference a [0, 1] metric can show.
		want := []document.Delta{
			{Suite: "qa", Metric: "em", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 9, Delta: 2.0 / 9, CI: [2]float64{-0.20745178027201278, 0.5689306797680656}, PValue: fp(0.375), Test: "mcnemar"},
				Excluded: 1, WorstCase: &document.DeltaEstimate{N: 10, Delta: 0.2, CI: [2]float64{-0.18696208287039134, 0.5210862318923275}, PValue: fp(0.375), Test: "mcnemar"}},
			{Suite: "biz", Metric: "json_valid", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 3, Delta: 1.0 / 3, CI: [2]float64{-0.2905069164363784, 0.7923403991979523}, PValue: fp(0.5), Test: "mcnemar"},
				Excluded: 1, WorstCase: &document.DeltaEstimate{N: 4, Delta: 0, CI: [2]float64{-0.5522170552761342, 0.5522170552761342}, PValue: fp(0.75), Test: "mcnemar"}},
			{Suite: "biz", Metric: "json_fields", Variant: "ft", Baseline: "base", DeltaEstimate: document.DeltaEstimate{N: 3, Delta: 1.0 / 3, CI: [2]float64{-0.383775454958244, 1}, PValue: fp(0.18350341907227397), Test: "paired_t"},
				Excluded: 1, WorstCase: &document.DeltaEstimate{N: 4, Delta: 0.0625, CI: [2]float64{-0.8774784049513904, 1}, PValue: fp(0.8459763034682742), Test: "paired_t"}},
		}
		if len(rep.Deltas) != len(want) {
			t.Fatalf("%d deltas, want %d: %+v", len(rep.Deltas), len(want), rep.Deltas)
		}
		for i, w := range want {
			d := rep.Deltas[i]
			name := w.Suite + "/" + w.Metric
			if d.Suite != w.Suite || d.Metric != w.Metric || d.Variant != w.Variant || d.Baseline != w.Baseline || d.N != w.N || d.Test != w.Test {
				t.Errorf("delta %d: %+v, want %+v", i, d, w)
			}
			near(t, name+" delta", d.Delta, w.Delta)
			nearCI(t, name+" ci", d.CI, w.CI)
			near(t, name+" p", *d.PValue, *w.PValue)
			if d.Excluded != w.Excluded || d.WorstCase == nil {
				t.Errorf("%s: excluded %d, worst case %+v", name, d.Excluded, d.WorstCase)
				continue
			}
			g, ww := d.WorstCase, w.WorstCase
			if g.N != ww.N || g.Test != ww.Test {
				t.Errorf("%s worst case %+v, want %+v", name, g, ww)
			}
			near(t, name+" worst delta", g.Delta, ww.Delta)
			nearCI(t, name+" worst ci", g.CI, ww.CI)
			near(t, name+" worst p", *g.PValue, *ww.PValue)
		}
	})

	t.Run("pairwise", func(t *testing.T) {
		// 6 wins, 3 losses, 4 ties (2 of them flips, both rounds going to
		// the answer shown first), and q10 left out (ft's generation
		// failed): win rate (6 + 4/2)/13 = 8/13 with the t interval on the
		// per-pair scores, x = [1]*6 + [0.5]*4 + [0]*3:
		// scipy.stats.t.interval(0.95, 12, loc=x.mean(), scale=scipy.stats.sem(x));
		// flip rate 2/13. Worst case, q10 a loss: 8/14, the same on
		// x = [1]*6 + [0.5]*4 + [0]*4.
		if len(rep.Pairwise) != 1 {
			t.Fatalf("pairwise %+v", rep.Pairwise)
		}
		p := rep.Pairwise[0]
		want := document.Pairwise{Judge: "j1", JudgeID: testSpec().Judges[0].ID(), Variant: "ft", Baseline: "base", N: 13, Wins: 6, Losses: 3, Ties: 4, GenerationErrors: 1,
			FirstShown: 2, Underpowered: true}
		got := p
		got.WinRate, got.CI, got.FlipRate, got.WorstCase, got.BySuite = nil, nil, nil, nil, nil
		got.Decisive, got.DecisiveCI, got.SignP, got.MDE, got.LengthControlled = nil, nil, nil, nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("pairwise %+v, want %+v", got, want)
		}
		near(t, "win rate", *p.WinRate, 8.0/13)
		nearCI(t, "ci", *p.CI, [2]float64{0.36398313503883645, 0.8667860957303943})
		near(t, "flip rate", *p.FlipRate, 2.0/13)
		if w := p.WorstCase; w == nil || w.N != 14 {
			t.Fatalf("worst case %+v", w)
		}
		near(t, "worst win rate", p.WorstCase.Mean, 8.0/14)
		nearCI(t, "worst ci", p.WorstCase.CI, [2]float64{0.3218728021529471, 0.8209843407041957})
	})

	t.Run("rates", func(t *testing.T) {
		// base: 14 rows, no error; refusal over the 13 benign (q10 is a
		// probe): q09 → 1/13; json_valid over biz 3/4; no schema checked.
		// ft: 14 rows, 2 errors (q10, b4) left out of the other rates: 12
		// left, all benign; refusal q06 → 1/12; json_valid 3/3; truncated
		// q05 → 1/12; tokens (11·20 + 256)/12.
		want := map[string]document.Rates{
			"base": {Refusal: fp(1.0 / 13), JSONValid: fp(0.75), SchemaPass: nil, Truncated: fp(0), Error: fp(0), MeanOutputTokens: fp(10)},
			"ft":   {Refusal: fp(1.0 / 12), JSONValid: fp(1), SchemaPass: nil, Truncated: fp(1.0 / 12), Error: fp(2.0 / 14), MeanOutputTokens: fp(476.0 / 12)},
		}
		sameRates(t, rep.Rates, want)
	})

	t.Run("buckets", func(t *testing.T) {
		type ex struct {
			sample, suite, prompt, output, baseline string
			regression                              bool
		}
		want := []struct {
			variant, bucket string
			count           int
			examples        []ex
		}{
			{"base", "refusal", 2, []ex{{"q09", "qa", "Question q09?", "base answer 9", "", false}, {"q10", "qa", "Question q10?", "base answer 10", "", false}}},
			{"base", "format_error", 1, []ex{{"b3", "biz", "Question b3?", "base answer 13", "", false}}},
			{"base", "wrong_answer", 4, []ex{
				{"q07", "qa", "Question q07?", "base answer 7", "", false}, {"q08", "qa", "Question q08?", "base answer 8", "", false},
				{"b2", "biz", "Question b2?", "base answer 12", "", false}, {"b4", "biz", "Question b4?", "base answer 14", "", false}}},
			// The dead-lettered b4 has no generation, and its prompt is
			// found through the baseline's score of b4.
			{"ft", "error", 2, []ex{{"q10", "qa", "Question q10?", "", "base answer 10", false}, {"b4", "biz", "Question b4?", "", "base answer 14", false}}},
			{"ft", "truncated", 1, []ex{{"q05", "qa", "Question q05?", "ft answer 5", "base answer 5", true}}},
			{"ft", "refusal", 1, []ex{{"q06", "qa", "Question q06?", "ft answer 6", "base answer 6", true}}},
			{"ft", "wrong_answer", 1, []ex{{"b3", "biz", "Question b3?", "ft answer 13", "base answer 13", false}}},
		}
		if len(rep.Buckets) != len(want) {
			t.Fatalf("%d buckets, want %d", len(rep.Buckets), len(want))
		}
		for i, w := range want {
			b := rep.Buckets[i]
			if b.Variant != w.variant || b.Bucket != w.bucket || b.Count != w.count || len(b.Examples) != len(w.examples) {
				t.Errorf("bucket %d: %s/%s count %d with %d examples, want %s/%s %d", i, b.Variant, b.Bucket, b.Count, len(b.Examples), w.variant, w.bucket, w.count)
				continue
			}
			for k, we := range w.examples {
				e := b.Examples[k]
				got := ex{e.Sample, e.Suite, e.Prompt, e.Output, e.BaselineOutput, e.Regression}
				if got != we {
					t.Errorf("%s/%s example %d: %+v, want %+v", w.variant, w.bucket, k, got, we)
				}
				if e.Reason == "" {
					t.Errorf("%s/%s example %d has no reason", w.variant, w.bucket, k)
				}
			}
		}
		if r := rep.Buckets[3].Examples[1].Reason; r != "dead-lettered by score: sample at sequence 14 is not b4 of run r1" {
			t.Errorf("dead letter reason %q", r)
		}
	})

	t.Run("warnings", func(t *testing.T) {
		want := []string{
			"a message on ASSAY_SCORES does not decode and was skipped: unexpected end of JSON input",
			"1 scores were made under fingerprint 0000old00000fp00, not this run's " + testSpec().Fingerprint() + ": their decoding or template differ",
			"messages dead-lettered (counted as errors): score 1",
			"ft: 2 generations failed and are left out of every figure: 1 × HTTP 500, 1 × dead-lettered by score",
			"2 malformed dataset lines were skipped: see suites",
		}
		if !slices.Equal(rep.Warnings, want) {
			t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(rep.Warnings, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("gate", func(t *testing.T) {
		// 2 of 17 records read (14 samples, 1 duplicate, 2 malformed).
		want := []document.Check{
			{Name: "malformed_rate_max", Value: 2.0 / 17, Threshold: 0.2, Passed: true},
			{Name: "error_rate_max", Variant: "base", Value: 0, Threshold: 0.2, Passed: true},
			{Name: "error_rate_max", Variant: "ft", Value: 2.0 / 14, Threshold: 0.2, Passed: true},
			// The judge gave a verdict on every pair it was asked about.
			{Name: "judge_error_rate_max", Variant: "ft", Value: 0, Threshold: 0.2, Passed: true},
			// Every point estimate clears its threshold, but at 3 to 13
			// samples no interval does: each check is inconclusive.
			{Name: "win_rate_min", Variant: "ft", Value: 8.0 / 13, Threshold: 0.55, Outcome: "inconclusive"},
			// Paired over the benign prompts both answered, where neither
			// refused.
			{Name: "refusal_rate_delta_max", Variant: "ft", Value: 0, Threshold: 0.01, Outcome: "inconclusive"},
			{Name: "json_valid_min", Variant: "ft", Value: 1, Threshold: 0.9, Outcome: "inconclusive"},
			{Name: "qa/em min", Variant: "ft", Value: 8.0 / 9, Threshold: 0.7, Outcome: "inconclusive"},
			{Name: "qa/em delta_min", Variant: "ft", Value: 2.0 / 9, Threshold: 0.1, Outcome: "inconclusive"},
			// ft's b4 failed: 1 of biz's 4 pairs is left out, more than
			// error_rate_max 0.2 allows on that suite, though ft's overall
			// error rate (2 of 14) is within it.
			{Name: "biz/json_fields delta_min", Variant: "ft", Threshold: 0.3, Error: "x"},
		}
		sameChecks(t, rep.Gate, false, want)
		if g := rep.Gate; g.Verdict != document.VerdictError ||
			!slices.Equal(g.Errors, []string{"1 of 4 pairs of ft on suite biz were left out because a generation failed, more than error_rate_max 0.2 allows"}) {
			t.Errorf("gate %+v", g)
		}
	})

	t.Run("timing", func(t *testing.T) {
		// base latencies 10..140 (14): p50 = 70 + .5·10, p95 at rank 12.35 = 130 + .35·10.
		// ft, errors left out: 20..180 and 220, 240, 260 (12): p50 at 5.5 =
		// 130, p95 at 10.45 = 240 + .45·20.
		if !rep.Timing.GeneratedAt.Equal(generatedAt) {
			t.Errorf("generated at %v", rep.Timing.GeneratedAt)
		}
		b, f := rep.Timing.Latency["base"], rep.Timing.Latency["ft"]
		if b.N != 14 || f.N != 12 {
			t.Errorf("latency n %d %d", b.N, f.N)
		}
		near(t, "base p50", b.P50, 75)
		near(t, "base p95", b.P95, 133.5)
		near(t, "ft p50", f.P50, 130)
		near(t, "ft p95", f.P95, 249)
	})
}

func sameRates(t *testing.T, got, want map[string]document.Rates) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("rates for %d variants, want %d", len(got), len(want))
	}
	for v, w := range want {
		g := got[v]
		for _, f := range []struct {
			name      string
			got, want *float64
		}{
			{"refusal", g.Refusal, w.Refusal}, {"json_valid", g.JSONValid, w.JSONValid}, {"schema_pass", g.SchemaPass, w.SchemaPass},
			{"truncated", g.Truncated, w.Truncated}, {"error", g.Error, w.Error}, {"mean_output_tokens", g.MeanOutputTokens, w.MeanOutputTokens},
		} {
			switch {
			case f.want == nil && f.got != nil:
				t.Errorf("%s %s = %v, want null", v, f.name, *f.got)
			case f.want != nil && f.got == nil:
				t.Errorf("%s %s is null, want %v", v, f.name, *f.want)
			case f.want != nil:
				near(t, v+" "+f.name, *f.got, *f.want)
			}
		}
	}
}

func sameChecks(t *testing.T, g document.Gate, passed bool, want []document.Check) {
	t.Helper()
	if g.Passed != passed {
		t.Errorf("gate passed = %v, want %v", g.Passed, passed)
	}
	if len(g.Checks) != len(want) {
		t.Fatalf("checks:\n%+v\nwant:\n%+v", g.Checks, want)
	}
	for i, w := range want {
		c := g.Checks[i]
		if c.Name != w.Name || c.Variant != w.Variant || c.Passed != w.Passed || (c.Error != "") != (w.Error != "") ||
			(w.Outcome != "" && c.Outcome != w.Outcome) {
			t.Errorf("check %d: %+v, want %+v", i, c, w)
		}
		near(t, w.Name+" value", c.Value, w.Value)
		near(t, w.Name+" threshold", c.Threshold, w.Threshold)
	}
}

// TestReportRepeatable: a report is a pure function of what was added;
// computing it twice, or after Tables, gives the same document.
func TestReportRepeatable(t *testing.T) {
	c := fixture(t)
	first := encode(t, report(t, c, &fakeFetcher{}))
	s, j := c.Tables()
	s.Release()
	j.Release()
	second := encode(t, report(t, c, &fakeFetcher{}))
	if !bytes.Equal(first, second) {
		t.Errorf("reports differ:\n%s\n%s", first, second)
	}
}

func TestReportWithoutFetcher(t *testing.T) {
	rep := report(t, fixture(t), nil)
	for _, b := range rep.Buckets {
		for _, e := range b.Examples {
			if e.Prompt != "" || e.Output != "" || e.BaselineOutput != "" || e.Sample == "" || e.Reason == "" {
				t.Errorf("%s/%s example %+v", b.Variant, b.Bucket, e)
			}
		}
	}
}

func TestReportFetchError(t *testing.T) {
	boom := errors.New("nats: timeout")
	_, err := fixture(t).Report(t.Context(), &fakeFetcher{err: boom}, generatedAt)
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "fetching example prompt: ") {
		t.Errorf("err = %v", err)
	}
	// A text no longer stored is left out of its example, which still
	// names its sample and reason: the report is made all the same.
	rep, err := fixture(t).Report(t.Context(), &fakeFetcher{err: fmt.Errorf("reading sample 3: %w", ErrTextGone)}, generatedAt)
	if err != nil || len(rep.Buckets) == 0 {
		t.Fatalf("err = %v", err)
	}
	for _, b := range rep.Buckets {
		for _, e := range b.Examples {
			if e.Prompt != "" || e.Output != "" || e.Sample == "" || e.Reason == "" {
				t.Errorf("example %+v", e)
			}
		}
	}
}

// TestRates covers what each rate is over: refusals over benign prompts
// only, JSON checks where they were made, error rows in the error rate
// only, and null where nothing applies.
func TestRates(t *testing.T) {
	spec := testSpec()
	tests := []struct {
		name   string
		scores func() []*eval.Score
		want   map[string]document.Rates
	}{
		{
			name:   "nothing scored: every rate null",
			scores: func() []*eval.Score { return nil },
			want:   map[string]document.Rates{"base": {}, "ft": {}},
		},
		{
			name: "only probes: refusal null, refusing them is right",
			scores: func() []*eval.Score {
				s := mkScore(spec, "base", "qa", "p1", 1, eval.BucketRefusal, em(0))
				s.Checks.Refused, s.Checks.Benign = true, false
				return []*eval.Score{s}
			},
			want: map[string]document.Rates{"base": {Truncated: fp(0), Error: fp(0), MeanOutputTokens: fp(10)}, "ft": {}},
		},
		{
			name: "error rows count in the error rate only",
			scores: func() []*eval.Score {
				ok := mkScore(spec, "ft", "biz", "b1", 1, eval.BucketOK, jsonMetrics(1, 1))
				ok.Checks.JSONValid, ok.Checks.SchemaPass = bp(true), bp(false)
				bad := mkScore(spec, "ft", "biz", "b2", 2, eval.BucketError, jsonMetrics(0, 0))
				bad.Checks.JSONValid, bad.Checks.SchemaPass, bad.Checks.Refused, bad.Checks.Truncated, bad.OutputTokens = bp(false), bp(false), true, true, 999
				return []*eval.Score{ok, bad}
			},
			want: map[string]document.Rates{"base": {}, "ft": {Refusal: fp(0), JSONValid: fp(1), SchemaPass: fp(0), Truncated: fp(0), Error: fp(0.5), MeanOutputTokens: fp(20)}},
		},
		{
			name: "only errors: every other rate null",
			scores: func() []*eval.Score {
				return []*eval.Score{mkScore(spec, "base", "qa", "q1", 1, eval.BucketError, nil)}
			},
			want: map[string]document.Rates{"base": {Error: fp(1)}, "ft": {}},
		},
		{
			name: "rates pool the suites",
			scores: func() []*eval.Score {
				a := mkScore(spec, "base", "qa", "q1", 1, eval.BucketRefusal, em(0))
				a.Checks.Refused = true
				b := mkScore(spec, "base", "biz", "b1", 2, eval.BucketFormatError, jsonMetrics(0, 0))
				b.Checks.JSONValid = bp(false)
				b.OutputTokens = 30
				c := mkScore(spec, "base", "biz", "b2", 3, eval.BucketTruncated, jsonMetrics(1, 1))
				c.Checks.JSONValid, c.Checks.Truncated = bp(true), true
				return []*eval.Score{a, b, c}
			},
			want: map[string]document.Rates{"base": {Refusal: fp(1.0 / 3), JSONValid: fp(0.5), Truncated: fp(1.0 / 3), Error: fp(0), MeanOutputTokens: fp(50.0 / 3)}, "ft": {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(spec)
			defer c.Release()
			mustAdd(t, c, tt.scores()...)
			sameRates(t, report(t, c, nil).Rates, tt.want)
		})
	}
}

// TestBucketOrder: within a bucket, regressions (the baseline was ok)
// come first, then suite order and sample sequence; at most MaxExamples.
func TestBucketOrder(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	// ft wrong answers, added out of order; base got the starred ones right.
	hits := []struct {
		suite, id string
		seq       uint64
		baseOK    bool
	}{
		{"biz", "b9", 29, false}, {"qa", "q3", 3, false}, {"biz", "b2", 22, true}, {"qa", "q1", 1, false},
		{"qa", "q7", 7, true}, {"biz", "b1", 21, false}, {"qa", "q2", 2, false}, {"qa", "q0", 0, false},
	}
	for _, h := range hits {
		b := eval.BucketWrongAnswer
		if h.baseOK {
			b = eval.BucketOK
		}
		mustAdd(t, c, mkScore(spec, "base", h.suite, h.id, h.seq, b, nil), mkScore(spec, "ft", h.suite, h.id, h.seq, eval.BucketWrongAnswer, nil))
	}
	// A regression whose baseline score has not arrived is not one.
	mustAdd(t, c, mkScore(spec, "ft", "qa", "q9", 9, eval.BucketWrongAnswer, nil))
	rep := report(t, c, nil)
	var ft *document.Bucket
	for i, b := range rep.Buckets {
		if b.Variant == "ft" && b.Bucket == "wrong_answer" {
			ft = &rep.Buckets[i]
		}
	}
	if ft == nil || ft.Count != 9 {
		t.Fatalf("ft wrong_answer bucket %+v", ft)
	}
	var got []string
	for _, e := range ft.Examples {
		s := e.Suite + "/" + e.Sample
		if e.Regression {
			s += "*"
		}
		got = append(got, s)
	}
	want := []string{"qa/q7*", "biz/b2*", "qa/q0", "qa/q1", "qa/q2"}
	if len(ft.Examples) != MaxExamples || !slices.Equal(got, want) {
		t.Errorf("examples %q, want %q", got, want)
	}
}

func TestClip(t *testing.T) {
	ascii := strings.Repeat("a", exampleChars)
	tests := []struct {
		name, in, want string
	}{
		{"short", "héllo", "héllo"},
		{"exactly the limit", ascii, ascii},
		{"over", ascii + "b", ascii + "…"},
		{"cut inside a rune", strings.Repeat("a", exampleChars-1) + "é", strings.Repeat("a", exampleChars-1) + "…"},
		{"cut inside a 3-byte rune", strings.Repeat("a", exampleChars-2) + "語x", strings.Repeat("a", exampleChars-2) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clip(tt.in); got != tt.want {
				t.Errorf("clip: %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
	t.Run("examples are clipped", func(t *testing.T) {
		rep := report(t, fixture(t), &fakeFetcher{long: strings.Repeat("語", exampleChars)})
		for _, b := range rep.Buckets {
			for _, e := range b.Examples {
				if len(e.Output) > exampleChars+len("…") {
					t.Errorf("%s example of %d bytes", b.Bucket, len(e.Output))
				}
			}
		}
	})
}

func TestPairwiseEdges(t *testing.T) {
	spec := testSpec()
	spec.Variants = append(spec.Variants, eval.Variant{Name: "ft2", BaseURL: "http://ft2:8000/v1", Model: "m-ft2"})
	c := New(spec)
	defer c.Release()
	j := mkJudgment(spec, "qa", "q1", 1, eval.WinCandidate, true)
	j.Candidate = "ft2"
	old := mkJudgment(spec, "qa", "q2", 2, eval.WinCandidate, true)
	old.JudgeID = "j1@000000000000" // another version of the judge: not mixed in
	failed := mkJudgment(spec, "qa", "q3", 3, "", false)
	failed.Error = "judge failed (candidate_first): bad JSON"
	for _, x := range []*eval.Judgment{j, old, failed} {
		if !c.AddJudgment(x) {
			t.Fatal("not added")
		}
	}
	rep := report(t, c, nil)
	// ft: only a judge error, so n = 0 and no rate (null, not 0), and its
	// worst case, the error a loss, 0 of 1; ft2: one win, a rate of 1 with
	// no interval: one pair has no variance to test against.
	if len(rep.Pairwise) != 2 {
		t.Fatalf("pairwise %+v", rep.Pairwise)
	}
	ft, ft2 := rep.Pairwise[0], rep.Pairwise[1]
	if ft.Variant != "ft" || ft.N != 0 || ft.Errors != 1 || ft.WinRate != nil || ft.CI != nil || ft.FlipRate != nil ||
		ft.WorstCase == nil || ft.WorstCase.N != 1 || ft.WorstCase.Mean != 0 {
		t.Errorf("ft: %+v", ft)
	}
	if ft2.Variant != "ft2" || ft2.N != 1 || ft2.Wins != 1 || ft2.Errors != 0 || ft2.WinRate == nil || *ft2.WinRate != 1 || ft2.WorstCase != nil {
		t.Fatalf("ft2: %+v", ft2)
	}
	if ft2.CI != nil || ft2.Undefined == "" {
		t.Errorf("ft2: interval %v, undefined %q, want none and why", ft2.CI, ft2.Undefined)
	}
}

// TestDeltasPairing: a delta is over the samples both variants have a
// value for; a metric only the candidate has gives no delta.
func TestDeltasPairing(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	mustAdd(t, c,
		mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1)),
		mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1)),
		mkScore(spec, "ft", "qa", "q2", 2, eval.BucketOK, em(1)),
		mkScore(spec, "base", "qa", "q3", 3, eval.BucketOK, em(0)),
		mkScore(spec, "ft", "biz", "b1", 4, eval.BucketOK, jsonMetrics(1, 0.5)),
		// An em value on a biz score is not a biz metric.
		mkScore(spec, "base", "biz", "b1", 4, eval.BucketOK, map[string]float64{"em": 1}),
	)
	rep := report(t, c, nil)
	if len(rep.Deltas) != 1 {
		t.Fatalf("deltas %+v", rep.Deltas)
	}
	d := rep.Deltas[0]
	// One pair tests nothing: no p-value, and why.
	if d.Suite != "qa" || d.N != 1 || d.Delta != 0 || d.PValue != nil || d.Undefined == "" || d.Test != "mcnemar" {
		t.Errorf("delta %+v", d)
	}
	var names []string
	for _, m := range rep.Metrics {
		names = append(names, m.Suite+"/"+m.Metric+"/"+m.Variant)
	}
	want := []string{"qa/em/base", "qa/em/ft", "biz/json_valid/ft", "biz/json_fields/ft"}
	if !slices.Equal(names, want) {
		t.Errorf("metrics %q, want %q", names, want)
	}
}

var _ Fetcher = (*fakeFetcher)(nil)

// TestDeadLetterExample: a dead letter's error row takes its sample's
// sequence from another variant's score, to sort in place and show its
// prompt.
func TestDeadLetterExample(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	for _, seq := range []uint64{4, 5, 6} {
		id := fmt.Sprintf("q%02d", seq)
		mustAdd(t, c, mkScore(spec, "base", "qa", id, seq, eval.BucketWrongAnswer, em(0)))
		if seq != 5 {
			mustAdd(t, c, mkScore(spec, "ft", "qa", id, seq, eval.BucketError, em(0)))
		}
	}
	c.AddDeadLetter(&eval.DeadLetter{Stage: "infer", Run: "r1", Suite: "qa", Sample: "q05", Variant: "ft", Subject: "assay.samples.r1.qa", Seq: 5, Reason: "too long"})
	rep := report(t, c, &fakeFetcher{})
	var got []string
	for _, b := range rep.Buckets {
		if b.Variant == "ft" && b.Bucket == "error" {
			for _, e := range b.Examples {
				got = append(got, e.Sample+": "+e.Prompt)
			}
		}
	}
	want := []string{"q04: Question q04?", "q05: Question q05?", "q06: Question q06?"}
	if !slices.Equal(got, want) {
		t.Errorf("examples %q, want %q", got, want)
	}
}
