package stats

import (
	"math"
	"testing"
)

func TestWinRateOf(t *testing.T) {
	// Debian python3-scipy 1.10.1 and python3-statsmodels 0.13.5, with
	// s = numpy.array([1.0]*w + [0.0]*l + [0.5]*t), n = len(s):
	//   rate = s.mean(); ci = rate ∓ scipy.stats.t.ppf(0.975, n-1)*s.std(ddof=1)/sqrt(n), clamped to [0, 1]
	//   decisive ci = statsmodels.stats.proportion.proportion_confint(w, w+l, alpha=0.05, method="wilson")
	//   signP = scipy.stats.binomtest(w, w+l, 0.5).pvalue
	//   mde = s.std(ddof=1)*brentq(lambda e: TTestPower().power(effect_size=e, nobs=n,
	//         alpha=0.05, alternative="two-sided") - 0.8, 1e-6, 100, xtol=1e-16, rtol=8.9e-16)
	tests := []struct {
		w, l, t    int
		rate       float64
		ci         [2]float64
		decisive   float64
		decisiveCI [2]float64
		signP, mde float64
	}{
		{30, 20, 50, 0.55, [2]float64{0.4802025425519397, 0.6197974574480604},
			0.6, [2]float64{0.4618143774758935, 0.7239161026974344}, 0.20263875106454066, 0.09951826302319243},
		{7, 2, 1, 0.75, [2]float64{0.446031764780373, 1},
			0.7777777777777778, [2]float64{0.45258896910698887, 0.9367748928821533}, 0.1796875, 0.4232192023765419},
		{45, 5, 0, 0.9, [2]float64{0.8138753470933197, 0.9861246529066804},
			0.9, [2]float64{0.7863976856252034, 0.9565242350681095}, 4.209852022540872e-09, 0.12248594630727296},
		{3, 1, 96, 0.51, [2]float64{0.4901578304849132, 0.5298421695150868},
			0.75, [2]float64{0.30064184258240184, 0.9544127391902995}, 0.625, 0.02829126327735678},
		{1, 0, 1, 0.75, [2]float64{0, 1},
			1, [2]float64{0.2065493143772374, 1}, 1, 4.0835022175624625},
		{10, 10, 0, 0.5, [2]float64{0.2599136752745949, 0.740086324725405},
			0.5, [2]float64{0.2992980081982123, 0.7007019918017877}, 1, 0.3387994202292572},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			got := WinRateOf(tt.w, tt.l, tt.t)
			if got.Undefined != "" || got.N != tt.w+tt.l+tt.t || got.Wins != tt.w || got.Losses != tt.l || got.Ties != tt.t || got.Clusters != 0 {
				t.Fatalf("WinRateOf(%d, %d, %d) = %+v", tt.w, tt.l, tt.t, got)
			}
			checkRel(t, "Rate", got.Rate, tt.rate, 1e-15)
			checkRelCI(t, "CI", got.CI, tt.ci, 1e-9)
			checkRel(t, "Decisive", got.Decisive, tt.decisive, 1e-15)
			checkRelCI(t, "DecisiveCI", got.DecisiveCI, tt.decisiveCI, 1e-12)
			checkRel(t, "SignP", got.SignP, tt.signP, 1e-12)
			checkRel(t, "MDE", got.MDE, tt.mde, mdeRel)
		})
	}
}

func TestWinRateOfUndefined(t *testing.T) {
	tests := []struct {
		name     string
		w, l, t  int
		rate     float64
		why      string
		decisive float64
		signP    float64
	}{
		{"no pairs", 0, 0, 0, math.NaN(), undefNoPairs, math.NaN(), 1},
		{"one pair", 1, 0, 0, 1, undefOnePair, 1, 1},
		{"all ties", 0, 0, 40, 0.5, undefSameVerdict, math.NaN(), 1},
		{"all wins", 12, 0, 0, 1, undefSameVerdict, 1, 0.000488281250},
		{"negative", -1, 3, 0, math.NaN(), undefNegativeCount, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WinRateOf(tt.w, tt.l, tt.t)
			if got.Undefined != tt.why {
				t.Errorf("Undefined = %q, want %q", got.Undefined, tt.why)
			}
			checkRel(t, "Rate", got.Rate, tt.rate, 1e-15)
			checkRel(t, "Decisive", got.Decisive, tt.decisive, 1e-15)
			// scipy.stats.binomtest(12, 12, 0.5).pvalue = 0.00048828125.
			checkRel(t, "SignP", got.SignP, tt.signP, 1e-12)
			if !math.IsNaN(got.CI[0]) || !math.IsNaN(got.CI[1]) || !math.IsNaN(got.MDE) {
				t.Errorf("CI, MDE = %v, %v; want NaN", got.CI, got.MDE)
			}
			if tt.w+tt.l == 0 && !math.IsNaN(got.DecisiveCI[0]) {
				t.Errorf("DecisiveCI = %v with no decisive pair, want NaN", got.DecisiveCI)
			}
		})
	}
}

func TestWinRateClustered(t *testing.T) {
	// As in cluster_test.go: statsmodels OLS(y, ones).fit(cov_type="cluster")
	// on the scores, t.ppf(0.975, G-1), clamped to [0, 1].
	scores := []float64{1, 0.5, 1, 0, 1, 1, 0.5, 0.5, 0, 1, 1, 0.5, 0, 1}
	got := WinRateClustered(scores, ids(0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5))
	if got.Undefined != "" || got.Clusters != 6 || got.N != 14 || got.Wins != 7 || got.Losses != 3 || got.Ties != 4 {
		t.Fatalf("WinRateClustered = %+v", got)
	}
	checkRel(t, "Rate", got.Rate, 0.6428571428571429, 1e-15)
	checkRelCI(t, "CI", got.CI, [2]float64{0.5143548195556623, 0.7713594661586235}, 1e-9)
	checkRel(t, "MDE", got.MDE, 0.17565854479384574, mdeRel)
	counts := WinRateOf(7, 3, 4)
	checkRelCI(t, "DecisiveCI", got.DecisiveCI, counts.DecisiveCI, 0)
	checkRel(t, "SignP", got.SignP, counts.SignP, 0)
}

func TestWinRateClusteredUndefined(t *testing.T) {
	tests := []struct {
		name     string
		scores   []float64
		clusters []string
		why      string
	}{
		{"no pairs", nil, nil, undefNoPairs},
		{"not a verdict", []float64{1, 0.25}, ids(0, 1), undefNotVerdict},
		{"one cluster", []float64{1, 0, 0.5}, ids(0, 0, 0), undefOneCluster},
		{"all ties", []float64{0.5, 0.5, 0.5}, ids(0, 1, 2), undefSameVerdict},
		{"clusters differ", []float64{1, 0}, ids(0), undefClusterLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WinRateClustered(tt.scores, tt.clusters)
			if got.Undefined != tt.why {
				t.Errorf("Undefined = %q, want %q", got.Undefined, tt.why)
			}
			if !math.IsNaN(got.CI[0]) || !math.IsNaN(got.MDE) {
				t.Errorf("CI, MDE = %v, %v; want NaN", got.CI, got.MDE)
			}
		})
	}
}
