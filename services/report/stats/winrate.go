package stats

import "math"

// WinRate is a judge's verdicts on pairs (candidate against baseline) as
// per-pair scores: 1 for a win, 0.5 for a tie, 0 for a loss.
//
// When Undefined is not "", CI is NaN (see [Paired]).
type WinRate struct {
	N, Wins, Losses, Ties int
	// Rate is (Wins + Ties/2)/N, the mean per-pair score.
	Rate float64
	// CI is the 95% t interval on the per-pair scores, clamped to [0, 1].
	CI [2]float64
	// Undefined says why CI is undefined (fewer than 2 pairs, every pair
	// scored the same); "" when it is defined.
	Undefined string
	// Decisive is Wins/(Wins + Losses), the win rate without ties; NaN
	// when every pair is a tie.
	Decisive float64
	// DecisiveCI is the 95% Wilson interval of Decisive; NaN when every
	// pair is a tie.
	DecisiveCI [2]float64
	// SignP is the exact two-sided sign test of Wins against Losses; 1
	// when every pair is a tie.
	SignP float64
	// Clusters is the number of clusters of a clustered win rate, else 0.
	Clusters int
	// MDE is the smallest |Rate − 0.5| the t-test on the scores would
	// detect with 80% power at a two-sided 5% level, at this N and SD; NaN
	// when it is undefined.
	MDE float64
	// SD is the sample standard deviation of the per-pair scores (0 when
	// N < 2): what a plan for a larger run needs.
	SD float64
}

// Reasons a win rate's interval is undefined.
const (
	undefNegativeCount = "a count of verdicts is negative"
	undefNotVerdict    = "a score is not 0, 0.5 or 1"
	undefSameVerdict   = "every pair has the same verdict: no variance to test against"
)

// WinRateOf is the win rate of wins, losses and ties with the 95% t
// interval on the per-pair scores (the standard error of the mean score
// that AlpacaEval reports; Dubois et al. 2024, arXiv:2404.04475), the
// decisive rate with its Wilson interval, and the sign test.
//
// Ties count as half a win in Rate and in its interval, which therefore
// narrows as ties grow instead of treating (W + T/2)/N as a proportion of
// N Bernoulli trials, whose Wilson interval is too wide when most pairs
// are ties (each tie is a certain 0.5, not a coin toss).
func WinRateOf(wins, losses, ties int) WinRate {
	r := winRateCounts(wins, losses, ties)
	if r.Undefined != "" {
		return r
	}
	n := float64(r.N)
	// The sample SD of W ones, T halves and L zeros about their mean.
	ss := float64(wins)*sq(1-r.Rate) + float64(ties)*sq(0.5-r.Rate) + float64(losses)*sq(r.Rate)
	sd := math.Sqrt(ss / (n - 1))
	r.SD = sd
	if !(sd > 1e-12) {
		r.Undefined = undefSameVerdict
		return r
	}
	se := sd / math.Sqrt(n)
	h := critT(r.N-1) * se
	r.CI = [2]float64{clamp01(r.Rate - h), clamp01(r.Rate + h)}
	r.MDE = MDEPairedT(sd, r.N)
	return r
}

// WinRateClustered is [WinRateOf] for per-pair scores (1, 0.5 or 0) whose
// pairs come in clusters (clusters[i] is the cluster of scores[i]; an empty
// id makes the pair a cluster of its own): Rate's interval uses the CR1
// cluster-robust standard error and a t on G − 1 degrees of freedom, as
// [MeanClustered]. The decisive rate, its Wilson interval and the sign test
// stay those of the counts, which ignore the clusters.
func WinRateClustered(scores []float64, clusters []string) WinRate {
	var w, l, t int
	for _, s := range scores {
		switch s {
		case 1:
			w++
		case 0.5:
			t++
		case 0:
			l++
		default:
			r := winRateCounts(0, 0, 0)
			r.N, r.Undefined = len(scores), undefNotVerdict
			return r
		}
	}
	r := winRateCounts(w, l, t)
	if r.Undefined != "" {
		return r
	}
	c := clusterMean(scores, clusters)
	r.Clusters = c.g
	switch {
	case c.why == undefSameValue:
		r.Undefined = undefSameVerdict
		return r
	case c.why != "":
		r.Undefined = c.why
		return r
	}
	h := critT(c.g-1) * c.se
	r.CI = [2]float64{clamp01(r.Rate - h), clamp01(r.Rate + h)}
	r.MDE = mdeClustered(c)
	return r
}

// winRateCounts fills in a WinRate from its counts: the rate, the decisive
// rate with its interval and the sign test, with CI and MDE NaN and
// Undefined set when N < 2.
func winRateCounts(wins, losses, ties int) WinRate {
	r := WinRate{
		N: wins + losses + ties, Wins: wins, Losses: losses, Ties: ties,
		Rate: math.NaN(), CI: nan2, Decisive: math.NaN(), DecisiveCI: nan2, SignP: math.NaN(), MDE: math.NaN(),
	}
	switch {
	case wins < 0 || losses < 0 || ties < 0:
		r.Undefined = undefNegativeCount
		return r
	case r.N == 0:
		r.Undefined = undefNoPairs
		r.SignP = 1
		return r
	}
	r.Rate = (float64(wins) + float64(ties)/2) / float64(r.N)
	r.SignP = signTestP(wins, losses)
	if dec := wins + losses; dec > 0 {
		r.Decisive = float64(wins) / float64(dec)
		// Wilson (1927) score interval, as statsmodels proportion_confint(method="wilson").
		r.DecisiveCI = Wilson(r.Decisive, dec)
	}
	if r.N < 2 {
		r.Undefined = undefOnePair
	}
	return r
}

// signTestP is the exact two-sided sign test of w wins against l losses
// (binomial at 1/2, as scipy.stats.binomtest): twice the smaller tail,
// capped at 1; 1 when w + l = 0.
func signTestP(w, l int) float64 { return exactBinomialTwoSided(w, w+l) }
