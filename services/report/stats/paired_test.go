package stats

import (
	"math"
	"testing"
)

// relClose reports whether got is within rel of want, relative to |want|
// (absolute below 1); NaN matches only NaN.
func relClose(got, want, rel float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	return math.Abs(got-want) <= rel*math.Max(1, math.Abs(want))
}

func checkRel(t *testing.T, name string, got, want, rel float64) {
	t.Helper()
	if !relClose(got, want, rel) {
		t.Errorf("%s = %.17g, want %.17g (±%g relative)", name, got, want, rel)
	}
}

func checkRelCI(t *testing.T, name string, got, want [2]float64, rel float64) {
	t.Helper()
	checkRel(t, name+"[0]", got[0], want[0], rel)
	checkRel(t, name+"[1]", got[1], want[1], rel)
}

// mdeRel is the tolerance on a minimum detectable effect: the noncentral t
// CDF (gonum's AS 243) is good to about 1e-11 absolute, which moves the
// solved effect by a few 1e-11 relative.
const mdeRel = 1e-9

func TestPairedTTest(t *testing.T) {
	// The values come from Debian's python3-scipy 1.10.1 and
	// python3-statsmodels 0.13.5, with d = c − b as numpy arrays:
	//   delta = d.mean(); ci = delta ∓ scipy.stats.t.ppf(0.975, n-1)*scipy.stats.sem(d)
	//   p = scipy.stats.ttest_rel(c, b).pvalue; sd = d.std(ddof=1)
	//   mde = sd*scipy.optimize.brentq(lambda e: statsmodels.stats.power.TTestPower().power(
	//         effect_size=e, nobs=n, alpha=0.05, alternative="two-sided") - 0.8,
	//         1e-6, 100, xtol=1e-16, rtol=8.9e-16)
	// (brentq on TTestPower's power rather than its solve_power, which stops
	// about 1e-6 short of the root).
	tests := []struct {
		name       string
		cand, base []float64
		delta      float64
		ci         [2]float64
		p, sd, mde float64
	}{
		{
			"eight pairs",
			[]float64{0.9, 0.8, 0.75, 0.6, 0.95, 0.7, 0.85, 0.5},
			[]float64{0.8, 0.82, 0.7, 0.55, 0.9, 0.72, 0.8, 0.45},
			0.038749999999999986, [2]float64{0.005178789015639743, 0.07232121098436023},
			0.0293642137199868, 0.0401559460105225, 0.04642166610692551,
		},
		{
			"two pairs",
			[]float64{3, 5}, []float64{1, 2},
			2.5, [2]float64{-3.8531023682160477, 8.853102368216048},
			0.12566591637800234, 0.7071067811865476, 8.167004435124925,
		},
		{
			"worse",
			[]float64{1, 2, 3, 4, 5, 6}, []float64{1.5, 2.5, 2.0, 5.0, 6.5, 6.1},
			-0.4333333333333333, [2]float64{-1.3279220760165367, 0.46125540934987},
			0.268241155071404, 0.8524474568362947, 1.2228740515454717,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PairedTTest(tt.cand, tt.base)
			if got.Undefined != "" || got.Test != "paired_t" || got.N != len(tt.cand) || got.Clusters != 0 {
				t.Fatalf("PairedTTest = %+v, want a defined paired_t on %d pairs", got, len(tt.cand))
			}
			checkRel(t, "Delta", got.Delta, tt.delta, 1e-12)
			checkRelCI(t, "CI", got.CI, tt.ci, 1e-9)
			checkRel(t, "P", got.P, tt.p, 1e-9)
			checkRel(t, "SD", got.SD, tt.sd, 1e-12)
			checkRel(t, "MDE", got.MDE, tt.mde, mdeRel)
		})
	}
}

