package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/stage"
)

// TestStagesRunSideBySideAsTheREADMEStartsThem starts the five service
// binaries as the README's multi-process example does — nothing but --nats,
// a second infer replica with its own --metrics-addr — and expects each to
// serve its metrics on its own loopback port.
func TestStagesRunSideBySideAsTheREADMEStartsThem(t *testing.T) {
	const replica = "127.0.0.1:9192"
	addrs := map[string]string{"second infer replica": replica}
	for name, addr := range stage.MetricsAddrs {
		if name != "assay" {
			addrs[name] = addr
		}
	}
	for name, addr := range addrs {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Fatalf("%s's default metrics address %s listens beyond loopback", name, addr)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("%s is taken on this machine (%v): the defaults cannot be tried here", addr, err)
		}
		l.Close()
	}
	url := bustest.Server(t).ClientURL()
	for _, line := range [][]string{
		{"assay-ingest", "--nats", url},
		{"assay-infer", "--nats", url},
		{"assay-infer", "--nats", url, "--metrics-addr", replica},
		{"assay-score", "--nats", url},
		{"assay-judge", "--nats", url},
		{"assay-report", "--nats", url},
	} {
		start(t, line[0], line[1:]...)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for name, addr := range addrs {
		bustest.Eventually(t, 60*time.Second, func() error {
			resp, err := client.Get("http://" + addr + "/healthz")
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: /healthz: HTTP %d", name, resp.StatusCode)
			}
			return nil
		})
	}
}
