package bus_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// authServer starts a JetStream server on a free loopback port with the
// authentication and TLS set by configure.
func authServer(t *testing.T, configure func(o *server.Options)) *server.Server {
	t.Helper()
	o := &server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	}
	if configure != nil {
		configure(o)
	}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("configuring NATS: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready after 10s")
	}
	t.Cleanup(s.Shutdown)
	return s
}

func hostPort(s *server.Server) string {
	return s.Addr().String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer collects a logger's output across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// connectAndOpen connects as cfg says and opens the bus, as a service does.
func connectAndOpen(t *testing.T, cfg bus.ClientConfig, logger *slog.Logger) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	nc, err := bus.Connect(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	_, err = bus.Open(ctx, nc, bus.Options{Wait: 20 * time.Second, Logger: logger})
	return err
}

func TestConnectUserPassword(t *testing.T) {
	const secret = "s3cret-Pa55word"
	s := authServer(t, func(o *server.Options) { o.Username, o.Password = "assay", secret })
	addr := hostPort(s)
	good := writeFile(t, "pw", secret+"\n")
	bad := writeFile(t, "pw", "wrong-Pa55word")
	tests := []struct {
		name    string
		cfg     bus.ClientConfig
		wantErr error
		inErr   string
	}{
		{name: "password file", cfg: bus.ClientConfig{URL: "nats://" + addr, User: "assay", PasswordFile: good}},
		{name: "password from env", cfg: bus.ClientConfig{URL: "nats://" + addr, User: "assay", Password: secret}},
		{name: "password in url", cfg: bus.ClientConfig{URL: "nats://assay:" + secret + "@" + addr}},
		{name: "password file over env", cfg: bus.ClientConfig{URL: "nats://" + addr, User: "assay", Password: "wrong-Pa55word", PasswordFile: good}},
		{name: "wrong password file", cfg: bus.ClientConfig{URL: "nats://" + addr, User: "assay", PasswordFile: bad}, wantErr: bus.ErrNATSAuth, inErr: "--nats-user"},
		{name: "wrong password in url", cfg: bus.ClientConfig{URL: "nats://assay:wrong-Pa55word@" + addr}, wantErr: bus.ErrNATSAuth, inErr: "assay:xxxxx@"},
		{name: "no credentials", cfg: bus.ClientConfig{URL: "nats://" + addr}, wantErr: bus.ErrNATSAuth, inErr: addr},
		{name: "missing password file", cfg: bus.ClientConfig{URL: "nats://" + addr, User: "assay", PasswordFile: "/nonexistent/pw"}, wantErr: bus.ErrClientConfig, inErr: "/nonexistent/pw"},
		{name: "user without password", cfg: bus.ClientConfig{URL: "nats://" + addr, User: "assay"}, wantErr: bus.ErrClientConfig, inErr: "ASSAY_NATS_PASSWORD"},
		{name: "password without user", cfg: bus.ClientConfig{URL: "nats://" + addr, PasswordFile: good}, wantErr: bus.ErrClientConfig, inErr: "--nats-user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			err := connectAndOpen(t, tt.cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.inErr) {
					t.Errorf("error %q does not say %q", err, tt.inErr)
				}
			}
			for _, pw := range []string{secret, "wrong-Pa55word"} {
				if err != nil && strings.Contains(err.Error(), pw) {
					t.Errorf("error shows the password: %v", err)
				}
				if strings.Contains(logs.String(), pw) {
					t.Errorf("logs show the password: %s", logs.String())
				}
			}
		})
	}
}

func TestConnectNKey(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	s := authServer(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	url := "nats://" + hostPort(s)
	tests := []struct {
		name    string
		seed    string
		wantErr error
		inErr   string
	}{
		{name: "seed", seed: string(seed) + "\n"},
		{name: "another user's seed", seed: string(otherSeed), wantErr: bus.ErrNATSAuth, inErr: "refused the credentials"},
		{name: "not a seed", seed: "SUTHISISNOTASEED", wantErr: bus.ErrClientConfig, inErr: "--nats-nkey"},
		{name: "empty file", seed: "", wantErr: bus.ErrClientConfig, inErr: "--nats-nkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := connectAndOpen(t, bus.ClientConfig{URL: url, NKey: writeFile(t, "user.nk", tt.seed)}, nil)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.inErr) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.wantErr, tt.inErr)
			}
			if strings.Contains(err.Error(), string(otherSeed)) {
				t.Errorf("error shows the seed: %v", err)
			}
		})
	}
	err = connectAndOpen(t, bus.ClientConfig{URL: url, NKey: "/nonexistent/user.nk"}, nil)
	if !errors.Is(err, bus.ErrClientConfig) || !strings.Contains(err.Error(), "/nonexistent/user.nk") {
		t.Errorf("missing seed file: err = %v, want a configuration error naming the file", err)
	}
	err = connectAndOpen(t, bus.ClientConfig{URL: url, Creds: "/nonexistent/user.creds"}, nil)
	if !errors.Is(err, bus.ErrClientConfig) || !strings.Contains(err.Error(), "--nats-creds") {
		t.Errorf("missing creds file: err = %v, want a configuration error naming the flag", err)
	}
}

