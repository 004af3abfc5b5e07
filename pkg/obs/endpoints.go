package obs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Endpoints holds a stage's metrics of the requests it sends to model
// endpoints, by the name of what answers (a variant for infer, a judge for
// the judge stage), under the label given: requests by outcome, and the
// latency and time to first token of the answers. It implements
// llm.Observer.
type Endpoints struct {
	requests      *prometheus.CounterVec
	latency, ttft *prometheus.HistogramVec
}

// NewEndpoints registers stage's endpoint metrics with reg, labelled by
// label: assay_<stage>_endpoint_requests_total{label,outcome},
// assay_<stage>_endpoint_latency_seconds{label} and
// assay_<stage>_endpoint_ttft_seconds{label}.
func NewEndpoints(reg prometheus.Registerer, stage, label string) *Endpoints {
	e := &Endpoints{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assay_" + stage + "_endpoint_requests_total",
			Help: "Requests the " + stage + " stage sent to model endpoints, retries included, by " + label + " and outcome (ok, rate_limited, server_error, client_error, timeout, failed).",
		}, []string{label, "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "assay_" + stage + "_endpoint_latency_seconds", Help: "Time from a request of the " + stage + " stage to its whole answer, by " + label + ".",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{label}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "assay_" + stage + "_endpoint_ttft_seconds", Help: "Time from a streamed request of the " + stage + " stage to its first token, by " + label + ".",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{label}),
	}
	reg.MustRegister(e.requests, e.latency, e.ttft)
	return e
}

// Attempt records one request to the endpoint of name: its outcome and,
// for an answer, its latency and time to first token (0: not streamed).
func (e *Endpoints) Attempt(name, outcome string, latency, ttft time.Duration) {
	e.requests.WithLabelValues(name, outcome).Inc()
	if latency > 0 {
		e.latency.WithLabelValues(name).Observe(latency.Seconds())
	}
	if ttft > 0 {
		e.ttft.WithLabelValues(name).Observe(ttft.Seconds())
	}
}
