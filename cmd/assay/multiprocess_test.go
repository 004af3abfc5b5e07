package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/assay-eval/assay/services/report/document"
)

// runInProcess runs f's spec with every stage in this process and returns
// its report: the reference the other ways of running must reproduce.
func runInProcess(t *testing.T, f *fixture) *document.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()
	if err := submit(ctx, sys.Env.Bus, f.spec, openFile); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, sys.Env.Bus, f.spec.Run, 90*time.Second)
	rep, _, err := saveReport(ctx, sys.Env.Bus, f.spec.Run, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestServicesAsSeparateProcesses runs each stage as its own binary against
// one NATS server — infer and score with two replicas each — and expects
// the report of the same run made in one process. NATS is `assay up
// --services none`'s, and each process joins as its stage's identity.
func TestServicesAsSeparateProcesses(t *testing.T) {
	up, err := startSystem(t.Context(), systemOptions{Data: t.TempDir(), Port: 0, Services: []string{"none"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Stop() })
	url := up.URL
	metricsAddr := map[string]string{}
	var procs []*process
	names := []string{"assay-ingest", "assay-infer", "assay-infer", "assay-score", "assay-score", "assay-judge", "assay-report"}
	ports := freePorts(t, len(names))
	for i, name := range names {
		addr := "127.0.0.1:" + strconv.Itoa(ports[i])
		metricsAddr[name] = addr
		// The simulator listens on loopback, which a server's endpoint
		// policy refuses unless allowed.
		procs = append(procs, start(t, name, "--nats", url, "--nats-nkey", up.Server.SeedFile(strings.TrimPrefix(name, "assay-")), "--metrics-addr", addr, "--log-level", "warn", "--endpoint-allow", "loopback"))
	}
	// A run that does not complete shows where every process was stuck.
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				_ = p.cmd.Process.Signal(syscall.SIGQUIT)
			}
			time.Sleep(time.Second)
		}
	})
	f := newFixture(t, "procs", testPersonas())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep := runChecked(t, ctx, connectAs(t, ctx, url, up.clientSeed()), f)

	// Every service serves its own Prometheus metrics.
	for name, addr := range metricsAddr {
		stage := strings.TrimPrefix(name, "assay-")
		body := get(t, "http://"+addr+"/metrics")
		m := regexp.MustCompile(`(?m)^assay_` + stage + `_processed_total (\d+)`).FindStringSubmatch(body)
		if m == nil || m[1] == "0" {
			t.Errorf("%s at %s: assay_%s_processed_total missing or zero", name, addr, stage)
		}
		for _, series := range []string{"_in_flight", "_latency_seconds_bucket"} {
			if !strings.Contains(body, "assay_"+stage+series) {
				t.Errorf("%s: no assay_%s%s", name, stage, series)
			}
		}
	}

	// assay report recomputes the report from the server by URL.
	dir := t.TempDir()
	// Its exit status is the gate's verdict, which this test does not check.
	stdout, _, err := runCLI(t, "report", "--run", f.spec.Run, "--nats", url, "--nats-nkey", up.clientSeed(), "--out", dir, "--format", "json,md,html,parquet")
	if err != nil && !isVerdict(err) {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "gate: ") {
		t.Errorf("assay report printed no summary:\n%s", stdout)
	}
	for _, name := range []string{"report.json", "report.md", "report.html", "scores.parquet", "judgments.parquet"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}

	rf := newFixture(t, "procs", testPersonas())
	ref := runInProcess(t, rf)
	if a, b := comparable(t, ref, rf), comparable(t, rep, f); a != b {
		t.Fatalf("separate processes made a different report than one process: %s", diffLines(a, b))
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
