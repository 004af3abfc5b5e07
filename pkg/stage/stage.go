// Package stage is the process around a pipeline stage: the flags every
// service binary shares (--nats and the NATS credentials and TLS flags,
// --startup-timeout, --metrics-addr, --log-level, --pyroscope, --replicas,
// --version, the intake retention's --intake-max-age and --intake-max-bytes,
// and the endpoint policy's --endpoints, --endpoint-allow and
// --allow-api-key-env, which ingest, infer and judge use) and the
// environment variables behind them, the connection to NATS and the bus,
// logging, metrics and profiling, the binary's version, and a signal-aware
// context. A service's main.go
// calls [Main] and nothing else.
package stage

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Flags are the settings every service process takes.
type Flags struct {
	Client      ClientFlags
	Endpoints   EndpointFlags
	Intake      IntakeRetention
	MetricsAddr string
	LogLevel    string
	Pyroscope   string
	Replicas    int
	// ShutdownGrace is how long handlers may finish after SIGTERM
	// ([bus.Options.ShutdownGrace]).
	ShutdownGrace time.Duration
}

// DefaultShutdownGrace is a stage's --shutdown-grace: under docker stop's
// 10 seconds before SIGKILL (and Kubernetes' 30), with room to hand back
// the rest and drain.
const DefaultShutdownGrace = 7 * time.Second

// MetricsAddrs are the default metrics addresses: loopback only (nothing
// listens beyond it unless configured), and one port per binary so that the
// five stages run side by side on one host as they are.
var MetricsAddrs = map[string]string{
	"assay":        "127.0.0.1:9090",
	"assay-ingest": "127.0.0.1:9091",
	"assay-infer":  "127.0.0.1:9092",
	"assay-score":  "127.0.0.1:9093",
	"assay-judge":  "127.0.0.1:9094",
	"assay-report": "127.0.0.1:9095",
}

