package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The simulation measures, by seeded Monte Carlo, how the report's 95%
// intervals cover the truth and how often the three-state gate decides
// wrongly. TestSimulationCoverage runs a few reps of each in `go test`;
// TestSimulationTable runs ASSAY_SIM_REPS reps of each and logs the table
// (go test -v -run TestSimulationTable ./services/report/stats/ with
// ASSAY_SIM_REPS=20000).

// Sections of the simulation's Decide rows.
const (
	decideSec    = "Decide on McNemarTest's CI (0/1, base 0.7, 50% discordant)"
	decideSec10  = "Decide on McNemarTest's CI (0/1, base 0.7, 10% discordant)"
	winDecideSec = "Decide on WinRateOf's t interval (50% ties)"
)

// simRow is one measured rate of the simulation.
type simRow struct {
	section, setting string
	n                int
	name             string
	rate             float64
	target           string
}

// simulation runs every scenario with reps repetitions.
func simulation(reps int) []simRow {
	var rows []simRow
	add := func(section, setting string, n int, name string, rate float64, target string) {
		rows = append(rows, simRow{section, setting, n, name, rate, target})
	}
	seed := uint64(0)
	rng := func() *rand.Rand {
		// Each scenario has its own stream, so that adding one does not
		// change the others.
		seed++
		return rand.New(rand.NewPCG(20260601, seed))
	}

	// Win rate: decisive pairs won 60% of the time, the rest ties.
	for _, ties := range []float64{0, 0.5, 0.9} {
		for _, n := range []int{50, 200} {
			t, wilson := simWinRate(rng(), reps, n, ties, 0.6)
			setting := fmt.Sprintf("%.0f%% ties, true rate %.3g", 100*ties, (1-ties)*0.6+ties/2)
			add("win-rate CI coverage", setting, n, "t on per-pair scores", t, "0.95")
			add("win-rate CI coverage", setting, n, "old: Wilson on (W+T/2)/N", wilson, "0.95")
		}
	}

	// Paired 0/1 metric: Newcombe's interval of McNemarTest.
	for _, j := range []joint{
		{base: 0.7, psi: 0.5, delta: 0},
		{base: 0.7, psi: 0.5, delta: 0.05},
		{base: 0.7, psi: 0.1, delta: 0.03},
		{base: 0.9, psi: 0.04, delta: 0.02},
	} {
		for _, n := range []int{100, 300} {
			add("paired delta CI coverage (0/1, McNemar/Newcombe)", j.String(), n, "Newcombe method 10",
				simPairedBinary(rng(), reps, n, j), "0.95")
		}
	}

	// Paired continuous metric: paired t.
	for _, shape := range []string{"normal", "skewed"} {
		for _, n := range []int{30, 100} {
			add("paired delta CI coverage (continuous, paired t)", shape+" differences, sd 0.15", n, "paired t",
				simPairedContinuous(rng(), reps, n, shape), "0.95")
		}
	}

	// Clusters: 30 clusters of 10 pairs with intra-cluster correlation icc.
	for _, icc := range []float64{0.2, 0.5} {
		un, cl := simClustered(rng(), reps, 30, 10, icc)
		setting := fmt.Sprintf("30 clusters × 10, ICC %.1f", icc)
		add("clustered delta CI coverage", setting, 300, "paired t ignoring clusters", un, "0.95")
		add("clustered delta CI coverage", setting, 300, "CR1 clustered, t on G−1", cl, "0.95")
	}

	// Decide on a 0/1 metric, base rate 0.7, half the pairs discordant.
	for _, n := range []int{100, 300, 1000} {
		o := simDecide(rng(), reps, n, joint{base: 0.7, psi: 0.5, delta: 0}, 0)
		add(decideSec, "identical, delta_min 0", n, "P(fail)", o[OutcomeFail], "≤ 0.025")
	}
	for _, n := range []int{100, 300, 1000} {
		o := simDecide(rng(), reps, n, joint{base: 0.7, psi: 0.5, delta: -0.03}, 0)
		add(decideSec, "worse by 0.03, delta_min 0", n, "P(pass)", o[OutcomePass], "≤ 0.025")
	}
	for _, n := range []int{100, 300, 1000} {
		o := simDecide(rng(), reps, n, joint{base: 0.7, psi: 0.5, delta: -0.05}, -0.02)
		add(decideSec, "worse by 0.05, margin 0.02", n, "P(pass)", o[OutcomePass], "≤ 0.025")
	}
	for _, n := range []int{100, 300, 1000} {
		j := joint{base: 0.7, psi: 0.5, delta: 0.05}
		o := simDecide(rng(), reps, n, j, 0)
		// Connor's normal approximation to McNemar's power.
		want := normCDF((math.Sqrt(float64(n))*j.delta - z95*math.Sqrt(j.psi)) / math.Sqrt(j.psi-j.delta*j.delta))
		add(decideSec, "better by 0.05, delta_min 0", n, "P(pass)", o[OutcomePass], fmt.Sprintf("Connor: %.3f", want))
		add(decideSec, "better by 0.05, delta_min 0", n, "P(inconclusive)", o[OutcomeInconclusive], "")
	}
	// The same where a fine-tune and its base mostly agree: 10% of pairs
	// discordant, where Newcombe's interval is conservative.
	for _, n := range []int{300, 1000} {
		o := simDecide(rng(), reps, n, joint{base: 0.7, psi: 0.1, delta: 0}, 0)
		add(decideSec10, "identical, delta_min 0", n, "P(fail)", o[OutcomeFail], "≤ 0.025")
		j := joint{base: 0.7, psi: 0.1, delta: 0.03}
		o = simDecide(rng(), reps, n, j, 0)
		want := normCDF((math.Sqrt(float64(n))*j.delta - z95*math.Sqrt(j.psi)) / math.Sqrt(j.psi-j.delta*j.delta))
		add(decideSec10, "better by 0.03, delta_min 0", n, "P(pass)", o[OutcomePass], fmt.Sprintf("Connor: %.3f", want))
	}
	// Win rates of production pairs clustered by session: 40 sessions of
	// 5 pairs, half of them ties, the decisive ones won with a session's
	// own probability 0.55 + U(−0.3, 0.3).
	un, cl := simWinRateClustered(rng(), reps, 40, 5)
	add("clustered win-rate CI coverage", "40 sessions × 5, 50% ties, session win prob 0.55 ± 0.3", 200, "t ignoring sessions", un, "0.95")
	add("clustered win-rate CI coverage", "40 sessions × 5, 50% ties, session win prob 0.55 ± 0.3", 200, "CR1 clustered, t on G−1", cl, "0.95")

	// win_rate_min 0.5 decided on the t interval, 50% ties: a candidate no
	// better than its base, and one whose decisive pairs it wins 60% of
	// the time (win rate 0.55).
	for _, n := range []int{100, 300, 1000} {
		o := simDecideWinRate(rng(), reps, n, 0.5, 0.5)
		add(winDecideSec, "identical, win_rate_min 0.5", n, "P(fail)", o[OutcomeFail], "≤ 0.025")
	}
	for _, n := range []int{100, 300, 1000} {
		o := simDecideWinRate(rng(), reps, n, 0.5, 0.6)
		add(winDecideSec, "win rate 0.55, win_rate_min 0.5", n, "P(pass)", o[OutcomePass], "")
	}
	return rows
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// covers reports whether ci holds x; an undefined (NaN) interval does not.
func covers(ci [2]float64, x float64) bool { return ci[0] <= x && x <= ci[1] }

// simWinRate is the coverage of the t interval of WinRateOf and of the
// old Wilson interval on (W + T/2)/N, for n pairs of which a share ties
// are ties and the others wins with probability q.
func simWinRate(rng *rand.Rand, reps, n int, ties, q float64) (t, wilson float64) {
	truth := (1-ties)*q + ties/2
	var ct, cw int
	for range reps {
		var w, l, tie int
		for range n {
			switch u := rng.Float64(); {
			case u < ties:
				tie++
			case u < ties+(1-ties)*q:
				w++
			default:
				l++
			}
		}
		r := WinRateOf(w, l, tie)
		if covers(r.CI, truth) {
			ct++
		}
		if covers(Wilson(r.Rate, n), truth) {
			cw++
		}
	}
	return float64(ct) / float64(reps), float64(cw) / float64(reps)
}

// joint is a paired 0/1 metric: the baseline's success rate, the share psi
// of discordant pairs and the true difference delta = p10 − p01.
type joint struct{ base, psi, delta float64 }

func (j joint) String() string {
	return fmt.Sprintf("base %.2g, %.0f%% discordant, true delta %+.2g", j.base, 100*j.psi, j.delta)
}

// draw fills cand and base with a sample of the joint distribution.
func (j joint) draw(rng *rand.Rand, cand, base []float64) {
	p10 := (j.psi + j.delta) / 2
	p01 := (j.psi - j.delta) / 2
	p11 := j.base - p01
	for i := range cand {
		switch u := rng.Float64(); {
		case u < p11:
			cand[i], base[i] = 1, 1
		case u < p11+p10:
			cand[i], base[i] = 1, 0
		case u < p11+p10+p01:
			cand[i], base[i] = 0, 1
		default:
			cand[i], base[i] = 0, 0
		}
	}
}

func simPairedBinary(rng *rand.Rand, reps, n int, j joint) float64 {
	cand, base := make([]float64, n), make([]float64, n)
	hit := 0
	for range reps {
		j.draw(rng, cand, base)
		if covers(McNemarTest(cand, base).CI, j.delta) {
			hit++
		}
	}
	return float64(hit) / float64(reps)
}

// simPairedContinuous is the coverage of PairedTTest's interval with
// differences of mean 0.02 and SD 0.15, normal or skewed (a shifted
// exponential).
func simPairedContinuous(rng *rand.Rand, reps, n int, shape string) float64 {
	const delta, sd = 0.02, 0.15
	cand, base := make([]float64, n), make([]float64, n)
	hit := 0
	for range reps {
		for i := range cand {
			base[i] = rng.Float64()
			e := rng.NormFloat64()
			if shape == "skewed" {
				e = rng.ExpFloat64() - 1
			}
			cand[i] = base[i] + delta + sd*e
		}
		if covers(PairedTTest(cand, base).CI, delta) {
			hit++
		}
	}
	return float64(hit) / float64(reps)
}

// simClustered is the coverage of the paired t interval and of the CR1
// clustered one for g clusters of m pairs whose differences have a cluster
// effect of variance icc and a pair effect of variance 1 − icc.
func simClustered(rng *rand.Rand, reps, g, m int, icc float64) (unclustered, clustered float64) {
	const delta = 0.1
	n := g * m
	cand, base := make([]float64, n), make([]float64, n)
	clusters := make([]string, n)
	for i := range clusters {
		clusters[i] = strconv.Itoa(i / m)
	}
	var hu, hc int
	for range reps {
		for k := range g {
			u := math.Sqrt(icc) * rng.NormFloat64()
			for i := k * m; i < (k+1)*m; i++ {
				base[i] = rng.Float64()
				cand[i] = base[i] + delta + u + math.Sqrt(1-icc)*rng.NormFloat64()
			}
		}
		if covers(PairedTTest(cand, base).CI, delta) {
			hu++
		}
		if covers(PairedClustered(cand, base, clusters, "paired_t").CI, delta) {
			hc++
		}
	}
	return float64(hu) / float64(reps), float64(hc) / float64(reps)
}

// simWinRateClustered is the coverage of the t interval of WinRateOf and
// of WinRateClustered for g sessions of m pairs, half of them ties, the
// others won with the session's own probability 0.55 + U(−0.3, 0.3): the
// true win rate is 0.525.
func simWinRateClustered(rng *rand.Rand, reps, g, m int) (unclustered, clustered float64) {
	const truth = 0.5*0.5 + 0.5*0.55
	n := g * m
	scores, clusters := make([]float64, n), make([]string, n)
	for i := range clusters {
		clusters[i] = strconv.Itoa(i / m)
	}
	var hu, hc int
	for range reps {
		w, l, t := 0, 0, 0
		for k := range g {
			q := 0.55 + 0.6*(rng.Float64()-0.5)
			for i := k * m; i < (k+1)*m; i++ {
				switch {
				case rng.Float64() < 0.5:
					scores[i] = 0.5
					t++
				case rng.Float64() < q:
					scores[i] = 1
					w++
				default:
					scores[i] = 0
					l++
				}
			}
		}
		if covers(WinRateOf(w, l, t).CI, truth) {
			hu++
		}
		if covers(WinRateClustered(scores, clusters).CI, truth) {
			hc++
		}
	}
	return float64(hu) / float64(reps), float64(hc) / float64(reps)
}

// simDecideWinRate is the share of each outcome of a `win rate ≥ 0.5`
// check decided on WinRateOf's t interval, for n pairs of which a share
// ties are ties and the others wins with probability q.
func simDecideWinRate(rng *rand.Rand, reps, n int, ties, q float64) map[Outcome]float64 {
	out := map[Outcome]float64{}
	for range reps {
		w, l, t := 0, 0, 0
		for range n {
			switch {
			case rng.Float64() < ties:
				t++
			case rng.Float64() < q:
				w++
			default:
				l++
			}
		}
		out[Decide(WinRateOf(w, l, t).CI, 0.5, true)] += 1 / float64(reps)
	}
	return out
}

// simDecide is the share of each outcome of a `delta ≥ threshold` check
// decided on McNemarTest's interval.
func simDecide(rng *rand.Rand, reps, n int, j joint, threshold float64) map[Outcome]float64 {
	cand, base := make([]float64, n), make([]float64, n)
	out := map[Outcome]float64{}
	for range reps {
		j.draw(rng, cand, base)
		out[Decide(McNemarTest(cand, base).CI, threshold, true)] += 1 / float64(reps)
	}
	return out
}

// simTable is the rows as a Markdown table.
func simTable(rows []simRow, reps int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Seeded Monte Carlo, %d reps per row (go test -run TestSimulationTable with ASSAY_SIM_REPS=%d)\n\n", reps, reps)
	fmt.Fprintln(&b, "| check | setting | n | interval / outcome | rate | ± s.e. | target |")
	fmt.Fprintln(&b, "|---|---|---:|---|---:|---:|---|")
	for _, r := range rows {
		// The Monte Carlo standard error of a rate over reps.
		se := math.Sqrt(r.rate * (1 - r.rate) / float64(reps))
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %.4f | %.4f | %s |\n", r.section, r.setting, r.n, r.name, r.rate, se, r.target)
	}
	return b.String()
}

// find is the rate of the row with this section prefix, setting prefix,
// n and name (the first such row).
func find(t *testing.T, rows []simRow, section, setting string, n int, name string) float64 {
	t.Helper()
	for _, r := range rows {
		if strings.HasPrefix(r.section, section) && strings.HasPrefix(r.setting, setting) && r.n == n && r.name == name {
			return r.rate
		}
	}
	t.Fatalf("no simulation row %q / %q / %d / %q", section, setting, n, name)
	return 0
}

func TestSimulationCoverage(t *testing.T) {
	// 1500 reps put a coverage of 0.95 within ±0.011 (two standard errors)
	// and a 2.5% error rate within ±0.008, which the bounds below allow.
	const reps = 1500
	rows := simulation(reps)
	inRange := func(name string, x float64) {
		t.Helper()
		if x < 0.93 || x > 0.97 {
			t.Errorf("%s: coverage %.4f, want in [0.93, 0.97]", name, x)
		}
	}
	for _, ties := range []string{"0%", "50%", "90%"} {
		for _, n := range []int{50, 200} {
			inRange("win rate t, "+ties+" ties", find(t, rows, "win-rate", ties, n, "t on per-pair scores"))
		}
	}
	for _, n := range []int{50, 200} {
		if w := find(t, rows, "win-rate", "90%", n, "old: Wilson on (W+T/2)/N"); w < 0.99 {
			t.Errorf("old Wilson with 90%% ties, n=%d: coverage %.4f, want ≥ 0.99 (it over-covers)", n, w)
		}
	}
	// Newcombe's interval is the right one for a paired 0/1 metric, but
	// over-covers when few pairs are discordant (0.99 at 4% of 100), and
	// the paired t under-covers on strongly skewed differences at n = 30
	// (0.91): both are in the table; here they are held to what they do.
	for _, r := range rows {
		if !strings.HasPrefix(r.section, "paired delta CI") {
			continue
		}
		name := r.section + ", " + r.setting + ", n=" + strconv.Itoa(r.n)
		switch {
		case strings.Contains(r.setting, "4% discordant"):
			if r.rate < 0.95 {
				t.Errorf("%s: coverage %.4f, want ≥ 0.95", name, r.rate)
			}
		case strings.HasPrefix(r.setting, "skewed") && r.n < 100:
			if r.rate < 0.9 {
				t.Errorf("%s: coverage %.4f, want ≥ 0.9", name, r.rate)
			}
		default:
			inRange(name, r.rate)
		}
	}
	for _, icc := range []string{"0.2", "0.5"} {
		setting := "30 clusters × 10, ICC " + icc
		inRange("clustered, ICC "+icc, find(t, rows, "clustered", setting, 300, "CR1 clustered, t on G−1"))
		if u := find(t, rows, "clustered", setting, 300, "paired t ignoring clusters"); u > 0.9 {
			t.Errorf("unclustered paired t at ICC %s: coverage %.4f, want < 0.9 (it ignores the correlation)", icc, u)
		}
	}
	const sessions = "40 sessions × 5, 50% ties, session win prob 0.55 ± 0.3"
	inRange("clustered win rate", find(t, rows, "clustered win-rate", sessions, 200, "CR1 clustered, t on G−1"))
	if u := find(t, rows, "clustered win-rate", sessions, 200, "t ignoring sessions"); u > 0.93 {
		t.Errorf("win rate ignoring sessions: coverage %.4f, want < 0.93 (it ignores the correlation)", u)
	}
	winPower := 0.0
	for _, n := range []int{100, 300, 1000} {
		if x := find(t, rows, winDecideSec, "identical", n, "P(fail)"); x > 0.035 {
			t.Errorf("win rate of an identical candidate, n=%d: P(fail) %.4f, want ≤ 0.025 (+0.01 for 1500 reps)", n, x)
		}
		p := find(t, rows, winDecideSec, "win rate 0.55", n, "P(pass)")
		if p <= winPower {
			t.Errorf("win rate 0.55: P(pass) %.4f at n=%d, want more than %.4f at the smaller n", p, n, winPower)
		}
		winPower = p
	}
	power := 0.0
	for _, n := range []int{100, 300, 1000} {
		if x := find(t, rows, decideSec, "identical", n, "P(fail)"); x > 0.035 {
			t.Errorf("identical candidate, n=%d: P(fail) %.4f, want ≤ 0.025 (+0.01 for 1500 reps)", n, x)
		}
		for _, worse := range []string{"worse by 0.03", "worse by 0.05"} {
			if x := find(t, rows, decideSec, worse, n, "P(pass)"); x > 0.035 {
				t.Errorf("%s, n=%d: P(pass) %.4f, want ≤ 0.025 (+0.01 for 1500 reps)", worse, n, x)
			}
		}
		p := find(t, rows, decideSec, "better", n, "P(pass)")
		if p <= power {
			t.Errorf("better candidate: P(pass) %.4f at n=%d, want more than %.4f at the smaller n", p, n, power)
		}
		power = p
	}
	if testing.Verbose() {
		t.Log("\n" + simTable(rows, reps))
	}
}

func TestSimulationTable(t *testing.T) {
	s := os.Getenv("ASSAY_SIM_REPS")
	if s == "" {
		t.Skip("set ASSAY_SIM_REPS (e.g. 20000) to run the full simulation")
	}
	reps, err := strconv.Atoi(s)
	if err != nil || reps < 1 {
		t.Fatalf("ASSAY_SIM_REPS=%q: want a positive number of repetitions", s)
	}
	t.Log("\n" + simTable(simulation(reps), reps))
}
