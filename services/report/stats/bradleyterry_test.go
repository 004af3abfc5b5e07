package stats

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// btResults is A's wins, ties and losses against B.
type btResults struct {
	a, b               string
	wins, ties, losses int
}

func btExpand(rs ...[]btResults) []Comparison {
	var cs []Comparison
	for _, r := range slices.Concat(rs...) {
		for _, o := range []struct {
			n     int
			score float64
		}{{r.wins, 1}, {r.ties, 0.5}, {r.losses, 0}} {
			for range o.n {
				cs = append(cs, Comparison{A: r.a, B: r.b, Score: o.score})
			}
		}
	}
	return cs
}

// btFour is three fine-tunes and their base, every pair judged.
var btFour = []btResults{
	{"ft-a", "base", 6, 2, 4},
	{"ft-b", "base", 3, 1, 6},
	{"ft-c", "base", 5, 3, 2},
	{"ft-a", "ft-b", 4, 0, 3},
	{"ft-a", "ft-c", 2, 2, 3},
	{"ft-b", "ft-c", 1, 1, 4},
}

// The strengths of btFour against base and against ft-a are statsmodels
// 0.13.5's logistic regression without intercept on the ±1 design, one
// column per item other than the reference (sorted by name), each result a
// row (win 1, tie 0.5, loss 0):
//
//	sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-15, maxiter=1000).params
var (
	btFourVsBase = map[string]float64{"base": 0, "ft-a": 0.20321899887648012, "ft-b": -0.42214130297522678, "ft-c": 0.58944931000385092}
	btFourVsA    = map[string]float64{"ft-a": 0, "base": -0.20321899887648009, "ft-b": -0.62536030185170666, "ft-c": 0.38623031112737094}
)

// btWith is want plus some items that have no strength.
func btWith(want map[string]float64, undefined ...string) map[string]float64 {
	m := map[string]float64{}
	for k, v := range want {
		m[k] = v
	}
	for _, k := range undefined {
		m[k] = math.NaN()
	}
	return m
}

