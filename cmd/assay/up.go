package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/ingest"
	"github.com/assay-eval/assay/services/report/review"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// upConfig is assay.yaml: the settings of `assay up`. The environment
// gives defaults, the file overrides them, flags override both.
type upConfig struct {
	NATS  string `yaml:"nats"`
	Creds string `yaml:"creds"`
	// NATSConfig starts the embedded server from an operator's
	// nats-server configuration instead of generated credentials.
	NATSConfig string `yaml:"nats_config"`
	// How to reach NATS with --nats, as the flags of the same names say.
	// The password has no key: it comes from a file or ASSAY_NATS_PASSWORD.
	NKey           string        `yaml:"nats_nkey"`
	User           string        `yaml:"nats_user"`
	Password       string        `yaml:"-"`
	PasswordFile   string        `yaml:"nats_password_file"`
	TLSCA          string        `yaml:"nats_tls_ca"`
	TLSCert        string        `yaml:"nats_tls_cert"`
	TLSKey         string        `yaml:"nats_tls_key"`
	StartupTimeout time.Duration `yaml:"startup_timeout"`
	// envErr is a malformed setting from the environment.
	envErr      error
	Data        string      `yaml:"data"`
	Host        string      `yaml:"host"`
	Port        int         `yaml:"port"`
	Services    serviceList `yaml:"services"`
	MetricsAddr string      `yaml:"metrics_addr"`
	Pyroscope   string      `yaml:"pyroscope"`
	Replicas    int         `yaml:"replicas"`
	LogLevel    string      `yaml:"log_level"`
	IntakeAddr  string      `yaml:"intake_addr"`
	// ReviewAddr, when set, serves the review page (see assay review
	// serve) to the reviewers of the Reviewers file.
	ReviewAddr string `yaml:"review_addr"`
	Reviewers  string `yaml:"reviewers"`
	// Intake is set from the --intake-* flags and ASSAY_INTAKE_TOKENS only.
	Intake ingest.IntakeConfig `yaml:"-"`
	// Retention bounds the intake stream (intake_max_age,
	// intake_max_bytes) and sets the per-sample streams' duplicate window
	// (dedupe_window).
	Retention stage.IntakeRetention `yaml:",inline"`
	// The endpoint policy (see endpoints.go).
	endpointSettings `yaml:",inline"`
}

// defaultUpConfig is `assay up` without flags or file. It does not read
// ASSAY_NATS: that is where clients find this server, and honouring it
// here would make `assay up` connect to itself instead of serving.
func defaultUpConfig(getenv func(string) string) upConfig {
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	c := upConfig{
		Data: "assay-data", Host: "127.0.0.1", Port: 4222, Replicas: 1,
		Creds:        getenv("ASSAY_NATS_CREDS"),
		NKey:         getenv("ASSAY_NATS_NKEY"),
		User:         getenv("ASSAY_NATS_USER"),
		Password:     getenv("ASSAY_NATS_PASSWORD"),
		PasswordFile: getenv("ASSAY_NATS_PASSWORD_FILE"),
		TLSCA:        getenv("ASSAY_NATS_TLS_CA"),
		TLSCert:      getenv("ASSAY_NATS_TLS_CERT"),
		TLSKey:       getenv("ASSAY_NATS_TLS_KEY"),
		MetricsAddr:  or("ASSAY_METRICS_ADDR", stage.MetricsAddrs["assay"]),
		LogLevel:     or("ASSAY_LOG_LEVEL", "info"),
		Pyroscope:    getenv("ASSAY_PYROSCOPE"),

		endpointSettings: defaultEndpointSettings(getenv),
	}
	if err := c.Retention.FromEnv(getenv); err != nil {
		c.envErr = err
	}
	if v := getenv("ASSAY_STARTUP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			c.envErr = fmt.Errorf("ASSAY_STARTUP_TIMEOUT=%q: write a positive duration such as 2m or 90s", v)
		} else {
			c.StartupTimeout = d
		}
	}
	return c
}

// client is how c reaches NATS with --nats.
func (c upConfig) client() bus.ClientConfig {
	return bus.ClientConfig{Creds: c.Creds, NKey: c.NKey, User: c.User, Password: c.Password, PasswordFile: c.PasswordFile,
		TLSCA: c.TLSCA, TLSCert: c.TLSCert, TLSKey: c.TLSKey}
}

func loadUpConfig(file string) (upConfig, error) {
	c := defaultUpConfig(os.Getenv)
	if c.envErr != nil {
		return c, c.envErr
	}
	if file == "" {
		return c, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return c, fmt.Errorf("reading config: %w", err)
	}
	return parseUpConfig(file, b, c)
}

