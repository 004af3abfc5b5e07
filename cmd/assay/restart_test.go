package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats.go/jetstream"
)

// slowPersonas answer like testPersonas but take 25ms a call, so a run
// lasts long enough to be killed in the middle; no call fails, so every
// prompt costs exactly one call unless a call is repeated.
func slowPersonas() []llmsim.Persona {
	ps := testPersonas()
	for i := range ps {
		ps[i].Flaky, ps[i].Down, ps[i].Garbage = 0, 0, 0
		ps[i].Latency = llmsim.Duration(25 * time.Millisecond)
	}
	return ps
}

// TestUpSurvivesSIGKILL kills `assay up` (stages and embedded NATS) with
// SIGKILL in the middle of a run, starts it again on the same data
// directory, and expects the run to finish with the report of an
// uninterrupted run — and no generation published before the kill to have
// been paid for again.
func TestUpSurvivesSIGKILL(t *testing.T) {
	data := t.TempDir()
	port := freePort(t)
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	args := []string{"up", "--data", data, "--port", strconv.Itoa(port), "--metrics-addr", "", "--log-level", "warn", "--endpoint-allow", "loopback"}
	up := start(t, "assay", args...)

	f := newFixture(t, "killed", slowPersonas())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := natsembed.SeedFile(data, bus.IdentityClient)
	b := connectAs(t, ctx, url, client)
	if err := submit(ctx, b, f.spec, openFile); err != nil {
		t.Fatal(err)
	}
	// Kill once a good part of the generations is out, well before the end.
	total := 3 * len(f.samples)
	bustest.Eventually(t, 60*time.Second, func() error {
		n := streamCount(t, ctx, b, bus.StreamGens, bus.RunGens(f.spec.Run))
		if n < total/3 {
			return fmt.Errorf("%d of %d generations", n, total)
		}
		return nil
	})
	up.kill()
	killedAt := time.Now()
	b.NC.Close()

	start(t, "assay", args...)
	b = connectAs(t, ctx, url, client)
	t.Logf("restarted after %v", time.Since(killedAt))
	waitComplete(t, b, f.spec.Run, 2*time.Minute)
	t.Logf("complete after %v", time.Since(killedAt))
	rep, _, err := saveReport(ctx, b, f.spec.Run, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	// Generations published before the kill were not paid for twice.
	gens := streamGenerations(t, ctx, b, f.spec.Run)
	before := 0
	for _, g := range gens {
		if !g.stored.Before(killedAt) {
			continue
		}
		before++
		model := f.spec.Variants[variantIndex(f.spec, g.gen.Variant)].Model
		prompt := promptOf(f, g.gen.Sample)
		if n := f.sim.PromptCalls(model, prompt); n != 1 {
			t.Errorf("%s/%s of %s was published before the kill and paid for %d times", g.gen.Sample.Suite, g.gen.Sample.ID, g.gen.Variant, n)
		}
	}
	if before == 0 || before == len(gens) {
		t.Fatalf("%d of %d generations were published before the kill: the kill did not land mid-run", before, len(gens))
	}
	t.Logf("killed after %d of %d generations", before, total)

	rf := newFixture(t, "killed", slowPersonas())
	t0 := time.Now()
	ref := runInProcess(t, rf)
	t.Logf("reference run took %v", time.Since(t0))
	if a, b := comparable(t, ref, rf), comparable(t, rep, f); a != b {
		t.Fatalf("the restarted run's report differs from an uninterrupted run's: %s", diffLines(a, b))
	}
}

func connect(t *testing.T, ctx context.Context, url string) *bus.Bus {
	t.Helper()
	return connectAs(t, ctx, url, "")
}

// connectAs is connect with the nkey seed in file (none when empty), as
// the identities of an `assay up` need.
func connectAs(t *testing.T, ctx context.Context, url, nkey string) *bus.Bus {
	t.Helper()
	var b *bus.Bus
	bustest.Eventually(t, 30*time.Second, func() error {
		nc, err := bus.Connect(ctx, bus.ClientConfig{URL: url, NKey: nkey, Name: "test"}, discardLogger())
		if err != nil {
			return err
		}
		b, err = bus.Open(ctx, nc, bus.Options{})
		if err != nil {
			nc.Close()
		}
		return err
	})
	t.Cleanup(func() { b.NC.Close() })
	return b
}

func streamCount(t *testing.T, ctx context.Context, b *bus.Bus, stream, filter string) int {
	t.Helper()
	info, err := b.Stream(stream).Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return int(n)
}

type storedGen struct {
	gen    eval.Generation
	stored time.Time
}

func streamGenerations(t *testing.T, ctx context.Context, b *bus.Bus, run string) []storedGen {
	t.Helper()
	c, err := b.JS.OrderedConsumer(ctx, bus.StreamGens, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.RunGens(run)}})
	if err != nil {
		t.Fatal(err)
	}
	var out []storedGen
	for {
		m, err := c.Next(jetstream.FetchMaxWait(300 * time.Millisecond))
		if err != nil {
			return out
		}
		meta, _ := m.Metadata()
		var g eval.Generation
		if err := json.Unmarshal(m.Data(), &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, storedGen{gen: g, stored: meta.Timestamp})
	}
}

func variantIndex(spec *eval.RunSpec, name string) int {
	for i, v := range spec.Variants {
		if v.Name == name {
			return i
		}
	}
	return -1
}

func promptOf(f *fixture, ref eval.SampleRef) string {
	for _, s := range f.samples {
		if s.Suite == ref.Suite && s.ID == ref.ID {
			return eval.LastUserMessage(s.Messages)
		}
	}
	return ""
}
