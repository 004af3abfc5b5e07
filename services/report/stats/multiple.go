package stats

import (
	"cmp"
	"math"
	"slices"
)

// BenjaminiHochberg is the Benjamini–Hochberg (1995, J R Stat Soc B
// 57:289) false-discovery-rate q-value of each p-value: with the m p-values
// sorted ascending, q₍ᵢ₎ = min over j ≥ i of m·p₍ⱼ₎/j, capped at 1, as
// statsmodels multipletests(method="fdr_bh") gives. A NaN p-value is left
// out of the family (m counts the others) and its q-value is NaN. The
// result is in the order of p.
func BenjaminiHochberg(p []float64) []float64 {
	q := make([]float64, len(p))
	order := make([]int, 0, len(p))
	for i, x := range p {
		if math.IsNaN(x) {
			q[i] = math.NaN()
			continue
		}
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	m := float64(len(order))
	running := 1.0
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		running = math.Min(running, m*p[i]/float64(k+1))
		q[i] = running
	}
	return q
}
