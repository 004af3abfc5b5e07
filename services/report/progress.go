package report

import (
	"sync"
	"time"

	"github.com/assay-eval/assay/services/report/document"
	"github.com/prometheus/client_golang/prometheus"
)

// progressLinger is how long a run's progress stays on the gauges once
// the stage stops following it (complete, or the stage stopping): long
// enough for every scrape to see its last figures.
const progressLinger = 10 * time.Minute

// progressGauges expose the progress of each run the stage follows —
// results arrived or recorded as errors, and results expected — as
// stored in its status: a dashboard's view of a run, one series per run
// in progress.
type progressGauges struct {
	scores, scoresExpected, judgments, judgmentsExpected *prometheus.GaugeVec
	linger                                               time.Duration

	mu sync.Mutex
	// forget holds the timers that take finished runs off the gauges.
	forget map[string]*time.Timer
}

func newProgressGauges(reg prometheus.Registerer) *progressGauges {
	g := func(name, help string) *prometheus.GaugeVec {
		return newGaugeVec(reg, "assay_report_run_"+name, help, "run")
	}
	return &progressGauges{
		scores:            g("scores", "Scores of a run arrived, or recorded as errors (dead letters)."),
		scoresExpected:    g("scores_expected", "Scores a run expects: samples × variants, once ingest has published its samples (0 before)."),
		judgments:         g("judgments", "Judgments of a run arrived, or recorded as errors (dead letters)."),
		judgmentsExpected: g("judgments_expected", "Judgments a run expects: samples × judged pairs (each candidate with the baseline, and the compare list's pairs of two candidates) × judges, once ingest has published its samples (0 before)."),
		linger:            progressLinger,
		forget:            map[string]*time.Timer{},
	}
}

// set shows run's progress.
func (g *progressGauges) set(run string, p document.Progress) {
	g.mu.Lock()
	if t := g.forget[run]; t != nil {
		t.Stop()
		delete(g.forget, run)
	}
	g.mu.Unlock()
	g.scores.WithLabelValues(run).Set(float64(p.Scores))
	g.scoresExpected.WithLabelValues(run).Set(float64(p.ScoresExpected))
	g.judgments.WithLabelValues(run).Set(float64(p.Judgments))
	g.judgmentsExpected.WithLabelValues(run).Set(float64(p.JudgmentsExpected))
}

// done takes run off the gauges after the linger, unless it is set again
// meanwhile (a run reopened).
func (g *progressGauges) done(run string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.forget[run]; t != nil {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(g.linger, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.forget[run] != t {
			return
		}
		delete(g.forget, run)
		for _, v := range []*prometheus.GaugeVec{g.scores, g.scoresExpected, g.judgments, g.judgmentsExpected} {
			v.DeleteLabelValues(run)
		}
	})
	g.forget[run] = t
}