// parseUpConfig reads an assay.yaml over the defaults c.
func parseUpConfig(file string, data []byte, c upConfig) (upConfig, error) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	if c.StartupTimeout < 0 {
		return c, fmt.Errorf("%s: startup_timeout: %s is negative: write a positive duration such as 2m or 90s", file, c.StartupTimeout)
	}
	return c, nil
}

// serviceList is the stages `assay up` runs: a YAML list, a comma-separated
// string, or none for only the NATS server. Empty means all of them.
type serviceList []string

// UnmarshalYAML accepts `services: none`, `services: [none]`,
// `services: ingest,report` and `services: [ingest, report]`.
func (l *serviceList) UnmarshalYAML(n *yaml.Node) error {
	names, err := commaList(n, "services", "stages", "[ingest, report], or none")
	if err != nil {
		return err
	}
	s, err := parseServices(names)
	if err != nil {
		return fmt.Errorf("line %d: services: %w", n.Line, err)
	}
	*l = s
	return nil
}

// parseServices checks stage names: every one known, none alone. It
// returns nil for all the stages and ["none"] for none.
func parseServices(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case n != "none" && !slices.Contains(allServices, n):
			return nil, fmt.Errorf("unknown service %q: use %s, or none", n, strings.Join(allServices, ", "))
		case !slices.Contains(out, n):
			out = append(out, n)
		}
	}
	if slices.Contains(out, "none") && len(out) > 1 {
		return nil, fmt.Errorf("none runs only the NATS server: it cannot be combined with other stages (%s)", strings.Join(out, ", "))
	}
	return out, nil
}

