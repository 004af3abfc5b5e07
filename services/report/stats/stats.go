// Package stats holds the statistics of the report: confidence intervals
// for means and proportions, and paired tests of a candidate against the
// baseline. Every function is deterministic — the one resampling, the
// Bradley–Terry bootstrap, takes its seed — so the same scores always give
// the same report.
package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// Wilson is the 95% Wilson score interval of a proportion p̂ over n trials.
// It stays inside [0, 1] and behaves at p̂ = 0 or 1, unlike the Wald
// interval. p̂ may be fractional (a win rate with ties as halves).
func Wilson(p float64, n int) [2]float64 {
	if n <= 0 {
		return [2]float64{0, 0}
	}
	nf := float64(n)
	z2 := z95 * z95
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return [2]float64{clamp01(centre - half), clamp01(centre + half)}
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// MeanCI is the mean of xs and its 95% Student-t interval.
func MeanCI(xs []float64) (float64, [2]float64) {
	n := len(xs)
	if n == 0 {
		return 0, [2]float64{}
	}
	m, sd := meanSD(xs)
	if n < 2 || sd == 0 {
		return m, [2]float64{m, m}
	}
	h := tQuantile(n-1) * sd / math.Sqrt(float64(n))
	return m, [2]float64{m - h, m + h}
}

// MeanCIMoments is [MeanCI] from a sample's size, sum and sum of
// squares, for statistics kept in constant memory. The variance from the
// sums loses precision only when the mean is large against the spread,
// which bounded scores are not.
func MeanCIMoments(n int, sum, sumSq float64) (float64, [2]float64) {
	if n == 0 {
		return 0, [2]float64{}
	}
	m := sum / float64(n)
	if n < 2 {
		return m, [2]float64{m, m}
	}
	v := (sumSq - sum*m) / float64(n-1)
	if v <= 0 {
		return m, [2]float64{m, m}
	}
	h := tQuantile(n-1) * math.Sqrt(v/float64(n))
	return m, [2]float64{m - h, m + h}
}

// meanSD returns the mean (a plain sum over n, so 9 of 16 is exactly
// 0.5625) and the sample standard deviation (two-pass, for accuracy).
func meanSD(xs []float64) (float64, float64) {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func tQuantile(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
}

// IsBinary reports whether every value is 0 or 1: what McNemar's test
// asks of its scores. It checks input; it does not choose a test, which
// follows the metric's type (eval.MetricBinary), not the values a run gave.
func IsBinary(xs ...[]float64) bool {
	for _, s := range xs {
		for _, x := range s {
			if x != 0 && x != 1 {
				return false
			}
		}
	}
	return true
}

// McNemar compares paired 0/1 outcomes: the difference in success rates
// (cand − base), Newcombe's hybrid score interval for a paired difference
// (his method 10), and the exact McNemar p-value (two-sided binomial test on
// the discordant pairs). The report reads [McNemarTest], whose p-value
// is the mid-p, which agrees with this interval where the exact p is too
// conservative.
//
// Method 10 combines the Wilson intervals of the two marginal proportions
// with φ, the correlation of the paired outcomes, whose numerator ad − bc
// Newcombe shrinks towards 0 by n/2 when it is positive (ad − bc > n/2:
// ad − bc − n/2; 0 ≤ ad − bc ≤ n/2: 0; negative: unchanged). That is the
// method as Newcombe and Altman give it in "Statistics with Confidence"
// (2000, ch. 6) and as Fagerland, Lydersen and Laake (2014) implement
// Newcombe's method 10; the plain φ makes the interval too narrow when the
// two variants agree on most samples, as fine-tunes and their base do.
func McNemar(cand, base []float64) (delta float64, ci [2]float64, p float64) {
	var a, b, c, d float64 // a: both 1, b: cand only, c: base only, d: neither
	for i := range cand {
		switch {
		case cand[i] == 1 && base[i] == 1:
			a++
		case cand[i] == 1:
			b++
		case base[i] == 1:
			c++
		default:
			d++
		}
	}
	n := a + b + c + d
	if n == 0 {
		return 0, [2]float64{}, 1
	}
	p1, p2 := (a+b)/n, (a+c)/n
	delta = p1 - p2
	w1, w2 := Wilson(p1, int(n)), Wilson(p2, int(n))
	l1, u1, l2, u2 := w1[0], w1[1], w2[0], w2[1]
	var phi float64
	if den := (a + b) * (c + d) * (a + c) * (b + d); den > 0 {
		num := a*d - b*c
		switch {
		case num > n/2:
			num -= n / 2
		case num >= 0:
			num = 0
		}
		phi = num / math.Sqrt(den)
	}
	lo := delta - math.Sqrt(math.Max(0, sq(p1-l1)-2*phi*(p1-l1)*(u2-p2)+sq(u2-p2)))
	hi := delta + math.Sqrt(math.Max(0, sq(u1-p1)-2*phi*(u1-p1)*(p2-l2)+sq(p2-l2)))
	return delta, [2]float64{math.Max(-1, lo), math.Min(1, hi)}, exactBinomialTwoSided(int(b), int(b+c))
}

func sq(x float64) float64 { return x * x }

// exactBinomialTwoSided is the two-sided p-value of k successes in n trials
// at p = 1/2: twice the smaller tail, capped at 1.
func exactBinomialTwoSided(k, n int) float64 {
	if n == 0 {
		return 1
	}
	k = min(k, n-k)
	tail := 0.0
	for i := 0; i <= k; i++ {
		tail += halfBinomPMF(i, n)
	}
	return math.Min(1, 2*tail)
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// Percentile is the p-th percentile (0..100) of xs by linear interpolation
// between closest ranks (numpy's default, R's type 7); xs must be sorted. A
// p outside 0..100 is clamped to it, and a NaN p gives NaN.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	if math.IsNaN(p) {
		return math.NaN()
	}
	p = math.Max(0, math.Min(100, p))
	if len(sorted) == 1 {
		return sorted[0]
	}
	r := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(r))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (r-float64(lo))*(sorted[hi]-sorted[lo])
}

// BootstrapInterval is the 95% percentile interval of bootstrap estimates
// xs: their 2.5th and 97.5th percentiles by nearest rank (xs is sorted in
// place); zero when there are none.
func BootstrapInterval(xs []float64) [2]float64 {
	if len(xs) == 0 {
		return [2]float64{}
	}
	slices.Sort(xs)
	at := func(p float64) float64 { return xs[int(math.Round(p*float64(len(xs)-1)))] }
	return [2]float64{at(0.025), at(0.975)}
}

// Agreement is how often two raters gave the same label to the same items
// (po) and Cohen's kappa, agreement beyond what their label frequencies
// would give by chance: (po − pe) / (1 − pe). ok is false when kappa is
// undefined: no items, or both raters used one and the same label for all.
func Agreement(a, b []string) (po, kappa float64, ok bool) {
	n := len(a)
	if n == 0 || n != len(b) {
		return 0, 0, false
	}
	ca, cb := map[string]float64{}, map[string]float64{}
	agree := 0.0
	for i := range a {
		ca[a[i]]++
		cb[b[i]]++
		if a[i] == b[i] {
			agree++
		}
	}
	nf := float64(n)
	po = agree / nf
	pe := 0.0
	for k, x := range ca {
		pe += (x / nf) * (cb[k] / nf)
	}
	if pe >= 1 {
		return po, 0, false
	}
	return po, (po - pe) / (1 - pe), true
}
