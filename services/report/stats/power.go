package stats

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"
)

// Planning is at a two-sided 5% level and 80% power.
const (
	planPower = 0.8
	// zPower is the standard normal quantile of planPower, norm.ppf(0.8).
	zPower = 0.8416212335729143
)

// MDEPairedT is the minimum detectable |mean difference| of a paired (or
// one-sample) t-test on n pairs whose differences have standard deviation
// sd: the difference it detects with 80% power at a two-sided 5% level.
// Power is that of the noncentral t (statsmodels TTestPower semantics):
// P(T > t₀.₉₇₅) + P(T < −t₀.₉₇₅) for T noncentral t on n − 1 degrees of
// freedom with noncentrality (difference/sd)·√n. NaN when n < 2 or sd is
// not positive and finite.
func MDEPairedT(sd float64, n int) float64 {
	if n < 2 || !(sd > 0) || math.IsInf(sd, 0) {
		return math.NaN()
	}
	return mdeUnit(n) * sd
}

// mdeUnits caches mdeUnit by n: a report asks for the same few n many
// times, and each costs a root search on the noncentral t.
var mdeUnits sync.Map // int → float64

// mdeUnit is the MDE of a paired t-test on n ≥ 2 pairs in units of the
// differences' SD.
func mdeUnit(n int) float64 {
	if v, ok := mdeUnits.Load(n); ok {
		return v.(float64)
	}
	df := n - 1
	crit := critT(df)
	f := func(nc float64) float64 { return tPower(nc, df, crit) - planPower }
	hi := crit + zPower
	for f(hi) < 0 {
		hi *= 2
	}
	u := rootIllinois(f, 0, hi) / math.Sqrt(float64(n))
	mdeUnits.Store(n, u)
	return u
}

// critTs caches critT by degrees of freedom.
var critTs sync.Map // int → float64

// critT is tQuantile(df), the two-sided 95% Student t quantile, cached.
func critT(df int) float64 {
	if v, ok := critTs.Load(df); ok {
		return v.(float64)
	}
	q := tQuantile(df)
	critTs.Store(df, q)
	return q
}

// NPairedT is the smallest number of pairs with which a paired t-test
// detects a mean difference of effect (differences with standard deviation
// sd) with 80% power at a two-sided 5% level; power as in [MDEPairedT]. It
// is 0 when effect ≤ 0 or sd is not positive and finite. Beyond 10⁹ pairs
// it is the normal approximation ((z_α + z_β)·sd/effect)².
func NPairedT(sd, effect float64) int {
	if !(effect > 0) || !(sd > 0) || math.IsInf(sd, 0) || math.IsInf(effect, 0) {
		return 0
	}
	d := effect / sd
	// The t-test never beats the z-test, whose n is the normal
	// approximation below: start there and double until enough. Past a
	// billion pairs the two agree to far less than a pair.
	z := sq((z95 + zPower) / d)
	if z > 1e9 {
		return ceilInt(z)
	}
	enough := func(n int) bool { return tPower(d*math.Sqrt(float64(n)), n-1, tQuantile(n-1)) >= planPower }
	// n = 1 is never enough: there is no test.
	return firstN(1, max(2, int(math.Ceil(z))), enough)
}

