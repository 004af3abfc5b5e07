package bus

import (
	"context"
	"fmt"
)

// Ready says what keeps the bus from working, if anything: the connection
// to NATS is down (it reconnects on its own meanwhile), or JetStream does
// not answer (a cluster without a quorum, a server without JetStream).
// It is a process's readiness (see obs.Serve): a stage that is not ready
// keeps running and recovers when NATS does.
func (b *Bus) Ready(ctx context.Context) error {
	if !b.NC.IsConnected() {
		return fmt.Errorf("not connected to NATS (%s)", b.NC.Status())
	}
	if _, err := b.JS.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream does not answer: %w", err)
	}
	return nil
}
