package obs

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCheck: the health check finds a process serving its metrics, on
// loopback when it listens on every address, and says why when none does.
func TestCheck(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := Serve(ctx, "0.0.0.0:0", prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, a := range []string{addr, "0.0.0.0:" + port, "[::]:" + port, "127.0.0.1:" + port} {
		if err := Check(ctx, a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
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
