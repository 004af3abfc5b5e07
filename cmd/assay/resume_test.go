package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// TestLocalRunResumesAfterCtrlC interrupts a local `assay run` (every stage
// in its process) with SIGINT in the middle of the run, runs the same
// command again, and expects the run to finish without paying again for
// anything answered before the interrupt.
func TestLocalRunResumesAfterCtrlC(t *testing.T) {
	f := newFixture(t, "resumed", slowPersonas())
	data := filepath.Join(t.TempDir(), "state")
	args := []string{"run", "-f", filepath.Join(f.dir, "run.yaml"), "--data", data, "--out", t.TempDir()}
	models := []string{"t-base", "t-ft", "t-int4"}
	answered := func() int {
		n := 0
		for _, m := range models {
			n += f.sim.Calls(m)
		}
		return n
	}

	first := start(t, "assay", args...)
	total := len(models) * len(f.samples)
	bustest.Eventually(t, 90*time.Second, func() error {
		if n := answered(); n < total/3 {
			return fmt.Errorf("%d of %d generations asked for", n, total)
		}
		return nil
	})
	if err := first.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := exitStatus(t, first, time.Minute); code != exitInterrupted {
		t.Fatalf("interrupted run: exit %d, want %d\n%s", code, exitInterrupted, first.out)
	}
	if want := "assay: interrupted: the state is kept in " + data; !strings.Contains(first.out.String(), want) {
		t.Errorf("the interrupted run does not say %q:\n%s", want, first.out)
	}

	// What the interrupted run stored.
	gens := storedGenerations(t, data, f.spec.Run)
	if len(gens) == 0 || len(gens) >= total {
		t.Fatalf("%d of %d generations stored before the interrupt: it did not land mid-run", len(gens), total)
	}
	asked := answered()

	again := start(t, "assay", args...)
	if code := exitStatus(t, again, 3*time.Minute); code != 0 && code != exitGateFailed && code != exitInconclusive {
		t.Fatalf("resumed run: exit %d, want a gate verdict\n%s", code, again.out)
	}
	if !strings.Contains(again.out.String(), "gate: ") {
		t.Errorf("the resumed run printed no summary:\n%s", again.out)
	}
	for _, g := range gens {
		model := f.spec.Variants[variantIndex(f.spec, g.gen.Variant)].Model
		if n := f.sim.PromptCalls(model, promptOf(f, g.gen.Sample)); n != 1 {
			t.Errorf("%s/%s of %s was stored before the interrupt and paid for %d times", g.gen.Sample.Suite, g.gen.Sample.ID, g.gen.Variant, n)
		}
	}
	// Every generation was asked for once, but for those in flight at
	// the interrupt.
	if paid := answered(); paid > total+(asked-len(gens)) {
		t.Errorf("%d generation calls for %d generations: %d stored and %d asked for before the interrupt", paid, total, len(gens), asked)
	}
	t.Logf("interrupted after %d of %d generations stored (%d asked for); %d calls in all", len(gens), total, asked, answered())
}

// exitStatus waits for p to end and returns its exit status.
func exitStatus(t *testing.T, p *process, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("%s did not end within %v:\n%s", p.name, within, p.out)
	}
	// -1 when a signal ended it: assay itself exits 130 on SIGINT.
	return p.cmd.ProcessState.ExitCode()
}

// storedGenerations reads a run's generations from a local run's data
// directory, once no process holds it.
func storedGenerations(t *testing.T, data, run string) []storedGen {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Options{Dir: data, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	b, err := bus.Open(ctx, nc, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return streamGenerations(t, ctx, b, run)
}
