package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/report/document"
)

// TestInconclusiveExitStatus: a candidate and a checkpoint that answer
// exactly as the base, judged ties throughout, cannot be shown to reach a
// win rate of 0.5 nor to miss it. run --wait, checkpoint --wait, replay
// --wait and report all exit 4, and say so on the terminal, without an
// error message.
func TestInconclusiveExitStatus(t *testing.T) {
	t.Setenv("ASSAY_NATS", "")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	ep := newScriptedEndpoint(t, "base", "ft", "judge", "ck-same")
	dir := t.TempDir()
	setupSuite(t, dir, 10, 0)
	spec := brokenSpec(t, dir, ep.url(), ep.url(), "ft", "", "", "judge")
	data, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	// The default policy: checks are decided on their intervals.
	if err := os.WriteFile(spec, bytes.Replace(data, []byte("  policy: point\n"), nil, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	inconclusive := func(what string, stdout, stderr string, err error) {
		t.Helper()
		if got := exitCode(err, false); got != exitInconclusive {
			t.Fatalf("%s: exit %d, want %d: %v\n%s\n%s", what, got, exitInconclusive, err, stdout, stderr)
		}
		var msg strings.Builder
		printError(&msg, nil, err, false)
		if msg.Len() > 0 {
			t.Errorf("%s: an inconclusive gate is no error, but assay says %q", what, msg.String())
		}
		if !strings.Contains(stdout, "gate: INCONCLUSIVE (win_rate_min for ") || !strings.Contains(stdout, "win_rate_min for ft: 0.500 ") {
			t.Errorf("%s: the summary does not say what is undecided:\n%s", what, stdout)
		}
	}
	stdout, stderr, err := runCLI(t, "run", "-f", spec, "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--wait", "--out", out)
	inconclusive("run --wait", stdout, stderr, err)

	stdout, stderr, err = runCLI(t, "checkpoint", "--run", "broken", "--variant", "ck-same", "--base-url", ep.url(), "--model", "ck-same",
		"--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out)
	inconclusive("checkpoint --wait", stdout, stderr, err)
	if !strings.Contains(stdout, "checkpoint ck-same: gate INCONCLUSIVE") {
		t.Errorf("checkpoint --wait does not give the checkpoint's verdict:\n%s", stdout)
	}
	rep := readReport(t, out)
	if g := rep.Gate; g.Verdict != document.VerdictInconclusive || g.Verdicts["ft"] != document.VerdictInconclusive ||
		g.Verdicts["ck-same"] != document.VerdictInconclusive || g.Passed {
		t.Errorf("gate %+v", g)
	}

	stdout, stderr, err = runCLI(t, "replay", "--run", "broken", "--metrics", "em,num_match", "--wait", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out)
	inconclusive("replay --wait", stdout, stderr, err)

	stdout, stderr, err = runCLI(t, "report", "--run", "broken", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out, "--format", "json")
	inconclusive("report", stdout, stderr, err)
}
