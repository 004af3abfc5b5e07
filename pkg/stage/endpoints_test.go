package stage

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
