package aggregate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/assay-eval/assay/services/report/stats"
)

// wordValues are the sketch values of n distinct words.
func wordValues(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = unigram(gramHash(fmt.Sprintf("w%d", i)))
	}
	return out
}

// TestGramSketchExact: up to 1.5·k distinct values the sketch counts them
// exactly, however often each comes; one more and it estimates from the k
// smallest.
func TestGramSketchExact(t *testing.T) {
	const k = 64
	vals := wordValues(3*k/2 + 1)
	s := newGramSketch(k)
	for range 3 {
		for _, v := range vals[:3*k/2] {
			s.add(v)
		}
	}
	if m := s.kmv(); !m.exact || m.estimate() != 3*k/2 || m.relErr() != 0 {
		t.Fatalf("%d distinct values: exact %v, estimate %v, error %v", 3*k/2, m.exact, m.estimate(), m.relErr())
	}
	s.add(vals[3*k/2])
	m := s.kmv()
	sorted := slices.Sorted(slices.Values(vals))
	if m.exact || !slices.Equal(m.vals, sorted[:k]) || m.theta != sorted[k] || m.relErr() == 0 {
		t.Fatalf("%d distinct values: exact %v, %d kept", 3*k/2+1, m.exact, len(m.vals))
	}
	if s.bytes() > 8*2*k {
		t.Errorf("a full sketch of %d holds %d bytes", k, s.bytes())
	}
}

// TestGramSketchError: beyond k, the estimate of a synthetic corpus's
// distinct words is within three standard errors (1/√(k−1)) of the truth,
// however the corpus is ordered, and the union of the sketches of its
// parts estimates the whole as well (exactly when every part is exact).
func TestGramSketchError(t *testing.T) {
	const k = 1024
	bound := 3 / math.Sqrt(k-1)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{5_000, 50_000, 400_000} {
		vals := wordValues(n)
		// Each value twice, shuffled: repeats must not count.
		stream := append(slices.Clone(vals), vals...)
		rng.Shuffle(len(stream), func(i, j int) { stream[i], stream[j] = stream[j], stream[i] })
		s := newGramSketch(k)
		for _, v := range stream {
			s.add(v)
		}
		if err := math.Abs(s.estimate()/float64(n) - 1); err > bound {
			t.Errorf("%d distinct: estimate %.0f, relative error %.4f over %.4f", n, s.estimate(), err, bound)
		}
		// The same values in another order leave the same sketch.
		again := newGramSketch(k)
		for _, v := range slices.Backward(stream) {
			again.add(v)
		}
		if m, a := s.kmv(), again.kmv(); !slices.Equal(a.vals, m.vals) || a.theta != m.theta || a.exact != m.exact {
			t.Errorf("%d distinct: the sketch depends on the order", n)
		}
		// Twenty overlapping parts, each sketched with k/4.
		parts := make([]*gramSketch, 20)
		for i := range parts {
			parts[i] = newGramSketch(k / 4)
		}
		for i, v := range stream {
			parts[i%20].add(v)
		}
		var ms []kmv
		for _, p := range parts {
			ms = append(ms, p.kmv())
		}
		u := unionKMV(ms...)
		if err := math.Abs(u.estimate()/float64(n) - 1); err > 3*u.relErr() || u.relErr() > 3/math.Sqrt(k/4-1) {
			t.Errorf("%d distinct, union of parts: estimate %.0f (relative error %.4f, standard %.4f)", n, u.estimate(), err, u.relErr())
		}
	}
	// Exact parts make an exact union, even past one part's k.
	a, b := newGramSketch(100), newGramSketch(100)
	vals := wordValues(150)
	for _, v := range vals[:90] {
		a.add(v)
	}
	for _, v := range vals[60:] {
		b.add(v)
	}
	if u := unionKMV(a.kmv(), (*gramSketch)(nil).kmv(), b.kmv()); !u.exact || u.estimate() != 150 {
		t.Errorf("union of exact parts: exact %v, %v distinct; want 150", u.exact, u.estimate())
	}
}

// TestJackknifeGolden: the delete-a-group jackknife against values worked
// by hand, and, with a group per value and the mean as the statistic,
// against Student's t interval (stats.MeanCI), to which it reduces.
func TestJackknifeGolden(t *testing.T) {
	// (G−1)/G·Σ(θ₍g₎−θ̄)² = 3/4·5 for 1, 2, 3, 4; t(3) = 3.182446305284263.
	near(t, "se", jackknifeSE([]float64{1, 2, 3, 4}), math.Sqrt(3.75))
	ci, ok := jackknifeInterval(10, []float64{1, 2, 3, 4}, 0)
	if !ok {
		t.Fatal("no interval over four groups")
	}
	nearCI(t, "interval", ci, [2]float64{10 - 3.182446305284263*math.Sqrt(3.75), 10 + 3.182446305284263*math.Sqrt(3.75)})
	// An error the groups do not see adds in quadrature.
	wide, _ := jackknifeInterval(10, []float64{1, 2, 3, 4}, 0.5)
	nearCI(t, "widened", wide, [2]float64{10 - 3.182446305284263*2, 10 + 3.182446305284263*2})

	xs := []float64{0.2, 0.9, 0.4, 0.4, 0.7, 0.1, 0.3}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	leaveOut := make([]float64, len(xs))
	for i, x := range xs {
		leaveOut[i] = (sum - x) / float64(len(xs)-1)
	}
	mean, want := stats.MeanCI(xs)
	got, _ := jackknifeInterval(mean, leaveOut, 0)
	nearCI(t, "delete-one jackknife of a mean", got, want)
	if _, ok := jackknifeInterval(1, []float64{1}, 0); ok {
		t.Error("an interval from one group")
	}
}
