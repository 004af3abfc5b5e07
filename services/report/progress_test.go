package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestProgressGauges: each followed run's progress is on the gauges; a
// run no longer followed stays for the linger, so that its last figures
// are scraped, and then goes, unless it is followed again meanwhile.
func TestProgressGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := newProgressGauges(reg)
	g.linger = 50 * time.Millisecond
	g.set("a", document.Progress{Scores: 3, ScoresExpected: 4, Judgments: 1, JudgmentsExpected: 2})
	g.set("b", document.Progress{Scores: 4, ScoresExpected: 4})
	want := `
# HELP assay_report_run_scores Scores of a run arrived, or recorded as errors (dead letters).
# TYPE assay_report_run_scores gauge
assay_report_run_scores{run="a"} 3
assay_report_run_scores{run="b"} 4
# HELP assay_report_run_scores_expected Scores a run expects: samples × variants, once ingest has published its samples (0 before).
# TYPE assay_report_run_scores_expected gauge
assay_report_run_scores_expected{run="a"} 4
assay_report_run_scores_expected{run="b"} 4
# HELP assay_report_run_judgments Judgments of a run arrived, or recorded as errors (dead letters).
# TYPE assay_report_run_judgments gauge
assay_report_run_judgments{run="a"} 1
assay_report_run_judgments{run="b"} 0
# HELP assay_report_run_judgments_expected Judgments a run expects: samples × judged pairs (each candidate with the baseline, and the compare list's pairs of two candidates) × judges, once ingest has published its samples (0 before).
# TYPE assay_report_run_judgments_expected gauge
assay_report_run_judgments_expected{run="a"} 2
assay_report_run_judgments_expected{run="b"} 0
`
	names := []string{"assay_report_run_scores", "assay_report_run_scores_expected", "assay_report_run_judgments", "assay_report_run_judgments_expected"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// b completes and goes after the linger; a stops, is followed again
	// before its linger ends (a reopened run), and stays.
	g.done("b")
	g.done("a")
	g.set("a", document.Progress{Scores: 4, ScoresExpected: 4, Judgments: 2, JudgmentsExpected: 2})
	if n := testutil.CollectAndCount(reg, names...); n != 8 {
		t.Fatalf("%d series within the linger, want 8", n)
	}
	bustest.Eventually(t, 10*time.Second, func() error {
		if n := testutil.CollectAndCount(reg, names...); n != 4 {
			return fmt.Errorf("%d series, want run a's 4", n)
		}
		return nil
	})
	// a's first timer was stopped: past its time, nothing takes a off
	// (what does not happen has no condition to poll).
	time.Sleep(2 * g.linger)
	if got := testutil.ToFloat64(g.judgments.WithLabelValues("a")); got != 2 || testutil.CollectAndCount(reg, names...) != 4 {
		t.Errorf("run a: judgments %v, %d series; want it still shown", got, testutil.CollectAndCount(reg, names...))
	}
}
