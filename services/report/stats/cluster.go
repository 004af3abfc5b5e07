package stats

import (
	"math"
	"slices"
)

// Reasons a clustered statistic is undefined.
const (
	undefClusterLength = "scores and cluster ids differ in length"
	undefOneCluster    = "fewer than 2 clusters: no variance between clusters to test against"
	undefNoClusterVar  = "no variance between clusters: every cluster's mean is the overall mean"
	undefSameValue     = "every value is the same: no variance"
	undefUnknownTest   = "unknown paired test (want mcnemar or paired_t)"
)

// MeanClustered is the mean of xs with its 95% interval when the values
// come in clusters (clusters[i] is the cluster of xs[i]; an empty id makes
// the value a cluster of its own): the CR1 cluster-robust standard error,
// as statsmodels' OLS on a constant with cov_type="cluster", and a t
// quantile on g − 1 degrees of freedom, g the number of clusters. With
// fewer than two clusters, or no variance between them, undefined says why
// and ci is NaN.
func MeanClustered(xs []float64, clusters []string) (mean float64, ci [2]float64, g int, undefined string) {
	c := clusterMean(xs, clusters)
	if c.why != "" {
		return c.mean, nan2, c.g, c.why
	}
	h := critT(c.g-1) * c.se
	return c.mean, [2]float64{c.mean - h, c.mean + h}, c.g, ""
}

// PairedClustered is the paired comparison cand − base when the pairs come
// in clusters (clusters[i] is the cluster of pair i; an empty id makes the
// pair a cluster of its own): the mean difference with the CR1
// cluster-robust standard error (G/(G−1) small-sample factor) and a t test
// and interval on G − 1 degrees of freedom, G the number of clusters, as
// Inspect AI's stderr(cluster=...) and Cameron & Miller (2015, J Hum
// Resour 50:317). It suits any metric; test ("mcnemar" or "paired_t") only
// names the comparison, and for "mcnemar" requires 0/1 scores and fills in
// Discordant. MDE is that of a t-test on G − 1 degrees of freedom with
// this standard error.
func PairedClustered(cand, base []float64, clusters []string, test string) Paired {
	r := Paired{N: len(cand), Delta: math.NaN(), CI: nan2, P: math.NaN(), Test: test, MDE: math.NaN()}
	if test != nameMcNemar && test != namePairedT {
		r.Undefined = undefUnknownTest
		return r
	}
	d, why := differences(cand, base)
	if why == "" && test == nameMcNemar && !IsBinary(cand, base) {
		why = undefNotBinary
	}
	if why != "" {
		r.Undefined = why
		return r
	}
	if test == nameMcNemar && !slices.ContainsFunc(d, func(x float64) bool { return x != 0 }) {
		// No discordant pair: no variance within or between clusters for
		// CR1, but Newcombe's interval is defined and its clustering moot,
		// so the comparison is the unclustered one, as it is without
		// clusters.
		u := McNemarTest(cand, base)
		u.Clusters = distinctClusters(clusters)
		return u
	}
	if test == nameMcNemar {
		for _, x := range d {
			switch x {
			case 1:
				r.Discordant[0]++
			case -1:
				r.Discordant[1]++
			}
		}
	}
	_, r.SD = meanSD(d)
	c := clusterMean(d, clusters)
	r.Delta, r.Clusters = c.mean, c.g
	if c.why == "" || c.why == undefOneCluster || c.why == undefNoClusterVar || c.why == undefSameValue {
		// Equal differences leave no variance within or between
		// clusters: say so as the unclustered test does.
		if s := spreadUndefined(d, c.mean, r.SD); r.N >= 2 && s != "" {
			c.why = s
		}
	}
	if c.why != "" {
		r.Undefined = c.why
		return r
	}
	h := critT(c.g-1) * c.se
	r.CI = [2]float64{r.Delta - h, r.Delta + h}
	r.P = tTwoSidedP(r.Delta/c.se, c.g-1)
	r.MDE = mdeClustered(c)
	return r
}

// mdeClustered is the minimum detectable |mean| of a t-test on g − 1
// degrees of freedom with standard error se: [MDEPairedT] with the
// standard deviation that gives se over g.
func mdeClustered(c clustered) float64 {
	return MDEPairedT(c.se*math.Sqrt(float64(c.g)), c.g)
}

// clustered is a mean with its CR1 standard error over g clusters, or why
// the standard error is undefined.
type clustered struct {
	mean, se float64
	g        int
	why      string
}

// clusterMean is the mean of xs and its CR1 cluster-robust standard error
// (Liang & Zeger 1986; Cameron & Miller 2015): √(G/(G−1)·Σ_g e_g²)/N with
// e_g the sum of the residuals x − mean in cluster g. For a mean (K = 1)
// this is statsmodels' default cluster correction G/(G−1)·(N−1)/(N−K).
func clusterMean(xs []float64, clusters []string) clustered {
	c := clustered{mean: math.NaN(), se: math.NaN()}
	switch {
	case len(xs) != len(clusters):
		c.why = undefClusterLength
		return c
	case len(xs) == 0:
		c.why = undefNoPairs
		return c
	}
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			c.why = undefNotFinite
			return c
		}
	}
	var sd float64
	c.mean, sd = meanSD(xs)
	if math.IsInf(c.mean, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) {
		c.why = undefOverflow
		return c
	}
	// Not sized by len(xs): clusters are far fewer than values.
	index := map[string]int{}
	sums := make([]float64, 0, len(xs))
	for i, x := range xs {
		id := clusters[i]
		k, ok := index[id]
		if !ok || id == "" {
			k = len(sums)
			sums = append(sums, 0)
			if id != "" {
				index[id] = k
			}
		}
		sums[k] += x - c.mean
	}
	c.g = len(sums)
	if c.g < 2 {
		c.why = undefOneCluster
		return c
	}
	var ss float64
	for _, e := range sums {
		ss += e * e
	}
	gf := float64(c.g)
	c.se = math.Sqrt(gf/(gf-1)*ss) / float64(len(xs))
	switch {
	case math.IsInf(c.se, 0):
		c.why = undefOverflow
	case len(xs) > 1 && !(sd > 1e-12*math.Abs(c.mean)):
		c.why = undefSameValue
	case !(c.se > 1e-12*math.Abs(c.mean)):
		c.why = undefNoClusterVar
	}
	return c
}

// distinctClusters counts the clusters of ids, an empty id a cluster of
// its own.
func distinctClusters(ids []string) int {
	seen := map[string]bool{}
	g := 0
	for _, id := range ids {
		if id == "" {
			g++
		} else if !seen[id] {
			seen[id] = true
			g++
		}
	}
	return g
}
