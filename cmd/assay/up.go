package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/assay-eval/assay/pkg/obs"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// upConfig is assay.yaml: the settings of `assay up`. Flags override it.
type upConfig struct {
	NATS        string   `yaml:"nats"`
	Creds       string   `yaml:"creds"`
	Data        string   `yaml:"data"`
	Host        string   `yaml:"host"`
	Port        int      `yaml:"port"`
	Services    []string `yaml:"services"`
	MetricsAddr string   `yaml:"metrics_addr"`
	Pyroscope   string   `yaml:"pyroscope"`
	Replicas    int      `yaml:"replicas"`
	LogLevel    string   `yaml:"log_level"`
	IntakeAddr  string   `yaml:"intake_addr"`
}

func loadUpConfig(file string) (upConfig, error) {
	c := upConfig{Data: "assay-data", Port: 4222, MetricsAddr: ":9090", LogLevel: "info"}
	if file == "" {
		return c, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return c, fmt.Errorf("reading config: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

func newUpCmd() *cobra.Command {
	var file string
	var over upConfig
	var services string
	cmd := &cobra.Command{
		Use:   "up [-c assay.yaml]",
		Short: "Run every stage in this process (embedded NATS unless --nats)",
		Long: `Runs the ingest, infer, score, judge and report stages in one process until
interrupted. Without --nats it also runs an embedded NATS server with JetStream
file storage in --data, listening on --port, so that other processes (assay run
--nats, production intake, more stage replicas) can join. Killed at any moment,
it resumes where it stopped when started again on the same data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadUpConfig(file)
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			if fl.Changed("nats") {
				c.NATS = over.NATS
			}
			if fl.Changed("creds") {
				c.Creds = over.Creds
			}
			if fl.Changed("data") {
				c.Data = over.Data
			}
			if fl.Changed("host") {
				c.Host = over.Host
			}
			if fl.Changed("port") {
				c.Port = over.Port
			}
			if fl.Changed("services") {
				c.Services = strings.Split(services, ",")
			}
			if fl.Changed("metrics-addr") {
				c.MetricsAddr = over.MetricsAddr
			}
			if fl.Changed("pyroscope") {
				c.Pyroscope = over.Pyroscope
			}
			if fl.Changed("replicas") {
				c.Replicas = over.Replicas
			}
			if fl.Changed("log-level") {
				c.LogLevel = over.LogLevel
			}
			if fl.Changed("intake-addr") {
				c.IntakeAddr = over.IntakeAddr
			}
			return runUp(cmd, c)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "config file (YAML with the flags' names, e.g. metrics_addr)")
	f.StringVar(&over.NATS, "nats", "", "use this NATS server instead of an embedded one")
	f.StringVar(&over.Creds, "creds", "", "NATS credentials file")
	f.StringVar(&over.Data, "data", "assay-data", "embedded NATS data directory")
	f.StringVar(&over.Host, "host", "127.0.0.1", "embedded NATS listen host")
	f.IntVar(&over.Port, "port", 4222, "embedded NATS listen port (0: any free port)")
	f.StringVar(&services, "services", "", "stages to run, comma-separated (default all: ingest,infer,score,judge,report); none runs only NATS")
	f.StringVar(&over.MetricsAddr, "metrics-addr", ":9090", "address for /metrics and /healthz; empty turns them off")
	f.StringVar(&over.Pyroscope, "pyroscope", "", "Pyroscope server URL; turns on continuous profiling")
	f.IntVar(&over.Replicas, "replicas", 1, "replicas of streams and buckets when creating them (3 on a cluster)")
	f.StringVar(&over.LogLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&over.IntakeAddr, "intake-addr", "", "address for the HTTP intake of production queries (POST /v1/intake/<source>); empty: NATS requests only")
	return cmd
}
func runUp(cmd *cobra.Command, c upConfig) error {
	logger, err := obs.NewLogger(os.Stderr, c.LogLevel)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	sys, err := startSystem(ctx, systemOptions{
		NATS: c.NATS, Creds: c.Creds, Data: c.Data, Host: c.Host, Port: c.Port, Services: c.Services,
		MetricsAddr: c.MetricsAddr, Pyroscope: c.Pyroscope, Replicas: c.Replicas, Logger: logger, IntakeAddr: c.IntakeAddr,
	})
	if err != nil {
		return err
	}
	logger.Info("assay is up", "nats", sys.URL, "data", c.Data, "services", sys.services)
	fmt.Fprintf(cmd.ErrOrStderr(), "assay up: NATS at %s; submit runs with: assay run -f run.yaml --nats %s\n", sys.URL, sys.URL)
	<-ctx.Done()
	logger.Info("shutting down")
	return sys.Stop()
}
