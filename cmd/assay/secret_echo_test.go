package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// echoEndpoint serves /v1/models (listing model) and answers every chat
// call with the request's Authorization header: in a 400's JSON error
// message when status is 400 (as providers echo a rejected key), in the
// answer's text otherwise (a debug or echo service).
func echoEndpoint(model string, status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models") {
			fmt.Fprintf(w, `{"object": "list", "data": [{"id": %q, "object": "model"}]}`, model)
			return
		}
		said, _ := json.Marshal("Incorrect API key provided: " + r.Header.Get("Authorization"))
		if status == http.StatusBadRequest {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error": {"message": %s, "type": "invalid_request_error"}}`, said)
			return
		}
		fmt.Fprintf(w, `{"id": "c1", "object": "chat.completion", "model": %q, "choices": [{"index": 0, "message": {"role": "assistant", "content": %s}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}`, model, said)
	})
}

// TestSecretEchoedNeverStored: a run whose endpoints send the server's
// secret back, one in a 400's error message and one in its answers, ends
// with neither the secret's value in any stream, bucket or object (the
// stored report included) nor in the logs: [SECRET] stands where it was.
func TestSecretEchoedNeverStored(t *testing.T) {
	const secretValue = "sk-echoed-planted-9c4e2a7b1d"
	sim := newListener(t, llmsim.New(llmsim.Options{Seed: 1}).Handler())
	rejects := newListener(t, echoEndpoint("m-ft", http.StatusBadRequest))
	echoes := newListener(t, echoEndpoint("m-echo", http.StatusOK))
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "openai")
	if err := os.WriteFile(keyFile, []byte(secretValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := []string{sim.port(), rejects.port(), echoes.port()}
	policyFile := filepath.Join(dir, "endpoints.yaml")
	policy := fmt.Sprintf("allow: [\"loopback:%[1]s\", \"loopback:%[2]s\", \"loopback:%[3]s\"]\nsecrets:\n  openai: {file: %[4]s, hosts: [\"127.0.0.1:%[1]s\", \"127.0.0.1:%[2]s\", \"127.0.0.1:%[3]s\"]}\n",
		ports[0], ports[1], ports[2], keyFile)
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	endpoints, err := llm.LoadEndpoints(policyFile, "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: -1, Endpoints: endpoints, Logger: debugLogger(t, &logs)})
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
	specFile := filepath.Join(dir, "echo.yaml")
	spec := fmt.Sprintf(`run: echo
baseline: base
variants:
  - {name: base, base_url: %s/v1, model: sim-base, api_key_secret: openai}
  - {name: ft, base_url: %s/v1, model: m-ft, api_key_secret: openai}
  - {name: echo, base_url: %s/v1, model: m-echo, api_key_secret: openai}
suites:
  - {name: qa, path: qa.jsonl, metrics: [em]}
`, sim.URL, rejects.URL, echoes.URL)
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := eval.LoadSpec(specFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := submit(ctx, b, s, openFile); err != nil {
		t.Fatal(err)
	}
	if st := waitComplete(t, b, "echo", 2*time.Minute); st.State != eval.StateComplete {
		t.Fatalf("run: %+v", st)
	}
	for _, l := range []*listener{rejects, echoes} {
		got := l.requests()
		if len(got) == 0 || got[len(got)-1] != "Bearer "+secretValue {
			t.Fatalf("the echoing endpoint got %q, want the secret as bearer token", got)
		}
	}

	gens := bustest.Stored[eval.Generation](t, b, bus.StreamGens)
	var failed, echoed bool
	for _, g := range gens {
		failed = failed || (g.Variant == "ft" && strings.Contains(g.Error, "Incorrect API key provided: Bearer "+llm.SecretShown))
		echoed = echoed || (g.Variant == "echo" && strings.Contains(g.Output, "Bearer "+llm.SecretShown))
	}
	if !failed || !echoed {
		t.Errorf("no generation shows %s where the endpoint echoed the key (failed %v, echoed %v)", llm.SecretShown, failed, echoed)
	}
	scanned := bustest.Scan(t, b, func(where string, data []byte) {
		if bytes.Contains(data, []byte(secretValue)) {
			t.Errorf("%s holds the secret", where)
		}
	})
	if strings.Contains(logs.String(), secretValue) {
		t.Errorf("the logs hold the secret")
	}
	if scanned < 10 {
		t.Fatalf("scanned %d messages", scanned)
	}
}
