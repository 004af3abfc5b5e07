package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestNATSConfigCluster writes one configuration per node of a three-node
// cluster with assay nats-config, starts the nodes from them as assay up
// --nats-config does, and checks that the cluster forms behind its route
// password, that every identity is admitted with exactly the grant the
// embedded server gives it, that an identity is refused what its grant
// does not allow, that replicated streams are made, and that writing
// the configuration again keeps every key.
func TestNATSConfigCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	dir := t.TempDir()
	auth := filepath.Join(dir, "auth")
	ports := freePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", ports[3+i]))
	}
	confs := make([]string, 3)
	for i := range confs {
		confs[i] = filepath.Join(dir, fmt.Sprintf("nats-%d.conf", i))
		_, errOut, err := runCLI(t, "nats-config", "--auth", auth, "-o", confs[i], "--server-name", fmt.Sprintf("node-%d", i),
			"--listen", fmt.Sprintf("127.0.0.1:%d", ports[i]), "--monitor", "", "--cluster-listen", routes[i],
			"--routes", strings.Join(routes, ","))
		if err != nil {
			t.Fatalf("nats-config: %v\n%s", err, errOut)
		}
	}
	for _, f := range append(confs, filepath.Join(auth, "admin.nk"), filepath.Join(auth, "route.password")) {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v: want 0600", f, err, st.Mode().Perm())
		}
	}

	// Every identity has exactly the embedded server's grant.
	opts, err := server.ProcessConfigFile(confs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Nkeys) != len(bus.Identities) {
		t.Fatalf("%d users, want one per identity (%d)", len(opts.Nkeys), len(bus.Identities))
	}
	for i, id := range bus.Identities {
		pub, err := bus.NKeyPublic(filepath.Join(auth, id+".nk"))
		if err != nil {
			t.Fatal(err)
		}
		u := opts.Nkeys[i]
		if u.Nkey != pub {
			t.Fatalf("user %d is %s, want %s's key %s", i, u.Nkey, id, pub)
		}
		got := *u.Permissions
		if got.Response != nil {
			// The parser gives a response permission without an expiry
			// the server's default, as the server does to the embedded
			// server's users when it registers them.
			r := *got.Response
			r.Expires = 0
			got.Response = &r
		}
		if want := natsPermissions(id, pub); !reflect.DeepEqual(&got, want) {
			t.Errorf("%s's permissions differ from the embedded server's:\n got  %+v %+v %+v\n want %+v %+v %+v", id, got.Publish, got.Subscribe, got.Response, want.Publish, want.Subscribe, want.Response)
		}
	}
	// The routes authenticate, and the cluster forming below shows that
	// the routes' URLs carry the password the nodes require.
	if opts.MaxPayload != natsembed.DefaultMaxPayload || opts.Cluster.Username != "route" || len(opts.Cluster.Password) < 32 {
		t.Errorf("max_payload %d, route user %q: want %d and route with a password", opts.MaxPayload, opts.Cluster.Username, natsembed.DefaultMaxPayload)
	}

	nodes := make([]*natsembed.Server, 3)
	for i := range nodes {
		s, err := natsembed.Start(natsembed.Options{Dir: filepath.Join(dir, fmt.Sprint(i)), ConfigFile: confs[i]})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = s
		t.Cleanup(s.Shutdown)
	}
	url := fmt.Sprintf("nats://127.0.0.1:%d,nats://127.0.0.1:%d", ports[0], ports[2])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	connect := func(id string) *nats.Conn {
		t.Helper()
		nc, err := bus.Connect(ctx, bus.ClientConfig{URL: url, NKey: filepath.Join(auth, id+".nk"), Name: "test-" + id, Wait: time.Minute}, discardLogger())
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	admin := connect(bus.IdentityAdmin)
	b, err := bus.Open(ctx, admin, bus.Options{Replicas: 3, Wait: 2 * time.Minute, Logger: discardLogger()})
	if err != nil {
		t.Fatalf("opening the bus on the cluster: %v", err)
	}
	info, err := b.JS.Stream(ctx, bus.StreamSamples)
	if err != nil {
		t.Fatal(err)
	}
	si := info.CachedInfo()
	if si.Config.Replicas != 3 || si.Cluster == nil || len(si.Cluster.Replicas) != 2 {
		t.Fatalf("%s: %d replicas, cluster %+v: want 3 replicas on the 3 nodes", bus.StreamSamples, si.Config.Replicas, si.Cluster)
	}

	// A stage publishes its own subjects and is refused another's.
	score := connect(bus.StageScore)
	errs := make(chan error, 1)
	score.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	})
	if err := score.Publish(bus.RunSamples("forged")+".s.x", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("score publishing a sample: %v, want a permission violation", err)
		}
	case <-ctx.Done():
		t.Fatal("score published a sample without being refused")
	}
	// The intake may not read a stream.
	intake := connect(bus.IdentityIntake)
	if _, err := intake.Request("$JS.API.STREAM.INFO."+bus.StreamSamples, nil, 10*time.Second); err == nil {
		t.Fatal("intake read a stream's info")
	}

	// Written again, the configuration keeps every key and the password.
	before, err := os.ReadFile(confs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLI(t, "nats-config", "--auth", auth, "-o", confs[0], "--server-name", "node-0",
		"--listen", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--monitor", "", "--cluster-listen", routes[0],
		"--routes", strings.Join(routes, ",")); err != nil {
		t.Fatalf("nats-config again: %v\n%s", err, errOut)
	}
	if after, _ := os.ReadFile(confs[0]); string(after) != string(before) {
		t.Fatal("writing the configuration again changed it")
	}
}

// TestNATSConfigUsage checks the command's refusals and its single-server
// form, whose server name comes from the environment.
func TestNATSConfigUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nats-config"}, "--auth"},
		{[]string{"nats-config", "--auth", dir, "--file-mode", "0700"}, "--file-mode"},
		{[]string{"nats-config", "--auth", dir, "--file-mode", "0400"}, "--file-mode"},
		{[]string{"nats-config", "--auth", dir, "--routes", "nats-1"}, "--routes"},
		{[]string{"nats-config", "--auth", dir, "--listen", "4222"}, "--listen"},
	} {
		_, _, err := runCLI(t, tc.args...)
		if exitCode(err, false) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v (exit %d), want bad usage naming %s", tc.args, err, exitCode(err, false), tc.want)
		}
	}
	out, _, err := runCLI(t, "nats-config", "--auth", filepath.Join(dir, "auth"), "--file-mode", "0644")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "auth", "ingest.nk")); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("seed: %v, mode %v: want 0644", err, st.Mode().Perm())
	}
	if strings.Contains(out, "cluster") || strings.Contains(out, "route") {
		t.Fatalf("a single server's configuration has a cluster:\n%s", out)
	}
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := server.ProcessConfigFile(conf); err == nil {
		t.Fatalf("the configuration parsed without $%s", serverNameEnv)
	}
	t.Setenv(serverNameEnv, "edge-7")
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ServerName != "edge-7" || opts.Host != "0.0.0.0" || opts.Port != 4222 || opts.HTTPPort != 8222 {
		t.Fatalf("server %q on %s:%d, monitoring %d: want edge-7 on 0.0.0.0:4222, monitoring 8222", opts.ServerName, opts.Host, opts.Port, opts.HTTPPort)
	}
}
