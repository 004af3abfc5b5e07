package report

import (
	"github.com/assay-eval/assay/services/report/document"
	"github.com/prometheus/client_golang/prometheus"
)

// windowGauges expose each continuous run's latest window, so that a
// dashboard shows how a variant does on production traffic, and its
// always-valid monitors, on which an alert can fire: a threshold on a
// window's own estimate fires falsely again and again as the windows go
// by, a monitor's alarm at most 5% of the time over the whole run.
type windowGauges struct {
	start, samples                      *prometheus.GaugeVec
	winRate, refusal, jsonValid, tokens *prometheus.GaugeVec
	latencyP50, latencyP95              *prometheus.GaugeVec
	errorRate, judgeErrors              *prometheus.GaugeVec
	// refusalDelta and its 95% interval (lo, hi): the candidate's refusal
	// rate minus the baseline's over the window's queries both answered.
	refusalDelta, refusalDeltaLo, refusalDeltaHi *prometheus.GaugeVec
	monitors                                     *monitorGauges
}

// monitorGauges expose a continuous run's always-valid monitors.
type monitorGauges struct {
	pValue, alarm, mean *prometheus.GaugeVec
}

// newGaugeVec registers a gauge vector in reg.
func newGaugeVec(reg prometheus.Registerer, name, help string, labels ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	reg.MustRegister(v)
	return v
}

func newMonitorGauges(reg prometheus.Registerer) *monitorGauges {
	g := func(name, help string) *prometheus.GaugeVec {
		return newGaugeVec(reg, "assay_report_monitor_"+name, help, "run", "variant", "statistic")
	}
	return &monitorGauges{
		pValue: g("p_value", "Always-valid p-value of a continuous run's statistic (win_rate against 1/2, refusal_delta against 0) over its windows so far: valid however often it is read."),
		alarm:  g("alarm", "1 when the monitor's always-valid p-value is below 0.05: the statistic has moved, with at most a 5% chance of a false alarm over the whole run."),
		mean:   g("mean", "Mean of the monitored observations so far (per-pair score - 1/2, or candidate refused - baseline refused): the direction of a move."),
	}
}

// set shows rep's monitors.
func (g *monitorGauges) set(rep *document.Report) {
	for _, m := range rep.Monitors {
		labels := []string{rep.Run, m.Variant, m.Statistic}
		g.pValue.WithLabelValues(labels...).Set(m.PValue)
		g.mean.WithLabelValues(labels...).Set(m.Mean)
		alarm := 0.0
		if m.Alarm {
			alarm = 1
		}
		g.alarm.WithLabelValues(labels...).Set(alarm)
	}
}

func newWindowGauges(reg prometheus.Registerer) *windowGauges {
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return newGaugeVec(reg, "assay_report_window_"+name, help, labels...)
	}
	return &windowGauges{
		start:          g("start_timestamp_seconds", "Start of the latest window of a continuous run.", "run"),
		samples:        g("samples", "Production queries evaluated in the latest window.", "run"),
		winRate:        g("win_rate", "Win rate against the baseline in the latest window (ties count half).", "run", "variant", "judge"),
		refusal:        g("refusal_rate", "Share of refused queries in the latest window.", "run", "variant"),
		jsonValid:      g("json_valid_rate", "Share of valid JSON answers in the latest window.", "run", "variant"),
		tokens:         g("output_tokens", "Mean output tokens in the latest window.", "run", "variant"),
		latencyP50:     g("latency_p50_seconds", "Median endpoint latency in the latest window.", "run", "variant"),
		latencyP95:     g("latency_p95_seconds", "95th percentile endpoint latency in the latest window.", "run", "variant"),
		errorRate:      g("error_rate", "Share of failed generations in the latest window: the other gauges leave them out.", "run", "variant"),
		judgeErrors:    g("judge_errors", "Pairs the gate's judge failed on in the latest window (not in the win rate).", "run", "variant", "judge"),
		refusalDelta:   g("refusal_delta", "Refusal rate minus the baseline's over the latest window's benign queries both answered.", "run", "variant"),
		refusalDeltaLo: g("refusal_delta_lo", "Lower bound of the refusal delta's 95% interval in the latest window.", "run", "variant"),
		refusalDeltaHi: g("refusal_delta_hi", "Upper bound of the refusal delta's 95% interval in the latest window.", "run", "variant"),
		monitors:       newMonitorGauges(reg),
	}
}

// set shows rep's latest window and its monitors.
func (g *windowGauges) set(rep *document.Report, judge string) {
	if len(rep.Windows) == 0 {
		return
	}
	g.monitors.set(rep)
	w := rep.Windows[len(rep.Windows)-1]
	g.start.WithLabelValues(rep.Run).Set(float64(w.Start.Unix()))
	g.samples.WithLabelValues(rep.Run).Set(float64(w.Samples))
	set := func(v *prometheus.GaugeVec, x *float64, scale float64, labels ...string) {
		if x == nil {
			v.DeleteLabelValues(labels...)
			return
		}
		v.WithLabelValues(labels...).Set(*x * scale)
	}
	for _, wv := range w.Variants {
		if wv.Variant != rep.Baseline {
			set(g.winRate, wv.WinRate, 1, rep.Run, wv.Variant, judge)
		}
		set(g.refusal, wv.Refusal, 1, rep.Run, wv.Variant)
		set(g.jsonValid, wv.JSONValid, 1, rep.Run, wv.Variant)
		set(g.tokens, wv.MeanOutputTokens, 1, rep.Run, wv.Variant)
		set(g.latencyP50, wv.LatencyP50, 1e-3, rep.Run, wv.Variant)
		set(g.latencyP95, wv.LatencyP95, 1e-3, rep.Run, wv.Variant)
		set(g.errorRate, wv.ErrorRate, 1, rep.Run, wv.Variant)
		if wv.Variant != rep.Baseline {
			g.judgeErrors.WithLabelValues(rep.Run, wv.Variant, judge).Set(float64(wv.JudgeErrors))
			var d, lo, hi *float64
			if e := wv.RefusalDelta; e != nil {
				d, lo, hi = &e.Delta, &e.CI[0], &e.CI[1]
			}
			set(g.refusalDelta, d, 1, rep.Run, wv.Variant)
			set(g.refusalDeltaLo, lo, 1, rep.Run, wv.Variant)
			set(g.refusalDeltaHi, hi, 1, rep.Run, wv.Variant)
		}
	}
}
