package stats

import (
	"math"
	"slices"
)

// KappaCI is Cohen's kappa of two raters' nominal labels for the same
// items, with its asymptotic 95% interval kappa ± z·se. The interval is not
// clipped to [−1, 1], as statsmodels' kappa_low and kappa_upp are not. ok is
// false when kappa is undefined: no items, a and b of different lengths, or
// both raters gave one and the same label to every item (pe = 1).
func KappaCI(a, b []string) (kappa float64, ci [2]float64, ok bool) {
	if len(a) == 0 || len(a) != len(b) {
		return 0, [2]float64{}, false
	}
	cats := slices.Concat(a, b)
	slices.Sort(cats)
	cats = slices.Compact(cats)
	p, row, col := kappaTable(a, b, cats)
	return kappaOf(p, row, col, len(a))
}

// KappaCounts is [KappaCI] from the two raters' contingency table:
// counts[i][j] items rated category i by the first rater and j by the
// second.
func KappaCounts(counts [][]int) (kappa float64, ci [2]float64, ok bool) {
	k, n := len(counts), 0
	for _, r := range counts {
		if len(r) != k {
			return 0, [2]float64{}, false
		}
		for _, c := range r {
			n += c
		}
	}
	if n == 0 {
		return 0, [2]float64{}, false
	}
	p, row, col := make([][]float64, k), make([]float64, k), make([]float64, k)
	for i := range k {
		p[i] = make([]float64, k)
		for j := range k {
			p[i][j] = float64(counts[i][j]) / float64(n)
			row[i] += p[i][j]
			col[j] += p[i][j]
		}
	}
	return kappaOf(p, row, col, n)
}

// kappaOf is Cohen's kappa and its interval from the table of
// proportions p of n items, with its row and column margins.
func kappaOf(p [][]float64, row, col []float64, n int) (kappa float64, ci [2]float64, ok bool) {
	k := len(p)
	var po, pe float64
	for i := range k {
		po += p[i][i]
		pe += row[i] * col[i]
	}
	if pe >= 1 {
		return 0, [2]float64{}, false
	}
	kappa = (po - pe) / (1 - pe)
	// Large-sample variance of kappa: Fleiss, Cohen & Everitt (1969),
	// "Large sample standard errors of kappa and weighted kappa", as statsmodels.stats.inter_rater.cohens_kappa computes it.
	// An off-diagonal cell (i, j) counts with (p.i + pj.)², the margins
	// crossed.
	var ta, tb float64
	for i := range k {
		ta += p[i][i] * sq(1-(row[i]+col[i])*(1-kappa))
		for j := range k {
			if i != j {
				tb += p[i][j] * sq(col[i]+row[j])
			}
		}
	}
	tb *= sq(1 - kappa)
	tc := sq(kappa - pe*(1-kappa))
	v := (ta + tb - tc) / sq(1-pe) / float64(n)
	return kappa, kappaInterval(kappa, v), true
}

// WeightedKappaCI is the linear-weighted kappa of two raters' ordered
// labels (Cohen 1968, with Cicchetti–Allison weights |i − j| / (k − 1)),
// with its asymptotic 95% interval. order lists the categories, lowest
// first (say loss, tie, win): a disagreement of one step costs half as much
// as one of two steps. ok is false when a label is not in order, order has
// fewer than two categories or repeats one, there are no items, or the
// expected disagreement is 0 (both raters used one and the same label).
func WeightedKappaCI(a, b []string, order []string) (kappa float64, ci [2]float64, ok bool) {
	k := len(order)
	if len(a) == 0 || len(a) != len(b) || k < 2 {
		return 0, [2]float64{}, false
	}
	pos := make(map[string]int, k)
	for i, c := range order {
		if _, dup := pos[c]; dup {
			return 0, [2]float64{}, false
		}
		pos[c] = i
	}
	for i := range a {
		if _, ok := pos[a[i]]; !ok {
			return 0, [2]float64{}, false
		}
		if _, ok := pos[b[i]]; !ok {
			return 0, [2]float64{}, false
		}
	}
	p, row, col := kappaTable(a, b, order)
	// w is the agreement weight 1 − |i − j| / (k − 1) (1 on the diagonal).
	w := func(i, j int) float64 { return 1 - math.Abs(float64(i-j))/float64(k-1) }
	var po, pe float64
	for i := range k {
		for j := range k {
			po += w(i, j) * p[i][j]
			pe += w(i, j) * row[i] * col[j]
		}
	}
	if pe >= 1 {
		return 0, [2]float64{}, false
	}
	kappa = (po - pe) / (1 - pe)
	// Large-sample variance of weighted kappa: Fleiss, Cohen & Everitt
	// (1969), as statsmodels cohens_kappa(table, wt='linear')
	// computes it. wr[i] and wc[j] are the mean weights of row i and
	// column j under chance.
	wr, wc := make([]float64, k), make([]float64, k)
	for i := range k {
		for j := range k {
			wr[i] += col[j] * w(i, j)
			wc[j] += row[i] * w(i, j)
		}
	}
	var ta float64
	for i := range k {
		for j := range k {
			ta += p[i][j] * sq(w(i, j)-(wr[i]+wc[j])*(1-kappa))
		}
	}
	v := (ta - sq(kappa-pe*(1-kappa))) / (sq(1-pe) * float64(len(a)))
	return kappa, kappaInterval(kappa, v), true
}

// kappaTable is the joint distribution of the labels (rater a in rows,
// rater b in columns, in the order of cats) and its row and column margins.
func kappaTable(a, b, cats []string) (p [][]float64, row, col []float64) {
	idx := make(map[string]int, len(cats))
	for i, c := range cats {
		idx[c] = i
	}
	k, n := len(cats), float64(len(a))
	p = make([][]float64, k)
	for i := range p {
		p[i] = make([]float64, k)
	}
	row, col = make([]float64, k), make([]float64, k)
	for i := range a {
		r, c := idx[a[i]], idx[b[i]]
		p[r][c]++
		row[r]++
		col[c]++
	}
	for i := range k {
		for j := range k {
			p[i][j] /= n
		}
		row[i] /= n
		col[i] /= n
	}
	return p, row, col
}

// kappaInterval is kappa ± z·√v; a variance a rounding error below 0 (at
// perfect agreement it is 0 exactly) counts as 0.
func kappaInterval(kappa, v float64) [2]float64 {
	h := z95 * math.Sqrt(math.Max(0, v))
	return [2]float64{kappa - h, kappa + h}
}