// Register adds the flags of the binary name to fs.
func (f *Flags) Register(fs *flag.FlagSet, name string) {
	f.Client.Register(fs)
	f.Endpoints.Register(fs)
	f.Intake.Register(fs)
	def := MetricsAddrs[name]
	// The example keeps the binary's own port, so that stages side by side
	// on one host stay apart when opened to other hosts.
	example := "0.0.0.0:9090"
	if _, port, err := net.SplitHostPort(def); err == nil {
		example = net.JoinHostPort("0.0.0.0", port)
	}
	fs.StringVar(&f.MetricsAddr, "metrics-addr", envOr("ASSAY_METRICS_ADDR", def), "address for /metrics and /healthz, e.g. "+example+" to be scraped from other hosts; empty turns them off (env ASSAY_METRICS_ADDR)")
	fs.StringVar(&f.LogLevel, "log-level", envOr("ASSAY_LOG_LEVEL", "info"), "debug, info, warn or error (env ASSAY_LOG_LEVEL)")
	fs.StringVar(&f.Pyroscope, "pyroscope", os.Getenv("ASSAY_PYROSCOPE"), "Pyroscope server URL; turns on continuous profiling (env ASSAY_PYROSCOPE)")
	fs.IntVar(&f.Replicas, "replicas", 1, "replicas of streams and buckets when creating them (3 on a cluster)")
	grace := DefaultShutdownGrace
	if v, err := time.ParseDuration(os.Getenv("ASSAY_SHUTDOWN_GRACE")); err == nil && v >= 0 {
		grace = v
	}
	fs.DurationVar(&f.ShutdownGrace, "shutdown-grace", grace, "on SIGTERM, how long messages being handled may finish before the rest are handed back to NATS; keep it under the orchestrator's grace period (env ASSAY_SHUTDOWN_GRACE)")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Env is what a running stage is given.
type Env struct {
	Bus      *bus.Bus
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Endpoints is what the stages may call, and with which keys. The
	// stage binaries and assay up always set a server's policy; nil (an
	// Env built in-process by hand) is a local run's, which allows
	// everything.
	Endpoints *llm.Endpoints
	close     []func()
}

// StageMetrics registers the metrics every stage has in e's registry —
// its messages' ([obs.Stage]) and its consumers' backlog
// ([bus.LagMetrics]) — and returns the former, which the stage's
// consumers report to.
func (e *Env) StageMetrics(name string) *obs.Stage {
	if e.Bus != nil {
		bus.NewLagMetrics(e.Registry, e.Bus, name)
	}
	return obs.NewStage(e.Registry, name)
}

// Close releases the connection and stops profiling.
func (e *Env) Close() {
	for i := len(e.close) - 1; i >= 0; i-- {
		e.close[i]()
	}
}

// closeConn drains the connection — which sends what it holds, the last
// acks and naks of a shutdown among it — and waits a bounded time for it
// to close: a process that exits at once loses what its buffer still held.
func closeConn(nc *nats.Conn) {
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	for deadline := time.Now().Add(5 * time.Second); !nc.IsClosed() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	nc.Close()
}

// Connect dials NATS with reconnects that never give up: a stage outlives
// restarts of the server. It tries once, with creds as the only
// credentials; [bus.Connect] takes every client setting.
func Connect(url, creds, name string, logger *slog.Logger) (*nats.Conn, error) {
	return bus.Connect(context.Background(), bus.ClientConfig{URL: url, Creds: creds, Name: name}, logger)
}

// Setup connects to NATS, opens the bus and starts metrics and profiling.
func Setup(ctx context.Context, name string, f Flags) (*Env, error) {
	logger, err := obs.NewLogger(os.Stderr, f.LogLevel)
	if err != nil {
		return nil, err
	}
	logger = logger.With("service", name)
	if err := f.Intake.Err(); err != nil {
		return nil, err
	}
	env := &Env{Logger: logger, Registry: obs.NewRegistry()}
	if env.Endpoints, err = f.Endpoints.endpoints(name); err != nil {
		return nil, err
	}
	LogEndpoints(logger, env.Endpoints)
	cfg, err := f.Client.Config(name)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	nc, err := bus.Connect(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	env.close = append(env.close, func() { closeConn(nc) })
	opts := bus.Options{Replicas: f.Replicas, Wait: max(f.Client.StartupTimeout-time.Since(start), time.Second), Logger: logger,
		ShutdownGrace: f.ShutdownGrace}
	f.Intake.Apply(&opts)
	env.Bus, err = bus.Open(ctx, nc, opts)
	if err != nil {
		env.Close()
		return nil, err
	}
	if f.MetricsAddr != "" {
		addr, err := obs.Serve(ctx, f.MetricsAddr, env.Registry, logger, env.Bus.Ready)
		if err != nil {
			env.Close()
			return nil, err
		}
		logger.Info("serving metrics", "addr", addr)
	}
	if f.Pyroscope != "" {
		stop, err := obs.StartProfiling(f.Pyroscope, name, logger)
		if err != nil {
			env.Close()
			return nil, err
		}
		env.close = append(env.close, stop)
	}
	return env, nil
}

// Main runs a service binary: it parses flags (extra adds the service's
// own), sets up the stage and calls run until SIGINT or SIGTERM.
func Main(name string, extra func(fs *flag.FlagSet), run func(ctx context.Context, env *Env) error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	var f Flags
	f.Register(fs, name)
	showVersion := fs.Bool("version", false, "print the version and the commit, and exit")
	health := fs.Bool("health", false, "ask the running "+name+"'s /readyz on --metrics-addr and exit 0 when it is ready (connected to NATS, JetStream answering), 1 when not (a container's health check)")
	if extra != nil {
		extra(fs)
	}
	_ = fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Println(name, Version())
		return
	}
	if *health {
		if err := obs.Check(context.Background(), f.MetricsAddr); err != nil {
			fmt.Fprintf(os.Stderr, "%s: unhealthy: %v\n", name, err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts the shutdown; a second ends the process at
	// once, as Go does by default.
	context.AfterFunc(ctx, stop)
	env, err := Setup(ctx, name, f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	defer env.Close()
	env.Logger.Info("started", "nats", bus.RedactURL(f.Client.URL))
	if err := run(ctx, env); err != nil && !errors.Is(err, context.Canceled) {
		env.Logger.Error("stopped", "err", err)
		env.Close()
		os.Exit(1)
	}
	env.Logger.Info("stopped")
}

// HandedOut is how many messages a consumer whose handlers call an
// endpoint at most concurrency at a time hands out at once: concurrency,
// and ahead more that wait in the stage for a free slot, so that a slot is
// not idle while a handler's bus round trips (a message pulled, looked up
// in the cache; an answer stored and published) run. ahead 0 is
// ⌈concurrency/8⌉; negative, none.
func HandedOut(concurrency, ahead int) int {
	n := max(concurrency, 1)
	switch {
	case ahead < 0:
		return n
	case ahead > 0:
		return n + ahead
	}
	return n + (n+7)/8
}
