package stage_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/nats-io/nats-server/v2/server"
)

func TestClientFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    bus.ClientConfig
		wait    time.Duration
		wantErr string
	}{
		{
			name: "defaults",
			want: bus.ClientConfig{URL: "nats://127.0.0.1:4222", Name: "svc"},
			wait: bus.DefaultWait,
		},
		{
			name: "environment",
			env: map[string]string{
				"ASSAY_NATS": "tls://n1:4222,tls://n2:4222", "ASSAY_NATS_CREDS": "/c", "ASSAY_NATS_NKEY": "/k",
				"ASSAY_NATS_USER": "u", "ASSAY_NATS_PASSWORD": "pw", "ASSAY_NATS_PASSWORD_FILE": "/pw",
				"ASSAY_NATS_TLS_CA": "/ca", "ASSAY_NATS_TLS_CERT": "/cert", "ASSAY_NATS_TLS_KEY": "/key",
				"ASSAY_STARTUP_TIMEOUT": "5m",
			},
			want: bus.ClientConfig{URL: "tls://n1:4222,tls://n2:4222", Name: "svc", Creds: "/c", NKey: "/k", User: "u", Password: "pw",
				PasswordFile: "/pw", TLSCA: "/ca", TLSCert: "/cert", TLSKey: "/key"},
			wait: 5 * time.Minute,
		},
		{
			name: "flags over environment",
			env:  map[string]string{"ASSAY_NATS_USER": "u", "ASSAY_NATS_TLS_CA": "/ca"},
			args: []string{"--nats", "nats://h:1", "--nats-user", "v", "--nats-password-file", "/f", "--nats-tls-ca", "/ca2",
				"--nats-tls-cert", "/c", "--nats-tls-key", "/k", "--nats-nkey", "/n", "--startup-timeout", "30s"},
			want: bus.ClientConfig{URL: "nats://h:1", Name: "svc", User: "v", PasswordFile: "/f", TLSCA: "/ca2", TLSCert: "/c", TLSKey: "/k", NKey: "/n"},
			wait: 30 * time.Second,
		},
		{
			name: "creds under its old name",
			args: []string{"--creds", "/old.creds"},
			want: bus.ClientConfig{URL: "nats://127.0.0.1:4222", Name: "svc", Creds: "/old.creds"},
			wait: bus.DefaultWait,
		},
		{
			name:    "malformed start-up timeout",
			env:     map[string]string{"ASSAY_STARTUP_TIMEOUT": "two minutes"},
			wantErr: "ASSAY_STARTUP_TIMEOUT",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"ASSAY_NATS", "ASSAY_NATS_CREDS", "ASSAY_NATS_NKEY", "ASSAY_NATS_USER", "ASSAY_NATS_PASSWORD",
				"ASSAY_NATS_PASSWORD_FILE", "ASSAY_NATS_TLS_CA", "ASSAY_NATS_TLS_CERT", "ASSAY_NATS_TLS_KEY", "ASSAY_STARTUP_TIMEOUT"} {
				t.Setenv(k, tt.env[k])
			}
			fs := flag.NewFlagSet("svc", flag.ContinueOnError)
			var c stage.ClientFlags
			c.Register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := c.Config("svc")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Wait = tt.wait
			if got != want {
				t.Errorf("config = %+v\nwant     %+v", got, want)
			}
		})
	}
}

// TestNoPasswordFlag: a password given as a flag's value would show in
// the process list, and one in ASSAY_NATS must not show in -h.
func TestNoPasswordFlag(t *testing.T) {
	t.Setenv("ASSAY_NATS", "nats://u:env-secret@h:4222")
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	new(stage.ClientFlags).Register(fs)
	var help strings.Builder
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "env-secret") || !strings.Contains(help.String(), "u:xxxxx@h") {
		t.Errorf("-h shows the password of ASSAY_NATS, or no URL:\n%s", help.String())
	}
	fs.VisitAll(func(f *flag.Flag) {
		if strings.Contains(f.Name, "password") && !strings.HasSuffix(f.Name, "-file") {
			t.Errorf("flag --%s takes a password as its value", f.Name)
		}
	})
}

// TestSetupAuthenticates starts a stage the way a service binary does,
// against a server that requires a user and password, the password from a
// file.
func TestSetupAuthenticates(t *testing.T) {
	o := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, Username: "ingest", Password: "file-secret"}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	t.Cleanup(s.Shutdown)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, password string
		wantErr        error
	}{{"right password", "file-secret\n", nil}, {"wrong password", "not-it", bus.ErrNATSAuth}} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(pw, []byte(tt.password), 0o600); err != nil {
				t.Fatal(err)
			}
			f := stage.Flags{LogLevel: "error", Replicas: 1}
			f.Client.URL, f.Client.User, f.Client.PasswordFile = "nats://"+s.Addr().String(), "ingest", pw
			f.Client.StartupTimeout = 10 * time.Second
			env, err := stage.Setup(t.Context(), "assay-ingest", f)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), tt.password) {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			defer env.Close()
			if env.Bus.Runs == nil {
				t.Error("bus not opened")
			}
		})
	}
}
