package stats

import (
	"math"
	"testing"
)

// The reference values below were computed independently of this package
// with Debian bookworm's python3-scipy 1.10.1 and numpy 1.24.2
// (scipy.stats.binomtest(...).proportion_ci(method="wilson"),
// scipy.stats.t.ppf, scipy.stats.t.interval with scipy.stats.sem,
// scipy.stats.ttest_rel, scipy.stats.binomtest(b, b+c, 0.5).pvalue,
// numpy.percentile) and, for Newcombe's interval, a direct Python
// transcription of the method (Wilson limits of both marginals combined
// with the corrected φ). Only the numbers are kept here.

const tol = 1e-12

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) != math.IsNaN(want) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.15g, want %.15g (±%g)", name, got, want, tol)
	}
}

func nearCI(t *testing.T, got, want [2]float64, tol float64) {
	t.Helper()
	near(t, "ci[0]", got[0], want[0], tol)
	near(t, "ci[1]", got[1], want[1], tol)
}

func TestWilson(t *testing.T) {
	tests := []struct {
		name string
		p    float64
		n    int
		want [2]float64
	}{
		// scipy binomtest(x, n).proportion_ci(method="wilson").
		{"0 of 10", 0, 10, [2]float64{0, 0.277532799862889}},
		{"5 of 10", 0.5, 10, [2]float64{0.236593090512564, 0.763406909487436}},
		{"10 of 10", 1, 10, [2]float64{0.722467200137111, 1}},
		{"1 of 3", 1.0 / 3, 3, [2]float64{0.061491944720396, 0.792340399197952}},
		{"15 of 40", 15.0 / 40, 40, [2]float64{0.242229791672333, 0.529675608626989}},
		// A win rate with ties as halves: 7 wins, 1 tie of 20. The closed
		// form (p̂ + z²/2n ± z√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n) in Python.
		{"fractional 7.5 of 20", 7.5 / 20, 20, [2]float64{0.199770855664631, 0.590510433848573}},
		{"no trials", 0, 0, [2]float64{0, 0}},
		{"negative n", 0.5, -3, [2]float64{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Wilson(tt.p, tt.n)
			nearCI(t, got, tt.want, tol)
			if got[0] < 0 || got[1] > 1 || got[0] > got[1] {
				t.Errorf("Wilson(%v, %d) = %v, want an interval inside [0, 1]", tt.p, tt.n, got)
			}
		})
	}
}

func TestTQuantile(t *testing.T) {
	// scipy.stats.t.ppf(0.975, df).
	tests := []struct {
		df   int
		want float64
	}{
		{1, 12.706204736432095},
		{2, 4.302652729911275},
		{4, 2.776445105197799},
		{9, 2.262157162740992},
		{29, 2.045229642132703},
		{99, 1.984216951508683},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			near(t, "tQuantile", tQuantile(tt.df), tt.want, 1e-9)
		})
	}
}

func TestMeanCI(t *testing.T) {
	tests := []struct {
		name     string
		xs       []float64
		wantMean float64
		wantCI   [2]float64
	}{
		// mean 31/6; sd = √(34.8333/5) = 2.48328; h = t(5) · sd/√6.
		// scipy.stats.t.interval(0.95, 5, loc=mean, scale=sem).
		{"six values", []float64{2, 4, 4, 5, 7, 9}, 5.166666666666667, [2]float64{2.560626853862447, 7.772706479470887}},
		{"empty", nil, 0, [2]float64{0, 0}},
		{"one value has no spread", []float64{0.7}, 0.7, [2]float64{0.7, 0.7}},
		{"constant", []float64{3, 3, 3}, 3, [2]float64{3, 3}},
		// 9 of 16 is exactly 0.5625: the mean is a plain sum over n.
		// scipy.stats.t.interval(0.95, 15, loc=0.5625, scale=sem).
		{"binary", []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, 0.5625, [2]float64{0.2894892680815832, 0.8355107319184167}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ci := MeanCI(tt.xs)
			near(t, "mean", m, tt.wantMean, tol)
			nearCI(t, ci, tt.wantCI, 1e-9)
		})
	}
}

