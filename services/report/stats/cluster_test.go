package stats

import (
	"math"
	"strconv"
	"testing"
)

// ids turns cluster numbers into cluster ids.
func ids(g ...int) []string {
	s := make([]string, len(g))
	for i, x := range g {
		s[i] = "c" + strconv.Itoa(x)
	}
	return s
}

// The clustered values come from Debian's python3-statsmodels 0.13.5 and
// python3-scipy 1.10.1, with y and the cluster numbers g as numpy arrays:
//
//	se = statsmodels.api.OLS(y, numpy.ones(len(y))).fit(cov_type="cluster",
//	     cov_kwds={"groups": g}).bse[0]
//	ci = y.mean() ∓ scipy.stats.t.ppf(0.975, G-1)*se
//	p = 2*scipy.stats.t.sf(abs(y.mean()/se), G-1)
//	mde = se*sqrt(G)*brentq(lambda e: TTestPower().power(effect_size=e, nobs=G,
//	      alpha=0.05, alternative="two-sided") - 0.8, 1e-6, 100, xtol=1e-16, rtol=8.9e-16)
//
// with y = cand − base for the paired comparisons.

func TestMeanClustered(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		g    []int
		mean float64
		ci   [2]float64
		want int
	}{
		{"three clusters", []float64{0.2, 0.4, 0.9, 0.7, 0.1, 0.3, 0.5}, []int{0, 0, 1, 1, 2, 2, 2},
			0.4428571428571429, [2]float64{-0.22008807639379252, 1.1058023621080784}, 3},
		{"five clusters", []float64{1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0}, []int{0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4},
			0.5833333333333334, [2]float64{0.4652626075246082, 0.7014040591420585}, 5},
		{"two clusters, interleaved", []float64{3.5, 2.0, 4.0, 7.5}, []int{0, 1, 1, 0},
			4.25, [2]float64{-11.63275592054012, 20.13275592054012}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mean, ci, g, why := MeanClustered(tt.xs, ids(tt.g...))
			if why != "" || g != tt.want {
				t.Fatalf("MeanClustered: g %d, undefined %q; want %d clusters, defined", g, why, tt.want)
			}
			checkRel(t, "mean", mean, tt.mean, 1e-12)
			checkRelCI(t, "ci", ci, tt.ci, 1e-9)
		})
	}
}

func TestMeanClusteredUndefined(t *testing.T) {
	tests := []struct {
		name     string
		xs       []float64
		clusters []string
		g        int
		why      string
	}{
		{"no values", nil, nil, 0, undefNoPairs},
		{"lengths differ", []float64{1, 2}, ids(0), 0, undefClusterLength},
		{"one cluster", []float64{1, 2, 3}, ids(0, 0, 0), 1, undefOneCluster},
		{"one value", []float64{1}, ids(0), 1, undefOneCluster},
		{"same value", []float64{0.7, 0.7, 0.7, 0.7}, ids(0, 0, 1, 1), 2, undefSameValue},
		{"equal cluster means", []float64{0, 1, 1, 0}, ids(0, 0, 1, 1), 2, undefNoClusterVar},
		{"NaN", []float64{0, math.NaN()}, ids(0, 1), 0, undefNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ci, g, why := MeanClustered(tt.xs, tt.clusters)
			if why != tt.why || g != tt.g {
				t.Errorf("g, undefined = %d, %q; want %d, %q", g, why, tt.g, tt.why)
			}
			if !math.IsNaN(ci[0]) || !math.IsNaN(ci[1]) {
				t.Errorf("ci = %v, want NaN", ci)
			}
		})
	}
}

