package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/obs"
)

// listener is an HTTP server that counts the requests it gets and keeps
// their Authorization headers, in front of h (nil: 404 to everything).
type listener struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newListener(t *testing.T, h http.Handler) *listener {
	t.Helper()
	l := &listener{}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.auths = append(l.auths, r.Header.Get("Authorization"))
		l.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(l.Close)
	return l
}

func (l *listener) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.auths...)
}

func (l *listener) port() string { return l.URL[strings.LastIndexByte(l.URL, ':')+1:] }

// TestEndpointPolicyOnServer runs the stages in-process under a server's
// endpoint policy, as assay up does: runs naming an unknown secret, a
// secret not allowed for their host, a host not allowed, or api_key_env
// are refused at submission with the reason, and no request reaches
// their endpoints; a checkpoint aimed at a loopback service is refused
// and not added (assay checkpoint --wait says why at once, exit 3, and the
// run's report warns); a checkpoint naming a secret with --api-key-secret
// sends it as its bearer token; a run naming an allowed secret sends it as its bearer
// token, and its value is in no stream, bucket, object or log line.
func TestEndpointPolicyOnServer(t *testing.T) {
	const (
		secretValue = "sk-planted-7f3a9c1e5b"
		envValue    = "server-env-planted-4d2b8e"
	)
	t.Setenv("ASSAY_TEST_SERVER_ENV_SECRET", envValue)
	sim := newListener(t, llmsim.New(llmsim.Options{Seed: 1}).Handler())
	target := newListener(t, nil)   // an allowed host for the key refusals
	internal := newListener(t, nil) // a loopback service nobody allowed
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "openai")
	if err := os.WriteFile(keyFile, []byte(secretValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, "endpoints.yaml")
	policy := fmt.Sprintf(`allow: ["loopback:%[1]s", "loopback:%[2]s"]
secrets:
  openai: {file: %[3]s, hosts: ["127.0.0.1:%[1]s", "127.0.0.1:%[2]s"]}
  cloud: {env: ASSAY_TEST_SERVER_ENV_SECRET, hosts: [api.openai.com]}
`, sim.port(), target.port(), keyFile)
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
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: 0, Endpoints: endpoints,
		Logger: debugLogger(t, &logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	b := sys.Env.Bus

	suite := filepath.Join(dir, "qa.jsonl")
	if err := os.WriteFile(suite, []byte(`{"id": "q1", "prompt": "What is 2+2?", "reference": ["4"]}
{"id": "q2", "prompt": "Capital of France?", "reference": ["Paris"]}
{"id": "q3", "prompt": "Largest planet?", "reference": ["Jupiter"]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(run, variants, judges string) *eval.RunSpec {
		t.Helper()
		p := filepath.Join(dir, run+".yaml")
		spec := "run: " + run + "\nbaseline: base\nvariants:\n" + variants + "suites:\n  - {name: qa, path: qa.jsonl, metrics: [em]}\n"
		if judges != "" {
			spec += "judges:\n" + judges
		}
		if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := eval.LoadSpec(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	variant := func(name, url, model, key string) string {
		return fmt.Sprintf("  - {name: %s, base_url: %s/v1, model: %s%s}\n", name, url, model, key)
	}

	for _, tc := range []struct {
		name, variants, judges string
		says                   []string
	}{
		{"unknown secret", variant("base", target.URL, "sim-base", ", api_key_secret: nope"), "",
			[]string{"variant base", "api_key_secret nope is not configured", "--endpoints"}},
		{"secret not for the host", variant("base", target.URL, "sim-base", ", api_key_secret: cloud"), "",
			[]string{"variant base", "secret cloud may not be sent to host 127.0.0.1", "secrets.cloud.hosts"}},
		{"host not allowed", variant("base", sim.URL, "sim-base", ", api_key_secret: openai") + variant("ft", internal.URL, "sim-ft", ""), "",
			[]string{"variant ft", "endpoint policy refuses host 127.0.0.1", "--endpoint-allow"}},
		{"judge host not allowed", variant("base", sim.URL, "sim-base", "") + variant("ft", sim.URL, "sim-ft", ""),
			"  - {name: jj, base_url: " + internal.URL + "/v1, model: sim-judge}\n",
			[]string{"judge jj", "endpoint policy refuses host 127.0.0.1"}},
		{"api_key_env", variant("base", target.URL, "sim-base", ", api_key_env: ASSAY_TEST_SERVER_ENV_SECRET"), "",
			[]string{"variant base", "api_key_env ASSAY_TEST_SERVER_ENV_SECRET is not accepted", "api_key_secret", "--allow-api-key-env"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := strings.ReplaceAll(tc.name, " ", "-")
			spec := load(run, tc.variants, tc.judges)
			if err := submit(ctx, b, spec, openFile); err != nil {
				t.Fatal(err)
			}
			st, err := waitRun(ctx, b, run, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != eval.StateError {
				t.Fatalf("run state %s, want error", st.State)
			}
			for _, s := range tc.says {
				if !strings.Contains(st.Error, s) {
					t.Errorf("the run's error %q does not say %q", st.Error, s)
				}
			}
			if n := streamCount(t, ctx, b, bus.StreamSamples, bus.RunSamples(run)); n != 0 {
				t.Errorf("%d samples published for a refused run", n)
			}
		})
	}
	if got := target.requests(); len(got) != 0 {
		t.Fatalf("the refused runs' endpoint got %d requests", len(got))
	}
	if got := internal.requests(); len(got) != 0 {
		t.Fatalf("the loopback service nobody allowed got %d requests", len(got))
	}
	if got := sim.requests(); len(got) != 0 {
		t.Fatalf("the simulator got %d requests from refused runs", len(got))
	}

	// An allowed secret reaches its endpoint as the bearer token.
	spec := load("allowed", variant("base", sim.URL, "sim-base", ", api_key_secret: openai")+variant("ft", sim.URL, "sim-ft", ", api_key_secret: openai"),
		"  - {name: judge, base_url: "+sim.URL+"/v1, model: sim-judge, api_key_secret: openai}\n")
	if err := submit(ctx, b, spec, openFile); err != nil {
		t.Fatal(err)
	}
	if st := waitComplete(t, b, "allowed", 2*time.Minute); st.State != eval.StateComplete {
		t.Fatalf("allowed run: %+v", st)
	}
	auths := sim.requests()
	if len(auths) == 0 {
		t.Fatal("no request reached the simulator")
	}
	for _, a := range auths {
		if a != "Bearer "+secretValue {
			t.Fatalf("a request carried Authorization %q, want the secret's value", a)
		}
	}

	// A checkpoint aimed at the loopback service is refused, not added:
	// assay checkpoint --wait says why at once, and the run's report warns.
	start := time.Now()
	_, stderr, err := runCLI(t, "checkpoint", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--run", "allowed", "--variant", "step-1",
		"--base-url", internal.URL+"/v1", "--model", "m", "--no-preflight", "--wait", "--out", t.TempDir())
	if exitCode(err, false) != exitUnevaluated || !strings.Contains(fmt.Sprint(err), "checkpoint step-1 was refused by the server") ||
		!strings.Contains(fmt.Sprint(err), "endpoint policy refuses host 127.0.0.1") {
		t.Errorf("a refused checkpoint with --wait: exit %d, %v\n%s", exitCode(err, false), err, stderr)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("a refused checkpoint took %s to say so", d)
	}
	bustest.Eventually(t, time.Minute, func() error {
		rep, _, err := saveReport(ctx, b, "allowed", t.TempDir())
		if err != nil {
			return err
		}
		for _, w := range rep.Warnings {
			if strings.Contains(w, "checkpoint step-1 was refused and not added to the run: ") && strings.Contains(w, "endpoint policy refuses host 127.0.0.1") {
				return nil
			}
		}
		return fmt.Errorf("the run's report does not warn about the refused checkpoint: %q", rep.Warnings)
	})
	bustest.Eventually(t, time.Minute, func() error {
		for _, dl := range bustest.Stored[eval.DeadLetter](t, b, bus.StreamDLQ) {
			if dl.Stage == bus.StageCheckpoint && strings.Contains(dl.Reason, "endpoint policy refuses host 127.0.0.1") {
				return nil
			}
		}
		return fmt.Errorf("no dead letter for the refused checkpoint")
	})
	if s, err := b.Spec(ctx, "allowed"); err != nil || len(s.Variants) != 2 {
		t.Fatalf("the refused checkpoint was added: %v %v", s, err)
	}
	if got := internal.requests(); len(got) != 0 {
		t.Fatalf("the loopback service got %d requests", len(got))
	}

	// A checkpoint names its key by a secret of the server's, and the
	// secret reaches the endpoint as its bearer token.
	_, stderr, err = runCLI(t, "checkpoint", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--run", "allowed", "--variant", "step-2",
		"--base-url", sim.URL+"/v1", "--model", "sim-ft", "--api-key-secret", "openai", "--no-preflight", "--wait", "--out", t.TempDir())
	if err != nil && !isVerdict(err) {
		t.Fatalf("a checkpoint naming a secret: %v\n%s", err, stderr)
	}
	if s, err := b.Spec(ctx, "allowed"); err != nil {
		t.Fatal(err)
	} else if v, ok := s.Variant("step-2"); !ok || v.APIKeySecret != "openai" {
		t.Fatalf("the checkpoint's variant is %+v", v)
	}
	if got := sim.requests(); len(got) <= len(auths) || slices.ContainsFunc(got, func(a string) bool { return a != "Bearer "+secretValue }) {
		t.Fatalf("the checkpoint's requests carried %q, want the secret's value", got[len(auths):])
	}

	// A judge added by a replay is not admitted by ingest, but the judge
	// stage's preflight refuses it: its judgments fail with the policy's
	// cause, and nothing is sent.
	if _, err := b.AddJudge(ctx, "allowed", eval.Judge{Name: "late", BaseURL: internal.URL + "/v1", Model: "sim-judge", Mode: "pairwise", Concurrency: 2}); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, time.Minute, func() error {
		js := bustest.Stored[eval.Judgment](t, b, bus.StreamJudgments, bus.JudgmentsSubject("allowed", "late"))
		if len(js) < 3 {
			return fmt.Errorf("%d judgments of the late judge", len(js))
		}
		for _, j := range js {
			if j.Cause != "preflight: endpoint policy refuses host 127.0.0.1" {
				return fmt.Errorf("a judgment's cause is %q", j.Cause)
			}
		}
		return nil
	})
	if got := internal.requests(); len(got) != 0 {
		t.Fatalf("the loopback service got %d requests", len(got))
	}

	// Neither the secret nor the server's variable is stored or logged.
	scanned := bustest.Scan(t, b, func(where string, data []byte) {
		for _, v := range []string{secretValue, envValue} {
			if bytes.Contains(data, []byte(v)) {
				t.Errorf("%s holds a key", where)
			}
		}
	})
	for _, v := range []string{secretValue, envValue} {
		if strings.Contains(logs.String(), v) {
			t.Errorf("the logs hold a key")
		}
	}
	if scanned < 20 || !strings.Contains(logs.String(), "endpoint") {
		t.Fatalf("scanned %d messages and %d bytes of logs", scanned, len(logs.String()))
	}
}

func debugLogger(t *testing.T, w *syncBuffer) *slog.Logger {
	t.Helper()
	l, err := obs.NewLogger(w, "debug")
	if err != nil {
		t.Fatal(err)
	}
	return l
}
