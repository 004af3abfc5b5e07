package stage

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/llm"
)

// TestLogEndpointsNamesWeakSecrets: a server's start-up lines name a
// secret too weak to be redacted, once, and never show its value nor a
// strong secret's.
func TestLogEndpointsNamesWeakSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := write("endpoints.yaml", "secrets:\n  local: {file: "+write("local", "lm-studio")+", hosts: [loopback]}\n  strong: {file: "+write("strong", "sk-strong-0123456789")+", hosts: [loopback]}\n")
	e, err := EndpointFlags{File: file}.Endpoints(true)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	LogEndpoints(slog.New(slog.NewTextHandler(&out, nil)), e)
	logged := out.String()
	if n := strings.Count(logged, "secret local is too short or too common to be redacted"); n != 1 {
		t.Fatalf("the weak secret is named %d times, want once: %s", n, logged)
	}
	if strings.Contains(logged, "strong is too short") || strings.Contains(logged, "lm-studio") || strings.Contains(logged, "sk-strong") {
		t.Fatalf("the log names a strong secret or shows a value: %s", logged)
	}
}

// TestScoreReadsSecretsWhenCalled: the score binary takes the endpoint
// policy (for runs' embeddings endpoints) without stopping for a secret
// it may never send: one that is not mounted fails only the call that
// needs it, named; infer still stops at start.
func TestScoreReadsSecretsWhenCalled(t *testing.T) {
	file := filepath.Join(t.TempDir(), "endpoints.yaml")
	if err := os.WriteFile(file, []byte("allow: [loopback]\nsecrets:\n  emb: {file: "+filepath.Join(t.TempDir(), "missing")+", hosts: [loopback]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := EndpointFlags{File: file}
	if _, err := f.endpoints("assay-infer"); err == nil {
		t.Error("infer started without its secret")
	}
	e, err := f.endpoints("assay-score")
	if err != nil {
		t.Fatalf("score stopped for a secret no run sent: %v", err)
	}
	err = e.Admit(t.Context(), llm.Target{Kind: "embeddings", Name: "endpoint", BaseURL: "http://127.0.0.1:1/v1", APIKeySecret: "emb"})
	if err == nil || !strings.Contains(err.Error(), "secret emb cannot be read") {
		t.Errorf("a call needing the secret: %v", err)
	}
	if err := e.Admit(t.Context(), llm.Target{Kind: "embeddings", Name: "endpoint", BaseURL: "http://169.254.169.254/v1"}); err == nil {
		t.Error("score's policy let a link-local address through")
	}
}
