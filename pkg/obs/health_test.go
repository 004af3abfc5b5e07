package obs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCheck: the health check finds a ready process serving its metrics,
// on loopback when it listens on every address; it says why when the
// process is not ready, and when none answers.
func TestCheck(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var notReady error
	ready := func(context.Context) error { return notReady }
	addr, err := Serve(ctx, "0.0.0.0:0", prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), ready)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, a := range []string{addr, "0.0.0.0:" + port, "[::]:" + port, "127.0.0.1:" + port} {
		if err := Check(ctx, a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	notReady = errors.New("not connected to NATS (RECONNECTING)")
	if err := Check(ctx, addr); err == nil || !strings.Contains(err.Error(), "503 Service Unavailable: not ready: not connected to NATS (RECONNECTING)") {
		t.Errorf("not ready: %v", err)
	}
	// Liveness does not depend on readiness.
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz while not ready: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	cancel()
	// Nothing listens on the port any more.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	for a, want := range map[string]string{free: "asking", "": "no metrics address", "nonsense": "metrics address"} {
		if err := Check(context.Background(), a); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", a, err, want)
		}
	}
}
