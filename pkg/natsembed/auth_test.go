package natsembed_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// onlyOwn lets an identity publish on its own subject only.
func onlyOwn(identity, _ string) *server.Permissions {
	return &server.Permissions{Publish: &server.SubjectPermission{Allow: []string{"own." + identity}}}
}

func startAuth(t *testing.T, dir string) *natsembed.Server {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{Dir: dir, Port: 0, Auth: &natsembed.Auth{Identities: []string{"a", "b"}, Permissions: onlyOwn}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuthIdentities: the server admits only its generated identities,
// each with its permissions, and keeps the same seeds across restarts, in
// files only their owner can read.
func TestAuthIdentities(t *testing.T) {
	dir := t.TempDir()
	s := startAuth(t, dir)
	if _, err := nats.Connect(s.ClientURL()); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connecting without credentials: %v, want an authorization violation", err)
	}
	seedA := s.SeedFile("a")
	if seedA != natsembed.SeedFile(dir, "a") || filepath.Dir(seedA) != filepath.Join(dir, natsembed.AuthDir) {
		t.Fatalf("seed of a at %s", seedA)
	}
	if fi, err := os.Stat(filepath.Dir(seedA)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("auth directory: %v %v, want mode 0700", err, fi)
	}
	first, err := os.ReadFile(seedA)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(seedA); fi.Mode().Perm() != 0o600 || !strings.HasPrefix(string(first), "SU") {
		t.Fatalf("seed file mode %v, content starts %.2q: want 0600 and a user seed", fi.Mode().Perm(), first)
	}

	errs := make(chan error, 4)
	opt, err := nats.NkeyOptionFromSeed(seedA)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := s.Connect(opt, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatalf("connecting as a: %v", err)
	}
	if err := nc.Publish("own.a", nil); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("own.b", nil); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "own.b") {
		t.Fatalf("publishing as a on b's subject: %v, want a permission violation", err)
	}
	nc.Close()
	s.Shutdown()

	s = startAuth(t, dir)
	defer s.Shutdown()
	again, err := os.ReadFile(seedA)
	if err != nil || string(again) != string(first) {
		t.Fatalf("the seed changed across a restart (%v)", err)
	}
	nc, err = s.Connect(opt)
	if err != nil {
		t.Fatalf("connecting as a after a restart: %v", err)
	}
	nc.Close()
}

// TestAuthRefusesOpenSeed: a seed others can read is not used.
func TestAuthRefusesOpenSeed(t *testing.T) {
	dir := t.TempDir()
	startAuth(t, dir).Shutdown()
	if err := os.Chmod(natsembed.SeedFile(dir, "b"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := natsembed.Start(natsembed.Options{Dir: dir, Port: -1, Auth: &natsembed.Auth{Identities: []string{"a", "b"}}})
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v, want a refusal saying chmod 600", err)
	}
}

// TestConfigFile: the server takes its users from an operator's
// configuration, and keeps JetStream on.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte("listen: 127.0.0.1:-1\nauthorization { users = [ {user: ops, password: s3cret} ] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := natsembed.Start(natsembed.Options{Dir: filepath.Join(dir, "data"), ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if _, err := nats.Connect(s.ClientURL()); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connecting without credentials: %v, want an authorization violation", err)
	}
	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("ops", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if on, _ := nc.ConnectedServerJetStream(); !on {
		t.Fatal("JetStream is off on a server started from a configuration")
	}

	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("authorization {"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := natsembed.Start(natsembed.Options{Dir: filepath.Join(dir, "other"), ConfigFile: bad}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("a malformed configuration: %v, want an error naming the file", err)
	}
}