func TestPairedTTestUndefined(t *testing.T) {
	tests := []struct {
		name       string
		cand, base []float64
		delta      float64
		why        string
	}{
		{"no pairs", nil, nil, math.NaN(), undefNoPairs},
		{"one pair", []float64{1}, []float64{0.5}, 0.5, undefOnePair},
		{"lengths differ", []float64{1, 2}, []float64{1}, math.NaN(), undefLength},
		{"same nonzero difference", []float64{0.3, 0.5, 0.9}, []float64{0.2, 0.4, 0.8}, 0.1, undefConstant},
		{"no pair differs", []float64{0.3, 0.5, 0.9}, []float64{0.3, 0.5, 0.9}, 0, undefNoChange},
		{"NaN score", []float64{0.3, math.NaN()}, []float64{0.3, 0.5}, math.NaN(), undefNotFinite},
		{"infinite score", []float64{0.3, 0.5}, []float64{math.Inf(1), 0.5}, math.NaN(), undefNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PairedTTest(tt.cand, tt.base)
			if got.Undefined != tt.why {
				t.Errorf("Undefined = %q, want %q", got.Undefined, tt.why)
			}
			checkRel(t, "Delta", got.Delta, tt.delta, 1e-12)
			if !math.IsNaN(got.P) || !math.IsNaN(got.CI[0]) || !math.IsNaN(got.CI[1]) || !math.IsNaN(got.MDE) {
				t.Errorf("P, CI, MDE = %v, %v, %v; want NaN for an undefined test", got.P, got.CI, got.MDE)
			}
			if o := Decide(got.CI, 0, true); o != OutcomeInconclusive {
				t.Errorf("Decide on an undefined test = %q, want inconclusive", o)
			}
		})
	}
}

// mcnemarTable is a paired 0/1 sample with a pairs (1, 1), b (cand 1,
// base 0), c (cand 0, base 1) and d (0, 0).
func mcnemarTable(a, b, c, d int) (cand, base []float64) {
	add := func(n int, x, y float64) {
		for range n {
			cand, base = append(cand, x), append(base, y)
		}
	}
	add(a, 1, 1)
	add(b, 1, 0)
	add(c, 0, 1)
	add(d, 0, 0)
	return cand, base
}

func TestMcNemarTest(t *testing.T) {
	// Debian python3-statsmodels 0.13.5 and python3-scipy 1.10.1:
	//   exact = statsmodels.stats.contingency_tables.mcnemar([[a, b], [c, d]], exact=True).pvalue
	//   midp = exact - scipy.stats.binom.pmf(min(b, c), b+c, .5) when b != c,
	//          1 - 0.5*scipy.stats.binom.pmf(b, b+c, .5) when b == c (Fagerland et al.'s
	//          supplement), 1 when b+c == 0
	//   sd = numpy.std([0]*a + [1]*b + [-1]*c + [0]*d, ddof=1)
	//   mde = scipy.optimize.brentq(lambda dl: (za*sqrt(psi) + zb*sqrt(max(0, psi-dl*dl)))**2/dl**2 - n,
	//         1e-9, sqrt(psi), xtol=1e-16, rtol=8.9e-16), psi = (b+c)/n,
	//         za = scipy.stats.norm.ppf(0.975), zb = scipy.stats.norm.ppf(0.8)
	// The interval is McNemar's (Newcombe's method 10), tested in stats_test.go.
	tests := []struct {
		a, b, c, d     int
		midP, sd, mde  float64
		wantP1, wantNC bool
	}{
		{10, 5, 1, 20, 0.12499999999999997, 0.39840953644479793, 0.18444597347589303, false, false},
		{40, 12, 4, 44, 0.04904174804687501, 0.3938927711338648, 0.11074737685109165, false, false},
		{3, 4, 4, 5, 0.86328125, 0.7302967433402214, 0.4595506039008221, false, false},
		{0, 0, 0, 10, 1, 0, math.NaN(), true, true},
		{5, 0, 7, 1, 0.0078125, 0.5188745216627709, 0.5197933341655298, false, false},
		{100, 37, 21, 342, 0.03634317995705389, 0.33942070182246004, 0.04257193772204869, false, false},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			cand, base := mcnemarTable(tt.a, tt.b, tt.c, tt.d)
			got := McNemarTest(cand, base)
			n := tt.a + tt.b + tt.c + tt.d
			delta, ci, _ := McNemar(cand, base)
			if got.Undefined != "" || got.Test != "mcnemar" || got.N != n || got.Discordant != [2]int{tt.b, tt.c} {
				t.Fatalf("McNemarTest = %+v, want a defined mcnemar on %d pairs with discordant %d, %d", got, n, tt.b, tt.c)
			}
			checkRel(t, "Delta", got.Delta, float64(tt.b-tt.c)/float64(n), 1e-15)
			checkRel(t, "Delta", got.Delta, delta, 0)
			checkRelCI(t, "CI", got.CI, ci, 0)
			checkRel(t, "P", got.P, tt.midP, 1e-12)
			checkRel(t, "SD", got.SD, tt.sd, 1e-12)
			checkRel(t, "MDE", got.MDE, tt.mde, 1e-12)
			if o := Decide(got.CI, -0.5, true); tt.b+tt.c == 0 && o != OutcomePass {
				t.Errorf("no discordant pairs: Decide(CI %v, −0.5) = %q, want pass", got.CI, o)
			}
		})
	}
}