// pki is a private CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
	serverTLS                                        tls.Certificate
	pool                                             *x509.CertPool
}

func newPKI(t *testing.T, name string) pki {
	t.Helper()
	dir := t.TempDir()
	write := func(file, typ string, der []byte) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p := pki{ca: write("ca.pem", "CERTIFICATE", caDER), pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	leaf := func(serial int64, usage x509.ExtKeyUsage, certFile, keyFile string) (string, string) {
		k := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(certFile, "CERTIFICATE", der), write(keyFile, "EC PRIVATE KEY", kder)
	}
	p.serverCert, p.serverKey = leaf(2, x509.ExtKeyUsageServerAuth, "server.pem", "server-key.pem")
	p.clientCert, p.clientKey = leaf(3, x509.ExtKeyUsageClientAuth, "client.pem", "client-key.pem")
	if p.serverTLS, err = tls.LoadX509KeyPair(p.serverCert, p.serverKey); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConnectTLS(t *testing.T) {
	ca, other := newPKI(t, "assay"), newPKI(t, "other")
	tlsServer := authServer(t, func(o *server.Options) {
		o.TLS = true
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.serverTLS}, MinVersion: tls.VersionTLS12}
	})
	mtlsServer := authServer(t, func(o *server.Options) {
		o.TLS, o.TLSVerify = true, true
		o.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{ca.serverTLS}, MinVersion: tls.VersionTLS12,
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool,
		}
	})
	tlsURL, mtlsURL := "tls://"+hostPort(tlsServer), "tls://"+hostPort(mtlsServer)
	tests := []struct {
		name    string
		cfg     bus.ClientConfig
		wantErr error
		inErr   string
	}{
		{name: "private CA", cfg: bus.ClientConfig{URL: tlsURL, TLSCA: ca.ca}},
		{name: "nats scheme upgraded", cfg: bus.ClientConfig{URL: "nats://" + hostPort(tlsServer), TLSCA: ca.ca}},
		{name: "no CA", cfg: bus.ClientConfig{URL: tlsURL}, wantErr: bus.ErrNATSTLS, inErr: "--nats-tls-ca"},
		{name: "wrong CA", cfg: bus.ClientConfig{URL: tlsURL, TLSCA: other.ca}, wantErr: bus.ErrNATSTLS, inErr: "--nats-tls-ca"},
		{name: "mTLS", cfg: bus.ClientConfig{URL: mtlsURL, TLSCA: ca.ca, TLSCert: ca.clientCert, TLSKey: ca.clientKey}},
		{name: "mTLS without a client certificate", cfg: bus.ClientConfig{URL: mtlsURL, TLSCA: ca.ca}, wantErr: bus.ErrNATSTLS, inErr: "--nats-tls-cert"},
		{name: "mTLS with a certificate of another CA", cfg: bus.ClientConfig{URL: mtlsURL, TLSCA: ca.ca, TLSCert: other.clientCert, TLSKey: other.clientKey}, wantErr: bus.ErrNATSTLS, inErr: "--nats-tls-cert"},
		{name: "CA file missing", cfg: bus.ClientConfig{URL: tlsURL, TLSCA: "/nonexistent/ca.pem"}, wantErr: bus.ErrClientConfig, inErr: "/nonexistent/ca.pem"},
		{name: "CA file not PEM", cfg: bus.ClientConfig{URL: tlsURL, TLSCA: writeFile(t, "ca.pem", "not a certificate")}, wantErr: bus.ErrClientConfig, inErr: "no PEM certificate"},
		{name: "certificate without key", cfg: bus.ClientConfig{URL: mtlsURL, TLSCert: ca.clientCert}, wantErr: bus.ErrClientConfig, inErr: "--nats-tls-key"},
		{name: "key of another certificate", cfg: bus.ClientConfig{URL: mtlsURL, TLSCert: ca.clientCert, TLSKey: other.clientKey}, wantErr: bus.ErrClientConfig, inErr: "--nats-tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := connectAndOpen(t, tt.cfg, nil)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.inErr) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.wantErr, tt.inErr)
			}
		})
	}
}

