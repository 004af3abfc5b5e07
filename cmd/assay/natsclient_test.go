package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/nats-io/nats-server/v2/server"
)

// teamNATS is a NATS server with JetStream that requires user team with
// password secret, as a team's shared server does.
func teamNATS(t *testing.T, secret string) (url string) {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, Username: "team", Password: secret}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	t.Cleanup(s.Shutdown)
	return "nats://" + s.Addr().String()
}

// clearNATSEnv empties the environment the NATS client flags read.
func clearNATSEnv(t *testing.T) {
	for _, k := range []string{"ASSAY_NATS", "ASSAY_NATS_CREDS", "ASSAY_NATS_NKEY", "ASSAY_NATS_USER", "ASSAY_NATS_PASSWORD",
		"ASSAY_NATS_PASSWORD_FILE", "ASSAY_NATS_TLS_CA", "ASSAY_NATS_TLS_CERT", "ASSAY_NATS_TLS_KEY", "ASSAY_STARTUP_TIMEOUT"} {
		t.Setenv(k, "")
	}
}

func writeSecret(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// printed is everything a command shows: its output, its stderr and the
// error lines main would print.
func printed(stdout, stderr string, err error) string {
	var b bytes.Buffer
	printError(&b, nil, err, false)
	return stdout + stderr + b.String()
}

// TestRunNATSAuthenticates submits a run to a server that requires a user
// and password, with the flags and environment every command takes; a
// wrong or missing password is exit 3, a missing file exit 2, and no
// password is ever shown.
func TestRunNATSAuthenticates(t *testing.T) {
	const secret = "run-Secret-77"
	url := teamNATS(t, secret)
	dir := t.TempDir()
	good, bad := writeSecret(t, dir, "good", secret+"\n"), writeSecret(t, dir, "bad", "wrong-"+secret)
	host := strings.TrimPrefix(url, "nats://")
	for i, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in what is printed
	}{
		{name: "password file", args: []string{"--nats", url, "--nats-user", "team", "--nats-password-file", good},
			want: "follow it with: assay report --run"},
		{name: "password from env", env: map[string]string{"ASSAY_NATS": url, "ASSAY_NATS_USER": "team", "ASSAY_NATS_PASSWORD": secret},
			want: "follow it with: assay report --run"},
		{name: "password file from env", env: map[string]string{"ASSAY_NATS": url, "ASSAY_NATS_USER": "team", "ASSAY_NATS_PASSWORD_FILE": good},
			want: "follow it with: assay report --run"},
		{name: "password in url", args: []string{"--nats", "nats://team:" + secret + "@" + host},
			want: "--nats nats://team:xxxxx@" + host},
		{name: "wrong password", args: []string{"--nats", url, "--nats-user", "team", "--nats-password-file", bad},
			code: exitUnevaluated, want: "refused the credentials"},
		{name: "help", env: map[string]string{"ASSAY_NATS": "nats://team:" + secret + "@" + host}, args: []string{"--help"},
			want: `(default "nats://team:xxxxx@` + host + `")`},
		{name: "wrong password in url", args: []string{"--nats", "nats://team:wrong-" + secret + "@" + host},
			code: exitUnevaluated, want: "NATS at nats://team:xxxxx@" + host + " refused the credentials"},
		{name: "no credentials", args: []string{"--nats", url}, code: exitUnevaluated, want: "refused the credentials"},
		{name: "missing password file", args: []string{"--nats", url, "--nats-user", "team", "--nats-password-file", filepath.Join(dir, "none")},
			code: exitUsage, want: filepath.Join(dir, "none")},
		{name: "credentials for a local run", args: []string{"--nats", "", "--nats-user", "team", "--nats-password-file", good},
			code: exitUsage, want: "--nats-user, --nats-password-file: for a run submitted with --nats"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clearNATSEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			spec := goodSpec(t, "team-"+string(rune('a'+i)))
			stdout, stderr, err := runCLI(t, append([]string{"run", "-f", spec, "--no-preflight"}, c.args...)...)
			all := printed(stdout, stderr, err)
			if got := exitCode(err, false); got != c.code {
				t.Fatalf("exit %d, want %d: %v\n%s", got, c.code, err, all)
			}
			if !strings.Contains(all, c.want) {
				t.Errorf("printed lacks %q:\n%s", c.want, all)
			}
			if c.code == exitUnevaluated && !errors.Is(err, bus.ErrNATSAuth) {
				t.Errorf("err %v, want %v", err, bus.ErrNATSAuth)
			}
			if strings.Contains(all, secret) {
				t.Errorf("a password was shown:\n%s", all)
			}
		})
	}
}

