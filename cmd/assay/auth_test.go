package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/services/ingest"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// clientSeed is the nkey seed file of the client identity of sys's
// embedded server, for the CLI's --nats-nkey.
func (s *system) clientSeed() string { return s.Server.SeedFile(bus.IdentityClient) }

// dialAs connects to url with identity's seed of sys, recording the
// server's asynchronous errors (permission violations) on errs.
func dialAs(t *testing.T, sys *system, identity string, errs chan<- error) *nats.Conn {
	t.Helper()
	opts, err := bus.NKeyOptions(sys.Server.SeedFile(identity))
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	nc, err := nats.Connect(sys.URL, opts...)
	if err != nil {
		t.Fatalf("connecting as %s: %v", identity, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// refused waits for the server to report a permission violation naming
// subject on errs.
func refused(t *testing.T, errs <-chan error, subject string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), subject) {
				return
			}
		case <-deadline:
			t.Fatalf("the server reported no permission violation for %s", subject)
		}
	}
}

// TestNATSLockedDown runs assay as `assay up` does — embedded NATS with
// generated identities, every stage connected as its own — and attacks it
// from outside: without credentials, as the scorer forging a generation
// with the message id of a real one, and as a production system reading
// what it may not. The client identity's run gives the expected report.
func TestNATSLockedDown(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: data, Port: 0, Intake: ingest.IntakeConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })

	// The identities are files of the data directory only its owner reads.
	for _, id := range bus.Identities {
		fi, err := os.Stat(natsembed.SeedFile(data, id))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("seed of %s: %v (mode %v), want a 0600 file", id, err, fi)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, natsembed.AuthDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("auth directory: %v (mode %v), want 0700", err, fi)
	}

	t.Run("no credentials", func(t *testing.T) {
		nc, err := nats.Connect(sys.URL)
		if err == nil {
			nc.Close()
			t.Fatal("a client without credentials connected")
		}
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Fatalf("got %v, want an authorization violation", err)
		}
	})

	f := newFixture(t, "locked", testPersonas())
	sample := f.samples[0]
	variant := f.spec.Variants[0].Name
	gens := bus.GensSubject(f.spec.Run, variant)

	t.Run("score forges a generation", func(t *testing.T) {
		errs := make(chan error, 16)
		nc := dialAs(t, sys, bus.StageScore, errs)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		// The id infer will give the real generation: published first, a
		// forgery with it would make the real one a duplicate.
		id := bus.MsgID(bus.StageInfer, f.spec.Run, variant, sample.Suite, sample.ID)
		forged, _ := json.Marshal(eval.Generation{V: eval.Version, Run: f.spec.Run, Variant: variant, Sample: eval.SampleRef{ID: sample.ID, Suite: sample.Suite}, Output: "forged"})
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = js.Publish(pctx, gens, forged, jetstream.WithMsgID(id))
		pcancel()
		if err == nil {
			t.Fatal("the forged generation was stored")
		}
		refused(t, errs, gens)
		// Nor as a plain message, which the stream would store as well.
		if err := nc.Publish(gens, forged); err != nil {
			t.Fatal(err)
		}
		refused(t, errs, gens)
		info, err := sys.Env.Bus.Stream(bus.StreamGens).Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 0 {
			t.Fatalf("%d generations stored before the run", info.State.Msgs)
		}
	})

	t.Run("intake", func(t *testing.T) {
		errs := make(chan error, 16)
		nc := dialAs(t, sys, bus.IdentityIntake, errs)
		body, _ := json.Marshal(eval.IntakeQuery{Query: "How do I reset my password?", Timestamp: time.Now()})
		m, err := nc.Request(bus.IntakeSubject("chat"), body, 10*time.Second)
		if err != nil {
			t.Fatalf("intake request: %v", err)
		}
		var reply ingest.IntakeReply
		if err := json.Unmarshal(m.Data, &reply); err != nil || reply.ID == "" {
			t.Fatalf("intake reply %q (%v), want a stored query's id", m.Data, err)
		}
		// A plain NATS client, replying on the shared inbox, too.
		plain, err := nats.NkeyOptionFromSeed(sys.Server.SeedFile(bus.IdentityIntake))
		if err != nil {
			t.Fatal(err)
		}
		pc, err := nats.Connect(sys.URL, plain)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if _, err := pc.Request(bus.IntakeSubject("chat"), body, 10*time.Second); err != nil {
			t.Fatalf("intake request on the shared inbox: %v", err)
		}
		samples := bus.RunSamples(f.spec.Run)
		if _, err := nc.SubscribeSync(samples); err != nil {
			t.Fatal(err)
		}
		refused(t, errs, samples)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		kctx, kcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = js.KeyValue(kctx, bus.BucketRuns)
		kcancel()
		if err == nil {
			t.Fatal("the intake identity read the runs bucket")
		}
		refused(t, errs, "$JS.API.STREAM.INFO.KV_"+bus.BucketRuns)
	})

	t.Run("client runs", func(t *testing.T) {
		runChecked(t, ctx, connectAs(t, ctx, sys.URL, sys.clientSeed()), f)
		g, err := sys.Env.Bus.Stream(bus.StreamGens).GetLastMsgForSubject(ctx, gens)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(g.Data), "forged") {
			t.Fatalf("a forged generation reached the stream: %s", g.Data)
		}
	})
}

