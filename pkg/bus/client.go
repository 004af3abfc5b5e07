package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// ClientConfig is how a process reaches NATS: where, as whom and over what
// TLS. Secrets come from files or the environment, never from a flag's
// value, and nothing here is ever logged except [RedactURL] of the URL.
type ClientConfig struct {
	// URL of the server(s), comma-separated. A user and password or token
	// in it still work, but prefer the fields below.
	URL string
	// Name the connection is shown with on the server.
	Name string
	// Creds is a JWT+nkey credentials file (decentralised auth).
	Creds string
	// NKey is a file holding an nkey seed (SU...).
	NKey string
	// User and Password authenticate with a user and password; a
	// PasswordFile, when given, is read and wins over Password (a flag
	// over the environment).
	User         string
	Password     string
	PasswordFile string
	// TLSCA is a PEM file of the CAs that sign the server's certificate
	// (the system's roots when empty); TLSCert and TLSKey are a client
	// certificate for servers that verify clients (mTLS).
	TLSCA   string
	TLSCert string
	TLSKey  string
	// Wait is how long Connect keeps trying while no server answers (a
	// cluster still starting); 0 tries once.
	Wait time.Duration
}

// RedactURL hides the secrets of a NATS URL list so it can be logged or
// shown: a password becomes xxxxx, and a user without a password, which
// NATS takes as a token, is hidden whole.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOne(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil || u.Host == "" {
		// Unparseable: hide everything before the host rather than guess.
		scheme := ""
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			scheme = s[:i+3]
		}
		return scheme + "xxxxx" + s[at:]
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else {
		u.User = url.User("xxxxx")
	}
	return u.String()
}

// options turns c into nats options, reading and checking every file it
// names so that a missing or malformed one is reported by its flag.
func (c ClientConfig) options() ([]nats.Option, error) {
	var opts []nats.Option
	n := 0
	for _, set := range []bool{c.Creds != "", c.NKey != "", c.User != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: give one of --nats-creds, --nats-nkey or --nats-user, not several", ErrClientConfig)
	}
	if c.Creds != "" {
		if err := checkCreds(c.Creds); err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.NKey != "" {
		if err := readable(c.NKey, "nkey seed file (--nats-nkey, ASSAY_NATS_NKEY)"); err != nil {
			return nil, err
		}
		o, err := NKeyOptions(c.NKey)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o...)
	}
	switch pw := c.Password; {
	case c.User == "" && (pw != "" || c.PasswordFile != ""):
		return nil, fmt.Errorf("%w: a NATS password was given without a user: add --nats-user (ASSAY_NATS_USER)", ErrClientConfig)
	case c.User != "":
		if c.PasswordFile != "" {
			b, err := os.ReadFile(c.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("%w: reading the NATS password file (--nats-password-file, ASSAY_NATS_PASSWORD_FILE): %v", ErrClientConfig, err)
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		if pw == "" {
			return nil, fmt.Errorf("%w: NATS user %q has no password: give --nats-password-file or ASSAY_NATS_PASSWORD", ErrClientConfig, c.User)
		}
		opts = append(opts, nats.UserInfo(c.User, pw))
	}
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

func (c ClientConfig) tlsConfig() (*tls.Config, error) {
	if c.TLSCA == "" && c.TLSCert == "" && c.TLSKey == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("%w: reading the NATS TLS CA file (--nats-tls-ca, ASSAY_NATS_TLS_CA): %v", ErrClientConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: NATS TLS CA file %s (--nats-tls-ca) holds no PEM certificate", ErrClientConfig, c.TLSCA)
		}
		tc.RootCAs = pool
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, fmt.Errorf("%w: a NATS client certificate needs both --nats-tls-cert and --nats-tls-key", ErrClientConfig)
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("%w: loading the NATS client certificate %s and key %s (--nats-tls-cert, --nats-tls-key): %v", ErrClientConfig, c.TLSCert, c.TLSKey, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// auth says how c authenticates, for a log line: which file or user,
// never a secret.
func (c ClientConfig) auth() string {
	switch {
	case c.Creds != "":
		return "creds file " + c.Creds
	case c.NKey != "":
		return "nkey seed file " + c.NKey
	case c.User != "":
		return "user " + c.User
	case strings.Contains(c.URL, "@"):
		return "from the URL"
	}
	return "none"
}

// checkCreds reads a credentials file as the client will, so that a wrong
// file is reported by its flag rather than as a failed connection.
func checkCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: NATS credentials file (--nats-creds, ASSAY_NATS_CREDS): %v", ErrClientConfig, err)
	}
	if _, err := jwt.ParseDecoratedJWT(b); err != nil {
		return fmt.Errorf("%w: NATS credentials file %s (--nats-creds) holds no user JWT (%v): give the .creds file `nsc generate creds` writes", ErrClientConfig, path, err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return fmt.Errorf("%w: NATS credentials file %s (--nats-creds) holds no user seed: give the .creds file `nsc generate creds` writes", ErrClientConfig, path)
	}
	kp.Wipe()
	return nil
}

func readable(path, what string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: NATS %s: %v", ErrClientConfig, what, err)
	}
	return f.Close()
}

// pingInterval and maxPingsOut bound how long a connection to a server
// that no longer answers is kept: unanswered pings past maxPingsOut, one
// each pingInterval, end it and the client reconnects elsewhere.
const (
	pingInterval = 10 * time.Second
	maxPingsOut  = 3
)

// Connect dials NATS as c says, with reconnects that never give up once
// connected: a process outlives restarts of the server. While no server
// answers it retries for c.Wait, logging each attempt; refused credentials,
// a failed TLS handshake or a bad file fail at once. extra options are
// applied last.
func Connect(ctx context.Context, c ClientConfig, logger *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	where := RedactURL(c.URL)
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	opts = append([]nats.Option{
		nats.Name(c.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		// A server that stops answering without closing the connection
		// (a node cut off from the network, a frozen host) is given up
		// for another after about half a minute, not nats.go's default
		// four to six: until then the stage waits on it.
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("reconnected to NATS", "url", RedactURL(nc.ConnectedUrlRedacted()))
		}),
		LogAsyncErrors(logger),
	}, opts...)
	opts = append(opts, extra...)
	deadline := time.Now().Add(c.Wait)
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		nc, err := nats.Connect(c.URL, opts...)
		if err == nil {
			_, tlsErr := nc.TLSConnectionState()
			logger.Info("connected to NATS", "url", RedactURL(nc.ConnectedUrlRedacted()), "auth", c.auth(), "tls", tlsErr == nil)
			return nc, nil
		}
		err = connectError(where, err)
		if !errors.Is(err, nats.ErrNoServers) || time.Now().Add(backoff).After(deadline) {
			return nil, err
		}
		logger.Info("NATS not reachable yet, retrying", "url", where, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(backoff):
		}
	}
}

// LogAsyncErrors logs the errors the server reports on a connection apart
// from any call: a publish or subscription its grant refuses, a slow
// consumer. Without it a refused publish shows only as a timeout
// elsewhere (a request never answered, a message never stored). The line
// names the connection (its NATS name, e.g. assay-infer) and the subject,
// never a credential. The same error on the same subject is logged at
// most once a minute, the next line counting those left out
// ("suppressed"): a stage looping on a refused operation would otherwise
// log one line per call.
func LogAsyncErrors(logger *slog.Logger) nats.Option {
	return nats.ErrorHandler(asyncErrorLogger(logger, newLogLimit(logEvery)))
}

// asyncErrorLogger is LogAsyncErrors' handler, its lines limited by limit.
func asyncErrorLogger(logger *slog.Logger, limit *logLimit) nats.ErrHandler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(nc *nats.Conn, sub *nats.Subscription, err error) {
		attrs := []any{"conn", nc.Opts.Name, "err", err}
		key := err.Error()
		if sub != nil {
			attrs = append(attrs, "subject", sub.Subject)
			key += "\x00" + sub.Subject
		}
		ok, suppressed := limit.allow(key)
		if !ok {
			return
		}
		if suppressed > 0 {
			attrs = append(attrs, "suppressed", suppressed)
		}
		if errors.Is(err, nats.ErrPermissionViolation) {
			logger.Error("NATS refused an operation of this connection: its identity's grant does not allow it (see pkg/bus/permissions.go, or the operator's NATS configuration)", attrs...)
			return
		}
		logger.Warn("NATS reported an error on this connection", attrs...)
	}
}

