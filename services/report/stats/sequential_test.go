package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAlwaysValid(t *testing.T) {
	// The want values are the formula in numpy 1.24, with x the looks
	// concatenated and ends the index of each look's last observation:
	//
	//	n = np.arange(1, len(x)+1); m = np.cumsum(x)/n
	//	V = np.maximum(np.cumsum((x-t0)**2)/n, 1e-12)
	//	L = np.sqrt(V/(V+n*tau2))*np.exp(n**2*tau2*(m-t0)**2/(2*V*(V+n*tau2)))
	//	p = np.minimum.accumulate(np.minimum(1, 1/L[ends])); m[ends]
	tests := []struct {
		name         string
		looks        [][]float64
		theta0, tau2 float64
		p, mean      []float64
		alarm        []bool // at alpha = 0.05
	}{
		{
			name:   "candidate pulls ahead",
			looks:  [][]float64{{0.5, 1, -1, 0}, {1, 1, 0.5}, {0, -1, 1, 1, 1}, {1, 0.5, 1}, {1, 1, 1, 0.5, 1, 1}},
			theta0: 0, tau2: 0.1,
			p:     []float64{1, 0.8581636619465558, 0.65102884214949286, 0.29944039332570355, 0.040213624466061339},
			mean:  []float64{0.125, 0.42857142857142855, 0.41666666666666669, 0.5, 0.61904761904761907},
			alarm: []bool{false, false, false, false, true},
		},
		{
			// theta0 other than 0, and an empty window that changes nothing.
			name:   "scores against 0.5",
			looks:  [][]float64{{0.9, 0.8, 0.4}, {0.95, 0.6, 0.8, 0.3}, {}, {0.85, 0.75}},
			theta0: 0.5, tau2: 0.05,
			p:     []float64{1, 0.7949878307501077, 0.7949878307501077, 0.40187100711817303},
			mean:  []float64{0.70000000000000007, 0.6785714285714286, 0.6785714285714286, 0.70555555555555549},
			alarm: []bool{false, false, false, false},
		},
		{
			// One observation is no evidence: Λ ≤ 1 whatever it is.
			name:  "a single look with n = 1",
			looks: [][]float64{{1}}, tau2: 0.1,
			p: []float64{1}, mean: []float64{1}, alarm: []bool{false},
		},
		{
			// Two wins in a row: the sample variance is 0 here, which would
			// alarm at once; the variance about theta0 is 1.
			name:  "two wins",
			looks: [][]float64{{1, 1}}, tau2: 0.1,
			p: []float64{0.92727427047694322}, mean: []float64{1}, alarm: []bool{false},
		},
		{
			name:  "only wins",
			looks: [][]float64{{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}, tau2: 0.1,
			p:     []float64{0.11608571832129451, 0.0022042664033500646, 2.6014595308135244e-05},
			mean:  []float64{1, 1, 1},
			alarm: []bool{false, true, true},
		},
		{
			// Every observation at theta0: the variance is floored and
			// the p-value stays 1.
			name:  "all ties",
			looks: [][]float64{{0, 0, 0}, {0, 0}}, tau2: 0.1,
			p: []float64{1, 1}, mean: []float64{0, 0}, alarm: []bool{false, false},
		},
		{
			name:  "no observations yet",
			looks: [][]float64{{}, {}}, tau2: 0.1,
			p: []float64{1, 1}, mean: []float64{0, 0}, alarm: []bool{false, false},
		},
		{
			name:  "tau2 zero",
			looks: [][]float64{{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
			p:     []float64{1}, mean: []float64{1}, alarm: []bool{false},
		},
		{
			name:  "theta0 not a number",
			looks: [][]float64{{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}, theta0: math.NaN(), tau2: 0.1,
			p: []float64{1}, mean: []float64{math.NaN()}, alarm: []bool{false},
		},
		{
			name:  "tau2 infinite",
			looks: [][]float64{{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}, tau2: math.Inf(1),
			p: []float64{1}, mean: []float64{1}, alarm: []bool{false},
		},
		{
			// Not-a-number observations are skipped: the same as "two wins".
			name:  "NaN skipped",
			looks: [][]float64{{1, math.NaN(), 1, math.Inf(1)}}, tau2: 0.1,
			p: []float64{0.92727427047694322}, mean: []float64{1}, alarm: []bool{false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AlwaysValid(tt.looks, tt.theta0, tt.tau2, 0.05)
			if len(got) != len(tt.looks) {
				t.Fatalf("%d states for %d looks", len(got), len(tt.looks))
			}
			n := 0
			for k, s := range got {
				for _, x := range tt.looks[k] {
					if !math.IsNaN(x) && !math.IsInf(x, 0) {
						n++
					}
				}
				if s.N != n {
					t.Errorf("look %d: N = %d, want %d", k, s.N, n)
				}
				near(t, "P", s.P, tt.p[k], 1e-9*tt.p[k])
				near(t, "Mean", s.Mean, tt.mean[k], 1e-12)
				if s.Alarm != tt.alarm[k] {
					t.Errorf("look %d: Alarm = %v, want %v", k, s.Alarm, tt.alarm[k])
				}
			}
		})
	}
}

// TestAlwaysValidFalseAlarms watches null streams after each of 30 looks:
// the always-valid p-value raises an alarm in fewer than alpha of them,
// while a z-test at each look does in far more; under an effect the
// always-valid test still finds it.
func TestAlwaysValidFalseAlarms(t *testing.T) {
	const (
		alpha   = 0.05
		streams = 1000
		looks   = 30
	)
	tests := []struct {
		name   string
		window int
		draw   func(*rand.Rand) float64 // a paired difference, mean 0
		power  float64                  // the least share of streams shifted by 0.5 that must alarm
	}{
		// win, tie, loss of the candidate: 1, 0, −1 at 3:4:3.
		{"verdicts, windows of 10", 10, func(r *rand.Rand) float64 {
			switch u := r.IntN(10); {
			case u < 3:
				return 1
			case u < 7:
				return 0
			}
			return -1
		}, 0.9},
		// 30 flips are too few to find a shift of 0.5 reliably.
		{"coin flips, one per look", 1, func(r *rand.Rand) float64 { return float64(2*r.IntN(2) - 1) }, 0},
		{"normal, windows of 5", 5, func(r *rand.Rand) float64 { return r.NormFloat64() }, 0.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var avAlarms, zAlarms, avFound int
			for range streams {
				null := make([][]float64, looks)
				shifted := make([][]float64, looks)
				for k := range null {
					for range tt.window {
						x := tt.draw(rng)
						null[k] = append(null[k], x)
						shifted[k] = append(shifted[k], x+0.5)
					}
				}
				if AlwaysValid(null, 0, 0.1, alpha)[looks-1].Alarm {
					avAlarms++
				}
				if seqNaiveAlarm(null, alpha) {
					zAlarms++
				}
				if AlwaysValid(shifted, 0, 0.1, alpha)[looks-1].Alarm {
					avFound++
				}
			}
			av, z, found := float64(avAlarms)/streams, float64(zAlarms)/streams, float64(avFound)/streams
			t.Logf("false alarms: always-valid %.3f, z-test at each look %.3f; effect 0.5 found %.3f", av, z, found)
			if av >= alpha {
				t.Errorf("always-valid p-value: false alarms in %.3f of null streams, want < %v", av, alpha)
			}
			if z <= 2*alpha {
				t.Errorf("z-test at each look: false alarms in %.3f of null streams, want well over %v (the test is not showing what peeking does)", z, alpha)
			}
			if found < tt.power {
				t.Errorf("always-valid p-value found an effect of 0.5 in %.3f of streams, want ≥ %v", found, tt.power)
			}
		})
	}
}

// seqNaiveAlarm is a two-sided z-test of mean 0 with the sample variance,
// run after every look: whether any look's p-value fell below alpha.
func seqNaiveAlarm(looks [][]float64, alpha float64) bool {
	var xs []float64
	for _, l := range looks {
		xs = append(xs, l...)
		m, sd := meanSD(xs)
		if len(xs) < 2 || sd == 0 {
			continue
		}
		z := m / (sd / math.Sqrt(float64(len(xs))))
		if math.Erfc(math.Abs(z)/math.Sqrt2) < alpha {
			return true
		}
	}
	return false
}

// FuzzAlwaysValid feeds arbitrary windows: P is a probability that never
// rises, and an alarm once raised stays raised.
func FuzzAlwaysValid(f *testing.F) {
	f.Add([]byte{3, 1, 2, 0, 2, 2, 2, 4, 1, 1}, 0.0, 0.1)
	f.Add([]byte{1, 2}, 0.5, 1e-9)
	f.Add([]byte{3, 1, 2, 0}, math.NaN(), 0.1)
	f.Add([]byte{3, 1, 2, 0}, 1e308, math.Inf(1))
	f.Fuzz(func(t *testing.T, data []byte, theta0, tau2 float64) {
		var looks [][]float64
		for i := 0; i < len(data); {
			n := int(data[i] % 8)
			i++
			var l []float64
			for ; n > 0 && i < len(data); n-- {
				l = append(l, float64(data[i])/64-2)
				i++
			}
			looks = append(looks, l)
		}
		got := AlwaysValid(looks, theta0, tau2, 0.05)
		for k, s := range got {
			if !(s.P >= 0 && s.P <= 1) {
				t.Fatalf("look %d: P = %v", k, s.P)
			}
			if k > 0 && (s.P > got[k-1].P || got[k-1].Alarm && !s.Alarm) {
				t.Fatalf("look %d: P %v after %v, alarm %v after %v", k, s.P, got[k-1].P, s.Alarm, got[k-1].Alarm)
			}
		}
	})
}