func TestPairedClustered(t *testing.T) {
	tests := []struct {
		test       string
		cand, base []float64
		g          []int
		delta      float64
		ci         [2]float64
		p, sd, mde float64
		clusters   int
		discordant [2]int
	}{
		{"paired_t",
			[]float64{0.9, 0.8, 0.75, 0.6, 0.95, 0.7, 0.85, 0.5},
			[]float64{0.8, 0.82, 0.7, 0.55, 0.9, 0.72, 0.8, 0.45},
			[]int{0, 0, 1, 1, 2, 2, 3, 3},
			0.038749999999999986, [2]float64{0.012462691714240363, 0.06503730828575961},
			0.01831335090940778, 0.0401559460105225, 0.03515412675451853, 4, [2]int{}},
		{"mcnemar",
			[]float64{1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1},
			[]float64{0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0},
			[]int{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3},
			0.3333333333333333, [2]float64{-0.09974275454177933, 0.766409421208446},
			0.09172111331157197, 0.6513389472789296, 0.5791544543858868, 4, [2]int{5, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.test, func(t *testing.T) {
			got := PairedClustered(tt.cand, tt.base, ids(tt.g...), tt.test)
			if got.Undefined != "" || got.Test != tt.test || got.Clusters != tt.clusters || got.N != len(tt.cand) || got.Discordant != tt.discordant {
				t.Fatalf("PairedClustered = %+v", got)
			}
			checkRel(t, "Delta", got.Delta, tt.delta, 1e-12)
			checkRelCI(t, "CI", got.CI, tt.ci, 1e-9)
			checkRel(t, "P", got.P, tt.p, 1e-9)
			checkRel(t, "SD", got.SD, tt.sd, 1e-12)
			checkRel(t, "MDE", got.MDE, tt.mde, mdeRel)
		})
	}
}

func TestPairedClusteredSingletonsAreUnclustered(t *testing.T) {
	// With one pair per cluster, CR1 is the usual standard error and G − 1
	// is n − 1: the clustered test is the paired t-test. An empty id is a
	// cluster of its own.
	cand := []float64{0.9, 0.8, 0.75, 0.6, 0.95, 0.7, 0.85, 0.5}
	base := []float64{0.8, 0.82, 0.7, 0.55, 0.9, 0.72, 0.8, 0.45}
	want := PairedTTest(cand, base)
	for name, clusters := range map[string][]string{
		"distinct ids": ids(0, 1, 2, 3, 4, 5, 6, 7),
		"empty ids":    make([]string, len(cand)),
	} {
		t.Run(name, func(t *testing.T) {
			got := PairedClustered(cand, base, clusters, "paired_t")
			if got.Clusters != len(cand) {
				t.Errorf("Clusters = %d, want %d", got.Clusters, len(cand))
			}
			checkRelCI(t, "CI", got.CI, want.CI, 1e-12)
			checkRel(t, "P", got.P, want.P, 1e-12)
			checkRel(t, "MDE", got.MDE, want.MDE, 1e-12)
		})
	}
}

func TestPairedClusteredUndefined(t *testing.T) {
	tests := []struct {
		name       string
		cand, base []float64
		clusters   []string
		test       string
		why        string
	}{
		{"unknown test", []float64{1, 0}, []float64{0, 1}, ids(0, 1), "wilcoxon", undefUnknownTest},
		{"no pairs", nil, nil, nil, "paired_t", undefNoPairs},
		{"cand and base differ", []float64{1, 0}, []float64{0}, ids(0, 1), "paired_t", undefLength},
		{"clusters differ", []float64{1, 0}, []float64{0, 1}, ids(0), "paired_t", undefClusterLength},
		{"not binary", []float64{1, 0.5}, []float64{0, 1}, ids(0, 1), "mcnemar", undefNotBinary},
		{"one cluster", []float64{1, 0.5, 0.2}, []float64{0, 1, 0.1}, ids(3, 3, 3), "paired_t", undefOneCluster},
		{"same difference", []float64{1, 0.5, 0.2}, []float64{0.9, 0.4, 0.1}, ids(0, 1, 1), "paired_t", undefConstant},
		{"same difference, one cluster", []float64{1, 0.5, 0.2}, []float64{0.9, 0.4, 0.1}, ids(0, 0, 0), "paired_t", undefConstant},
		{"equal cluster means", []float64{1, 0, 1, 0}, []float64{0, 1, 0, 1}, ids(0, 0, 1, 1), "mcnemar", undefNoClusterVar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PairedClustered(tt.cand, tt.base, tt.clusters, tt.test)
			if got.Undefined != tt.why {
				t.Errorf("Undefined = %q, want %q", got.Undefined, tt.why)
			}
			if !math.IsNaN(got.P) || !math.IsNaN(got.CI[0]) || !math.IsNaN(got.MDE) {
				t.Errorf("P, CI, MDE = %v, %v, %v; want NaN", got.P, got.CI, got.MDE)
			}
		})
	}
}

// FuzzPairedClustered checks that no scores or clustering make the
// clustered comparison panic or return a defined result that is not a
// proper interval around Delta with p in [0, 1].
func FuzzPairedClustered(f *testing.F) {
	f.Add(0.5, 0.25, 1.0, 0.0, 3.0, 2.5, 1.0, 0.0, []byte{0, 0, 1, 1})
	f.Add(1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, []byte{0, 1, 2, 3})
	f.Add(1.7e308, 0.0, -1.7e308, 0.0, 1.7e308, 1.0, 1.0, 0.0, []byte{0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, c0, b0, c1, b1, c2, b2, c3, b3 float64, g []byte) {
		cand, base := []float64{c0, c1, c2, c3}, []float64{b0, b1, b2, b3}
		clusters := make([]string, min(len(g), len(cand)))
		for i := range clusters {
			clusters[i] = string(rune('a' + g[i]%4))
		}
		for _, test := range []string{"paired_t", "mcnemar"} {
			r := PairedClustered(cand, base, clusters, test)
			if r.Undefined != "" {
				continue
			}
			if !(r.CI[0] <= r.Delta && r.Delta <= r.CI[1]) || !(r.P >= 0 && r.P <= 1) || r.Clusters < 2 {
				t.Errorf("%s: Delta %v, CI %v, P %v, clusters %d", test, r.Delta, r.CI, r.P, r.Clusters)
			}
		}
	})
}

// TestPairedClusteredNoDiscordance: with no discordant pair a clustered
// McNemar comparison is the unclustered one — Newcombe's interval is
// defined there and clustering has nothing to correct — so a suite does
// not become undecidable because it clusters.
func TestPairedClusteredNoDiscordance(t *testing.T) {
	cand, base := []float64{1, 0, 1, 1, 0, 1}, []float64{1, 0, 1, 1, 0, 1}
	got := PairedClustered(cand, base, []string{"a", "a", "b", "b", "", "c"}, "mcnemar")
	want := McNemarTest(cand, base)
	if got.Undefined != "" || got.CI != want.CI || got.P != want.P || got.Clusters != 4 || got.Delta != 0 {
		t.Errorf("clustered %+v, want the unclustered %+v with 4 clusters", got, want)
	}
}