// runChecked submits f's run on b, waits for it to complete and checks
// its report against the oracle.
func runChecked(t *testing.T, ctx context.Context, b *bus.Bus, f *fixture) *document.Report {
	t.Helper()
	if err := submit(ctx, b, f.spec, openFile); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, b, f.spec.Run, 90*time.Second)
	rep, _, err := saveReport(ctx, b, f.spec.Run, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstOracle(t, f, rep)
	return rep
}

// upURL is the NATS URL a started assay up printed.
func upURL(t *testing.T, u *upCLI) string {
	t.Helper()
	m := regexp.MustCompile(`NATS at (nats://[0-9.:]+)`).FindStringSubmatch(u.stderr.String())
	if m == nil {
		t.Fatalf("assay up printed no URL:\n%s", u.stderr)
	}
	return m[1]
}

// TestUpSaysHowToJoin: assay up prints where the identities' seeds are,
// and a CLI without them, or with one that may not do what it needs, is
// told which to give.
func TestUpSaysHowToJoin(t *testing.T) {
	data := t.TempDir()
	u := startUpCLI(t, "--data", data, "--port", "0", "--services", "none")
	if err := u.ready(t); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--nats-nkey " + natsembed.SeedFile(data, bus.IdentityClient), natsembed.SeedFile(data, bus.IdentityIntake),
		natsembed.SeedFile(data, "<stage>")} {
		if !strings.Contains(u.stderr.String(), want) {
			t.Errorf("assay up does not say %q:\n%s", want, u.stderr)
		}
	}
	url := upURL(t, u)
	_, _, err := runCLI(t, "report", "--run", "r", "--nats", url)
	if !errors.Is(err, bus.ErrNATSAuth) || !strings.Contains(err.Error(), "--nats-nkey <its data directory>/auth/client.nk") {
		t.Errorf("without credentials: %v, want the client seed named", err)
	}
	_, _, err = runCLI(t, "report", "--run", "r", "--nats", url, "--nats-nkey", natsembed.SeedFile(data, bus.IdentityIntake))
	if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "auth/client.nk") {
		t.Errorf("as intake: %v, want a permission violation naming the client seed", err)
	}
	if _, _, err := runCLI(t, "report", "--run", "r", "--nats", url, "--nats-nkey", natsembed.SeedFile(data, bus.IdentityClient)); err == nil || !strings.Contains(err.Error(), `run "r": not found`) {
		t.Errorf("as client: %v, want only the run not to exist", err)
	}
}

// TestUpNATSConfig: with --nats-config assay up serves the operator's
// users, not generated ones, and its stages connect with the client flags.
func TestUpNATSConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte("listen: 127.0.0.1:-1\nauthorization { users = [ {user: ops, password: Op5-pass} ] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := writeSecret(t, dir, "pw", "Op5-pass")
	data := filepath.Join(dir, "data")
	u := startUpCLI(t, "--nats-config", conf, "--data", data, "--nats-user", "ops", "--nats-password-file", pw)
	if err := u.ready(t); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, natsembed.AuthDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials generated beside an operator's configuration: %v", err)
	}
	url := upURL(t, u)
	if _, _, err := runCLI(t, "report", "--run", "r", "--nats", url); !errors.Is(err, bus.ErrNATSAuth) {
		t.Errorf("without credentials: %v, want refused", err)
	}
	if _, _, err := runCLI(t, "report", "--run", "r", "--nats", url, "--nats-user", "ops", "--nats-password-file", pw); err == nil || !strings.Contains(err.Error(), `run "r": not found`) {
		t.Errorf("as the operator's user: %v, want only the run not to exist", err)
	}
	if _, _, err := runCLI(t, "up", "--nats-config", conf, "--nats", url); exitCode(err, false) != exitUsage {
		t.Errorf("--nats-config with --nats: %v, want a usage error", err)
	}
}