func TestIsBinary(t *testing.T) {
	tests := []struct {
		name string
		xs   [][]float64
		want bool
	}{
		{"none", nil, true},
		{"empty", [][]float64{{}}, true},
		{"zeros and ones", [][]float64{{0, 1, 1}, {1, 0}}, true},
		{"a half in the second", [][]float64{{0, 1}, {0.5}}, false},
		{"two", [][]float64{{2}}, false},
		{"minus one", [][]float64{{-1}}, false},
		{"NaN", [][]float64{{math.NaN()}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsBinary(tt.xs...); got != tt.want {
				t.Errorf("IsBinary(%v) = %v, want %v", tt.xs, got, tt.want)
			}
		})
	}
}

// table expands a paired 2×2 table into outcome vectors: a pairs where both
// succeed, b where only the candidate does, c where only the baseline
// does, d where neither does.
func table(a, b, c, d int) (cand, base []float64) {
	add := func(n int, x, y float64) {
		for range n {
			cand = append(cand, x)
			base = append(base, y)
		}
	}
	add(a, 1, 1)
	add(b, 1, 0)
	add(c, 0, 1)
	add(d, 0, 0)
	return cand, base
}

func TestMcNemarExactP(t *testing.T) {
	// scipy.stats.binomtest(b, b+c, 0.5).pvalue. By hand for b=8, c=2:
	// P(X ≤ 2 | n=10) = (1 + 10 + 45)/1024 = 56/1024, doubled = 0.109375.
	tests := []struct {
		b, c int
		want float64
	}{
		{8, 2, 0.109375},
		{2, 8, 0.109375},
		{5, 5, 1},
		{0, 6, 0.03125}, // 2 · (1/2)^6
		{1, 0, 1},
		{0, 0, 1},
		{10, 1, 0.01171875}, // 2 · 12/2048
		{30, 12, 0.0079158973348967265},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			cand, base := table(7, tt.b, tt.c, 3)
			_, _, p := McNemar(cand, base)
			near(t, "p", p, tt.want, 1e-12)
			near(t, "exactBinomialTwoSided", exactBinomialTwoSided(tt.b, tt.b+tt.c), tt.want, 1e-12)
		})
	}
}

func TestMcNemarNewcombe(t *testing.T) {
	tests := []struct {
		name       string
		a, b, c, d int
		wantDelta  float64
		wantCI     [2]float64
	}{
		// Cavo et al. (2012), the worked example of Fagerland, Lydersen and
		// Laake's "Statistical Analysis of Contingency Tables", ch. 8: the
		// R package contingencytables prints "-0.0621 (95% CI -0.1186 to
		// -0.0046)" for Newcombe's square-and-add interval. The full
		// digits are from the Python transcription.
		{"Cavo 2012", 59, 6, 16, 80, -0.062111801242236, [2]float64{-0.118621195638710, -0.004625113933050}},
		// Bentur et al. (2009), Fagerland et al.'s other example.
		{"Bentur 2009", 1, 1, 7, 12, -0.285714285714286, [2]float64{-0.506920226686141, -0.025559124164860}},
		// Altman et al., "Statistics with Confidence" (2000), table 6.2.
		{"Altman table 6.2", 14, 5, 0, 22, 0.121951219512195, [2]float64{0.011483241383033, 0.226492684351211}},
		// A fine-tune that wins 8 and loses 2 of 100 mostly agreeing
		// samples; the plain φ would give (−0.0005, 0.1192).
		{"mostly concordant", 40, 8, 2, 50, 0.06, [2]float64{-0.003520567998722, 0.122182751274697}},
		// No discordant pairs: a zero difference, but not a certain one.
		{"all concordant", 9, 0, 0, 1, 0, [2]float64{-0.277576892385009, 0.277576892385009}},
		// A zero margin (the baseline never succeeds): φ is taken as 0.
		{"zero margin", 0, 3, 0, 7, 0.3, [2]float64{-0.037592434579051, 0.603221852538855}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cand, base := table(tt.a, tt.b, tt.c, tt.d)
			delta, ci, _ := McNemar(cand, base)
			near(t, "delta", delta, tt.wantDelta, 1e-12)
			nearCI(t, ci, tt.wantCI, 1e-12)
			// Swapping the variants mirrors the interval.
			mdelta, mci, _ := McNemar(base, cand)
			near(t, "mirrored delta", mdelta, -tt.wantDelta, 1e-12)
			nearCI(t, mci, [2]float64{-tt.wantCI[1], -tt.wantCI[0]}, 1e-12)
		})
	}
}

