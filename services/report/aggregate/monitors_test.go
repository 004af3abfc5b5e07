package aggregate

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/assay-eval/assay/services/report/stats"
)

// TestClusterMeans: a window's observations become one per cluster, in the
// order clusters first appear, so that the monitors' test sees sessions,
// not the correlated turns within them; unclustered ones stay as they are.
func TestClusterMeans(t *testing.T) {
	obs := []float64{0.5, -0.5, 0.5, 0, 0.5, -0.5}
	ids := []string{"s:a", "s:b", "s:a", "", "s:a", ""}
	want := []float64{0.5, -0.5, 0, -0.5} // a: (0.5 + 0.5 + 0.5)/3
	if got := clusterMeans(obs, ids); !slices.Equal(got, want) {
		t.Errorf("clusterMeans = %v, want %v", got, want)
	}
	if got := clusterMeans(obs, make([]string, len(obs))); !slices.Equal(got, obs) {
		t.Errorf("no clusters: %v, want the observations as they are", got)
	}
}

// TestMonitorSessions: with nothing changed but sessions that differ (a
// session's win probability ½ ± U(0.3)), the win-rate monitor watched
// over 30 windows of 10 sessions × 10 turns alarms in more than 5% of
// streams when fed turn by turn, and within 5% when fed one mean per
// session, as the report feeds it.
func TestMonitorSessions(t *testing.T) {
	const streams, windows, sessions, turns = 400, 30, 10, 10
	rng := rand.New(rand.NewPCG(20261206, 1))
	var byTurn, bySession int
	for range streams {
		var turnLooks, sessionLooks [][]float64
		for range windows {
			var obs []float64
			var ids []string
			for s := range sessions {
				q := 0.5 + 0.6*(rng.Float64()-0.5)
				for range turns {
					x := -0.5
					if rng.Float64() < q {
						x = 0.5
					}
					obs, ids = append(obs, x), append(ids, strconv.Itoa(s))
				}
			}
			turnLooks = append(turnLooks, obs)
			sessionLooks = append(sessionLooks, clusterMeans(obs, ids))
		}
		if seq := stats.AlwaysValid(turnLooks, 0, monitorTau2WinRate, monitorAlpha); seq[len(seq)-1].Alarm {
			byTurn++
		}
		if seq := stats.AlwaysValid(sessionLooks, 0, monitorTau2WinRate, monitorAlpha); seq[len(seq)-1].Alarm {
			bySession++
		}
	}
	t.Logf("false alarms over %d null streams: %d turn by turn, %d by session", streams, byTurn, bySession)
	if float64(bySession)/streams > 0.05 {
		t.Errorf("by session: %d of %d null streams alarmed, want at most 5%%", bySession, streams)
	}
	if byTurn <= bySession {
		t.Errorf("turn by turn: %d alarms, want more than by session (%d): the turns are correlated", byTurn, bySession)
	}
}
