package aggregate

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// continuousSpec is a continuous run of base against ft on the intake
// suite chat, in hourly windows, judged by j1.
func continuousSpec() *eval.RunSpec {
	spec := pairSpec("ft")
	spec.Run = "live"
	spec.Judges = spec.Judges[:1]
	spec.Continuous = &eval.Continuous{Sources: []string{"chat"}, Window: eval.Duration(time.Hour)}
	spec.Suites = []eval.Suite{{Name: "chat", Role: eval.RoleProduction, Metrics: []string{"refusal"}, Intake: true}}
	return spec
}

var windowZero = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// query is one production query of a continuous run: whether each
// variant refused it, and the judge's verdict on the pair.
type query struct {
	session                string
	baseRefused, ftRefused bool
	verdict                eval.Winner
}

// addQueries adds the queries of window w (hours after windowZero).
func addQueries(t *testing.T, c *Collector, spec *eval.RunSpec, w int, qs []query) {
	t.Helper()
	at := windowZero.Add(time.Duration(w)*time.Hour + time.Minute)
	for i, q := range qs {
		id := fmt.Sprintf("w%03dq%03d", w, i)
		ref := eval.SampleRef{ID: id, Suite: "chat", Seq: uint64(w*1000 + i + 1), At: at, Cluster: q.session}
		for _, v := range []struct {
			name    string
			refused bool
		}{{"base", q.baseRefused}, {"ft", q.ftRefused}} {
			s := mkScore(spec, v.name, "chat", id, ref.Seq, eval.BucketOK, map[string]float64{"refusal": b2f(v.refused)})
			s.Sample, s.Checks.Refused = ref, v.refused
			mustAdd(t, c, s)
		}
		j := judged(spec, 0, "ft", "chat", id, q.verdict)
		j.Sample = ref
		addJudgments(t, c, j)
	}
}

func windowVariant(t *testing.T, w document.Window, variant string) document.WindowVariant {
	t.Helper()
	for _, wv := range w.Variants {
		if wv.Variant == variant {
			return wv
		}
	}
	t.Fatalf("no %s in window %+v", variant, w)
	return document.WindowVariant{}
}

// TestWindowRefusalDelta: a window's refusal delta is paired over the
// queries both variants answered, cluster-robust by session, and its win
// rate has the t interval on the scores, clustered the same way.
func TestWindowRefusalDelta(t *testing.T) {
	// statsmodels 0.13.5, 20 queries in sessions of two (g =
	// np.arange(20)//2): sm.OLS(y, np.ones(20)).fit(cov_type="cluster",
	// cov_kwds={"groups": g}, use_t=True), .params, .conf_int(),
	// .pvalues; for the refusal delta y = ft − base refused (q1 −1, q2..q4
	// +1), for the win rate y = [1]*6 + [0.5]*8 + [0]*6.
	spec := continuousSpec()
	c := New(spec)
	defer c.Release()
	qs := make([]query, 20)
	for i := range qs {
		qs[i] = query{session: fmt.Sprintf("s%d", i/2), verdict: eval.WinTie}
		switch {
		case i < 6:
			qs[i].verdict = eval.WinCandidate
		case i >= 14:
			qs[i].verdict = eval.WinBaseline
		}
	}
	qs[0].baseRefused, qs[0].ftRefused = true, true
	qs[1].baseRefused = true
	for i := 2; i < 5; i++ {
		qs[i].ftRefused = true
	}
	addQueries(t, c, spec, 0, qs)
	// One more query answered by the candidate alone: not paired.
	s := mkScore(spec, "ft", "chat", "lone", 999, eval.BucketOK, map[string]float64{"refusal": 1})
	s.Sample.At, s.Checks.Refused = windowZero.Add(time.Minute), true
	mustAdd(t, c, s)

	rep := report(t, c, nil)
	if len(rep.Windows) != 1 {
		t.Fatalf("windows %+v", rep.Windows)
	}
	if base := windowVariant(t, rep.Windows[0], "base"); base.RefusalDelta != nil {
		t.Errorf("base refusal delta %+v", base.RefusalDelta)
	}
	ft := windowVariant(t, rep.Windows[0], "ft")
	d := ft.RefusalDelta
	if d == nil || d.N != 20 || d.Clusters != 10 || d.Test != "mcnemar" || d.Undefined != "" || d.PValue == nil ||
		d.Discordant == nil || *d.Discordant != [2]int{3, 1} {
		t.Fatalf("refusal delta %+v", d)
	}
	near(t, "delta", d.Delta, 0.1)
	nearCI(t, "delta ci", d.CI, [2]float64{-0.18214056860044708, 0.38214056860044704})
	near(t, "delta p", *d.PValue, 0.44333185016966015)
	nearPtr(t, "win rate", ft.WinRate, 0.5)
	nearCIPtr(t, "win rate ci", ft.CI, [2]float64{0.20795676607334385, 0.7920432339266559})
}