// upCLI runs `assay up args` until the returned stop is called, which
// returns its error and what it printed.
type upCLI struct {
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startUpCLI(t *testing.T, args ...string) *upCLI {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := &upCLI{stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	cmd := newRoot()
	cmd.SetArgs(append([]string{"up", "--metrics-addr", "", "--log-level", "error"}, args...))
	cmd.SetOut(u.stderr)
	cmd.SetErr(u.stderr)
	go func() { u.done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() { cancel(); <-u.done })
	return u
}

// ready waits until assay up says it is up, or returns its error if it
// stopped first.
func (u *upCLI) ready(t *testing.T) error {
	t.Helper()
	deadline := time.After(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(u.stderr.String(), "assay up: NATS at") {
		select {
		case err := <-u.done:
			u.done <- err // for the cleanup
			if err == nil {
				err = errors.New("assay up stopped before it was up")
			}
			return err
		case <-deadline:
			t.Fatalf("assay up not up after a minute:\n%s", u.stderr)
		case <-tick.C:
		}
	}
	return nil
}

// TestUpNATSAuthenticates starts assay up on a server that requires a user
// and password, from flags, the environment and assay.yaml, then submits a
// run through it and waits for its report; a wrong password stops it with
// exit 3, and no password is ever shown.
func TestUpNATSAuthenticates(t *testing.T) {
	const secret = "up-Secret-91"
	url := teamNATS(t, secret)
	dir := t.TempDir()
	good, bad := writeSecret(t, dir, "good", secret), writeSecret(t, dir, "bad", "wrong-"+secret+"\n")
	conf := writeSecret(t, dir, "assay.yaml", "nats: "+url+"\nnats_user: team\nnats_password_file: "+good+"\nstartup_timeout: 20s\nservices: none\n")
	badConf := writeSecret(t, dir, "bad.yaml", "nats: "+url+"\nnats_user: team\nnats_password_file: "+bad+"\nservices: none\n")
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{name: "password file", args: []string{"--nats", url, "--nats-user", "team", "--nats-password-file", good, "--services", "none"}},
		{name: "password from env", env: map[string]string{"ASSAY_NATS_USER": "team", "ASSAY_NATS_PASSWORD": secret},
			args: []string{"--nats", url, "--services", "none"}},
		{name: "password in url", args: []string{"--nats", "nats://team:" + secret + "@" + strings.TrimPrefix(url, "nats://"), "--services", "none"},
			want: "assay run -f run.yaml --nats nats://team:xxxxx@"},
		{name: "config file", args: []string{"-c", conf}},
		{name: "flag over config file", args: []string{"-c", badConf, "--nats-password-file", good}},
		{name: "wrong password", args: []string{"--nats", url, "--nats-user", "team", "--nats-password-file", bad, "--services", "none"},
			code: exitUnevaluated, want: "refused the credentials"},
		{name: "wrong password in config file", args: []string{"-c", badConf}, code: exitUnevaluated, want: "refused the credentials"},
		{name: "missing password file", args: []string{"--nats", url, "--nats-user", "team", "--nats-password-file", filepath.Join(dir, "none")},
			code: exitUsage, want: filepath.Join(dir, "none")},
		{name: "credentials for the embedded server", args: []string{"--nats-user", "team", "--port", "0", "--data", t.TempDir()},
			code: exitUsage, want: "--nats-user: for assay up with --nats"},
		{name: "negative start-up timeout", args: []string{"--nats", url, "--startup-timeout", "-1s"}, code: exitUsage, want: "negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clearNATSEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			u := startUpCLI(t, c.args...)
			err := u.ready(t)
			all := printed("", u.stderr.String(), err)
			if got := exitCode(err, false); got != c.code {
				t.Fatalf("exit %d, want %d: %v\n%s", got, c.code, err, all)
			}
			if !strings.Contains(all, c.want) {
				t.Errorf("printed lacks %q:\n%s", c.want, all)
			}
			if strings.Contains(all, secret) {
				t.Errorf("a password was shown:\n%s", all)
			}
		})
	}

	t.Run("a run through it", func(t *testing.T) {
		clearNATSEnv(t)
		u := startUpCLI(t, "--nats", url, "--nats-user", "team", "--nats-password-file", good, "--endpoint-allow", "loopback")
		if err := u.ready(t); err != nil {
			t.Fatal(err)
		}
		sim := httptest.NewServer(llmsim.New(llmsim.Options{Seed: 1}).Handler())
		t.Cleanup(sim.Close)
		ep := func(model string) string { return "base_url: " + sim.URL + "/v1, model: " + model }
		spec := preflightSpec(t, "team-run", ep("sim-base"), ep("sim-ft"), ep("sim-judge"))
		t.Setenv("ASSAY_NATS_PASSWORD", secret)
		stdout, stderr, err := runCLI(t, "run", "-f", spec, "--nats", url, "--nats-user", "team", "--wait", "--out", t.TempDir())
		all := printed(stdout, stderr+u.stderr.String(), err)
		if err != nil {
			t.Fatalf("run: exit %d, %v\n%s", exitCode(err, false), err, all)
		}
		if !strings.Contains(stdout, "report.json") {
			t.Errorf("no report:\n%s", all)
		}
		if strings.Contains(all, secret) {
			t.Errorf("a password was shown:\n%s", all)
		}
	})
}

// TestUpConfigNATSClient: assay.yaml's keys for reaching NATS, over the
// environment, and their mistakes.
func TestUpConfigNATSClient(t *testing.T) {
	env := map[string]string{"ASSAY_NATS_USER": "env-user", "ASSAY_NATS_PASSWORD": "env-Pa55", "ASSAY_NATS_TLS_CA": "/etc/ca.pem",
		"ASSAY_STARTUP_TIMEOUT": "90s"}
	def := defaultUpConfig(func(k string) string { return env[k] })
	if def.envErr != nil {
		t.Fatal(def.envErr)
	}
	for _, c := range []struct {
		name string
		yaml string
		want bus.ClientConfig
		wait time.Duration
		err  string
	}{
		{name: "environment only", yaml: "",
			want: bus.ClientConfig{User: "env-user", Password: "env-Pa55", TLSCA: "/etc/ca.pem"}, wait: 90 * time.Second},
		{name: "every key",
			yaml: "nats: nats://n:4222\ncreds: /c\nnats_nkey: /k\nnats_user: u\nnats_password_file: /p\nnats_tls_ca: /ca\nnats_tls_cert: /cert\nnats_tls_key: /key\nstartup_timeout: 3m\n",
			want: bus.ClientConfig{Creds: "/c", NKey: "/k", User: "u", Password: "env-Pa55", PasswordFile: "/p", TLSCA: "/ca", TLSCert: "/cert", TLSKey: "/key"},
			wait: 3 * time.Minute},
		{name: "no password key", yaml: "nats_password: hunter2\n", err: "line 1: field nats_password not found"},
		{name: "malformed timeout", yaml: "data: x\nstartup_timeout: soon\n", err: "line 2"},
		{name: "negative timeout", yaml: "startup_timeout: -5s\n", err: "startup_timeout: -5s is negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseUpConfig("c.yaml", []byte(c.yaml), def)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.client() != c.want || got.StartupTimeout != c.wait {
				t.Errorf("client %+v, wait %s\nwant   %+v, wait %s", got.client(), got.StartupTimeout, c.want, c.wait)
			}
		})
	}
	t.Run("malformed environment", func(t *testing.T) {
		clearNATSEnv(t)
		t.Setenv("ASSAY_STARTUP_TIMEOUT", "soon")
		_, _, err := runCLI(t, "up", "--nats", "nats://127.0.0.1:1")
		if exitCode(err, false) != exitUsage || !strings.Contains(err.Error(), `ASSAY_STARTUP_TIMEOUT="soon"`) {
			t.Fatalf("got exit %d, %v", exitCode(err, false), err)
		}
	})
}
