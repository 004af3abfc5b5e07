package judge_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestComparePairsJudgedOnce: two replicas judge a run whose compare list
// pairs two candidates ([a, b]) and names a baseline pair ([base, c],
// judged already). Every pair — each candidate with the baseline, and a
// against b — is judged once by each judge, in both orders, and once the
// generations are acked assay_pairs holds nothing of the run. A
// generation of b asked again by assay retry has both of its pairs
// judged again, once each; a checkpoint joins the baseline only; a judge
// added later judges the compare pair too (each pair's newest attempts at
// least), from the judgments of the same requests, asking nothing.
func TestComparePairsJudgedOnce(t *testing.T) {
	const samples, retried = 8, 3
	srv := bustest.Server(t)
	b := bustest.Open(t, srv)
	sim := llmsim.New(llmsim.Options{Seed: 1, Personas: []llmsim.Persona{{Name: "sim-judge", Judge: true, PositionBias: 0.2}}})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	spec := &eval.RunSpec{
		Run: "cmpj", Baseline: "base",
		Variants: []eval.Variant{{Name: "base"}, {Name: "a"}, {Name: "b"}, {Name: "c"}},
		Suites:   []eval.Suite{{Name: "qa", Metrics: []string{"length"}}},
		Judges:   []eval.Judge{{Name: "good", BaseURL: hs.URL + "/v1", Model: "sim-judge", Mode: "pairwise", Concurrency: 3, Dimensions: eval.DefaultDimensions}},
		Compare:  [][]string{{"a", "b"}, {"base", "c"}}, JudgeCompare: true,
		Retry: eval.Retry{MaxAttempts: 1},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	seqs := make([]uint64, samples)
	publish := func(v string, i, retry int) {
		t.Helper()
		g := eval.Generation{V: 1, Run: "cmpj", Variant: v, Retry: retry, Sample: eval.SampleRef{ID: fmt.Sprint(i), Suite: "qa", Seq: seqs[i]},
			Output: fmt.Sprintf("%s's answer %d to %d", v, retry, i)}
		if _, err := b.Publish(ctx, bus.GensSubject("cmpj", v), fmt.Sprintf("gen-%s-%d-%d", v, i, retry), g); err != nil {
			t.Fatal(err)
		}
	}
	type gen struct {
		v string
		i int
	}
	var gens []gen
	for i := range samples {
		s := eval.Sample{V: 1, Run: "cmpj", ID: fmt.Sprint(i), Suite: "qa", Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("Question %d?", i)}}}
		ack, err := b.Publish(ctx, bus.SamplesSubject("cmpj", "qa"), "sample-"+s.ID, s)
		if err != nil {
			t.Fatal(err)
		}
		seqs[i] = ack.Sequence
		for _, v := range []string{"base", "a", "b", "c"} {
			gens = append(gens, gen{v, i})
		}
	}
	rand.Shuffle(len(gens), func(i, j int) { gens[i], gens[j] = gens[j], gens[i] })
	startStage(t, ctx, srv)
	startStage(t, ctx, srv)
	for _, g := range gens {
		publish(g.v, g.i, 0)
	}

	key := func(cand, base string, i, candRetry, baseRetry int) string {
		return fmt.Sprintf("%s/%s on %d (retries %d, %d)", cand, base, i, candRetry, baseRetry)
	}
	// byKey keys judge's stored judgments by pair, sample and attempts,
	// and says which were stored twice.
	byKey := func(judge string) (map[string]eval.Judgment, []string) {
		t.Helper()
		out := map[string]eval.Judgment{}
		var twice []string
		for _, jd := range bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments, bus.JudgmentsSubject("cmpj", judge)) {
			k := fmt.Sprintf("%s/%s on %s (retries %d, %d)", jd.Candidate, jd.Baseline, jd.Sample.ID, jd.CandidateRetry, jd.BaselineRetry)
			if _, dup := out[k]; dup {
				twice = append(twice, k)
			}
			out[k] = jd
		}
		return out, twice
	}
	// judged waits for a judgment by judge of each of keys and an empty
	// assay_pairs, and returns the judgments by key: each once, none but
	// those of keys and of superseded (pairs of an attempt a retry
	// replaced, which the report leaves out).
	judged := func(judge string, keys []string, superseded ...string) map[string]eval.Judgment {
		t.Helper()
		bustest.Eventually(t, 60*time.Second, func() error {
			got, _ := byKey(judge)
			var missing []string
			for _, k := range keys {
				if _, ok := got[k]; !ok {
					missing = append(missing, k)
				}
			}
			if len(missing) != 0 {
				return fmt.Errorf("%d of %d judgments of %s; missing: %s", len(keys)-len(missing), len(keys), judge, strings.Join(missing, "; "))
			}
			if subjects := pairSubjects(t, b); len(subjects) != 0 {
				return fmt.Errorf("assay_pairs holds %d subjects: %v", len(subjects), subjects)
			}
			return nil
		})
		out, twice := byKey(judge)
		for _, k := range twice {
			t.Errorf("judge %s: pair %s judged twice", judge, k)
		}
		for k, jd := range out {
			if jd.Error != "" || len(jd.Rounds) != 2 {
				t.Errorf("judge %s: pair %s: error %q, %d rounds", judge, k, jd.Error, len(jd.Rounds))
			}
		}
		for k := range out {
			if !slices.Contains(keys, k) && !slices.Contains(superseded, k) {
				t.Errorf("judge %s: pair %s judged, want none of it", judge, k)
			}
		}
		return out
	}
	var keys []string
	for i := range samples {
		keys = append(keys, key("a", "base", i, 0, 0), key("b", "base", i, 0, 0), key("c", "base", i, 0, 0), key("a", "b", i, 0, 0))
	}
	judged("good", keys)
	if n := sim.Calls("sim-judge"); n != 2*4*samples {
		t.Errorf("the judge was asked %d times, want %d pairs × 2 orders", n, 4*samples)
	}

	// b's generations of the first samples asked again: (b, base) and
	// (a, b) are judged again, once each.
	for i := range retried {
		publish("b", i, 1)
	}
	for i := range retried {
		keys = append(keys, key("b", "base", i, 1, 0), key("a", "b", i, 0, 1))
	}
	judged("good", keys)
	if n := sim.Calls("sim-judge"); n != 2*(4*samples+2*retried) {
		t.Errorf("after the retry, the judge was asked %d times, want %d", n, 2*(4*samples+2*retried))
	}

	// A checkpoint is compared with the baseline only.
	if _, err := b.AddVariant(ctx, "cmpj", eval.Variant{Name: "ck"}, 100, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i := range samples {
		publish("ck", i, 0)
		keys = append(keys, key("ck", "base", i, 0, 0))
	}
	judged("good", keys)

	// A judge added later judges every pair, the compare pair's too, from
	// what its twin was answered. The pairs of b's first attempts on the
	// retried samples it judges when it meets them before their retry
	// (its consumer hands out several generations at once): a partner
	// handled after the retry pairs with the newest attempt only.
	calls := sim.Calls("sim-judge")
	twin := spec.Judges[0]
	twin.Name = "twin"
	if _, err := b.AddJudge(ctx, "cmpj", twin); err != nil {
		t.Fatal(err)
	}
	newest, superseded := slices.Clone(keys), []string{}
	for i := range retried {
		for _, k := range []string{key("b", "base", i, 0, 0), key("a", "b", i, 0, 0)} {
			newest = slices.DeleteFunc(newest, func(n string) bool { return n == k })
			superseded = append(superseded, k)
		}
	}
	good, got := judged("good", keys), judged("twin", newest, superseded...)
	for k, jd := range got {
		if g := good[k]; jd.Winner != g.Winner || !jd.Rounds[0].Cached || !jd.Rounds[1].Cached {
			t.Errorf("twin's judgment of %s: winner %q (good's %q), rounds cached %v/%v", k, jd.Winner, g.Winner, jd.Rounds[0].Cached, jd.Rounds[1].Cached)
		}
	}
	if n := sim.Calls("sim-judge"); n != calls {
		t.Errorf("the twin cost %d calls, want none", n-calls)
	}
}
