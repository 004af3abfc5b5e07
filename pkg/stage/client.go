package stage

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/nats-io/nats.go"
)

// ClientFlags are the flags that say how to reach NATS, shared by every
// service and by the assay CLI's commands that dial a running assay.
type ClientFlags struct {
	bus.ClientConfig
	// StartupTimeout bounds how long a process waits at start for NATS to
	// answer and JetStream to be ready.
	StartupTimeout time.Duration
	envErr         error
}

// Register adds the NATS client flags to fs, each defaulting to its
// environment variable. The password has no flag: a flag's value shows in
// the process list, so it comes from a file or ASSAY_NATS_PASSWORD.
func (c *ClientFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "nats", envOr("ASSAY_NATS", nats.DefaultURL), "NATS server URL(s), comma-separated (env ASSAY_NATS); a password in it is never logged, but prefer --nats-password-file")
	// -h prints a flag's default: never the secrets ASSAY_NATS may hold.
	fs.Lookup("nats").DefValue = bus.RedactURL(c.URL)
	fs.StringVar(&c.Creds, "nats-creds", os.Getenv("ASSAY_NATS_CREDS"), "NATS JWT+nkey credentials file (env ASSAY_NATS_CREDS)")
	fs.StringVar(&c.Creds, "creds", os.Getenv("ASSAY_NATS_CREDS"), "same as --nats-creds")
	fs.StringVar(&c.NKey, "nats-nkey", os.Getenv("ASSAY_NATS_NKEY"), "file holding the NATS nkey user seed (env ASSAY_NATS_NKEY)")
	fs.StringVar(&c.User, "nats-user", os.Getenv("ASSAY_NATS_USER"), "NATS user; the password comes from --nats-password-file or ASSAY_NATS_PASSWORD (env ASSAY_NATS_USER)")
	fs.StringVar(&c.PasswordFile, "nats-password-file", os.Getenv("ASSAY_NATS_PASSWORD_FILE"), "file holding the NATS user's password (env ASSAY_NATS_PASSWORD_FILE)")
	c.Password = os.Getenv("ASSAY_NATS_PASSWORD")
	fs.StringVar(&c.TLSCA, "nats-tls-ca", os.Getenv("ASSAY_NATS_TLS_CA"), "PEM file of the CA(s) that sign the NATS server's certificate (env ASSAY_NATS_TLS_CA)")
	fs.StringVar(&c.TLSCert, "nats-tls-cert", os.Getenv("ASSAY_NATS_TLS_CERT"), "client certificate for NATS servers that verify clients (mTLS), with --nats-tls-key (env ASSAY_NATS_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "nats-tls-key", os.Getenv("ASSAY_NATS_TLS_KEY"), "private key of --nats-tls-cert (env ASSAY_NATS_TLS_KEY)")
	fs.DurationVar(&c.StartupTimeout, "startup-timeout", c.envDuration("ASSAY_STARTUP_TIMEOUT", bus.DefaultWait), "how long to wait at start for NATS and JetStream, e.g. while a cluster forms (env ASSAY_STARTUP_TIMEOUT)")
}

// envDuration reads a duration from the environment; a malformed one is
// kept for [ClientFlags.Config] to report.
func (c *ClientFlags) envDuration(k string, def time.Duration) time.Duration {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		c.envErr = fmt.Errorf("%s=%q: write a positive duration such as 2m or 90s", k, v)
		return def
	}
	return d
}

// Config is the client configuration the flags describe, named name, or an
// error if a setting from the environment is malformed.
func (c *ClientFlags) Config(name string) (bus.ClientConfig, error) {
	if c.envErr != nil {
		return bus.ClientConfig{}, c.envErr
	}
	cfg := c.ClientConfig
	cfg.Name = name
	cfg.Wait = c.StartupTimeout
	return cfg, nil
}
