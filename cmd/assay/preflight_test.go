package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/llmsim"
)

// preflightSpec writes a spec whose fine-tune and judge are given as YAML
// flow mappings' fields, and returns its path.
func preflightSpec(t *testing.T, run, base, ft, judge string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "qa.jsonl"), []byte(`{"id": "1", "prompt": "2+2?", "reference": "4"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`run: %s
baseline: base
variants:
  - {name: base, %s}
  - {name: ft, %s}
suites:
  - {name: qa, path: qa.jsonl, metrics: [em]}
judges:
  - {name: j, %s}
`, run, base, ft, judge)
	p := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPreflightRefusesABrokenSetup runs specs with one thing wrong each,
// locally and submitted to NATS: each is refused with exit 3 and a line
// naming the target and the problem, before anything runs or is
// submitted; --no-preflight lets it through.
func TestPreflightRefusesABrokenSetup(t *testing.T) {
	sim := httptest.NewServer(llmsim.New(llmsim.Options{Seed: 1}).Handler())
	t.Cleanup(sim.Close)
	simURL := sim.URL + "/v1"
	locked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error": {"message": "invalid api key", "type": "invalid_request_error"}}`)
	}))
	t.Cleanup(locked.Close)
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/v1"
	t.Setenv("ASSAY_TEST_KEY", "sk-test")
	t.Setenv("ASSAY_TEST_UNSET_KEY", "")

	base := "base_url: " + simURL + ", model: sim-base"
	judge := "base_url: " + simURL + ", model: sim-judge"
	nats := startNATS(t)
	for i, c := range []struct {
		name      string
		ft, judge string
		// line is the problem as `assay run` prints it; remote is false
		// when submitting to --nats, where keys live with the services,
		// finds nothing wrong.
		line   string
		remote bool
	}{
		{"nothing listening", "base_url: " + closed + ", model: sim-ft", judge,
			"assay: preflight: variant ft: " + closed + ": unreachable: connection refused", true},
		{"unknown model", "base_url: " + simURL + ", model: sft", judge,
			`assay: preflight: variant ft: ` + simURL + `: model "sft" is not served (served: `, true},
		{"unset key", "base_url: " + simURL + ", model: sim-ft, api_key_env: ASSAY_TEST_UNSET_KEY", judge,
			"assay: preflight: variant ft: " + simURL + ": api_key_env ASSAY_TEST_UNSET_KEY is not set", false},
		{"credentials rejected", "base_url: " + locked.URL + "/v1, model: sim-ft, api_key_env: ASSAY_TEST_KEY", judge,
			"assay: preflight: variant ft: " + locked.URL + "/v1: credentials rejected (HTTP 401 with the key in ASSAY_TEST_KEY", false},
		{"credentials missing", "base_url: " + locked.URL + "/v1, model: sim-ft", judge,
			"assay: preflight: variant ft: " + locked.URL + "/v1: credentials rejected (HTTP 401, and no api_key_env is set", true},
		{"unknown judge model", "base_url: " + simURL + ", model: sim-ft", "base_url: " + simURL + ", model: sim-judgee",
			`assay: preflight: judge j: ` + simURL + `: model "sim-judgee" is not served`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := "preflight-" + strconv.Itoa(i)
			spec := preflightSpec(t, run, base, c.ft, c.judge)
			data := filepath.Join(t.TempDir(), "state")
			_, _, err := runCLI(t, "run", "-f", spec, "--data", data)
			expectPreflightRefusal(t, err, c.line)
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the refused run started: %s: %v", data, err)
			}

			_, _, err = runCLI(t, "run", "-f", spec, "--nats", nats.URL, "--nats-nkey", nats.clientSeed())
			submitted := err == nil
			if c.remote {
				expectPreflightRefusal(t, err, c.line)
			} else if err != nil {
				t.Fatalf("with --nats, where the keys live with the services: %v", err)
			}
			if _, err := nats.Env.Bus.Spec(t.Context(), run); submitted != (err == nil) {
				t.Errorf("submitted %v, but the run's spec: %v", submitted, err)
			}

			if _, _, err := runCLI(t, "run", "-f", spec, "--nats", nats.URL, "--nats-nkey", nats.clientSeed(), "--no-preflight"); err != nil {
				t.Fatalf("--no-preflight: %v", err)
			}
			if _, err := nats.Env.Bus.Spec(t.Context(), run); err != nil {
				t.Fatalf("--no-preflight did not submit: %v", err)
			}
		})
	}
}

