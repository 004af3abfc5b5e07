package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/cobra"
)

// natsConfigOptions are assay nats-config's flags.
type natsConfigOptions struct {
	Auth, Out                  string
	ServerName                 string
	Listen, Monitor, Store     string
	ClusterName, ClusterListen string
	Routes                     []string
	FileMode                   string
	mode                       fs.FileMode
}

// serverNameEnv is the variable a configuration written without
// --server-name takes each node's name from, so that one file serves
// every node of a cluster.
const serverNameEnv = "ASSAY_NATS_SERVER_NAME"

func newNATSConfigCmd() *cobra.Command {
	o := natsConfigOptions{Out: "-", Listen: "0.0.0.0:4222", Monitor: "0.0.0.0:8222", ClusterName: "assay", ClusterListen: "0.0.0.0:6222", FileMode: "0600"}
	cmd := &cobra.Command{
		Use:   "nats-config --auth DIR [--routes HOST:PORT,...]",
		Short: "Write a nats-server configuration that admits assay's identities, for a NATS server or cluster of your own",
		Long: `Writes the configuration of a NATS server (or of each node of a cluster) that
admits assay's identities — ingest, infer, score, judge, report, client,
intake and admin — each with the grants assay up's embedded server gives it
(see "NATS identities" in the README). Each identity's nkey seed is kept in
--auth as <identity>.nk, made the first time and reused afterwards, so that
the configuration can be written again without changing anyone's
credentials; processes join with --nats-nkey DIR/<identity>.nk.

With --routes the server is a node of a cluster whose nodes are at those
host:port route addresses (every node's, its own included): the routes
authenticate with a password made once and kept in --auth as
route.password, and the configuration names no node, so that one file
serves every node: each takes its name from $` + serverNameEnv + ` unless
--server-name is given. Start a node with assay up --services none
--nats-config FILE (its stages, and other processes, connect with
--nats-nkey) or with nats-server --config FILE.

The configuration holds the route password: it is written with the seeds'
--file-mode. Compose's file secrets keep a file's owner and mode, so a
Compose stack whose images run as the unprivileged user 65532 needs
--file-mode 0644 with --auth a directory only you may open (0700).

Exit status: 0 written, 2 bad usage, 3 the files could not be written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Auth == "" {
				return usagef("--auth: give the directory that keeps the identities' seeds, e.g. --auth nats-auth")
			}
			m, err := strconv.ParseUint(o.FileMode, 8, 32)
			if err != nil || m&^0o666 != 0 || m&0o600 != 0o600 {
				return usagef("--file-mode %q: give an octal mode the owner may read and write and nobody may execute, e.g. 0600 or 0644", o.FileMode)
			}
			o.mode = fs.FileMode(m)
			if err := o.checkAddrs(); err != nil {
				return usage(err)
			}
			text, err := natsConfig(o)
			if err != nil {
				return err
			}
			if o.Out == "-" {
				_, err = cmd.OutOrStdout().Write(text)
				return err
			}
			if err := writeSecretFile(o.Out, text, o.mode); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "assay nats-config: wrote %s; seeds in %s\n", o.Out, o.Auth)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Auth, "auth", "", "directory of the identities' nkey seeds (<identity>.nk) and the route password: made when missing, reused when present")
	f.StringVarP(&o.Out, "out", "o", o.Out, "file to write the configuration to (- for standard output)")
	f.StringVar(&o.ServerName, "server-name", "", "the server's name (default: $"+serverNameEnv+" when the server starts)")
	f.StringVar(&o.Listen, "listen", o.Listen, "client listen address")
	f.StringVar(&o.Monitor, "monitor", o.Monitor, "monitoring (HTTP) listen address, which KEDA's nats-jetstream scaler reads; empty: none")
	f.StringVar(&o.Store, "store", "", "JetStream's store directory (default: assay up's --data, or nats-server's own default)")
	f.StringVar(&o.ClusterName, "cluster-name", o.ClusterName, "the cluster's name (with --routes)")
	f.StringVar(&o.ClusterListen, "cluster-listen", o.ClusterListen, "route listen address (with --routes)")
	f.StringSliceVar(&o.Routes, "routes", nil, "every cluster node's route address, host:port (comma-separated); none: a single server")
	f.StringVar(&o.FileMode, "file-mode", o.FileMode, "octal mode of the seed files, the route password and the configuration this writes")
	return cmd
}

// checkAddrs refuses listen and route addresses that are not host:port.
func (o natsConfigOptions) checkAddrs() error {
	addrs := map[string]string{"--listen": o.Listen, "--monitor": o.Monitor}
	if len(o.Routes) > 0 {
		addrs["--cluster-listen"] = o.ClusterListen
	}
	for name, a := range addrs {
		if a == "" && name == "--monitor" {
			continue
		}
		if _, err := hostPort(a); err != nil {
			return fmt.Errorf("%s %q: %v", name, a, err)
		}
	}
	for _, r := range o.Routes {
		if _, err := hostPort(r); err != nil {
			return fmt.Errorf("--routes: %q: %v: give each node's route address as host:port, e.g. nats-1:6222", r, err)
		}
	}
	if len(o.Routes) > 0 && o.ClusterName == "" {
		return errors.New("--cluster-name: a cluster needs a name")
	}
	return nil
}

func hostPort(a string) (int, error) {
	_, p, err := net.SplitHostPort(a)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	return port, nil
}

// natsConfig returns the configuration of o, making the seeds and the
// route password in o.Auth where they are missing.
func natsConfig(o natsConfigOptions) ([]byte, error) {
	if err := os.MkdirAll(o.Auth, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", o.Auth, err)
	}
	var users []map[string]any
	for _, id := range bus.Identities {
		pub, err := seedOf(filepath.Join(o.Auth, id+".nk"), o.mode)
		if err != nil {
			return nil, err
		}
		users = append(users, map[string]any{"nkey": pub, "permissions": permissionsConf(natsPermissions(id, pub))})
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# NATS server configuration for assay, written by assay nats-config: the\n")
	fmt.Fprintf(&b, "# users are assay's identities (seeds in %s), with the grants of\n", o.Auth)
	fmt.Fprintf(&b, "# pkg/bus/permissions.go. Written again, it keeps the same keys.\n")
	if o.ServerName != "" {
		conf(&b, "server_name", o.ServerName)
	} else {
		// A variable reference, which the server resolves from its
		// environment when it starts.
		fmt.Fprintf(&b, "server_name: $%s\n", serverNameEnv)
	}
	conf(&b, "listen", o.Listen)
	if o.Monitor != "" {
		conf(&b, "http", o.Monitor)
	}
	// As assay up's own server: long-context samples and generations
	// exceed nats-server's 1 MiB default.
	conf(&b, "max_payload", natsembed.DefaultMaxPayload)
	js := map[string]any{}
	if o.Store != "" {
		js["store_dir"] = o.Store
	}
	conf(&b, "jetstream", js)
	if len(o.Routes) > 0 {
		pw, err := routePassword(filepath.Join(o.Auth, "route.password"), o.mode)
		if err != nil {
			return nil, err
		}
		var routes []string
		for _, r := range o.Routes {
			routes = append(routes, "nats-route://route:"+pw+"@"+r)
		}
		conf(&b, "cluster", map[string]any{
			"name": o.ClusterName, "listen": o.ClusterListen,
			"authorization": map[string]any{"user": "route", "password": pw},
			"routes":        routes,
			// Clients are given the addresses they were told, not the
			// nodes' addresses on the cluster's own network, which
			// clients elsewhere (a host port, another network) cannot
			// reach.
			"no_advertise": true,
		})
	}
	conf(&b, "authorization", map[string]any{"users": users})
	return b.Bytes(), nil
}

// conf writes key: value, the value as JSON, which the configuration's
// syntax includes (strings quoted, so no value is read as a variable or a
// unit).
func conf(w io.Writer, key string, value any) {
	var v bytes.Buffer
	enc := json.NewEncoder(&v)
	// Subjects hold > and wildcards, written as they are.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(value); err != nil {
		// Maps, strings and numbers only: cannot fail.
		panic(err)
	}
	fmt.Fprintf(w, "%s: %s", key, v.Bytes())
}

// permissionsConf is the configuration's form of p.
func permissionsConf(p *server.Permissions) map[string]any {
	out := map[string]any{}
	subject := func(sp *server.SubjectPermission) map[string]any {
		m := map[string]any{}
		if len(sp.Allow) > 0 {
			m["allow"] = sp.Allow
		}
		if len(sp.Deny) > 0 {
			m["deny"] = sp.Deny
		}
		return m
	}
	if p.Publish != nil {
		out["publish"] = subject(p.Publish)
	}
	if p.Subscribe != nil {
		out["subscribe"] = subject(p.Subscribe)
	}
	if p.Response != nil {
		out["allow_responses"] = map[string]any{"max": p.Response.MaxMsgs}
	}
	return out
}

// seedOf returns the public key of the user seed in file, making the
// file (with mode) when it does not exist.
func seedOf(file string, mode fs.FileMode) (string, error) {
	if _, err := os.Stat(file); err == nil {
		pub, err := bus.NKeyPublic(file)
		if err != nil {
			return "", fmt.Errorf("%v: delete it to have a new one made", err)
		}
		return pub, os.Chmod(file, mode)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return natsembed.CreateSeed(file, mode)
}

// routePassword returns the password in file, making one when it does not
// exist.
func routePassword(file string, mode fs.FileMode) (string, error) {
	if b, err := os.ReadFile(file); err == nil {
		pw := strings.TrimSpace(string(b))
		if len(pw) < 32 || strings.ContainsAny(pw, "@:/\"\\ ") {
			return "", fmt.Errorf("%s does not hold a route password assay made (32 or more hex digits): delete it to have a new one made, then write every node's configuration again", file)
		}
		return pw, os.Chmod(file, mode)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(buf)
	return pw, writeNewSecretFile(file, []byte(pw+"\n"), mode)
}

// writeNewSecretFile creates file with data, failing if it exists.
func writeNewSecretFile(file string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The umask may have taken bits the mode asks for.
		err = os.Chmod(file, mode)
	}
	if err != nil {
		_ = os.Remove(file)
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

// writeSecretFile replaces file with data, with mode.
func writeSecretFile(file string, data []byte, mode fs.FileMode) error {
	tmp := file + ".tmp"
	_ = os.Remove(tmp)
	if err := writeNewSecretFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}