func TestBradleyTerry(t *testing.T) {
	tests := []struct {
		name string
		cs   []Comparison
		ref  string
		want map[string]float64 // NaN: Undefined
		why  map[string]string  // words the Undefined reasons must hold
		rank map[string]int
	}{
		{
			name: "four models",
			cs:   btExpand(btFour), ref: "base", want: btFourVsBase,
			rank: map[string]int{"ft-c": 1, "ft-a": 2, "base": 3, "ft-b": 4},
		},
		{
			name: "another reference",
			cs:   btExpand(btFour), ref: "ft-a", want: btFourVsA,
			rank: map[string]int{"ft-c": 1, "ft-a": 2, "base": 3, "ft-b": 4},
		},
		{
			// An item that beats everyone it meets has no finite MLE; the
			// others are fitted as if its comparisons were absent (the
			// limit of the likelihood), so they keep btFour's values.
			name: "an item that always wins",
			cs:   btExpand(btFour, []btResults{{"champ", "base", 5, 0, 0}, {"ft-a", "champ", 0, 0, 3}}),
			ref:  "base", want: btWith(btFourVsBase, "champ"),
			why:  map[string]string{"champ": "only ever wins"},
			rank: map[string]int{"ft-c": 1, "ft-a": 2, "base": 3, "ft-b": 4, "champ": 0},
		},
		{
			name: "an item that always loses",
			cs:   btExpand(btFour, []btResults{{"dud", "ft-b", 0, 0, 4}}),
			ref:  "base", want: btWith(btFourVsBase, "dud"),
			why: map[string]string{"dud": "only ever loses"},
		},
		{
			// x and y trade wins, but neither ever loses to base's side.
			name: "a group above the reference's",
			cs:   btExpand(btFour, []btResults{{"x", "y", 2, 1, 1}, {"x", "base", 3, 0, 0}, {"y", "ft-a", 2, 0, 0}}),
			ref:  "base", want: btWith(btFourVsBase, "x", "y"),
			why: map[string]string{"x": "never lost to the reference's side", "y": "never lost to the reference's side"},
		},
		{
			name: "a group below the reference's",
			cs:   btExpand(btFour, []btResults{{"x", "y", 2, 1, 1}, {"x", "base", 0, 0, 3}}),
			ref:  "base", want: btWith(btFourVsBase, "x", "y"),
			why: map[string]string{"x": "never beat the reference's side", "y": "never beat the reference's side"},
		},
		{
			name: "a group apart",
			cs:   btExpand(btFour, []btResults{{"p", "q", 2, 1, 1}}),
			ref:  "base", want: btWith(btFourVsBase, "p", "q"),
			why: map[string]string{"p": "not linked", "q": "not linked"},
		},
		{
			name: "reference never compared",
			cs:   btExpand(btFour), ref: "gold",
			want: btWith(nil, "gold", "base", "ft-a", "ft-b", "ft-c"),
			why:  map[string]string{"gold": "never compared", "ft-a": "not linked"},
		},
		{
			// Self-comparisons and scores outside [0, 1] are ignored, and
			// an item named only in them was never compared.
			name: "ignored comparisons",
			cs: append(btExpand(btFour), Comparison{"ft-a", "ft-a", 1}, Comparison{"ft-b", "base", 2},
				Comparison{"ft-c", "base", math.NaN()}, Comparison{"ghost", "base", -1}),
			ref: "base", want: btWith(btFourVsBase, "ghost"),
			why: map[string]string{"ghost": "never compared"},
		},
		{
			// All ties: every strength is 0 exactly (the fit is exact at
			// 0), and all share rank 1.
			name: "all ties",
			cs:   btExpand([]btResults{{"a", "base", 0, 4, 0}, {"b", "base", 0, 3, 0}, {"a", "b", 0, 2, 0}}),
			ref:  "base", want: map[string]float64{"a": 0, "b": 0, "base": 0},
			rank: map[string]int{"a": 1, "b": 1, "base": 1},
		},
		{
			name: "no comparisons",
			ref:  "base", want: btWith(nil, "base"),
			why: map[string]string{"base": "never compared"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BradleyTerry(tt.cs, tt.ref, 0, 1)
			if len(got) != len(tt.want) {
				t.Errorf("got %d items, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, s := range got {
				want, ok := tt.want[s.Item]
				switch {
				case !ok:
					t.Errorf("unexpected item %q", s.Item)
				case math.IsNaN(want):
					if s.Undefined == "" || !strings.Contains(s.Undefined, tt.why[s.Item]) {
						t.Errorf("%s: Undefined = %q, want it to say %q", s.Item, s.Undefined, tt.why[s.Item])
					}
					if s.Strength != 0 || s.Rank != 0 {
						t.Errorf("%s: strength %v rank %d alongside Undefined", s.Item, s.Strength, s.Rank)
					}
				default:
					if s.Undefined != "" {
						t.Errorf("%s: Undefined = %q, want strength %v", s.Item, s.Undefined, want)
					}
					near(t, s.Item, s.Strength, want, 1e-9)
					if s.CI != [2]float64{s.Strength, s.Strength} {
						t.Errorf("%s: CI = %v without resampling, want the estimate", s.Item, s.CI)
					}
				}
				if r, ok := tt.rank[s.Item]; ok && s.Rank != r {
					t.Errorf("%s: rank %d, want %d", s.Item, s.Rank, r)
				}
				if i > 0 && btOutOfOrder(got[i-1], s) {
					t.Errorf("%s listed after %s", s.Item, got[i-1].Item)
				}
			}
		})
	}
}

// btOutOfOrder says whether b should come before a: items with a strength
// by rank then name, then the others by name.
func btOutOfOrder(a, b Strength) bool {
	switch {
	case (a.Undefined == "") != (b.Undefined == ""):
		return a.Undefined != ""
	case a.Rank != b.Rank:
		return b.Rank < a.Rank
	}
	return b.Item < a.Item
}

func TestBradleyTerryBootstrap(t *testing.T) {
	// btFour five times over. The interval widths should be close to those
	// of the same bootstrap in statsmodels (2000 resamples of the rows,
	// numpy default_rng(0), GLM(y[i], X[i], Binomial()).fit().params,
	// np.percentile(B, [2.5, 97.5], axis=0)): 0.7305, 0.8049, 0.7254 for
	// ft-a, ft-b, ft-c, narrower than the Wald interval's 0.79, 0.86, 0.86
	// because a tie varies less than the binomial variance assumes. 10%
	// allows for the resampling error of both.
	var five []btResults
	for _, r := range btFour {
		five = append(five, btResults{r.a, r.b, 5 * r.wins, 5 * r.ties, 5 * r.losses})
	}
	cs := btExpand(five)
	got := BradleyTerry(cs, "base", 1000, 42)
	width := map[string]float64{"ft-a": 0.7305, "ft-b": 0.8049, "ft-c": 0.7254, "base": 0}
	for _, s := range got {
		if want := width[s.Item]; math.Abs(s.CI[1]-s.CI[0]-want) > 0.1*want {
			t.Errorf("%s: interval %v is %.3f wide, want about %.3f", s.Item, s.CI, s.CI[1]-s.CI[0], want)
		}
		if s.CI[0] > s.Strength || s.CI[1] < s.Strength {
			t.Errorf("%s: interval %v leaves out the estimate %v", s.Item, s.CI, s.Strength)
		}
	}

	if again := BradleyTerry(cs, "base", 1000, 42); !slices.Equal(got, again) {
		t.Errorf("same seed, different result:\n%+v\n%+v", got, again)
	}
	if other := BradleyTerry(cs, "base", 1000, 43); slices.Equal(got, other) {
		t.Errorf("seeds 42 and 43 gave the same intervals %+v", got)
	}
}

func TestBradleyTerryBootstrapUnbounded(t *testing.T) {
	// thin has one win and one loss against base: a quarter of the
	// resamples hold only its win (+∞), a quarter only its loss (−∞).
	cs := btExpand(btFour, []btResults{{"thin", "base", 1, 0, 1}})
	for _, s := range BradleyTerry(cs, "base", 200, 7) {
		if s.Item == "thin" && (!math.IsInf(s.CI[0], -1) || !math.IsInf(s.CI[1], 1)) {
			t.Errorf("thin: CI = %v, want (−Inf, +Inf)", s.CI)
		}
	}
}

// BenchmarkBradleyTerry is a leaderboard's worth: 8 variants, every pair
// judged 70 times (1960 comparisons), 1000 bootstrap resamples.
func BenchmarkBradleyTerry(b *testing.B) {
	names := []string{"base", "v1", "v2", "v3", "v4", "v5", "v6", "v7"}
	var rs []btResults
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			w := 20 + 3*(j-i)
			rs = append(rs, btResults{names[j], names[i], w, 10, 60 - w})
		}
	}
	cs := btExpand(rs)
	for b.Loop() {
		BradleyTerry(cs, "base", 1000, 1)
	}
}

