package bus_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus/bustest"
)

// TestReady: a bus is ready while NATS and JetStream answer, and says it
// is not, and why, once the server is gone.
func TestReady(t *testing.T) {
	s := bustest.Server(t)
	b := bustest.Open(t, s)
	if err := b.Ready(t.Context()); err != nil {
		t.Fatalf("ready: %v", err)
	}
	s.Shutdown()
	bustest.Eventually(t, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		err := b.Ready(ctx)
		if err == nil || !strings.Contains(err.Error(), "not connected to NATS") {
			return fmt.Errorf("ready with the server gone: %v", err)
		}
		return nil
	})
}