// connectError says what a failed dial means and what to do about it,
// without the secrets of the URL.
func connectError(where string, err error) error {
	var (
		unknownCA *x509.UnknownAuthorityError
		verify    *tls.CertificateVerificationError
		hostname  x509.HostnameError
		alert     tls.AlertError
		header    tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked):
		return fmt.Errorf("%w: NATS at %s refused the credentials: %w (check --nats-creds, --nats-nkey or --nats-user and its password)", ErrNATSAuth, where, err)
	case errors.As(err, &unknownCA) || errors.As(err, &verify) || errors.As(err, &hostname):
		return fmt.Errorf("%w: the certificate of NATS at %s is not trusted: %w (give the CA that signed it with --nats-tls-ca, and connect by a name the certificate holds)", ErrNATSTLS, where, err)
	case errors.As(err, &alert) || errors.As(err, &header) || errors.Is(err, nats.ErrTLS) ||
		errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrSecureConnWanted) || strings.Contains(err.Error(), "tls:"):
		return fmt.Errorf("%w: TLS with NATS at %s failed: %w (if the server verifies clients, give --nats-tls-cert and --nats-tls-key signed by a CA it trusts; if it has no TLS, drop the --nats-tls flags)", ErrNATSTLS, where, err)
	case errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("connecting to NATS at %s: %w (start one with `assay up`, or pass --nats)", where, err)
	}
	return fmt.Errorf("connecting to NATS at %s: %w", where, err)
}

var (
	// ErrClientConfig is a NATS client setting that cannot work: a missing
	// or unreadable file, a bad seed, flags that conflict.
	ErrClientConfig = errors.New("NATS client configuration")
	// ErrNATSAuth is NATS refusing a client's credentials.
	ErrNATSAuth = errors.New("NATS authentication failed")
	// ErrNATSTLS is a TLS handshake with NATS that failed.
	ErrNATSTLS = errors.New("NATS TLS handshake failed")
)
