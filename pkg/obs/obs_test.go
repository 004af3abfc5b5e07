package obs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/obs"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStageMetricsAreServed(t *testing.T) {
	reg := obs.NewRegistry()
	st := obs.NewStage(reg, "score")
	st.Begin()
	st.End(3*time.Millisecond, "acked")
	st.Begin()
	st.End(time.Millisecond, "retry")
	st.Begin() // still in flight
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := obs.Serve(ctx, "127.0.0.1:0", reg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"assay_score_processed_total 1",
		`assay_score_failed_total{outcome="retry"} 1`,
		// At 0 before the first: an alert on increase() sees it.
		`assay_score_failed_total{outcome="dead"} 0`,
		"assay_score_in_flight 1",
		"assay_score_latency_seconds_count 2",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	resp, err = http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
}

func TestProfilesArePushed(t *testing.T) {
	var pushes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/ingest") {
			pushes.Add(1)
		}
	}))
	defer srv.Close()
	stop, err := obs.StartProfiling(srv.URL, "assay-test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stop() // uploads what was collected
	deadline := time.Now().Add(10 * time.Second)
	for pushes.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pushes.Load() == 0 {
		t.Fatal("no profile reached the Pyroscope server")
	}
	if _, err := obs.StartProfiling("pyroscope:4040", "x", slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a URL without scheme was accepted")
	}
}

func TestNewLoggerRejectsUnknownLevels(t *testing.T) {
	if _, err := obs.NewLogger(io.Discard, "loud"); err == nil {
		t.Fatal("level loud accepted")
	}
	if _, err := obs.NewLogger(io.Discard, "debug"); err != nil {
		t.Fatal(err)
	}
}

// TestReadyGauge: assay_ready says at each scrape what /readyz says.
func TestReadyGauge(t *testing.T) {
	reg := obs.NewRegistry()
	var notReady atomic.Bool
	ready := func(context.Context) error {
		if notReady.Load() {
			return errors.New("not connected to NATS (RECONNECTING)")
		}
		return nil
	}
	if _, err := obs.Serve(t.Context(), "127.0.0.1:0", reg, slog.New(slog.DiscardHandler), ready); err != nil {
		t.Fatal(err)
	}
	const help = "# HELP assay_ready 1 when the process can work (connected to NATS, JetStream answering: what /readyz says), else 0.\n# TYPE assay_ready gauge\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(help+"assay_ready 1\n"), "assay_ready"); err != nil {
		t.Error(err)
	}
	notReady.Store(true)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(help+"assay_ready 0\n"), "assay_ready"); err != nil {
		t.Error(err)
	}
}

// TestEndpointMetrics: every request is counted by name and outcome; an
// answer's latency, and a streamed answer's time to first token, are
// observed by name.
func TestEndpointMetrics(t *testing.T) {
	reg := obs.NewRegistry()
	e := obs.NewEndpoints(reg, "infer", "variant")
	e.Attempt("ft", "rate_limited", 0, 0)
	e.Attempt("ft", "ok", 2*time.Second, 300*time.Millisecond)
	e.Attempt("base", "ok", time.Second, 0)
	want := `
# HELP assay_infer_endpoint_requests_total Requests the infer stage sent to model endpoints, retries included, by variant and outcome (ok, rate_limited, server_error, client_error, timeout, failed).
# TYPE assay_infer_endpoint_requests_total counter
assay_infer_endpoint_requests_total{outcome="ok",variant="base"} 1
assay_infer_endpoint_requests_total{outcome="ok",variant="ft"} 1
assay_infer_endpoint_requests_total{outcome="rate_limited",variant="ft"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "assay_infer_endpoint_requests_total"); err != nil {
		t.Error(err)
	}
	for name, n := range map[string]int{"assay_infer_endpoint_latency_seconds": 2, "assay_infer_endpoint_ttft_seconds": 1} {
		if got := testutil.CollectAndCount(reg, name); got != n {
			t.Errorf("%s has %d series, want %d", name, got, n)
		}
	}
}
