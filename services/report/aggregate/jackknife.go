package aggregate

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// jackknifeSE is the delete-a-group jackknife's standard error of a
// statistic (Quenouille 1956, Tukey 1958; with random groups of units,
// Kott 2001): leaveOut[g] is the statistic with group g left out, for
// each of G groups, and the variance is (G−1)/G · Σ (θ₍g₎ − θ̄)². With a
// group per unit and the mean as the statistic it is s/√n.
func jackknifeSE(leaveOut []float64) float64 {
	g := float64(len(leaveOut))
	var mean float64
	for _, x := range leaveOut {
		mean += x
	}
	mean /= g
	var ss float64
	for _, x := range leaveOut {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt((g - 1) / g * ss)
}

// jackknifeInterval is the 95% interval theta ± t·√(se² + extra²): se the
// delete-a-group jackknife's ([jackknifeSE]) over leaveOut, t Student's on
// G−1 degrees of freedom (Kott 2001), extra a standard error the groups
// do not see (a sketch's, [gramSketch]). ok is false with fewer than two
// groups.
func jackknifeInterval(theta float64, leaveOut []float64, extra float64) (ci [2]float64, ok bool) {
	if len(leaveOut) < 2 {
		return ci, false
	}
	se := math.Hypot(jackknifeSE(leaveOut), extra)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(leaveOut) - 1)}.Quantile(0.975)
	return [2]float64{theta - t*se, theta + t*se}, true
}