// firstN is the smallest n above lo for which ok holds, ok being false at
// lo and staying true once true: hi is doubled until ok(hi), then the gap
// is bisected. 0 when ok holds nowhere below 2⁴¹.
func firstN(lo, hi int, ok func(int) bool) int {
	for !ok(hi) {
		if hi > 1<<40 {
			return 0
		}
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// tPower is the power of a two-sided 5% t-test on df degrees of freedom
// whose statistic has noncentrality nc; crit is critT(df).
func tPower(nc float64, df int, crit float64) float64 {
	t := distuv.NoncentralT{Nu: float64(df), Mu: nc}
	return (1 - t.CDF(crit)) + t.CDF(-crit)
}

// MDEMcNemar is the minimum detectable |p₁₀ − p₀₁| of McNemar's test on n
// pairs of which a share psi is discordant, with 80% power at a two-sided
// 5% level: Connor's (1987, Biometrics 43:207) sample-size formula
// n = (z_α·√ψ + z_β·√(ψ − δ²))² / δ² solved for δ in closed form. NaN when
// psi is not in (0, 1] or n < 4 (below z_α² no δ solves it).
//
// δ may come out above psi, which no data with that discordance can show:
// the test cannot then detect any difference at this n.
func MDEMcNemar(psi float64, n int) float64 {
	if !(psi > 0) || psi > 1 || float64(n) < z95*z95 {
		return math.NaN()
	}
	// Squaring √n·δ − z_α√ψ = z_β√(ψ − δ²) gives a quadratic in δ whose
	// larger root is the one with √n·δ ≥ z_α√ψ.
	s2 := float64(n)
	s := math.Sqrt(s2)
	b2 := zPower * zPower
	return math.Sqrt(psi) * (s*z95 + zPower*math.Sqrt(s2+b2-z95*z95)) / (s2 + b2)
}

// NMcNemar is the number of pairs McNemar's test needs to detect a
// difference effect = |p₁₀ − p₀₁| with 80% power at a two-sided 5% level
// when a share psi of pairs is discordant: Connor's (1987) formula, rounded
// up. It is 0 when effect ≤ 0, psi is not in (0, 1], or effect > psi (no
// pairs with that discordance differ by that much).
func NMcNemar(psi, effect float64) int {
	if !(effect > 0) || !(psi > 0) || psi > 1 || effect > psi {
		return 0
	}
	n := sq(z95*math.Sqrt(psi)+zPower*math.Sqrt(psi-effect*effect)) / (effect * effect)
	return ceilInt(n)
}

// NToDecide is the number of samples at which an interval of half-width
// halfWidth at n samples would shrink below dist, its half-width scaling as
// 1/√n: the smallest n' with halfWidth·√(n/n') < dist. It is 0 when dist ≤ 0
// or n or halfWidth is not positive. A halfWidth already below dist gives
// an n' ≤ n.
func NToDecide(n int, halfWidth, dist float64) int {
	if !(dist > 0) || n <= 0 || !(halfWidth > 0) || math.IsInf(halfWidth, 0) {
		return 0
	}
	need := float64(n) * sq(halfWidth/dist)
	if need >= math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	// Rounding may leave an exact square such as 40 as 39.999…: count it
	// as reached, since at exactly need the half-width equals dist.
	return int(math.Floor(need*(1+1e-12))) + 1
}

// ceilInt is ⌈x⌉ as an int, capped far below overflow.
func ceilInt(x float64) int {
	if x >= math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int(math.Ceil(x))
}

// rootIllinois finds the root of f, increasing on [lo, hi] with f(lo) ≤ 0
// ≤ f(hi), by the Illinois variant of regula falsi (Dowell & Jarratt 1971),
// to a relative 1e-14.
func rootIllinois(f func(float64) float64, lo, hi float64) float64 {
	flo, fhi := f(lo), f(hi)
	side := 0
	for range 200 {
		if flo == 0 {
			return lo
		}
		if fhi == 0 || hi-lo <= 1e-14*math.Abs(hi) {
			return hi
		}
		x := (lo*fhi - hi*flo) / (fhi - flo)
		if !(x > lo && x < hi) {
			x = lo + (hi-lo)/2
		}
		fx := f(x)
		switch {
		case fx < 0:
			lo, flo = x, fx
			if side == -1 {
				fhi /= 2
			}
			side = -1
		case fx > 0:
			hi, fhi = x, fx
			if side == 1 {
				flo /= 2
			}
			side = 1
		default:
			return x
		}
	}
	return lo + (hi-lo)/2
}

// NWilson is the smallest number of trials at which the Wilson interval of
// a proportion that stays at p lies wholly on p's side of threshold — the
// n that would decide a check on a rate. Wilson's interval is pulled
// towards ½ and is not symmetric, so scaling its half-width by 1/√n
// ([NToDecide]) underestimates it. 0 when p is on the threshold (no n
// decides it) or either is outside [0, 1].
func NWilson(p, threshold float64) int {
	if !(p >= 0 && p <= 1 && threshold >= 0 && threshold <= 1) || math.Abs(p-threshold) < 1e-12 {
		return 0
	}
	clears := func(n int) bool {
		ci := Wilson(p, n)
		if p > threshold {
			return ci[0] > threshold
		}
		return ci[1] < threshold
	}
	return firstN(0, 1, clears)
}

// MDEFromHalfWidth is the minimum detectable effect (80% power, two-sided
// 5%) of an estimate whose 95% interval has half-width h, its standard
// error taken as h/z₀.₉₇₅: (z₀.₉₇₅ + z₀.₈)·SE (Bloom 1995, Eval Rev 19:547),
// for an estimate with no MDE of its own.
func MDEFromHalfWidth(h float64) float64 { return (z95 + zPower) * h / z95 }
