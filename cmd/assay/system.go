package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/infer"
	"github.com/assay-eval/assay/services/ingest"
	"github.com/assay-eval/assay/services/judge"
	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/score"
	"github.com/nats-io/nats.go"
)

// allServices are the stages `assay up` runs by default.
var allServices = []string{bus.StageIngest, bus.StageInfer, bus.StageScore, bus.StageJudge, bus.StageReport}

// systemOptions configure an in-process assay.
type systemOptions struct {
	// NATS is the server URL; empty starts an embedded server.
	NATS string
	// Client is how to reach NATS (credentials, TLS) when NATS is set;
	// its URL and Name are ignored.
	Client bus.ClientConfig
	// StartupTimeout bounds the wait for NATS and JetStream when NATS is
	// set (0: bus.DefaultWait).
	StartupTimeout time.Duration
	// Data is the embedded server's directory, locked while it runs;
	// empty is a temporary one.
	Data string
	// Fresh empties Data's store first, once the lock is held.
	Fresh bool
	// Host and Port the embedded server listens on: port 0 is a free
	// port, -1 none.
	Host        string
	Port        int
	Services    []string
	MetricsAddr string
	Pyroscope   string
	Replicas    int
	Logger      *slog.Logger
	// IntakeAddr, when set, serves the HTTP intake of production queries.
	IntakeAddr string
	// Intake secures and limits the intake (tokens, TLS, limits).
	Intake ingest.IntakeConfig
	// Retention bounds the intake stream; a zero field leaves an existing
	// stream's limit as it is and gives a new one bus.Options' default.
	Retention stage.IntakeRetention
	// Endpoints is what the stages may call: a server's policy for assay
	// up, llm.LocalEndpoints for a run on the user's own machine.
	Endpoints *llm.Endpoints
	// NATSConfig starts the embedded server from this nats-server
	// configuration instead of generated credentials; the stages connect
	// as Client says.
	NATSConfig string
}

// system is assay running in this process: optionally an embedded NATS
// server, the bus, and the chosen stages.
type system struct {
	Server   *natsembed.Server
	Env      *stage.Env
	URL      string
	services []string
	// Ingest is the ingest stage when it runs here (for its intake
	// address).
	Ingest *ingest.Service

	// conns are the stages' own connections.
	conns  []*nats.Conn
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

func startSystem(ctx context.Context, o systemOptions) (*system, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	services, err := parseServices(o.Services)
	switch {
	case err != nil:
		return nil, usage(err)
	case len(services) == 0:
		o.Services = allServices
	case services[0] == "none":
		// Only the NATS server (and the topology), for stages run elsewhere.
		o.Services = nil
	default:
		o.Services = services
	}
	sys := &system{services: o.Services}
	var nc *nats.Conn
	var wait time.Duration // 0: bus.Open's default
	if o.NATS == "" {
		sys.Server, err = natsembed.Start(natsembed.Options{Dir: o.Data, Host: o.Host, Port: o.Port, Fresh: o.Fresh,
			Auth: embeddedAuth(o), ConfigFile: o.NATSConfig})
		if err != nil {
			return nil, err
		}
		nc, err = sys.connectEmbedded(ctx, o, bus.IdentityAdmin)
		if o.Port >= 0 {
			sys.URL = sys.Server.ClientURL()
		}
	} else {
		sys.URL = o.NATS
		cfg := o.Client
		cfg.URL, cfg.Name = o.NATS, "assay"
		cfg.Wait = o.StartupTimeout
		if cfg.Wait <= 0 {
			cfg.Wait = bus.DefaultWait
		}
		start := time.Now()
		nc, err = bus.Connect(ctx, cfg, o.Logger)
		// What is left of the start-up timeout is JetStream's.
		wait = max(cfg.Wait-time.Since(start), time.Second)
		if errors.Is(err, bus.ErrClientConfig) {
			err = usage(err)
		}
	}
	if err != nil {
		sys.shutdownServer()
		return nil, err
	}
	opts := bus.Options{Replicas: o.Replicas, Wait: wait, Logger: o.Logger}
	o.Retention.Apply(&opts)
	b, err := bus.Open(ctx, nc, opts)
	if err != nil {
		nc.Close()
		sys.shutdownServer()
		return nil, err
	}
	sys.Env = &stage.Env{Bus: b, Logger: o.Logger, Registry: obs.NewRegistry(), Endpoints: o.Endpoints}
	if o.MetricsAddr != "" {
		addr, err := obs.Serve(ctx, o.MetricsAddr, sys.Env.Registry, o.Logger, sys.Env.Bus.Ready)
		if err != nil {
			nc.Close()
			sys.shutdownServer()
			return nil, err
		}
		o.Logger.Info("serving metrics", "addr", addr)
	}
	if o.Pyroscope != "" {
		stop, err := obs.StartProfiling(o.Pyroscope, "assay", o.Logger)
		if err != nil {
			nc.Close()
			sys.shutdownServer()
			return nil, err
		}
		context.AfterFunc(ctx, stop)
	}
	sctx, cancel := context.WithCancel(ctx)
	sys.cancel = cancel
	for _, name := range o.Services {
		env, err := sys.stageEnv(ctx, o, name)
		if err != nil {
			_ = sys.Stop()
			return nil, err
		}
		var run func(context.Context) error
		if name == bus.StageIngest {
			sys.Ingest = ingest.New(ingest.Config{IntakeAddr: o.IntakeAddr, Intake: o.Intake}, env)
			run = sys.Ingest.Run
		} else if name == bus.StageReport && o.Data != "" && o.NATS == "" {
			// Spilled results sit with the embedded server's data, not
			// in a /tmp that may be memory. With --nats there is no data
			// directory of ours: the system's temporary directory.
			run = report.New(report.Config{SpillDir: filepath.Join(o.Data, "report-spill")}, env).Run
		} else {
			run = serviceRunner(name, env)
		}
		sys.wg.Add(1)
		go func() {
			defer sys.wg.Done()
			if err := run(sctx); err != nil && !errors.Is(err, context.Canceled) {
				o.Logger.Error("service stopped", "service", name, "err", err)
				sys.mu.Lock()
				sys.errs = append(sys.errs, fmt.Errorf("%s: %w", name, err))
				sys.mu.Unlock()
			}
		}()
	}
	return sys, nil
}

func serviceRunner(name string, env *stage.Env) func(context.Context) error {
	switch name {
	case bus.StageInfer:
		return infer.New(infer.Config{}, env).Run
	case bus.StageScore:
		return score.New(score.Config{}, env).Run
	case bus.StageJudge:
		return judge.New(judge.Config{}, env).Run
	}
	return report.New(report.Config{}, env).Run
}

// Stop stops the stages, then the connection and the embedded server.
func (s *system) Stop() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	for _, nc := range s.conns {
		nc.Close()
	}
	if s.Env != nil {
		s.Env.Bus.NC.Close()
	}
	s.shutdownServer()
	return errors.Join(s.errs...)
}

func (s *system) shutdownServer() {
	if s.Server != nil {
		s.Server.Shutdown()
	}
}
