package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/services/ingest"
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
		b := connectAs(t, ctx, sys.URL, sys.clientSeed())
		if err := submit(ctx, b, f.spec, openFile); err != nil {
			t.Fatal(err)
		}
		waitComplete(t, b, f.spec.Run, 90*time.Second)
		rep, _, err := saveReport(ctx, b, f.spec.Run, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstOracle(t, f, rep)
		g, err := sys.Env.Bus.Stream(bus.StreamGens).GetLastMsgForSubject(ctx, gens)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(g.Data), "forged") {
			t.Fatalf("a forged generation reached the stream: %s", g.Data)
		}
	})
}
