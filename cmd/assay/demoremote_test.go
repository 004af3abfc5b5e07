package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/services/report/document"
)

// TestDemoOnADeployment runs the demo on a running assay up, as a user
// does on a deployment (assay demo --nats), against a simulator of its
// own, and checks that its report is the one the demo makes in process.
func TestDemoOnADeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo twice")
	}
	dir := t.TempDir()
	spec, err := demoSpec("")
	if err != nil {
		t.Fatal(err)
	}
	key, err := demoKey(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(llmsim.New(llmsim.Options{Seed: demoSeed, Key: key}).Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	data := filepath.Join(dir, "nats")
	sys, err := startSystem(ctx, systemOptions{Data: data, Host: "127.0.0.1", Port: freePorts(t, 1)[0], Logger: discardLogger(), Endpoints: llm.LocalEndpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()

	if _, errOut, err := runCLI(t, "demo", "--nats", sys.URL, "--sim-url", srv.URL+"/v1"); err == nil || !strings.Contains(err.Error(), "--nats-nkey") {
		t.Fatalf("demo without credentials: %v\n%s", err, errOut)
	}
	remote := filepath.Join(dir, "remote")
	out, errOut, err := runCLI(t, "demo", "--nats", sys.URL, "--nats-nkey", natsembed.SeedFile(data, bus.IdentityClient), "--sim-url", srv.URL+"/v1", "--out", remote)
	if err != nil {
		t.Fatalf("demo on the deployment: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "gate: ") {
		t.Fatalf("no summary:\n%s", out)
	}
	local := filepath.Join(dir, "local")
	if _, errOut, err := runCLI(t, "demo", "--out", local); err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut)
	}
	got, want := demoReport(t, remote), demoReport(t, local)
	if got != want {
		t.Fatalf("the demo's report on a deployment differs from the one in process: %s", diffLines(got, want))
	}
}

// demoReport is the demo's report.json in dir without its timings and
// with its simulator's URL replaced, for comparing runs.
func demoReport(t *testing.T, dir string) string {
	t.Helper()
	rep := readReport(t, dir)
	rep.Timing = document.Timing{}
	text, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return simURLs.ReplaceAllString(string(text), "SIM")
}

// simURLs matches a simulator's base URL in a report.
var simURLs = regexp.MustCompile(`https?://[0-9a-z.:-]+/v1`)
