package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/cobra"
)

// TestDialAuthenticates dials a server that requires a user and password
// through the CLI's flags and environment, as `assay report` does.
func TestDialAuthenticates(t *testing.T) {
	const secret = "cli-Secret-42"
	o := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, Username: "cli", Password: secret}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	t.Cleanup(s.Shutdown)
	addr := s.Addr().String()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := write("good", secret+"\n"), write("bad", "wrong-"+secret)
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantErr   error
		wantUsage bool
	}{
		{name: "password file flag", args: []string{"--nats", "nats://" + addr, "--nats-user", "cli", "--nats-password-file", good}},
		{name: "password from env", env: map[string]string{"ASSAY_NATS": "nats://" + addr, "ASSAY_NATS_USER": "cli", "ASSAY_NATS_PASSWORD": secret}},
		{name: "password in url", args: []string{"--nats", "nats://cli:" + secret + "@" + addr}},
		{name: "wrong password", args: []string{"--nats", "nats://" + addr, "--nats-user", "cli", "--nats-password-file", bad}, wantErr: bus.ErrNATSAuth},
		{name: "wrong password in url", args: []string{"--nats", "nats://cli:wrong-" + secret + "@" + addr}, wantErr: bus.ErrNATSAuth},
		{name: "missing password file", args: []string{"--nats", "nats://" + addr, "--nats-user", "cli", "--nats-password-file", filepath.Join(dir, "none")}, wantErr: bus.ErrClientConfig, wantUsage: true},
		{name: "malformed start-up timeout", env: map[string]string{"ASSAY_STARTUP_TIMEOUT": "soon"}, args: []string{"--nats", "nats://" + addr}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"ASSAY_NATS", "ASSAY_NATS_USER", "ASSAY_NATS_PASSWORD", "ASSAY_STARTUP_TIMEOUT"} {
				t.Setenv(k, tt.env[k])
			}
			var conn natsFlags
			cmd := &cobra.Command{Use: "probe", SilenceUsage: true, SilenceErrors: true, RunE: func(cmd *cobra.Command, _ []string) error {
				b, closeConn, err := conn.dial(cmd.Context())
				if err != nil {
					return err
				}
				defer closeConn()
				if b.Runs == nil {
					return errors.New("bus not opened")
				}
				return nil
			}}
			conn.register(cmd)
			cmd.SetArgs(tt.args)
			err := cmd.ExecuteContext(t.Context())
			if tt.wantErr == nil && !tt.wantUsage {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("dialled")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			var u *usageError
			if got := errors.As(err, &u); got != tt.wantUsage {
				t.Errorf("usage error = %v, want %v: %v", got, tt.wantUsage, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestDialHelpHidesTheURLSecret: --help shows --nats's default, which comes
// from ASSAY_NATS and may hold a password.
func TestDialHelpHidesTheURLSecret(t *testing.T) {
	t.Setenv("ASSAY_NATS", "nats://u:env-secret@h:4222")
	var conn natsFlags
	cmd := &cobra.Command{Use: "probe", RunE: func(*cobra.Command, []string) error { return nil }}
	conn.register(cmd)
	var out strings.Builder
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "env-secret") || !strings.Contains(out.String(), "u:xxxxx@h") {
		t.Errorf("--help shows the password of ASSAY_NATS, or no URL:\n%s", out.String())
	}
}
