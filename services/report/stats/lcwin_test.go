package stats

import (
	"math"
	"strings"
	"testing"
)

func TestLengthControlledWinRate(t *testing.T) {
	// Unless the row says otherwise, the want values are statsmodels 0.13.5:
	//
	//	sd = np.std(d, ddof=1); X = sm.add_constant(np.tanh(d / sd))
	//	r = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-15, maxiter=1000, scale="X2")
	//	s = lambda e: 1 / (1 + np.exp(-e)); z = 1.959963984540054
	//	s(r.params[0]), s(r.params[0] ∓ z * r.bse[0]), r.params[1]
	//
	// with X = np.ones((n, 1)) when sd = 0. The tight tol matters: at the
	// default (1e-8, on the deviance) statsmodels stops a step early and its
	// bse, from that step's weights, differs by up to 8e-7 in the interval. "longer wins" is 24 pairs drawn
	// once from a judge that favours length (numpy default_rng(7)).
	tests := []struct {
		name  string
		y, d  []float64
		rate  float64
		ci    [2]float64
		slope float64
	}{
		{
			name: "longer wins",
			y:    []float64{1, 1, 1, 1, 0, 0.5, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1},
			d: []float64{544, 225, 284, 497, 178, 375, 433, -175, -345, -100, -115, 473, 512, -395,
				99, 421, -269, 397, -281, 67, 416, -97, -59, -122},
			rate: 0.59750058791407679, ci: [2]float64{0.3663190379187865, 0.7921878883776354},
			slope: 1.5316612608174778,
		},
		{
			name: "shorter wins",
			y:    []float64{1, 1, 0.5, 0, 0, 1, 0.5, 0, 1, 0},
			d:    []float64{-300, -120, 10, 250, 400, -50, 0, 90, 30, -10},
			rate: 0.5698909428027541, ci: [2]float64{0.27814666444997366, 0.8200204240377743},
			slope: -5.391563889495921,
		},
		{
			// Every length difference the same: the intercept alone, so the
			// plain win rate 5/8 (GLM on np.ones((8, 1))).
			name: "zero length variance",
			y:    []float64{1, 0.5, 0, 1, 1, 0.5, 0, 1},
			d:    []float64{40, 40, 40, 40, 40, 40, 40, 40},
			rate: 0.625, ci: [2]float64{0.3101228606303979, 0.860709602865789},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LengthControlledWinRate(tt.y, tt.d)
			if got.Undefined != "" {
				t.Fatalf("Undefined = %q, want a rate", got.Undefined)
			}
			if got.N != len(tt.y) {
				t.Errorf("N = %d, want %d", got.N, len(tt.y))
			}
			const tol = 1e-9
			near(t, "rate", got.Rate, tt.rate, tol)
			nearCI(t, got.CI, tt.ci, tol)
			near(t, "slope", got.Slope, tt.slope, tol*math.Max(1, math.Abs(tt.slope)))
		})
	}
}

func TestLengthControlledUndefined(t *testing.T) {
	tests := []struct {
		name string
		y, d []float64
		why  string // a word the reason must hold
	}{
		{"no pairs", nil, nil, "fewer than 2"},
		{"one pair", []float64{1}, []float64{10}, "fewer than 2"},
		{"counts differ", []float64{1, 0}, []float64{10}, "counts differ"},
		{"all wins", []float64{1, 1, 1}, []float64{10, -5, 3}, "every verdict is a win"},
		{"all losses", []float64{0, 0, 0}, []float64{10, -5, 3}, "every verdict is a loss"},
		// Every pair a tie: no spread for the quasi-binomial scale, as the
		// t interval on the scores has none (statsmodels: scale 0).
		{"all ties", []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, []float64{10, -20, 30, 5, 0, -100}, "every pair a tie"},
		{"preference out of range", []float64{1, 2}, []float64{10, -5}, "outside [0, 1]"},
		{"NaN preference", []float64{1, math.NaN()}, []float64{10, -5}, "outside [0, 1]"},
		{"infinite length", []float64{1, 0}, []float64{math.Inf(1), -5}, "not a number"},
		// Longer always wins, shorter always loses, the equal pair ties:
		// statsmodels raises PerfectSeparationError.
		{"separated", []float64{1, 1, 0, 0, 1, 0, 0.5}, []float64{100, 300, -50, -200, 20, -10, 0}, "did not converge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LengthControlledWinRate(tt.y, tt.d)
			if !strings.Contains(got.Undefined, tt.why) {
				t.Errorf("Undefined = %q, want it to say %q", got.Undefined, tt.why)
			}
			if got.Rate != 0 || got.CI != [2]float64{} {
				t.Errorf("rate %v %v alongside Undefined, want none", got.Rate, got.CI)
			}
		})
	}
}

func TestLengthControlledRemovesLengthBias(t *testing.T) {
	// A judge that only looks at length: the candidate wins when its answer
	// is longer and loses when shorter, with a tie or an upset now and then.
	// The plain win rate follows how often the candidate is longer (here
	// 3 in 4); the length-controlled rate stays near 0.5.
	var y, d []float64
	for i := range 200 {
		diff := float64(i%4*100 - 50) // −50, 50, 150, 250
		pref := 0.0
		if diff > 0 {
			pref = 1
		}
		switch i % 13 {
		case 0:
			pref = 0.5
		case 5:
			pref = 1 - pref
		}
		y = append(y, pref)
		d = append(d, diff)
	}
	plain, _ := MeanCI(y)
	got := LengthControlledWinRate(y, d)
	if got.Undefined != "" {
		t.Fatalf("Undefined = %q", got.Undefined)
	}
	if plain < 0.65 || got.Rate > 0.6 || got.Slope <= 0 {
		t.Errorf("plain win rate %.3f, length-controlled %.3f (slope %.2f): want the plain rate high and the controlled one near 0.5 with a positive slope", plain, got.Rate, got.Slope)
	}
}

// FuzzLengthControlledWinRate feeds arbitrary verdicts and lengths: the
// rate, when there is one, is a probability inside its interval.
func FuzzLengthControlledWinRate(f *testing.F) {
	f.Add([]byte{2, 10, 0, 200, 1, 30, 2, 5}, uint8(40))
	f.Add([]byte{2, 1, 2, 2, 0, 3}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, scale uint8) {
		var y, d []float64
		for i := 0; i+1 < len(data); i += 2 {
			y = append(y, float64(data[i]%3)/2)
			d = append(d, (float64(data[i+1])-128)*float64(scale))
		}
		got := LengthControlledWinRate(y, d)
		if got.Undefined != "" {
			return
		}
		if !(got.CI[0] <= got.Rate && got.Rate <= got.CI[1] && got.CI[0] >= 0 && got.CI[1] <= 1) {
			t.Errorf("rate %v, interval %v", got.Rate, got.CI)
		}
		if math.IsNaN(got.Slope) || math.IsInf(got.Slope, 0) {
			t.Errorf("slope %v", got.Slope)
		}
	})
}
