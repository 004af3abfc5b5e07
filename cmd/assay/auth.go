package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// embeddedAuth is the authentication of the embedded server: a generated
// nkey for every identity of [bus.Identities], with its grant, unless the
// operator gave a configuration of their own.
func embeddedAuth(o systemOptions) *natsembed.Auth {
	if o.NATSConfig != "" {
		return nil
	}
	return &natsembed.Auth{Identities: bus.Identities, Permissions: natsPermissions}
}

// natsPermissions are the server's permissions of identity's grant.
func natsPermissions(identity, pub string) *server.Permissions {
	// An unknown identity has an empty grant: it may do nothing.
	g, _ := bus.GrantOf(identity, bus.Inbox(pub))
	return natsembed.Permissions(g.Publish, g.Subscribe, g.Respond)
}

// connectEmbedded connects to the embedded server as identity: in memory
// with its generated nkey, or, on a server started from the operator's
// configuration, over the network as the client flags say.
func (s *system) connectEmbedded(ctx context.Context, o systemOptions, identity string) (*nats.Conn, error) {
	if o.NATSConfig != "" {
		cfg := o.Client
		cfg.URL, cfg.Name = s.Server.ClientURL(), "assay-"+identity
		nc, err := bus.Connect(ctx, cfg, o.Logger)
		if errors.Is(err, bus.ErrClientConfig) {
			err = usage(err)
		}
		return nc, err
	}
	opts, err := bus.NKeyOptions(s.Server.SeedFile(identity))
	if err != nil {
		return nil, err
	}
	return s.Server.Connect(append(opts, nats.Name("assay-"+identity), bus.LogAsyncErrors(o.Logger))...)
}

// stageEnv is the environment of one stage: on an embedded server its own
// connection, as the stage's identity, so that the server enforces its
// grant; otherwise the system's.
func (s *system) stageEnv(ctx context.Context, o systemOptions, name string) (*stage.Env, error) {
	if s.Server == nil || o.NATSConfig != "" {
		return s.Env, nil
	}
	nc, err := s.connectEmbedded(ctx, o, name)
	if err != nil {
		return nil, err
	}
	b, err := bus.Open(ctx, nc, bus.Options{Replicas: o.Replicas, Logger: o.Logger})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.conns = append(s.conns, nc)
	// Everything else (logger, metrics, endpoint policy) is the system's.
	env := *s.Env
	env.Bus = b
	return &env, nil
}

// printJoin tells how to join a running assay up: its URL and, on an
// embedded server with generated credentials, the seed file of each
// identity.
func printJoin(w io.Writer, sys *system, url string, operatorConfig bool) {
	if sys.Server == nil || operatorConfig {
		fmt.Fprintf(w, "assay up: NATS at %s; submit runs with: assay run -f run.yaml --nats %s\n", url, url)
		return
	}
	seed := sys.Server.SeedFile
	fmt.Fprintf(w, "assay up: NATS at %s, credentials in %s; submit runs with: assay run -f run.yaml --nats %s --nats-nkey %s\n",
		url, filepath.Dir(seed(bus.IdentityClient)), url, seed(bus.IdentityClient))
	fmt.Fprintf(w, "assay up: stages join with assay-<stage> --nats %s --nats-nkey %s (ingest, infer, score, judge, report); production intake uses %s; %s may do anything\n",
		url, seed("<stage>"), seed(bus.IdentityIntake), seed(bus.IdentityAdmin))
}
