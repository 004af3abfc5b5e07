package aggregate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestPairwiseArrivalOrder: the judgments' figures — win rates overall and
// per suite, clustered or not, flips and position bias, the win rate at
// equal lengths, the judges' agreement and the ranking — are the same to
// the last bit however the results arrived: the report reads them batch by
// batch in arrival order, and must sum them in key order. The run has two
// judges and two candidates, more judgments than a batch holds, failed
// generations and judge calls, and robustness copies, which count nowhere;
// one of the collectors writes its batches to disk.
func TestPairwiseArrivalOrder(t *testing.T) {
	spec := pairSpec("ft", "ft2")
	spec.Suites[0].Perturbations = []string{"typos"}
	spec.Suites = append(spec.Suites, eval.Suite{Name: "biz", Role: eval.RoleBenchmark, Metrics: []string{"em"}, Cluster: "doc"})
	r := rand.New(rand.NewPCG(3, 7))
	var adds []func(*Collector)
	winners := []eval.Winner{eval.WinCandidate, eval.WinBaseline, eval.WinTie}
	orders := []string{eval.OrderCandidateFirst, eval.OrderBaselineFirst}
	for i := range 1500 {
		suite, id := "qa", fmt.Sprintf("s%04d", i)
		if i%3 == 0 {
			suite = "biz"
		}
		var pert *eval.Perturbation
		if suite == "qa" && i%11 == 1 {
			pert = &eval.Perturbation{Kind: "typos", Original: fmt.Sprintf("s%04d", i-1)}
			id += "~typos"
		}
		cluster := fmt.Sprint(r.IntN(60))
		for _, v := range []string{"base", "ft", "ft2"} {
			b := eval.BucketOK
			if r.IntN(30) == 0 {
				b = eval.BucketError
			}
			s := mkScore(spec, v, suite, id, uint64(i+1), b, em(float64(r.IntN(2))))
			s.Sample.Cluster, s.Sample.Perturbation = cluster, pert
			s.OutputChars = 50 + r.IntN(400)
			adds = append(adds, func(c *Collector) { c.AddScore(s) })
		}
		for judge := range spec.Judges {
			for _, cand := range []string{"ft", "ft2"} {
				j := judged(spec, judge, cand, suite, id, winners[r.IntN(3)])
				j.Sample.Cluster, j.Sample.Perturbation = cluster, pert
				switch r.IntN(20) {
				case 0:
					j.Winner, j.Rounds, j.Error = "", nil, "judge answered nothing"
				case 1:
					j.Winner, j.Rounds, j.Error, j.GenerationFailed = "", nil, "candidate generation failed: HTTP 500", true
				case 2, 3, 4, 5:
					j.Winner, j.Consistent = eval.WinTie, false
					o := orders[r.IntN(2)]
					other := eval.OrderBaselineFirst
					if o == other {
						other = eval.OrderCandidateFirst
					}
					j.Rounds = []eval.Round{{Order: o, Winner: winners[r.IntN(3)], Parse: "json"}, {Order: other, Winner: winners[r.IntN(3)], Parse: "json"}}
				}
				adds = append(adds, func(c *Collector) { c.AddJudgment(j) })
			}
		}
	}
	reportIn := func(c *Collector, seed uint64) []byte {
		t.Helper()
		defer c.Release()
		order := append([]func(*Collector){}, adds...)
		rand.New(rand.NewPCG(seed, 9)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, add := range order {
			add(c)
		}
		rep := report(t, c, nil)
		if len(rep.Agreement) != 2 || len(rep.Ranking) != 3 || len(rep.Pairwise) != 4 {
			t.Fatalf("agreement %+v, ranking %+v, %d pairwise rows", rep.Agreement, rep.Ranking, len(rep.Pairwise))
		}
		for _, p := range rep.Pairwise {
			if p.Clusters == 0 || len(p.BySuite) != 2 || p.LengthControlled == nil || p.LengthControlled.N == 0 ||
				p.Errors == 0 || p.GenerationErrors == 0 || p.FirstShown+p.SecondShown == 0 {
				t.Fatalf("pairwise row of %s on %s misses a figure: %+v", p.Judge, p.Variant, p)
			}
		}
		return encode(t, rep)
	}
	want := reportIn(New(spec), 1)
	if got := reportIn(New(spec, WithSpill(t.TempDir(), 1)), 2); !bytes.Equal(want, got) {
		t.Errorf("reports of two arrival orders differ:\n%s", lineDiff(string(want), string(got)))
	}
}

// TestWinnersBeyondAByte: a pair's winner is a byte's code into the
// winners seen, and the winners of judgments that give more distinct ones
// than a byte numbers are still read back whole.
func TestWinnersBeyondAByte(t *testing.T) {
	w := &judgeWinners{code: map[string]uint8{}}
	s := &suiteWinners{codes: make([]uint8, 600)}
	want := func(p int) string { return fmt.Sprintf("w%d", p/2) } // 300 distinct
	for p := range 599 {
		w.set(s, int32(p), want(p))
	}
	for p := range 600 {
		got, ok := w.at(s, int32(p))
		if p == 599 {
			if ok {
				t.Errorf("position %d: %q, want no verdict", p, got)
			}
			continue
		}
		if !ok || got != want(p) {
			t.Errorf("position %d: %q %v, want %q", p, got, ok, want(p))
		}
	}
	if len(w.book) != otherWinner-1 || len(s.others) == 0 {
		t.Errorf("%d winners in the book, %d kept apart", len(w.book), len(s.others))
	}
}