// expectPreflightRefusal checks that err is a preflight refusal whose first
// line begins with line.
func expectPreflightRefusal(t *testing.T, err error, line string) {
	t.Helper()
	if code := exitCode(err, false); code != exitUnevaluated {
		t.Fatalf("exit %d, want %d: %v", code, exitUnevaluated, err)
	}
	var out strings.Builder
	printError(&out, nil, err, false)
	first, _, _ := strings.Cut(out.String(), "\n")
	if !strings.HasPrefix(first, line) {
		t.Fatalf("first line\n  %s\nwant\n  %s…", first, line)
	}
	if !strings.Contains(out.String(), "--no-preflight") {
		t.Errorf("the refusal does not say how to skip the check:\n%s", out.String())
	}
}

// TestPreflightOfCheckpointsAndJudges checks the new variant of assay
// checkpoint and the new judge of assay replay before anything is sent:
// NATS is not even reachable, so only the preflight can answer.
func TestPreflightOfCheckpointsAndJudges(t *testing.T) {
	sim := httptest.NewServer(llmsim.New(llmsim.Options{Seed: 1}).Handler())
	t.Cleanup(sim.Close)
	simURL := sim.URL + "/v1"
	nats := "nats://127.0.0.1:" + strconv.Itoa(freePort(t))
	judge := filepath.Join(t.TempDir(), "judge.yaml")
	if err := os.WriteFile(judge, []byte("name: j2\nbase_url: "+simURL+"\nmodel: sim-judge-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkpoint := []string{"checkpoint", "--run", "r", "--variant", "step-1", "--base-url", simURL, "--model", "sft-step-1", "--nats", nats}
	replay := []string{"replay", "--run", "r", "--judge", judge, "--nats", nats}

	_, _, err := runCLI(t, checkpoint...)
	expectPreflightRefusal(t, err, `assay: preflight: variant step-1: `+simURL+`: model "sft-step-1" is not served (served: `)
	_, _, err = runCLI(t, replay...)
	expectPreflightRefusal(t, err, `assay: preflight: judge j2: `+simURL+`: model "sim-judge-2" is not served`)

	for _, args := range [][]string{checkpoint, replay} {
		_, _, err := runCLI(t, append(args, "--no-preflight")...)
		if err == nil || !strings.Contains(err.Error(), "connecting to NATS") {
			t.Errorf("%s --no-preflight: %v, want it to go on to NATS", args[0], err)
		}
	}
}

// TestPreflightIsInterruptible: Ctrl-C during a slow check ends the
// command as interrupted, not as a setup problem.
func TestPreflightIsInterruptible(t *testing.T) {
	asked := make(chan struct{}, 16)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(hung.Close)
	url := "base_url: " + hung.URL + "/v1"
	spec := preflightSpec(t, "hung", url+", model: m", url+", model: m2", url+", model: j")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	root := newRoot()
	root.SetArgs([]string{"run", "-f", spec, "--nats", "nats://127.0.0.1:1"})
	root.SetOut(new(strings.Builder))
	root.SetErr(new(strings.Builder))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	<-asked
	cancel()
	if err := <-done; exitCode(err, false) != exitInterrupted {
		t.Fatalf("got %v (exit %d), want an interruption", err, exitCode(err, false))
	}
}
