// Package obs is assay's observability baseline: JSON logs with log/slog,
// Prometheus metrics per stage, and continuous profiling with Pyroscope.
package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grafana/pyroscope-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger returns a JSON logger at level (debug, info, warn, error).
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// NewRegistry returns a Prometheus registry with the Go and process
// collectors.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Stage holds one stage's metrics, named assay_<stage>_<thing>_<unit>. It
// implements bus.Observer.
type Stage struct {
	processed prometheus.Counter
	failed    *prometheus.CounterVec
	inFlight  prometheus.Gauge
	latency   prometheus.Histogram
}

// NewStage registers a stage's metrics with reg.
func NewStage(reg prometheus.Registerer, stage string) *Stage {
	s := &Stage{
		processed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "assay_" + stage + "_processed_total", Help: "Messages the " + stage + " stage handled and acked.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assay_" + stage + "_failed_total", Help: "Messages the " + stage + " stage failed on, by outcome (retry, dead).",
		}, []string{"outcome"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "assay_" + stage + "_in_flight", Help: "Messages the " + stage + " stage is handling now.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "assay_" + stage + "_latency_seconds", Help: "Time the " + stage + " stage spent per message.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
		}),
	}
	// Each outcome's series exists from the start, at 0: an alert on
	// increase() sees the first dead letter, which a series born at 1
	// would hide.
	for _, outcome := range []string{"retry", "dead"} {
		s.failed.WithLabelValues(outcome)
	}
	reg.MustRegister(s.processed, s.failed, s.inFlight, s.latency)
	return s
}

// Begin counts a message in flight.
func (s *Stage) Begin() { s.inFlight.Inc() }

// End records a handled message.
func (s *Stage) End(d time.Duration, outcome string) {
	s.inFlight.Dec()
	s.latency.Observe(d.Seconds())
	switch outcome {
	case "acked":
		s.processed.Inc()
	case "aborted":
	default:
		s.failed.WithLabelValues(outcome).Inc()
	}
}

// Ready says what keeps a process from doing its work, if anything.
type Ready func(ctx context.Context) error

// readyTimeout bounds how long a readiness check may take.
const readyTimeout = 2 * time.Second

// Serve serves /metrics, /healthz and /readyz on addr until ctx is done. It
// returns the address actually listened on (addr may use port 0).
// /healthz answers "ok" while the process serves (liveness: restarting it
// would not help a NATS outage); /readyz answers "ok" when ready finds
// nothing wrong (nil: always), else 503 with what is wrong. The same
// answer is the gauge assay_ready (1 or 0), asked at each scrape, so that
// Prometheus can alert on a process that serves but cannot work.
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, logger *slog.Logger, ready Ready) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listening for metrics on %s: %w", addr, err)
	}
	if ready != nil {
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "assay_ready",
			Help: "1 when the process can work (connected to NATS, JetStream answering: what /readyz says), else 0.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
			defer cancel()
			if ready(ctx) != nil {
				return 0
			}
			return 1
		})
		if err := reg.Register(g); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			ln.Close()
			return "", fmt.Errorf("registering assay_ready: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "not ready: %v\n", err)
				return
			}
		}
		io.WriteString(w, "ok\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return ln.Addr().String(), nil
}

// StartProfiling pushes CPU, allocation and goroutine profiles to the
// Pyroscope server at url. It returns a stop function.
func StartProfiling(url, app string, logger *slog.Logger) (func(), error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("pyroscope URL %q: write it like http://pyroscope:4040", url)
	}
	p, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: app,
		ServerAddress:   url,
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU, pyroscope.ProfileAllocObjects, pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace, pyroscope.ProfileGoroutines,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("starting pyroscope profiling: %w", err)
	}
	logger.Info("continuous profiling on", "pyroscope", url, "app", app)
	return func() { _ = p.Stop() }, nil
}
