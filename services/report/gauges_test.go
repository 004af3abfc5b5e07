package report

import (
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/services/report/document"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func f64(v float64) *float64 { return &v }

// TestWindowGauges: the latest window's refusal delta with its interval,
// and every monitor's always-valid p-value, alarm and mean, are exported
// beside the window gauges that were there before.
func TestWindowGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := newWindowGauges(reg)
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	rep := &document.Report{Run: "live", Baseline: "base",
		Windows: []document.Window{
			{Start: start.Add(-time.Hour), Variants: []document.WindowVariant{{Variant: "ft", Refusal: f64(0.5)}}},
			{Start: start, Samples: 40, Variants: []document.WindowVariant{
				{Variant: "base", Refusal: f64(0.05)},
				{Variant: "ft", Refusal: f64(0.125), WinRate: f64(0.4), RefusalDelta: &document.DeltaEstimate{N: 40, Delta: 0.075, CI: [2]float64{-0.01, 0.16}}},
			}},
		},
		Monitors: []document.Monitor{
			{Variant: "ft", Statistic: "win_rate", Windows: 2, N: 80, Mean: -0.1, PValue: 0.01, Alarm: true},
			{Variant: "ft", Statistic: "refusal_delta", Windows: 2, N: 80, Mean: 0.05, PValue: 0.4},
		},
	}
	g.set(rep, "j1")
	want := `
# HELP assay_report_monitor_alarm 1 when the monitor's always-valid p-value is below 0.05: the statistic has moved, with at most a 5% chance of a false alarm over the whole run.
# TYPE assay_report_monitor_alarm gauge
assay_report_monitor_alarm{run="live",statistic="refusal_delta",variant="ft"} 0
assay_report_monitor_alarm{run="live",statistic="win_rate",variant="ft"} 1
# HELP assay_report_monitor_mean Mean of the monitored observations so far (per-pair score - 1/2, or candidate refused - baseline refused): the direction of a move.
# TYPE assay_report_monitor_mean gauge
assay_report_monitor_mean{run="live",statistic="refusal_delta",variant="ft"} 0.05
assay_report_monitor_mean{run="live",statistic="win_rate",variant="ft"} -0.1
# HELP assay_report_monitor_p_value Always-valid p-value of a continuous run's statistic (win_rate against 1/2, refusal_delta against 0) over its windows so far: valid however often it is read.
# TYPE assay_report_monitor_p_value gauge
assay_report_monitor_p_value{run="live",statistic="refusal_delta",variant="ft"} 0.4
assay_report_monitor_p_value{run="live",statistic="win_rate",variant="ft"} 0.01
# HELP assay_report_window_refusal_delta Refusal rate minus the baseline's over the latest window's benign queries both answered.
# TYPE assay_report_window_refusal_delta gauge
assay_report_window_refusal_delta{run="live",variant="ft"} 0.075
# HELP assay_report_window_refusal_delta_hi Upper bound of the refusal delta's 95% interval in the latest window.
# TYPE assay_report_window_refusal_delta_hi gauge
assay_report_window_refusal_delta_hi{run="live",variant="ft"} 0.16
# HELP assay_report_window_refusal_delta_lo Lower bound of the refusal delta's 95% interval in the latest window.
# TYPE assay_report_window_refusal_delta_lo gauge
assay_report_window_refusal_delta_lo{run="live",variant="ft"} -0.01
# HELP assay_report_window_refusal_rate Share of refused queries in the latest window.
# TYPE assay_report_window_refusal_rate gauge
assay_report_window_refusal_rate{run="live",variant="base"} 0.05
assay_report_window_refusal_rate{run="live",variant="ft"} 0.125
`
	names := []string{"assay_report_monitor_alarm", "assay_report_monitor_mean", "assay_report_monitor_p_value",
		"assay_report_window_refusal_delta", "assay_report_window_refusal_delta_hi", "assay_report_window_refusal_delta_lo",
		"assay_report_window_refusal_rate"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// A later window without a refusal delta (nothing paired yet) drops
	// the delta's gauges rather than leaving the last one standing.
	rep.Windows = append(rep.Windows, document.Window{Start: start.Add(time.Hour), Variants: []document.WindowVariant{{Variant: "ft"}}})
	g.set(rep, "j1")
	for _, name := range names[3:6] {
		if n := testutil.CollectAndCount(reg, name); n != 0 {
			t.Errorf("%s has %d series, want none", name, n)
		}
	}
}