// FuzzBradleyTerry feeds arbitrary results among five items: whatever they
// are, every item is listed once, the reference has strength 0, and every
// strength is finite and ranked, with an interval (a percentile interval
// need not hold the estimate: here it missed it by 1e-16).
func FuzzBradleyTerry(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 2, 0, 3, 0, 1}, uint8(0))
	f.Add([]byte{0, 1, 2, 0, 1, 2, 2, 3, 0, 3, 4, 2}, uint8(4))
	f.Add([]byte{1, 1, 1, 0, 0, 0}, uint8(2))
	names := []string{"base", "a", "b", "c", "d"}
	scores := []float64{0, 0.5, 1, 2, math.NaN(), -0.25, 0.3}
	f.Fuzz(func(t *testing.T, data []byte, ref uint8) {
		var cs []Comparison
		for i := 0; i+2 < len(data) && len(cs) < 200; i += 3 {
			cs = append(cs, Comparison{names[int(data[i])%5], names[int(data[i+1])%5], scores[int(data[i+2])%len(scores)]})
		}
		reference := names[int(ref)%5]
		got := BradleyTerry(cs, reference, 20, 1)
		seen := map[string]bool{}
		for _, s := range got {
			if seen[s.Item] {
				t.Fatalf("%s listed twice: %+v", s.Item, got)
			}
			seen[s.Item] = true
			if s.Undefined != "" {
				continue
			}
			if math.IsNaN(s.Strength) || math.IsInf(s.Strength, 0) || s.Rank < 1 {
				t.Errorf("%s: strength %v rank %d without a reason", s.Item, s.Strength, s.Rank)
			}
			if !(s.CI[0] <= s.CI[1]) {
				t.Errorf("%s: interval %v", s.Item, s.CI)
			}
			if s.Item == reference && s.Strength != 0 {
				t.Errorf("reference %s: strength %v, want 0", s.Item, s.Strength)
			}
		}
		if !seen[reference] {
			t.Errorf("reference %s not listed: %+v", reference, got)
		}
	})
}