func newUpCmd() *cobra.Command {
	var file string
	var over upConfig
	var (
		services  string
		retention stage.IntakeRetention
		intake    ingest.IntakeFlags
		client    stage.ClientFlags
		eps       stage.EndpointFlags
	)
	cmd := &cobra.Command{
		Use:   "up [-c assay.yaml]",
		Short: "Run every stage in this process (embedded NATS unless --nats)",
		Long: `Runs the ingest, infer, score, judge and report stages in one process until
interrupted. Without --nats it also runs an embedded NATS server with JetStream
file storage in --data, listening on --host:--port, so that other processes
(assay run --nats, production intake, more stage replicas) can join. Killed at
any moment, it resumes where it stopped when started again on the same data
directory. The data directory is locked while it runs: a second assay up (or
assay run --data) on it is refused with the holder's process id.

The embedded server admits only the identities whose nkey seeds it generates
once in --data's auth directory (0600 files, reused on every start), each
allowed only its own subjects: ingest, infer, score, judge and report for the
stages, client for assay run, report, export, checkpoint, replay and retry,
intake for production systems, and admin. Other processes join with
--nats-nkey, e.g. assay run --nats URL --nats-nkey assay-data/auth/client.nk
or assay-infer --nats URL --nats-nkey assay-data/auth/infer.nk. With
--nats-config the server is configured by an operator's nats-server file
instead (users, TLS, listen address), and assay up's stages connect with the
--nats-* client flags.

With --nats it joins that server as every service does: --nats-creds,
--nats-nkey, or --nats-user with --nats-password-file (or ASSAY_NATS_PASSWORD)
authenticate it, --nats-tls-ca, --nats-tls-cert and --nats-tls-key secure it,
and it waits up to --startup-timeout for the server and JetStream. The URL's
password, if any, is never shown.

Settings come from the environment (ASSAY_NATS_CREDS, ASSAY_NATS_NKEY,
ASSAY_NATS_USER, ASSAY_NATS_PASSWORD, ASSAY_NATS_PASSWORD_FILE,
ASSAY_NATS_TLS_CA, ASSAY_NATS_TLS_CERT, ASSAY_NATS_TLS_KEY,
ASSAY_STARTUP_TIMEOUT, ASSAY_METRICS_ADDR, ASSAY_LOG_LEVEL, ASSAY_PYROSCOPE,
ASSAY_ENDPOINTS, ASSAY_ENDPOINT_ALLOW, ASSAY_INTAKE_TOKENS,
ASSAY_INTAKE_MAX_AGE, ASSAY_INTAKE_MAX_BYTES, ASSAY_DEDUPE_WINDOW), then
from -c assay.yaml (keys named as the flags: nats, nats_config, creds (for
--nats-creds), nats_nkey, nats_user, nats_password_file, nats_tls_ca,
nats_tls_cert, nats_tls_key, startup_timeout, data, host, port, services,
metrics_addr, intake_addr, intake_max_age, intake_max_bytes, dedupe_window,
pyroscope, replicas, log_level, endpoints, endpoint_allow,
allow_api_key_env), then from flags, each overriding the one before. No key
holds a password, and --memory-limit and the other --intake-* flags
(--intake-tokens, --intake-insecure, --intake-tls-cert, --intake-tls-key,
--intake-max-concurrent, --intake-max-body, --intake-read-timeout,
--intake-rate, --intake-burst) have none: a key such as intake_rate is
refused as unknown. assay up does not read ASSAY_NATS, which is
where clients find it.

The score stage runs code_pass's code in a sandbox chosen by
ASSAY_CODE_SANDBOX: auto (the default: the strongest this host allows),
full (fail rather than run code in less) or rlimit (no namespaces).
GOMEMLIMIT, when set, wins over --memory-limit.

Exit status: 0 stopped by SIGINT or SIGTERM, 2 bad usage (a flag, a bad
assay.yaml or variable), 3 it could not start (the data directory is in use
by another assay up or assay run, a port in use, NATS unreachable).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadUpConfig(file)
			if err != nil {
				return usage(err)
			}
			fl := cmd.Flags()
			if fl.Changed("services") {
				if c.Services, err = parseServices(strings.Split(services, ",")); err != nil {
					return usagef("--services: %w", err)
				}
			}
			for name, set := range map[string]func(){
				"nats": func() { c.NATS = over.NATS }, "nats-config": func() { c.NATSConfig = over.NATSConfig },
				"creds": func() { c.Creds = client.Creds }, "nats-creds": func() { c.Creds = client.Creds },
				"nats-nkey": func() { c.NKey = client.NKey }, "nats-user": func() { c.User = client.User },
				"nats-password-file": func() { c.PasswordFile = client.PasswordFile },
				"nats-tls-ca":        func() { c.TLSCA = client.TLSCA }, "nats-tls-cert": func() { c.TLSCert = client.TLSCert },
				"nats-tls-key": func() { c.TLSKey = client.TLSKey }, "startup-timeout": func() { c.StartupTimeout = client.StartupTimeout },
				"data": func() { c.Data = over.Data }, "host": func() { c.Host = over.Host },
				"port": func() { c.Port = over.Port }, "metrics-addr": func() { c.MetricsAddr = over.MetricsAddr },
				"pyroscope": func() { c.Pyroscope = over.Pyroscope }, "replicas": func() { c.Replicas = over.Replicas },
				"log-level": func() { c.LogLevel = over.LogLevel }, "intake-addr": func() { c.IntakeAddr = over.IntakeAddr },
				"review-addr": func() { c.ReviewAddr = over.ReviewAddr }, "reviewers": func() { c.Reviewers = over.Reviewers },
				"intake-max-age":   func() { c.Retention.MaxAge = retention.MaxAge },
				"intake-max-bytes": func() { c.Retention.MaxBytes = retention.MaxBytes },
				"dedupe-window":    func() { c.Retention.DedupeWindow = retention.DedupeWindow },
			} {
				if fl.Changed(name) {
					set()
				}
			}
			applyEndpointFlags(fl, eps, &c.endpointSettings)
			if c.NATS != "" && c.NATSConfig != "" {
				return usagef("--nats-config configures the embedded server, which --nats replaces: give one of them")
			}
			if set := changedClientFlags(cmd); c.NATS == "" && c.NATSConfig == "" && len(set) > 0 {
				return usagef("--%s: for assay up with --nats or --nats-config: the embedded server makes its own credentials", strings.Join(set, ", --"))
			}
			if c.StartupTimeout < 0 {
				return usagef("--startup-timeout %s is negative: write a positive duration such as 2m or 90s", c.StartupTimeout)
			}
			if c.Intake, err = intake.Config(os.Getenv(ingest.IntakeTokensEnv)); err != nil {
				return usage(err)
			}
			return runUp(cmd, c)
		},
	}
	def := defaultUpConfig(func(string) string { return "" })
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "config file (YAML with the flags' names, e.g. metrics_addr)")
	f.StringVar(&over.NATS, "nats", "", "use this NATS server instead of an embedded one (not read from ASSAY_NATS); a password in it is never shown, but prefer --nats-password-file")
	// How to reach the server of --nats: the flags of every service but
	// --nats itself, whose default here is the embedded server.
	clientFlags := flag.NewFlagSet("nats", flag.ContinueOnError)
	client.Register(clientFlags)
	clientFlags.VisitAll(func(fl *flag.Flag) {
		if fl.Name != "nats" {
			fl.Usage = "with --nats: " + fl.Usage
			f.AddGoFlag(fl)
		}
	})
	_ = f.MarkHidden("creds") // the old name of --nats-creds
	f.StringVar(&over.NATSConfig, "nats-config", "", "start the embedded NATS server from this nats-server configuration (users, TLS, listen address) instead of generated credentials in <data>/auth; the stages connect with the --nats-* client flags")
	f.StringVar(&over.Data, "data", def.Data, "embedded NATS data directory (locked while assay up runs)")
	f.StringVar(&over.Host, "host", def.Host, "embedded NATS listen host (0.0.0.0 for other hosts)")
	f.IntVar(&over.Port, "port", def.Port, "embedded NATS listen port (0: any free port)")
	f.StringVar(&services, "services", "", "stages to run, comma-separated (default all: ingest,infer,score,judge,report); none runs only NATS")
	f.StringVar(&over.MetricsAddr, "metrics-addr", def.MetricsAddr, "address for /metrics and /healthz, e.g. 0.0.0.0:9090 to be scraped from other hosts; empty turns them off (env ASSAY_METRICS_ADDR)")
	f.StringVar(&over.Pyroscope, "pyroscope", "", "Pyroscope server URL; turns on continuous profiling (env ASSAY_PYROSCOPE)")
	f.IntVar(&over.Replicas, "replicas", def.Replicas, "replicas of streams and buckets when creating them (3 on a cluster)")
	f.StringVar(&over.LogLevel, "log-level", def.LogLevel, "debug, info, warn or error (env ASSAY_LOG_LEVEL)")
	f.StringVar(&over.IntakeAddr, "intake-addr", "", "address for the HTTP intake of production queries (POST /v1/intake/<source>), e.g. 127.0.0.1:8081; empty: NATS requests only")
	f.StringVar(&over.ReviewAddr, "review-addr", "", "address for the review page (/review/<run>/<queue>), e.g. 127.0.0.1:8092; empty: none (see assay review serve)")
	f.StringVar(&over.Reviewers, "reviewers", "", "with --review-addr: file of name=token lines, one per reviewer (default: $"+review.ReviewersEnv+")")
	registerEndpointFlags(f, &eps)
	intakeFlags := flag.NewFlagSet("intake", flag.ContinueOnError)
	intake.Register(intakeFlags)
	retention.Register(intakeFlags)
	f.AddGoFlagSet(intakeFlags)
	return cmd
}

func runUp(cmd *cobra.Command, c upConfig) error {
	logger, err := obs.NewLogger(os.Stderr, c.LogLevel)
	if err != nil {
		return usage(err)
	}
	ctx := cmd.Context()
	endpoints, err := c.policy()
	if err != nil {
		return err
	}
	var reviewers review.Reviewers
	if c.ReviewAddr != "" {
		// Checked before anything starts: a bad file is a usage error.
		if reviewers, err = review.LoadReviewers(c.Reviewers); err != nil {
			return usage(err)
		}
		if reviewers.Len() == 0 {
			return usagef("--review-addr: no reviewers in %s: add lines of name=token", orEnv(c.Reviewers))
		}
	}
	stage.LogEndpoints(logger, endpoints)
	sys, err := startSystem(ctx, systemOptions{Endpoints: endpoints,
		NATS: c.NATS, Client: c.client(), StartupTimeout: c.StartupTimeout, Data: c.Data, Host: c.Host, Port: c.Port, Services: c.Services,
		MetricsAddr: c.MetricsAddr, Pyroscope: c.Pyroscope, Replicas: c.Replicas, Logger: logger, IntakeAddr: c.IntakeAddr,
		Intake: c.Intake, Retention: c.Retention, NATSConfig: c.NATSConfig,
	})
	if err != nil {
		return err
	}
	// With --nats the URL may hold a password: it is never shown.
	shown := bus.RedactURL(sys.URL)
	logger.Info("assay is up", "nats", shown, "data", c.Data, "services", sys.services)
	printJoin(cmd.ErrOrStderr(), sys, shown, c.NATSConfig != "")
	if c.ReviewAddr != "" {
		ln, err := listenReview(c.ReviewAddr)
		if err != nil {
			_ = sys.Stop()
			return err
		}
		logger.Info("serving the review page", "addr", ln.Addr().String())
		go func() {
			if err := serveReview(ctx, ln, review.NewServer(sys.Env.Bus, reviewers, logger)); err != nil {
				logger.Error("the review page stopped", "err", err)
			}
		}()
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return sys.Stop()
}
