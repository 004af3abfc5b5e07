package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/spf13/cobra"
)

// natsFlags are the connection flags of commands that talk to a running
// assay.
type natsFlags struct {
	url, creds string
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (f *natsFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "nats", envOr("ASSAY_NATS", "nats://127.0.0.1:4222"), "NATS server URL (env ASSAY_NATS)")
	cmd.Flags().StringVar(&f.creds, "creds", os.Getenv("ASSAY_NATS_CREDS"), "NATS credentials file (env ASSAY_NATS_CREDS)")
}

// dial connects to NATS and opens the bus; close ends the connection.
func (f *natsFlags) dial(ctx context.Context) (b *bus.Bus, close func(), err error) {
	nc, err := stage.Connect(f.url, f.creds, "assay-cli", slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	if b, err = bus.Open(ctx, nc, bus.Options{}); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return b, nc.Close, nil
}