// stream adds windows of queries drawn from rng: each variant refuses a
// query with its own probability, and the judge's verdict is a win, a loss
// or a tie with the given probabilities.
func stream(t *testing.T, c *Collector, spec *eval.RunSpec, rng *rand.Rand, windows, perWindow int, baseRefusal, ftRefusal, win, loss float64) {
	t.Helper()
	for w := range windows {
		qs := make([]query, perWindow)
		for i := range qs {
			q := query{baseRefused: rng.Float64() < baseRefusal, ftRefused: rng.Float64() < ftRefusal, verdict: eval.WinTie}
			switch u := rng.Float64(); {
			case u < win:
				q.verdict = eval.WinCandidate
			case u < win+loss:
				q.verdict = eval.WinBaseline
			}
			qs[i] = q
		}
		addQueries(t, c, spec, w, qs)
	}
}

func monitorOf(t *testing.T, rep *document.Report, statistic string) document.Monitor {
	t.Helper()
	for _, m := range rep.Monitors {
		if m.Variant == "ft" && m.Statistic == statistic {
			return m
		}
	}
	t.Fatalf("no %s monitor in %+v", statistic, rep.Monitors)
	return document.Monitor{}
}

// TestMonitorsAlarmOnAShift: a candidate that refuses 8 points more than
// its base, and loses more than it wins, sets off both monitors within a
// day of hourly windows.
func TestMonitorsAlarmOnAShift(t *testing.T) {
	spec := continuousSpec()
	c := New(spec)
	defer c.Release()
	stream(t, c, spec, rand.New(rand.NewPCG(1, 2)), 24, 40, 0.05, 0.13, 0.15, 0.30)
	rep := report(t, c, nil)
	for _, st := range []string{monitorWinRate, monitorRefusalDelta} {
		m := monitorOf(t, rep, st)
		if !m.Alarm || m.PValue >= 0.05 || m.Windows != 24 || m.N != 24*40 || (m.Mean > 0) != (st == monitorRefusalDelta) {
			t.Errorf("%s monitor %+v, want an alarm", st, m)
		}
	}
	if len(rep.Monitors) != 2 {
		t.Errorf("monitors %+v", rep.Monitors)
	}
}

// TestMonitorsQuietOnANullStream: streams in which the candidate is its
// base's equal, watched over 30 hourly windows, rarely set off a monitor
// (at most 5% of the time by construction), where a threshold on each
// window's own estimate would fire in most of them.
func TestMonitorsQuietOnANullStream(t *testing.T) {
	const streams = 20
	alarms := map[string]int{}
	naive := 0
	for s := range streams {
		spec := continuousSpec()
		c := New(spec)
		stream(t, c, spec, rand.New(rand.NewPCG(uint64(s), 7)), 30, 40, 0.1, 0.1, 0.2, 0.2)
		rep := report(t, c, nil)
		c.Release()
		for _, st := range []string{monitorWinRate, monitorRefusalDelta} {
			if m := monitorOf(t, rep, st); m.Alarm {
				alarms[st]++
			}
			if m := monitorOf(t, rep, st); m.Windows != 30 || m.N != 30*40 {
				t.Errorf("%s monitor %+v", st, m)
			}
		}
		// The README's old alert: a window's refusal delta above 0.02.
		for _, w := range rep.Windows {
			if d := windowVariant(t, w, "ft").RefusalDelta; d != nil && d.Delta > 0.02 {
				naive++
				break
			}
		}
	}
	// Binomial(20, 0.05) exceeds 3 with probability 0.016.
	for _, st := range []string{monitorWinRate, monitorRefusalDelta} {
		if alarms[st] > 3 {
			t.Errorf("%s monitor alarmed on %d of %d null streams", st, alarms[st], streams)
		}
	}
	if naive < streams/2 {
		t.Errorf("a threshold on the window's refusal delta fired on only %d of %d null streams", naive, streams)
	}
}
