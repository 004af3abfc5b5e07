package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/report/document"
)

// goodSpec writes a valid spec whose endpoints are never called by the
// commands it is given to here, and returns its path.
func goodSpec(t *testing.T, run string) string {
	t.Helper()
	const down = "base_url: http://127.0.0.1:1/v1, model: m"
	return preflightSpec(t, run, down, down, down)
}

// TestExitStatus runs commands that fail before any evaluation and checks
// the exit status each error makes and the line that names it.
func TestExitStatus(t *testing.T) {
	spec := goodSpec(t, "exits")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("run: x\nvariants: []\nsuites: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	closed := "nats://127.0.0.1:" + strconv.Itoa(freePort(t))
	sys := startNATS(t)
	for _, c := range []struct {
		name string
		args []string
		code int
		line string // the first line printed, or part of it
	}{
		{"unknown command", []string{"rnu"}, exitUsage, `unknown command "rnu" for "assay"`},
		{"unknown flag", []string{"run", "-f", spec, "--nope"}, exitUsage, "unknown flag: --nope"},
		{"bad flag value", []string{"up", "--port", "x"}, exitUsage, `invalid argument "x" for "--port"`},
		{"missing flag", []string{"run"}, exitUsage, `required flag(s) "file" not set`},
		{"extra argument", []string{"report", "--run", "r", "extra"}, exitUsage, `unknown command "extra"`},
		{"invalid spec", []string{"run", "-f", bad, "--no-preflight"}, exitUsage, bad + ":"},
		{"missing spec", []string{"run", "-f", bad + ".missing"}, exitUsage, "bad.yaml.missing"},
		{"wait on a local run", []string{"run", "-f", spec, "--wait", "--nats", ""}, exitUsage, "--wait is for a run submitted with --nats"},
		{"data with --nats", []string{"run", "-f", spec, "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--data", t.TempDir(), "--no-preflight"}, exitUsage, "--data and --fresh are for a local run"},
		{"unknown format", []string{"report", "--run", "r", "--format", "pdf"}, exitUsage, `unknown format "pdf"`},
		{"bad checkpoint name", []string{"checkpoint", "--run", "r", "--variant", "a b", "--base-url", "http://x/v1", "--model", "m", "--nats", closed}, exitUsage, `variant "a b" is not a valid name`},
		{"unknown replay metric", []string{"replay", "--run", "r", "--metrics", "em,meteor", "--nats", closed}, exitUsage, `unknown metric "meteor"`},
		{"score without input", []string{"score", "--metrics", "em"}, exitUsage, "--input FILE is required"},
		{"NATS unreachable", []string{"report", "--run", "r", "--nats", closed}, exitUnevaluated, "connecting to NATS at " + closed},
		{"no such run", []string{"report", "--run", "nothing", "--nats", sys.URL, "--nats-nkey", sys.clientSeed()}, exitUnevaluated, "nothing"},
		{"checkpoint of no such run", []string{"checkpoint", "--run", "nothing", "--variant", "c", "--base-url", "http://127.0.0.1:1/v1", "--model", "m", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--no-preflight"}, exitUnevaluated, `run "nothing" does not exist`},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot()
			root.SetArgs(c.args)
			root.SetOut(new(strings.Builder))
			root.SetErr(new(strings.Builder))
			cmd, err := root.ExecuteContextC(t.Context())
			if got := exitCode(err, false); got != c.code {
				t.Fatalf("exit %d, want %d (err %v)", got, c.code, err)
			}
			var out strings.Builder
			printError(&out, cmd, err, false)
			first, _, _ := strings.Cut(out.String(), "\n")
			if !strings.HasPrefix(first, "assay: ") || !strings.Contains(first, c.line) {
				t.Fatalf("first line %q does not name %q:\n%s", first, c.line, out.String())
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	ran := func(err error) error { return &commandError{err} }
	for _, c := range []struct {
		name        string
		err         error
		interrupted bool
		code        int
	}{
		{"success", nil, false, 0},
		{"gate failed", ran(errGateFailed), false, exitGateFailed},
		{"gate inconclusive", ran(errGateInconclusive), false, exitInconclusive},
		{"usage", ran(usagef("bad")), false, exitUsage},
		{"cobra's own", errors.New(`unknown flag: --x`), false, exitUsage},
		{"could not evaluate", ran(fmt.Errorf("run r %w: why", errUnevaluated)), false, exitUnevaluated},
		{"anything else", ran(errors.New("connecting to NATS")), false, exitUnevaluated},
		{"lines skipped", ran(errLinesFailed), false, exitUnevaluated},
		{"interrupted", ran(fmt.Errorf("watching: %w", context.Canceled)), false, exitInterrupted},
		{"interrupted, whatever failed then", ran(errors.New("nats: connection closed")), true, exitInterrupted},
		{"interrupted with a gate verdict", ran(errGateFailed), true, exitInterrupted},
		{"interrupted with an inconclusive gate", ran(errGateInconclusive), true, exitInterrupted},
	} {
		if got := exitCode(c.err, c.interrupted); got != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.code)
		}
	}
}

func TestVerdictError(t *testing.T) {
	for _, c := range []struct {
		gate document.Gate
		want error
		text string
	}{
		{document.Gate{Verdict: document.VerdictPass, Passed: true}, nil, ""},
		{document.Gate{Verdict: document.VerdictFail}, errGateFailed, ""},
		{document.Gate{Verdict: document.VerdictInconclusive}, errGateInconclusive, ""},
		{document.Gate{Verdict: document.VerdictError, Errors: []string{"ft: 12 of 40 generations failed (30%, above gate.error_rate_max 2%)"}}, errUnevaluated, "run r could not be evaluated: ft: 12 of 40"},
		{document.Gate{Verdict: document.VerdictError}, errUnevaluated, "see the report's warnings"},
		{document.Gate{Passed: true}, nil, ""},
		{document.Gate{}, errGateFailed, ""},
	} {
		err := verdictError("r", c.gate)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) || (c.text != "" && !strings.Contains(err.Error(), c.text)) {
			t.Errorf("%+v: got %v, want %v %q", c.gate, err, c.want, c.text)
		}
	}
}

// TestExitStatusOfTheBinary checks main's wiring: the status the process
// ends with and its first line on stderr.
func TestExitStatusOfTheBinary(t *testing.T) {
	closed := "nats://127.0.0.1:" + strconv.Itoa(freePort(t))
	for _, c := range []struct {
		args  []string
		code  int
		first string
	}{
		{[]string{"run", "--nope"}, exitUsage, "assay: unknown flag: --nope"},
		{[]string{"report", "--run", "r", "--nats", closed}, exitUnevaluated, "assay: connecting to NATS at " + closed},
	} {
		cmd := exec.Command(binary(t, "assay"), c.args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != c.code {
			t.Errorf("assay %s: %v, want exit %d\n%s", strings.Join(c.args, " "), err, c.code, stderr.String())
			continue
		}
		if first, _, _ := strings.Cut(stderr.String(), "\n"); !strings.HasPrefix(first, c.first) {
			t.Errorf("assay %s: first line %q, want %q", strings.Join(c.args, " "), first, c.first)
		}
	}
}

// startNATS starts a system with only the NATS server, listening.
func startNATS(t *testing.T) *system { return startNATSOn(t, t.TempDir()) }
