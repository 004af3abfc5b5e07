package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
)

// TestIntakeRetentionUntouchedWithoutLimits: a process opening the bus
// with no intake limits given leaves the intake stream as the operator
// set it, its discard policy too; one given a limit applies it.
func TestIntakeRetentionUntouchedWithoutLimits(t *testing.T) {
	s := bustest.Server(t)
	b := bustest.Open(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cfg := b.Stream(bus.StreamIntake).CachedInfo().Config
	cfg.Discard, cfg.MaxBytes = jetstream.DiscardNew, 1<<20
	if _, err := b.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	info, err := bustest.Open(t, s).Stream(bus.StreamIntake).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Discard != jetstream.DiscardNew || info.Config.MaxBytes != 1<<20 {
		t.Fatalf("opening with no limits changed the intake stream: discard %v, max bytes %d; want the operator's DiscardNew and 1MiB", info.Config.Discard, info.Config.MaxBytes)
	}
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	withLimit, err := bus.Open(ctx, nc, bus.Options{IntakeMaxBytes: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if info, err = withLimit.Stream(bus.StreamIntake).Info(ctx); err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxBytes != 2<<20 || info.Config.Discard != jetstream.DiscardOld {
		t.Fatalf("opening with a 2MiB limit: discard %v, max bytes %d; want DiscardOld and 2MiB", info.Config.Discard, info.Config.MaxBytes)
	}
}
