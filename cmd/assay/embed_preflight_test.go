package main

import (
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

// embedSpec writes a run of the simulator's base against its fine-tune,
// over five questions scored by em and semantic_sim through the
// embeddings section emb (a YAML flow mapping's fields), and returns its
// path.
func embedSpec(t *testing.T, run, simURL, emb string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i := range 5 {
		fmt.Fprintf(&b, `{"id": "q%d", "prompt": "What is %d plus 7?", "reference": "%d"}`+"\n", i, 10+i, 17+i)
	}
	if err := os.WriteFile(filepath.Join(dir, "qa.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`run: %[1]s
baseline: base
variants:
  - {name: base, base_url: %[2]s, model: sim-base}
  - {name: ft, base_url: %[2]s, model: sim-ft}
retry: {max_attempts: 2, initial_backoff: 1ms, max_backoff: 5ms}
suites:
  - {name: qa, path: qa.jsonl, metrics: [em, semantic_sim]}
judges:
  - {name: j, base_url: %[2]s, model: sim-judge}
embeddings: {%[3]s}
`, run, simURL, emb)
	p := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPreflightOfTheEmbeddingsEndpoint: a spec whose embeddings endpoint
// (semantic_sim's) cannot be used is refused before anything runs, like
// one with a broken variant: exit 3, a first line naming the endpoint and
// what is wrong, nothing submitted. Submitted to --nats, where the keys
// live with the services, a key problem is not the CLI's to find. With
// --no-preflight the run goes ahead, and every answer's semantic_sim is
// counted as failed, never scored; with the endpoint right, every answer
// is scored.
func TestPreflightOfTheEmbeddingsEndpoint(t *testing.T) {
	t.Setenv("ASSAY_NATS", "")
	sim := httptest.NewServer(llmsim.New(llmsim.Options{Seed: 1}).Handler())
	t.Cleanup(sim.Close)
	simURL := sim.URL + "/v1"
	// locked serves the simulator's embeddings to the bearer of right-key.
	embeds := llmsim.New(llmsim.Options{Seed: 1}).Handler()
	locked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer right-key" {
			writeJSON(w, http.StatusUnauthorized, apiErr("Incorrect API key provided"))
			return
		}
		embeds.ServeHTTP(w, r)
	}))
	t.Cleanup(locked.Close)
	lockedURL := locked.URL + "/v1"
	// chatOnly serves chat models and no embeddings.
	chatOnly := newScriptedEndpoint(t, "base", "ft")
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/v1"
	t.Setenv("ASSAY_TEST_EMB_KEY", "wrong-key")
	t.Setenv("ASSAY_TEST_EMB_RIGHT_KEY", "right-key")
	os.Unsetenv("ASSAY_TEST_UNSET_KEY")

	nats := startNATS(t)
	for i, c := range []struct {
		name, emb string
		// line is how the refusal's first line starts; remote is false
		// when submitting to --nats, where the keys live with the
		// services, finds nothing wrong.
		line   string
		remote bool
	}{
		{"wrong model", "base_url: " + simURL + ", model: bge-typo",
			`assay: preflight: embeddings endpoint: ` + simURL + `: model "bge-typo" is not served (served: `, true},
		{"endpoint down", "base_url: " + closed + ", model: sim-embed",
			"assay: preflight: embeddings endpoint: " + closed + ": unreachable: connection refused (is the server running", true},
		{"401", "base_url: " + lockedURL + ", model: sim-embed, api_key_env: ASSAY_TEST_EMB_KEY",
			"assay: preflight: embeddings endpoint: " + lockedURL + ": credentials rejected (HTTP 401 with the key in ASSAY_TEST_EMB_KEY", false},
		{"unset key", "base_url: " + lockedURL + ", model: sim-embed, api_key_env: ASSAY_TEST_UNSET_KEY",
			"assay: preflight: embeddings endpoint: " + lockedURL + ": api_key_env ASSAY_TEST_UNSET_KEY is not set", false},
		{"not an embedding model", "base_url: " + chatOnly.url() + ", model: ft",
			"assay: preflight: embeddings endpoint: " + chatOnly.url() + ": a test call to /embeddings was refused: HTTP 404", true},
		{"right", "base_url: " + lockedURL + ", model: sim-embed, api_key_env: ASSAY_TEST_EMB_RIGHT_KEY", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := embedSpec(t, "embed-preflight-"+strconv.Itoa(i), simURL, c.emb)
			if c.line == "" {
				r := runLocalCLI(t, "run", "-f", spec)
				if r.code != 0 {
					t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
				}
				semanticSimCounts(t, r, 5, 0)
				return
			}
			data := filepath.Join(t.TempDir(), "state")
			// --out: were the run not refused, its report would land here.
			_, _, err := runCLI(t, "run", "-f", spec, "--data", data, "--out", t.TempDir())
			expectPreflightRefusal(t, err, c.line)
			if _, err := os.Stat(data); err == nil {
				t.Errorf("the refused run started: %s exists", data)
			}

			_, _, err = runCLI(t, "run", "-f", spec, "--nats", nats.URL, "--nats-nkey", nats.clientSeed())
			if c.remote {
				expectPreflightRefusal(t, err, c.line)
			} else if err != nil {
				t.Fatalf("with --nats, where the keys live with the services: %v", err)
			}

			r := runLocalCLI(t, "run", "-f", spec, "--no-preflight")
			if r.rep == nil {
				t.Fatalf("--no-preflight: no report (exit %d)\nstderr:\n%s", r.code, r.stderr)
			}
			semanticSimCounts(t, r, 0, 5)
		})
	}
}

// semanticSimCounts checks that each variant's semantic_sim has n values
// and failed answers, and a mean only over values.
func semanticSimCounts(t *testing.T, r cliRun, n, failed int) {
	t.Helper()
	seen := 0
	for _, m := range r.rep.Metrics {
		if m.Metric != "semantic_sim" {
			continue
		}
		seen++
		if m.N != n || m.Errors != failed || (m.Mean != nil) != (n > 0) {
			t.Errorf("%s %s: n %d, errors %d, mean %v; want n %d, errors %d", m.Variant, m.Metric, m.N, m.Errors, m.Mean, n, failed)
		}
	}
	if seen != 2 {
		t.Errorf("semantic_sim reported for %d variants, want 2", seen)
	}
}
