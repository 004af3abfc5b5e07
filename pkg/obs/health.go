package obs

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Check asks the /readyz of a process serving its metrics on addr (as
// given to [Serve]: an unspecified host, 0.0.0.0 or [::], is asked on
// loopback) and says what is wrong, if anything: the process does not
// answer, or is not ready (not connected to NATS, JetStream not
// answering). It is what a container's health check runs, inside the
// container, where nothing else is at hand.
func Check(ctx context.Context, addr string) error {
	if addr == "" {
		return fmt.Errorf("no metrics address: the process serves /readyz on --metrics-addr (env ASSAY_METRICS_ADDR), which is empty")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s/readyz: %w", net.JoinHostPort(host, port), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("%s/readyz answered %s: %s", net.JoinHostPort(host, port), resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
