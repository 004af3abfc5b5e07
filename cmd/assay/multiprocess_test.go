package main

import (
	"context"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus/bustest"
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
// the report of the same run made in one process.
func TestServicesAsSeparateProcesses(t *testing.T) {
	srv := bustest.Server(t)
	url := srv.ClientURL()
	for _, name := range []string{"assay-ingest", "assay-infer", "assay-infer", "assay-score", "assay-score", "assay-judge", "assay-report"} {
		start(t, name, "--nats", url, "--metrics-addr", "127.0.0.1:0", "--log-level", "warn")
	}
	b := bustest.Open(t, srv)
	f := newFixture(t, "procs", testPersonas())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := submit(ctx, b, f.spec, openFile); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, b, f.spec.Run, 90*time.Second)
	rep, _, err := saveReport(ctx, b, f.spec.Run, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstOracle(t, f, rep)

	rf := newFixture(t, "procs", testPersonas())
	ref := runInProcess(t, rf)
	if a, b := comparable(t, ref, rf), comparable(t, rep, f); a != b {
		t.Fatalf("separate processes made a different report than one process: %s", diffLines(a, b))
	}
}
