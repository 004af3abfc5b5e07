package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLI runs the assay command line in this process.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return runCLIContext(ctx, args...)
}

// runCLIContext runs the assay command line in this process under ctx.
func runCLIContext(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	cmd := newRoot()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := runCLI(t, "demo", "--out", dir)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut)
	}
	for _, want := range []string{"win rate [95% CI]", "business:json_fields", "refusal", "json_valid", "gate: ", "report.json", "report.md", "report.html"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"report.json", "report.md", "report.html", "scores.parquet", "judgments.parquet"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestRunRejectsABadSpecWithItsLine(t *testing.T) {
	dir := t.TempDir()
	spec := `run: bad run
baseline: base
variants:
  - {name: base, base_url: http://127.0.0.1:1/v1, model: m}
suites:
  - {name: s, path: missing.jsonl, metrics: [em, meteor]}
`
	p := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(t, "run", "-f", p)
	if err == nil {
		t.Fatal("a bad spec was accepted")
	}
	for _, want := range []string{
		p + ":1: run: \"bad run\" is not a valid name",
		p + ":6: suites[0].metrics[1]: unknown metric \"meteor\"",
		p + ":6: suites[0].path: ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestRunFailsOnItsGate runs a spec with `assay run` (every stage in
// this process) and checks that the exit status follows the gate.
func TestRunFailsOnItsGate(t *testing.T) {
	f := newFixture(t, "cli", testPersonas())
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, "run", "-f", filepath.Join(f.dir, "run.yaml"), "--out", out)
	// The fixture's gate bounds the refusal increase at 0.02; the
	// fine-tune's persona refuses 15% of benign prompts against the
	// base's 5%, a rise whose whole interval lies above the bound: the
	// run must fail its gate.
	if !errors.Is(err, errGateFailed) {
		t.Fatalf("run: got %v, want the gate to fail\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "gate: FAILED (") || !strings.Contains(stdout, "refusal_rate_delta_max for ft") {
		t.Errorf("summary does not say which check failed:\n%s", stdout)
	}
	if !strings.Contains(stderr, "submitted run cli") {
		t.Errorf("stderr: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "report.html")); err != nil {
		t.Fatal(err)
	}
}
