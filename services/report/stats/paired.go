package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Paired is a paired comparison of a candidate against the baseline on the
// same samples: cand − base.
//
// When Undefined is not "", the test cannot be run on these data (too few
// pairs, no variance, ...): CI and P are then NaN, so that a gate check
// deciding on CI with [Decide] comes out inconclusive rather than on a
// zero-width interval that claims a certainty the data do not give.
type Paired struct {
	N     int
	Delta float64
	CI    [2]float64
	// P is the two-sided p-value; NaN when Undefined != "".
	P float64
	// Undefined says why the test is undefined; "" when it is defined.
	Undefined string
	// Test is "mcnemar" or "paired_t"; a clustered comparison keeps the
	// name and sets Clusters.
	Test string
	// SD is the sample standard deviation of the paired differences (for
	// McNemar, of the differences in {−1, 0, 1}).
	SD float64
	// Discordant is McNemar's b (cand 1, base 0) and c (cand 0, base 1).
	Discordant [2]int
	// Clusters is the number of clusters of a clustered comparison, else 0.
	Clusters int
	// MDE is the smallest |Delta| this comparison would detect with 80%
	// power at a two-sided 5% level, at this N and variance; NaN when it
	// is undefined.
	MDE float64
}

// Names of the paired tests, as in [Paired].Test.
const (
	nameMcNemar = "mcnemar"
	namePairedT = "paired_t"
)

// Reasons a paired test is undefined, as in [Paired].Undefined.
const (
	undefLength    = "cand and base differ in length"
	undefNoPairs   = "no pairs"
	undefOnePair   = "fewer than 2 pairs: no variance to test against"
	undefNotFinite = "a score is not a finite number"
	undefNotBinary = "a score is not 0 or 1"
	undefConstant  = "every pair differs by the same amount: no variance to test against"
	undefNoChange  = "no pair differs: no variance to test against"
	undefOverflow  = "scores too large: their sum overflows"
)

var nan2 = [2]float64{math.NaN(), math.NaN()}

// PairedTTest is Student's paired t-test of cand − base (Student 1908; as
// scipy.stats.ttest_rel): the mean difference, its 95% t interval on n − 1
// degrees of freedom and the two-sided p-value.
//
// Fewer than two pairs, or differences that are all the same, leave the
// test Undefined. That includes differences that are all zero: a candidate
// that scored exactly as the baseline on every sample has Delta 0 but no
// interval, since n identical differences say nothing about how far the
// next n would spread; a gate then stays inconclusive on it instead of
// passing or failing on a zero-width interval.
func PairedTTest(cand, base []float64) Paired {
	r := Paired{N: len(cand), Delta: math.NaN(), Test: namePairedT, CI: nan2, P: math.NaN(), MDE: math.NaN()}
	d, why := differences(cand, base)
	if why != "" {
		r.Undefined = why
		return r
	}
	r.Delta, r.SD = meanSD(d)
	if why := spreadUndefined(d, r.Delta, r.SD); why != "" {
		r.Undefined = why
		return r
	}
	n := float64(r.N)
	se := r.SD / math.Sqrt(n)
	h := critT(r.N-1) * se
	r.CI = [2]float64{r.Delta - h, r.Delta + h}
	r.P = tTwoSidedP(r.Delta/se, r.N-1)
	r.MDE = MDEPairedT(r.SD, r.N)
	return r
}

// McNemarTest compares paired 0/1 outcomes: the difference in success rates
// (cand − base) with Newcombe's method-10 interval (see [McNemar]) and the
// McNemar mid-p value (Fagerland, Lydersen & Laake 2013, BMC Med Res
// Methodol 13:91): the exact conditional two-sided p on the b + c
// discordant pairs minus the point probability P(B = min(b, c)), and
// 1 − P(B = b)/2 when b = c. With no discordant pair, Delta is 0 and P is 1.
//
// MDE is Connor's (1987) for this n at the observed discordant share
// (b + c)/n; NaN when no pair is discordant.
func McNemarTest(cand, base []float64) Paired {
	r := Paired{N: len(cand), Delta: math.NaN(), Test: nameMcNemar, CI: nan2, P: math.NaN(), MDE: math.NaN()}
	d, why := differences(cand, base)
	if why == "" && !IsBinary(cand, base) {
		why = undefNotBinary
	}
	if why == "" && len(cand) < 2 {
		why = undefOnePair // as for the paired t: one pair tests nothing
	}
	if why != "" {
		r.Undefined = why
		return r
	}
	for i := range cand {
		switch {
		case cand[i] == 1 && base[i] == 0:
			r.Discordant[0]++
		case cand[i] == 0 && base[i] == 1:
			r.Discordant[1]++
		}
	}
	r.Delta, r.CI, _ = McNemar(cand, base)
	_, r.SD = meanSD(d)
	b, c := r.Discordant[0], r.Discordant[1]
	r.P = mcNemarMidP(b, c)
	r.MDE = MDEMcNemar(float64(b+c)/float64(r.N), r.N)
	return r
}

// differences is cand − base pair by pair, or why it cannot be taken.
func differences(cand, base []float64) ([]float64, string) {
	switch {
	case len(cand) != len(base):
		return nil, undefLength
	case len(cand) == 0:
		return nil, undefNoPairs
	}
	d := make([]float64, len(cand))
	for i := range d {
		d[i] = cand[i] - base[i]
		if math.IsNaN(d[i]) || math.IsInf(d[i], 0) {
			return nil, undefNotFinite
		}
	}
	return d, ""
}

// spreadUndefined says why a t statistic on d (mean m, SD sd) is undefined,
// or "" when it is defined.
func spreadUndefined(d []float64, m, sd float64) string {
	if math.IsInf(m, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) {
		return undefOverflow
	}
	if len(d) < 2 {
		return undefOnePair
	}
	if sd == 0 || sd < 1e-12*math.Abs(m) {
		// The second test catches equal differences whose mean is not
		// exactly representable, which leave a rounding-error SD.
		if m == 0 {
			return undefNoChange
		}
		return undefConstant
	}
	return ""
}

// tTwoSidedP is the two-sided p-value of a t statistic on df degrees of
// freedom.
func tTwoSidedP(t float64, df int) float64 {
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}
	return math.Min(1, 2*dist.Survival(math.Abs(t)))
}

// mcNemarMidP is the McNemar mid-p value of b against c discordant pairs
// (Fagerland, Lydersen & Laake 2013): 2·P(B < k) + P(B = k) for
// k = min(b, c) < (b + c)/2, 1 − P(B = k)/2 when b = c, with B binomial on
// b + c trials at 1/2; 1 when there are no discordant pairs.
func mcNemarMidP(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	pk := halfBinomPMF(k, n)
	if b == c {
		return 1 - pk/2
	}
	below := 0.0
	for i := range k {
		below += halfBinomPMF(i, n)
	}
	return math.Min(1, 2*below+pk)
}

// halfBinomPMF is P(B = k) for B binomial on n trials at p = 1/2.
func halfBinomPMF(k, n int) float64 {
	return math.Exp(logChoose(n, k) - float64(n)*math.Ln2)
}
