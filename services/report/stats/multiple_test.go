package stats

import (
	"math"
	"testing"
)

func TestBenjaminiHochberg(t *testing.T) {
	// Debian python3-statsmodels 0.13.5:
	// statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1], with
	// the NaN p-values removed from p (and put back as NaN).
	nan := math.NaN()
	tests := []struct {
		name string
		p    []float64
		want []float64
	}{
		{"four", []float64{0.01, 0.04, 0.03, 0.2}, []float64{0.04, 0.05333333333333334, 0.05333333333333334, 0.2}},
		{"ten", []float64{0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216},
			[]float64{0.01, 0.04, 0.084, 0.084, 0.084, 0.1, 0.10571428571428572, 0.216, 0.216, 0.216}},
		{"one", []float64{0.5}, []float64{0.5}},
		{"capped", []float64{0.9, 0.8, 0.95}, []float64{0.95, 0.95, 0.95}},
		{"ties", []float64{0.02, 0.02, 0.02}, []float64{0.02, 0.02, 0.02}},
		{"NaN left out", []float64{0.01, nan, 0.03, 0.2, nan}, []float64{0.03, nan, 0.045, 0.2, nan}},
		{"all NaN", []float64{nan}, []float64{nan}},
		{"empty", nil, []float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BenjaminiHochberg(tt.p)
			if len(got) != len(tt.want) {
				t.Fatalf("len = %d, want %d", len(got), len(tt.want))
			}
			for i := range got {
				checkRel(t, "q", got[i], tt.want[i], 1e-15)
			}
		})
	}
}
