package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestCheckpointWalkthrough follows the README's checkpoint walkthrough
// as written: ASSAY_NATS names the running services, `assay run -f
// run.yaml --wait` submits there and waits, and `assay checkpoint … --wait`
// then finds the run and gates the checkpoint.
func TestCheckpointWalkthrough(t *testing.T) {
	dir := t.TempDir()
	writeDemoSuites(t, dir, "qa", "math")
	personas := append(llmsim.DefaultPersonas(), llmsim.Persona{Name: "sft-step-2000", Accuracy: 0.7})
	sim := httptest.NewServer(llmsim.New(llmsim.Options{Seed: 3, Personas: personas}).Handler())
	t.Cleanup(sim.Close)
	spec := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(spec, []byte(fmt.Sprintf(`run: qwen3-8b-sft
baseline: base
variants:
  - {name: base, base_url: %[1]s/v1, model: sim-base}
  - {name: ft,   base_url: %[1]s/v1, model: sim-ft}
suites:
  - {name: qa,   path: qa.jsonl,   metrics: [em, f1]}
  - {name: math, path: math.jsonl, metrics: [num_match]}
judges:
  - {name: judge-v1, base_url: %[1]s/v1, model: sim-judge}
gate: {win_rate_min: 0.3}
`, sim.URL)), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: 0}) // assay up
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	t.Setenv("ASSAY_NATS", sys.URL)
	t.Setenv("ASSAY_NATS_NKEY", sys.clientSeed())
	t.Chdir(dir)

	stdout, stderr, err := runCLI(t, "run", "-f", "run.yaml", "--wait")
	if code := exitCode(err, false); code > exitGateFailed && code != exitInconclusive {
		t.Fatalf("assay run -f run.yaml --wait: exit %d: %v\n%s\n%s", code, err, stdout, stderr)
	}
	if strings.Contains(stderr, "state in") || !strings.Contains(stdout, "gate: ") {
		t.Fatalf("the run was not submitted to ASSAY_NATS and waited for:\n%s\n%s", stdout, stderr)
	}
	stdout, stderr, err = runCLI(t, "checkpoint", "--run", "qwen3-8b-sft", "--variant", "step-2000", "--step", "2000",
		"--base-url", sim.URL+"/v1", "--model", "sft-step-2000", "--wait")
	if code := exitCode(err, false); code > exitGateFailed && code != exitInconclusive {
		t.Fatalf("assay checkpoint --wait: exit %d: %v\n%s\n%s", code, err, stdout, stderr)
	}
	if !strings.Contains(stdout, "checkpoint step-2000: gate ") {
		t.Fatalf("no verdict for the checkpoint:\n%s\n%s", stdout, stderr)
	}
}
