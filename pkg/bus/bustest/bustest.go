// Package bustest starts an embedded NATS server with assay's topology for
// tests, the way nats-server's test helpers do: a real server on a
// temporary store, shut down by t.Cleanup.
package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats.go/jetstream"
)

// Server starts an embedded server listening on a free loopback port, with
// its store in a test temporary directory.
func Server(t testing.TB) *natsembed.Server {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting NATS: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// Open connects to s and opens the bus.
func Open(t testing.TB, s *natsembed.Server) *bus.Bus {
	t.Helper()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, nc, bus.Options{})
	if err != nil {
		t.Fatalf("opening bus: %v", err)
	}
	return b
}

// New starts a server and opens the bus on it.
func New(t testing.TB) *bus.Bus {
	t.Helper()
	return Open(t, Server(t))
}

// Eventually polls f every 10ms until it returns nil or total passes, like
// nats-server's checkFor: tests wait for conditions, never for time.
func Eventually(t testing.TB, total time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", total, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stored decodes every message stored in stream (on subjects, when given),
// oldest first: what a stage published, read back as a test sees it.
func Stored[T any](t testing.TB, b *bus.Bus, stream string, subjects ...string) []T {
	t.Helper()
	var out []T
	err := b.ReadStored(t.Context(), stream, jetstream.OrderedConsumerConfig{FilterSubjects: subjects}, func(m jetstream.Msg, _ uint64) error {
		var v T
		if err := json.Unmarshal(m.Data(), &v); err != nil {
			return fmt.Errorf("%s: message %s does not decode: %w", stream, m.Subject(), err)
		}
		out = append(out, v)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
