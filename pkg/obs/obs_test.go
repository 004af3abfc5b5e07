package obs_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/obs"
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
