package stats

import (
	"fmt"
	"testing"
)

// kappaLabels expands a contingency table (rater a in rows, rater b in
// columns, categories cats in order) into the two raters' label lists.
func kappaLabels(table [][]int, cats []string) (a, b []string) {
	for i, r := range table {
		for j, n := range r {
			for range n {
				a = append(a, cats[i])
				b = append(b, cats[j])
			}
		}
	}
	return a, b
}

// The want values are statsmodels 0.13.5 (Debian python3-statsmodels) on
// the table, made with
//
//	r = statsmodels.stats.inter_rater.cohens_kappa(np.array(table))
//	w = statsmodels.stats.inter_rater.cohens_kappa(np.array(table), wt='linear')
//	(r.kappa, r.kappa_low, r.kappa_upp), (w.kappa, w.kappa_low, w.kappa_upp)
//
// kappa_low and kappa_upp are kappa ∓ norm.isf(0.025)·std_kappa, unclipped.
// For "one rater one label", weighted, statsmodels' variance is −6.8e-17
// (a rounding error below 0) and its interval NaN; here it is 0 and the
// interval [0, 0].
var kappaGolden = []struct {
	name   string
	table  [][]int
	kappa  float64
	ci     [2]float64
	wkappa float64
	wci    [2]float64
}{
	{
		name:  "judge orders",
		table: [][]int{{12, 3, 2}, {4, 9, 3}, {1, 2, 14}},
		kappa: 0.54927884615384603, ci: [2]float64{0.3601621902499349, 0.73839550205775717},
		wkappa: 0.60456942003514946, wci: [2]float64{0.42130804606930605, 0.78783079400099287},
	},
	{
		name:  "two labels",
		table: [][]int{{20, 5}, {10, 15}},
		kappa: 0.39999999999999991, ci: [2]float64{0.15109229047666101, 0.64890770952333887},
		wkappa: 0.40000000000000002, wci: [2]float64{0.15109229047666106, 0.64890770952333898},
	},
	{
		name:  "perfect",
		table: [][]int{{5, 0, 0}, {0, 7, 0}, {0, 0, 3}},
		kappa: 1, ci: [2]float64{1, 1},
		wkappa: 1, wci: [2]float64{1, 1},
	},
	{
		name:  "one rater one label",
		table: [][]int{{0, 0, 0}, {0, 0, 0}, {4, 6, 10}},
		kappa: 0, ci: [2]float64{0, 0},
		wkappa: 0, wci: [2]float64{0, 0},
	},
	{
		name:  "worse than chance",
		table: [][]int{{0, 6}, {5, 1}},
		kappa: -0.83333333333333337, ci: [2]float64{-1.141712714067336, -0.52495395259933075},
		wkappa: -0.83333333333333326, wci: [2]float64{-1.1417127140673351, -0.52495395259933153},
	},
	{
		name:  "empty middle",
		table: [][]int{{7, 0, 2}, {0, 0, 0}, {3, 0, 8}},
		kappa: 0.5, ci: [2]float64{0.12235710159163665, 0.87764289840836329},
		wkappa: 0.5, wci: [2]float64{0.12235710159163665, 0.87764289840836329},
	},
}

func kappaCats(k int) []string {
	if k == 2 {
		return []string{"loss", "win"}
	}
	return []string{"loss", "tie", "win"}
}

func TestKappaCI(t *testing.T) {
	const tol = 1e-12
	for _, tt := range kappaGolden {
		t.Run(tt.name, func(t *testing.T) {
			a, b := kappaLabels(tt.table, kappaCats(len(tt.table)))
			kappa, ci, ok := KappaCI(a, b)
			if !ok {
				t.Fatalf("KappaCI: ok = false, want a kappa")
			}
			near(t, "kappa", kappa, tt.kappa, tol)
			nearCI(t, ci, tt.ci, tol)
			if _, want, _ := Agreement(a, b); kappa != want {
				t.Errorf("kappa = %v, Agreement's kappa = %v", kappa, want)
			}
		})
	}
}

func TestWeightedKappaCI(t *testing.T) {
	const tol = 1e-12
	for _, tt := range kappaGolden {
		t.Run(tt.name, func(t *testing.T) {
			cats := kappaCats(len(tt.table))
			a, b := kappaLabels(tt.table, cats)
			kappa, ci, ok := WeightedKappaCI(a, b, cats)
			if !ok {
				t.Fatalf("WeightedKappaCI: ok = false, want a kappa")
			}
			near(t, "kappa", kappa, tt.wkappa, tol)
			nearCI(t, ci, tt.wci, tol)
		})
	}
}

func TestWeightedKappaOrderMatters(t *testing.T) {
	// The same labels under two orders: a one-step disagreement (loss vs
	// tie) costs half a two-step one (loss vs win), so moving tie to an
	// end changes the weighted kappa but not the unweighted one.
	a, b := kappaLabels([][]int{{12, 3, 2}, {4, 9, 3}, {1, 2, 14}}, []string{"loss", "tie", "win"})
	k1, _, _ := WeightedKappaCI(a, b, []string{"loss", "tie", "win"})
	k2, _, _ := WeightedKappaCI(a, b, []string{"tie", "loss", "win"})
	if k1 == k2 {
		t.Errorf("weighted kappa is %v under both orders, want it to depend on the order", k1)
	}
}

func TestKappaUndefined(t *testing.T) {
	order := []string{"loss", "tie", "win"}
	tests := []struct {
		name  string
		a, b  []string
		order []string
	}{
		{"no items", nil, nil, order},
		{"lengths differ", []string{"win", "tie"}, []string{"win"}, order},
		{"both one label", []string{"win", "win", "win"}, []string{"win", "win", "win"}, order},
		{"label not in order", []string{"win", "tie"}, []string{"win", "draw"}, order},
		{"order of one", []string{"win", "win"}, []string{"win", "win"}, []string{"win"}},
		{"order repeats", []string{"win", "tie"}, []string{"win", "tie"}, []string{"tie", "win", "tie"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, ok := WeightedKappaCI(tt.a, tt.b, tt.order); ok {
				t.Errorf("WeightedKappaCI(%v, %v, %v): ok = true, want false", tt.a, tt.b, tt.order)
			}
		})
	}
	for _, tt := range tests[:3] {
		t.Run(fmt.Sprint("unweighted ", tt.name), func(t *testing.T) {
			if _, _, ok := KappaCI(tt.a, tt.b); ok {
				t.Errorf("KappaCI(%v, %v): ok = true, want false", tt.a, tt.b)
			}
		})
	}
}