func TestMcNemarEmpty(t *testing.T) {
	d, ci, p := McNemar(nil, nil)
	if d != 0 || ci != [2]float64{} || p != 1 {
		t.Errorf("McNemar(nil, nil) = %v, %v, %v, want 0, [0 0], 1", d, ci, p)
	}
}

func TestMcNemarBounds(t *testing.T) {
	// Every table up to n = 12: the interval holds the estimate, stays
	// within [−1, 1], and the p-value is a probability.
	for a := range 5 {
		for b := range 5 {
			for c := range 5 {
				for d := range 5 {
					if a+b+c+d == 0 {
						continue
					}
					cand, base := table(a, b, c, d)
					delta, ci, p := McNemar(cand, base)
					if ci[0] < -1 || ci[1] > 1 || ci[0] > delta+1e-12 || ci[1] < delta-1e-12 {
						t.Errorf("table %d %d %d %d: delta %v outside ci %v", a, b, c, d, delta, ci)
					}
					if p <= 0 || p > 1 || math.IsNaN(p) {
						t.Errorf("table %d %d %d %d: p = %v", a, b, c, d, p)
					}
				}
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 10}
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		// numpy.percentile(xs, q): rank q/100 · (n−1), interpolated.
		{"min", xs, 0, 1},
		{"p25", xs, 25, 2},
		{"median", xs, 50, 3},
		{"p90", xs, 90, 7.6}, // rank 3.6: 4 + 0.6 · (10 − 4)
		{"p95", xs, 95, 8.8}, // rank 3.8: 4 + 0.8 · 6
		{"max", xs, 100, 10},
		{"empty", nil, 50, 0},
		{"single", []float64{7}, 95, 7},
		{"even count median", []float64{1, 2, 3, 4}, 50, 2.5},
		// Out of range is clamped rather than indexing past the slice.
		{"above 100", xs, 150, 10},
		{"below 0", xs, -5, 1},
		{"NaN", xs, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			near(t, "Percentile", Percentile(tt.sorted, tt.p), tt.want, 1e-12)
		})
	}
}

func TestAgreement(t *testing.T) {
	// A 2×2 example worked by hand: 10 items, the raters agree on 7
	// (4 yes/yes, 3 no/no); a says yes 6 times, b 5 times.
	// po = 0.7; pe = 0.6·0.5 + 0.4·0.5 = 0.5; kappa = (0.7−0.5)/(1−0.5) = 0.4.
	a := []string{"y", "y", "y", "y", "y", "y", "n", "n", "n", "n"}
	b := []string{"y", "y", "y", "y", "n", "n", "y", "n", "n", "n"}
	po, k, ok := Agreement(a, b)
	if !ok || math.Abs(po-0.7) > 1e-12 || math.Abs(k-0.4) > 1e-12 {
		t.Errorf("Agreement = %v, %v, %v; want 0.7, 0.4", po, k, ok)
	}
	// Perfect agreement over three labels: kappa 1.
	c := []string{"w", "l", "t", "w"}
	if po, k, ok := Agreement(c, c); !ok || po != 1 || k != 1 {
		t.Errorf("identical raters: %v, %v, %v", po, k, ok)
	}
	// One label for everything on both sides: chance agreement is 1 and
	// kappa is undefined.
	d := []string{"t", "t", "t"}
	if _, _, ok := Agreement(d, d); ok {
		t.Error("kappa defined with one label throughout")
	}
	if _, _, ok := Agreement(nil, nil); ok {
		t.Error("kappa defined on no items")
	}
}
