package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestCheckpointAnnouncedAgainAfterRefusal: a checkpoint refused for its
// key (--api-key-env, which the server does not accept) is announced
// again with the same name, model and URL and a key the server accepts
// (--api-key-secret): --wait follows the new announcement's verdict, not
// the old refusal (exit 3), and the report stops warning about the
// refusal once the checkpoint is in the run.
func TestCheckpointAnnouncedAgainAfterRefusal(t *testing.T) {
	sim := newListener(t, llmsim.New(llmsim.Options{Seed: 1}).Handler())
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "openai")
	if err := os.WriteFile(keyFile, []byte("sk-rekey-5c1d9e7a3b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, "endpoints.yaml")
	policy := fmt.Sprintf("allow: [\"loopback:%[1]s\"]\nsecrets:\n  openai: {file: %[2]s, hosts: [\"127.0.0.1:%[1]s\"]}\n", sim.port(), keyFile)
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	endpoints, err := llm.LoadEndpoints(policyFile, "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var logs syncBuffer
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: 0, Endpoints: endpoints, Logger: debugLogger(t, &logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	b := sys.Env.Bus

	if err := os.WriteFile(filepath.Join(dir, "qa.jsonl"), []byte(`{"id": "q1", "prompt": "What is 2+2?", "reference": ["4"]}
{"id": "q2", "prompt": "Capital of France?", "reference": ["Paris"]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(dir, "rekey.yaml")
	if err := os.WriteFile(specFile, []byte(fmt.Sprintf(`run: rekey
baseline: base
variants:
  - {name: base, base_url: %[1]s/v1, model: sim-base, api_key_secret: openai}
  - {name: ft, base_url: %[1]s/v1, model: sim-ft, api_key_secret: openai}
suites:
  - {name: qa, path: qa.jsonl, metrics: [em]}
`, sim.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := eval.LoadSpec(specFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := submit(ctx, b, spec, openFile); err != nil {
		t.Fatal(err)
	}
	if st := waitComplete(t, b, "rekey", 2*time.Minute); st.State != eval.StateComplete {
		t.Fatalf("run: %+v", st)
	}

	checkpoint := func(key ...string) (string, error) {
		args := append([]string{"checkpoint", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--run", "rekey", "--variant", "step-2",
			"--base-url", sim.URL + "/v1", "--model", "sim-ft", "--no-preflight", "--wait", "--out", t.TempDir()}, key...)
		_, stderr, err := runCLI(t, args...)
		return stderr, err
	}
	stderr, err := checkpoint("--api-key-env", "ASSAY_TEST_REKEY_ENV")
	if exitCode(err, false) != exitUnevaluated || !strings.Contains(fmt.Sprint(err), "checkpoint step-2 was refused by the server") {
		t.Fatalf("a checkpoint with --api-key-env: exit %d, %v\n%s", exitCode(err, false), err, stderr)
	}
	stderr, err = checkpoint("--api-key-secret", "openai")
	if err != nil && !isVerdict(err) {
		t.Fatalf("the checkpoint announced again with --api-key-secret: exit %d, %v\n%s", exitCode(err, false), err, stderr)
	}
	if s, err := b.Spec(ctx, "rekey"); err != nil {
		t.Fatal(err)
	} else if v, ok := s.Variant("step-2"); !ok || v.APIKeySecret != "openai" {
		t.Fatalf("the checkpoint's variant is %+v", v)
	}
	bustest.Eventually(t, time.Minute, func() error {
		rep, _, err := saveReport(ctx, b, "rekey", t.TempDir())
		if err != nil {
			return err
		}
		for _, w := range rep.Warnings {
			if strings.Contains(w, "checkpoint step-2 was refused") {
				return fmt.Errorf("the report still warns: %s", w)
			}
		}
		return nil
	})
}
