package natsembed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// Auth turns on nkey authentication: the server admits only the identities
// listed, each with its own permissions. Their seeds are generated once
// into the auth directory of the data directory ([Server.SeedFile]) and
// reused on every later start, so that processes joining the server keep
// working across its restarts.
type Auth struct {
	// Identities to admit, e.g. "ingest", "client", "admin".
	Identities []string
	// Permissions of an identity given its nkey's public key (nil: none,
	// which lets it do anything).
	Permissions func(identity, pub string) *server.Permissions
}

// Permissions are the server's permissions of a grant: the subjects an
// identity may publish and subscribe to, and whether it answers the
// requests it receives (one reply each). An empty publish or subscribe list
// allows nothing. It is the one conversion of a bus.Grant, which this
// package cannot import (the bus's own tests start servers with it).
func Permissions(publish, subscribe []string, respond bool) *server.Permissions {
	p := &server.Permissions{Publish: &server.SubjectPermission{Allow: publish}, Subscribe: &server.SubjectPermission{Allow: subscribe}}
	if len(publish) == 0 {
		p.Publish = &server.SubjectPermission{Deny: []string{">"}}
	}
	if len(subscribe) == 0 {
		p.Subscribe = &server.SubjectPermission{Deny: []string{">"}}
	}
	if respond {
		p.Response = &server.ResponsePermission{MaxMsgs: 1}
	}
	return p
}

// AuthDir is the directory under a data directory holding the seeds.
const AuthDir = "auth"

// SeedFile is the file holding identity's nkey seed, for --nats-nkey. It
// exists only when the server was started with [Options.Auth].
func (s *Server) SeedFile(identity string) string { return SeedFile(s.dir, identity) }

// SeedFile is where a server on data directory dir keeps identity's nkey
// seed.
func SeedFile(dir, identity string) string {
	return filepath.Join(dir, AuthDir, identity+".nk")
}

// nkeyUsers loads or creates a seed for every identity of a under dir and
// returns the server's users.
func nkeyUsers(dir string, a *Auth) ([]*server.NkeyUser, error) {
	adir := filepath.Join(dir, AuthDir)
	if err := os.MkdirAll(adir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the NATS credentials directory: %w", err)
	}
	// A directory created before, or by hand, may be open to others.
	if err := os.Chmod(adir, 0o700); err != nil {
		return nil, fmt.Errorf("restricting the NATS credentials directory %s: %w", adir, err)
	}
	var users []*server.NkeyUser
	for _, id := range a.Identities {
		pub, err := loadOrCreateSeed(SeedFile(dir, id))
		if err != nil {
			return nil, err
		}
		u := &server.NkeyUser{Nkey: pub}
		if a.Permissions != nil {
			u.Permissions = a.Permissions(id, pub)
		}
		users = append(users, u)
	}
	return users, nil
}

// loadOrCreateSeed returns the public key of the user seed in file,
// creating the file (0600) with a new seed when it does not exist.
func loadOrCreateSeed(file string) (string, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return CreateSeed(file, 0o600)
	}
	if err != nil {
		return "", fmt.Errorf("reading NATS credentials: %w", err)
	}
	if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("NATS credentials %s can be read by other users (mode %v): run chmod 600 on it, and replace it (delete it; a new one is made at start) if others may have read it", file, fi.Mode().Perm())
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return "", fmt.Errorf("NATS credentials %s: %v: delete the file to have a new one made at start", file, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return "", fmt.Errorf("NATS credentials %s do not hold a user seed: delete the file to have a new one made at start", file)
	}
	return pub, nil
}

// CreateSeed writes a new nkey user seed to file, which must not exist,
// with mode, and returns its public key.
func CreateSeed(file string, mode fs.FileMode) (string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", fmt.Errorf("creating NATS credentials: %w", err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return "", fmt.Errorf("creating NATS credentials: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("creating NATS credentials: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", fmt.Errorf("creating NATS credentials: %w", err)
	}
	_, err = f.Write(append(seed, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The umask may have taken bits mode asks for.
		err = os.Chmod(file, mode)
	}
	if err != nil {
		_ = os.Remove(file)
		return "", fmt.Errorf("writing NATS credentials %s: %w", file, err)
	}
	return pub, nil
}
