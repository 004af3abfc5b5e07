package report

import (
	"github.com/assay-eval/assay/services/report/document"
	"github.com/prometheus/client_golang/prometheus"
)

// windowGauges expose each continuous run's latest window, so that an alert
// can fire when a variant regresses on production traffic.
type windowGauges struct {
	start, samples                      *prometheus.GaugeVec
	winRate, refusal, jsonValid, tokens *prometheus.GaugeVec
	latencyP50, latencyP95              *prometheus.GaugeVec
	errorRate, judgeErrors              *prometheus.GaugeVec
}

func newWindowGauges(reg prometheus.Registerer) *windowGauges {
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "assay_report_window_" + name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	return &windowGauges{
		start:       g("start_timestamp_seconds", "Start of the latest window of a continuous run.", "run"),
		samples:     g("samples", "Production queries evaluated in the latest window.", "run"),
		winRate:     g("win_rate", "Win rate against the baseline in the latest window (ties count half).", "run", "variant", "judge"),
		refusal:     g("refusal_rate", "Share of refused queries in the latest window.", "run", "variant"),
		jsonValid:   g("json_valid_rate", "Share of valid JSON answers in the latest window.", "run", "variant"),
		tokens:      g("output_tokens", "Mean output tokens in the latest window.", "run", "variant"),
		latencyP50:  g("latency_p50_seconds", "Median endpoint latency in the latest window.", "run", "variant"),
		latencyP95:  g("latency_p95_seconds", "95th percentile endpoint latency in the latest window.", "run", "variant"),
		errorRate:   g("error_rate", "Share of failed generations in the latest window: the other gauges leave them out.", "run", "variant"),
		judgeErrors: g("judge_errors", "Pairs the gate's judge failed on in the latest window (not in the win rate).", "run", "variant", "judge"),
	}
}

// set shows rep's latest window.
func (g *windowGauges) set(rep *document.Report, judge string) {
	if len(rep.Windows) == 0 {
		return
	}
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
		}
	}
}
