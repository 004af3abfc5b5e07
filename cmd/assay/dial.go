package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

// natsFlags are the connection flags of commands that talk to a running
// assay: the same NATS URL, credentials and TLS flags as every service.
type natsFlags struct {
	stage.ClientFlags
	cmd *cobra.Command
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (f *natsFlags) register(cmd *cobra.Command) {
	fs := flag.NewFlagSet(cmd.Name(), flag.ContinueOnError)
	f.Register(fs)
	cmd.Flags().AddGoFlagSet(fs)
	_ = cmd.Flags().MarkHidden("creds") // the old name of --nats-creds
	// --help prints a flag's default: never the secrets ASSAY_NATS may hold.
	cmd.Flags().Lookup("nats").DefValue = bus.RedactURL(f.URL)
	f.cmd = cmd
}

// dial connects to NATS and opens the bus; close ends the connection. A
// command fails at once when no server answers (a user is waiting), but
// waits up to --startup-timeout for a cluster's JetStream to be ready,
// saying so on stderr.
func (f *natsFlags) dial(ctx context.Context) (b *bus.Bus, close func(), err error) {
	cfg, err := f.Config("assay-cli")
	if err != nil {
		return nil, nil, usage(err)
	}
	cfg.Wait = 0
	logger := slog.New(slog.DiscardHandler)
	if f.cmd != nil {
		logger = slog.New(slog.NewTextHandler(f.cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	nc, err := bus.Connect(ctx, cfg, logger)
	if errors.Is(err, bus.ErrClientConfig) {
		return nil, nil, usage(err)
	}
	if errors.Is(err, bus.ErrNATSAuth) && cfg.Creds == "" && cfg.NKey == "" && cfg.User == "" {
		return nil, nil, fmt.Errorf("%w; assay up admits only the identities it generated: give --nats-nkey <its data directory>/%s", err, clientSeedPath)
	}
	if err != nil {
		return nil, nil, err
	}
	if b, err = bus.Open(ctx, nc, bus.Options{Wait: f.StartupTimeout, Logger: logger}); err != nil {
		nc.Close()
		if errors.Is(err, nats.ErrPermissionViolation) {
			err = fmt.Errorf("%w: these NATS credentials may not do what the CLI needs: give the client identity's (--nats-nkey <assay up's data directory>/%s)", err, clientSeedPath)
		}
		return nil, nil, err
	}
	return b, nc.Close, nil
}

// clientSeedPath is where the client identity's seed is in the data
// directory of assay up.
var clientSeedPath = natsembed.AuthDir + "/" + bus.IdentityClient + ".nk"

// clientFlagNames are the flags that say how to reach the server of --nats.
var clientFlagNames = []string{"nats-creds", "creds", "nats-nkey", "nats-user", "nats-password-file",
	"nats-tls-ca", "nats-tls-cert", "nats-tls-key", "startup-timeout"}

// changedClientFlags are the flags of clientFlagNames given on cmd's
// command line, for commands that refuse them without --nats.
func changedClientFlags(cmd *cobra.Command) []string {
	var set []string
	for _, name := range clientFlagNames {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			set = append(set, name)
		}
	}
	return set
}