func TestMcNemarTestUndefined(t *testing.T) {
	tests := []struct {
		name       string
		cand, base []float64
		why        string
	}{
		{"no pairs", nil, nil, undefNoPairs},
		{"lengths differ", []float64{1, 0}, []float64{1}, undefLength},
		{"not binary", []float64{1, 0.5}, []float64{1, 0}, undefNotBinary},
		{"NaN", []float64{1, math.NaN()}, []float64{1, 0}, undefNotFinite},
		{"one pair", []float64{1}, []float64{0}, undefOnePair},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := McNemarTest(tt.cand, tt.base)
			if got.Undefined != tt.why {
				t.Errorf("Undefined = %q, want %q", got.Undefined, tt.why)
			}
			if !math.IsNaN(got.P) || !math.IsNaN(got.CI[0]) || !math.IsNaN(got.MDE) {
				t.Errorf("P, CI, MDE = %v, %v, %v; want NaN", got.P, got.CI, got.MDE)
			}
		})
	}
}

func TestMcNemarMidPBelowExact(t *testing.T) {
	// The mid-p value is below the exact one by the point probability, and
	// stays in (0, 1].
	for n := 1; n <= 60; n++ {
		for b := 0; b <= n; b++ {
			mid := mcNemarMidP(b, n-b)
			exact := signTestP(b, n-b)
			if !(mid > 0 && mid <= 1 && mid < exact) {
				t.Fatalf("b=%d c=%d: mid-p %v, exact %v; want 0 < mid-p < exact ≤ 1", b, n-b, mid, exact)
			}
		}
	}
}

// FuzzPairedTTest checks that no input makes the paired t-test panic or
// return a defined result that is not a proper interval around Delta with
// p in [0, 1].
func FuzzPairedTTest(f *testing.F) {
	f.Add(0.5, 0.25, 1.0, 0.0, 3.0, 2.5)
	f.Add(1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
	f.Add(1e300, -1e300, 0.0, 1e-300, 5.0, 5.0)
	f.Add(1.7e308, 0.0, 1.6e308, 0.0, 1.7e308, 1.0)
	f.Fuzz(func(t *testing.T, c0, b0, c1, b1, c2, b2 float64) {
		for _, test := range []func(c, b []float64) Paired{PairedTTest, McNemarTest} {
			r := test([]float64{c0, c1, c2}, []float64{b0, b1, b2})
			if r.Undefined != "" {
				continue
			}
			if !(r.CI[0] <= r.Delta && r.Delta <= r.CI[1]) || !(r.P >= 0 && r.P <= 1) {
				t.Errorf("%s: Delta %v, CI %v, P %v", r.Test, r.Delta, r.CI, r.P)
			}
		}
	})
}