// TestURLSecretNeverShown connects with a password and a token in the URL
// through a disconnect, a reconnect and a refused login: neither may appear
// in a log line or an error.
func TestURLSecretNeverShown(t *testing.T) {
	const secret = "hunter2-in-url"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	start := func() *server.Server {
		return authServer(t, func(o *server.Options) {
			o.Port = port
			o.Username, o.Password = "assay", secret
		})
	}
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	url := fmt.Sprintf("nats://assay:%s@127.0.0.1:%d", secret, port)

	// Nothing listens yet: Connect retries, logging the URL each time.
	done := make(chan error, 1)
	go func() {
		nc, err := bus.Connect(t.Context(), bus.ClientConfig{URL: url, Wait: 30 * time.Second}, logger)
		if err == nil {
			_, err = bus.Open(t.Context(), nc, bus.Options{Logger: logger})
			t.Cleanup(nc.Close)
		}
		done <- err
	}()
	bustest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "NATS not reachable yet") {
			return errors.New("no retry logged")
		}
		return nil
	})
	s := start()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	bustest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "disconnected from NATS") {
			return errors.New("no disconnect logged")
		}
		return nil
	})
	start()
	bustest.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(logs.String(), "reconnected to NATS") {
			return errors.New("no reconnect logged")
		}
		return nil
	})
	for _, u := range []string{
		fmt.Sprintf("nats://assay:wrong-%s@127.0.0.1:%d", secret, port),
		fmt.Sprintf("nats://%s@127.0.0.1:%d", secret, port), // a token
		fmt.Sprintf("nats://assay:%s@127.0.0.1:1", secret),  // nobody listens
	} {
		_, err := bus.Connect(t.Context(), bus.ClientConfig{URL: u}, logger)
		if err == nil {
			t.Fatalf("%s: connected", bus.RedactURL(u))
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("logs show the secret:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"auth":"from the URL"`) {
		t.Errorf("the connection is not logged with how it authenticated:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "assay:xxxxx@127.0.0.1") {
		t.Errorf("logs do not show the redacted URL:\n%s", logs.String())
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://u:pw@h:4222", "nats://u:xxxxx@h:4222"},
		{"nats://token@h:4222", "nats://xxxxx@h:4222"},
		{"tls://u:p%40w@h:4222,nats://t@g:4222", "tls://u:xxxxx@h:4222,nats://xxxxx@g:4222"},
		{"u:pw@h:4222", "xxxxx@h:4222"},
		{"nats://u:p w@h", "nats://xxxxx@h"},
		{"nats://a:b@c@h:1", "nats://a:xxxxx@h:1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := bus.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRedactURL: whatever a URL holds, the password or token url.Parse
// finds in it is not in what RedactURL returns.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"nats://u:pw@h:4222", "nats://tok@h", "a:b@c,nats://x:y@z", "nats://u:p%2Cw@h", "nats://h/p@q"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := bus.RedactURL(s)
		for _, part := range strings.Split(s, ",") {
			u, err := url.Parse(strings.TrimSpace(part))
			if err != nil || u.User == nil {
				continue
			}
			secret, ok := u.User.Password()
			if !ok {
				secret = u.User.Username()
			}
			if len(secret) < 4 || secret == "xxxxx" || strings.Contains(strings.ReplaceAll(s, u.User.String()+"@", ""), secret) {
				continue // too short to tell apart from the rest of the URL
			}
			if strings.Contains(out, secret) {
				t.Fatalf("RedactURL(%q) = %q shows %q", s, out, secret)
			}
		}
	})
}

// TestConnectCreds authenticates with a JWT+nkey credentials file against a
// server in operator mode, and is refused with the file of a user signed by
// an account the server does not know.
func TestConnectCreds(t *testing.T) {
	operator, _ := nkeys.CreateOperator()
	opub, _ := operator.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	newAccount := func(jetStream bool) (nkeys.KeyPair, string, string) {
		account, _ := nkeys.CreateAccount()
		apub, _ := account.PublicKey()
		ac := jwt.NewAccountClaims(apub)
		if jetStream {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		ajwt, err := ac.Encode(operator)
		if err != nil {
			t.Fatal(err)
		}
		return account, apub, ajwt
	}
	creds := func(account nkeys.KeyPair) string {
		user, _ := nkeys.CreateUser()
		upub, _ := user.PublicKey()
		ujwt, err := jwt.NewUserClaims(upub).Encode(account)
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := user.Seed()
		b, err := jwt.FormatUserConfig(ujwt, seed)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, "user.creds", string(b))
	}
	known, knownPub, knownJWT := newAccount(true)
	unknown, _, _ := newAccount(true)
	_, sysPub, sysJWT := newAccount(false) // JetStream in operator mode needs a system account
	resolver := &server.MemAccResolver{}
	for pub, jwt := range map[string]string{knownPub: knownJWT, sysPub: sysJWT} {
		if err := resolver.Store(pub, jwt); err != nil {
			t.Fatal(err)
		}
	}
	s := authServer(t, func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{oc}
		o.AccountResolver = resolver
		o.SystemAccount = sysPub
	})
	url := "nats://" + hostPort(s)
	if err := connectAndOpen(t, bus.ClientConfig{URL: url, Creds: creds(known)}, nil); err != nil {
		t.Fatalf("creds of a known account: %v", err)
	}
	err := connectAndOpen(t, bus.ClientConfig{URL: url, Creds: creds(unknown)}, nil)
	if !errors.Is(err, bus.ErrNATSAuth) || !strings.Contains(err.Error(), "--nats-creds") {
		t.Errorf("creds of an unknown account: err = %v, want an authentication error naming --nats-creds", err)
	}
	err = connectAndOpen(t, bus.ClientConfig{URL: url, Creds: writeFile(t, "bad.creds", "not a creds file")}, nil)
	if !errors.Is(err, bus.ErrClientConfig) || !strings.Contains(err.Error(), "bad.creds") {
		t.Errorf("malformed creds file: err = %v, want a configuration error naming the file", err)
	}
}
