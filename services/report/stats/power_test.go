package stats

import (
	"math"
	"testing"
)

func TestMDEPairedT(t *testing.T) {
	// Debian python3-statsmodels 0.13.5 and python3-scipy 1.10.1:
	//   sd*scipy.optimize.brentq(lambda e: statsmodels.stats.power.TTestPower().power(
	//   effect_size=e, nobs=n, alpha=0.05, alternative="two-sided") - 0.8, 1e-6, 100,
	//   xtol=1e-16, rtol=8.9e-16)
	tests := []struct {
		sd   float64
		n    int
		want float64
	}{
		{1, 2, 11.549888436114886},
		{1, 3, 3.2640435498141973},
		{1, 5, 1.6819969659555576},
		{1, 10, 0.9960013714362282},
		{1, 30, 0.5292356151129529},
		{1, 100, 0.2829126327735679},
		{0.1, 100, 0.02829126327735679},
		{1, 1000, 0.0886790755942638},
		{1, 10000, 0.028018509036155406},
		{1, 100000, 0.008859464582539875},
		{1, 1, math.NaN()},
		{0, 100, math.NaN()},
		{math.NaN(), 100, math.NaN()},
		{math.Inf(1), 100, math.NaN()},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			checkRel(t, "MDEPairedT", MDEPairedT(tt.sd, tt.n), tt.want, mdeRel)
		})
	}
}

func TestNPairedT(t *testing.T) {
	// The smallest integer n with statsmodels TTestPower().power(effect_size=effect/sd,
	// nobs=n, alpha=0.05, alternative="two-sided") >= 0.8; it is the ceiling of
	// TTestPower().solve_power(effect_size=effect/sd, nobs=None, alpha=0.05, power=0.8)
	// (33.367, 198.151, 504.251, 7065.895, 3.144, 51.009) except for effect 20,
	// where solve_power does not converge and n = 2 already has power 0.8.
	tests := []struct {
		sd, effect float64
		want       int
	}{
		{1, 0.5, 34},
		{1, 0.2, 199},
		{0.4, 0.05, 505},
		{0.3, 0.01, 7066},
		{1, 3, 4},
		{1, 20, 2},
		{0.25, 0.1, 52},
		{1, 0, 0},
		{1, -0.1, 0},
		{0, 0.1, 0},
		{math.NaN(), 0.1, 0},
		{1, math.NaN(), 0},
		// Past 10⁹ the normal approximation: ((norm.ppf(0.975) + norm.ppf(0.8))/1e-5)**2
		// = 78488797343.49 in Python.
		{1, 1e-5, 78488797344},
		{1, 1e-300, math.MaxInt64 / 2},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			if got := NPairedT(tt.sd, tt.effect); got != tt.want {
				t.Errorf("NPairedT(%v, %v) = %d, want %d", tt.sd, tt.effect, got, tt.want)
			}
		})
	}
}

func TestPairedTPlanRoundTrip(t *testing.T) {
	// The MDE at the n planned for an effect is at most that effect, and
	// at one pair fewer it is more.
	for _, effect := range []float64{0.01, 0.03, 0.1, 0.4, 1.5} {
		n := NPairedT(1, effect)
		if mde := MDEPairedT(1, n); mde > effect*(1+1e-12) {
			t.Errorf("effect %v: MDE at n=%d is %v, want ≤ effect", effect, n, mde)
		}
		if mde := MDEPairedT(1, n-1); n > 2 && mde <= effect {
			t.Errorf("effect %v: MDE at n−1=%d is %v, want > effect", effect, n-1, mde)
		}
	}
}

func TestMcNemarPlanning(t *testing.T) {
	// Connor's formula with za = scipy.stats.norm.ppf(0.975), zb = scipy.stats.norm.ppf(0.8):
	// MDE: scipy.optimize.brentq(lambda dl: (za*sqrt(psi) + zb*sqrt(max(0, psi-dl*dl)))**2/dl**2 - n,
	//      1e-9, sqrt(psi), xtol=1e-16, rtol=8.9e-16)
	// n:   math.ceil((za*sqrt(psi) + zb*sqrt(psi - effect**2))**2/effect**2)
	mde := []struct {
		psi  float64
		n    int
		want float64
	}{
		{0.1, 100, 0.08755348893461397},
		{0.3, 50, 0.21193193483662418},
		{0.05, 1000, 0.019786853307726338},
		{0.6, 4, 0.7738068532316743},
		{1, 10, 0.7847532842218066},
		{0.2, 3, math.NaN()},
		{0, 100, math.NaN()},
		{1.5, 100, math.NaN()},
	}
	for _, tt := range mde {
		checkRel(t, "MDEMcNemar", MDEMcNemar(tt.psi, tt.n), tt.want, 1e-12)
	}
	n := []struct {
		psi, effect float64
		want        int
	}{
		{0.1, 0.05, 312},   // 311.587
		{0.3, 0.1, 234},    // 233.095
		{0.05, 0.01, 3923}, // 3922.081
		{0.2, 0.2, 37},     // 36.795
		{0.5, 0.02, 9809},  // 9808.741
		{0.1, 0.2, 0},
		{0.1, 0, 0},
		{0, 0.1, 0},
	}
	for _, tt := range n {
		if got := NMcNemar(tt.psi, tt.effect); got != tt.want {
			t.Errorf("NMcNemar(%v, %v) = %d, want %d", tt.psi, tt.effect, got, tt.want)
		}
	}
}

func TestNToDecide(t *testing.T) {
	tests := []struct {
		n               int
		halfWidth, dist float64
		want            int
	}{
		{100, 0.1, 0.05, 401},  // 100·(0.1/0.05)² = 400, and at 400 the half-width equals dist
		{100, 0.1, 0.03, 1112}, // 1111.1
		{250, 0.04, 0.1, 41},   // already decided: 40
		{100, 0.1, 0, 0},
		{100, 0.1, -0.02, 0},
		{0, 0.1, 0.05, 0},
		{100, math.NaN(), 0.05, 0},
	}
	for _, tt := range tests {
		if got := NToDecide(tt.n, tt.halfWidth, tt.dist); got != tt.want {
			t.Errorf("NToDecide(%d, %v, %v) = %d, want %d", tt.n, tt.halfWidth, tt.dist, got, tt.want)
		}
	}
}

// TestNWilson: the first n whose Wilson interval of a proportion staying at
// p excludes the threshold, against a linear search with statsmodels:
// next(n for n in count(1) if (lo > t if p > t else hi < t)) with
// lo, hi = proportion_confint(p*n, n, method='wilson').
func TestNWilson(t *testing.T) {
	for _, tt := range []struct {
		p, threshold float64
		want         int
	}{
		{31.0 / 36, 0.9, 229},
		{0.95, 0.9, 139},
		{0.7, 0.5, 25},
		{0.1, 0.2, 62},
		{0.5, 0.45, 381},
		{0.5, 0.5, 0}, // on the threshold: no n decides it
		{1.2, 0.5, 0},
	} {
		if got := NWilson(tt.p, tt.threshold); got != tt.want {
			t.Errorf("NWilson(%v, %v) = %d, want %d", tt.p, tt.threshold, got, tt.want)
		}
	}
}
