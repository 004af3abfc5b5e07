package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRobustnessCopies runs a suite with perturbations end to end: ingest
// makes a copy per kind, every variant answers and is scored on them, and
// the report compares copies with originals while its headline stays the
// originals'.
func TestRobustnessCopies(t *testing.T) {
	f := newFixture(t, "rb", flowPersonas())
	qa, ok := f.spec.Suite("qa")
	if !ok {
		t.Fatal("no qa suite")
	}
	originals := 0
	for _, s := range f.samples {
		if s.Suite == "qa" {
			originals++
		}
	}
	for i := range f.spec.Suites {
		if f.spec.Suites[i].Name == qa.Name {
			f.spec.Suites[i].Perturbations = []string{"typos", "register"}
		}
	}
	sys := completedRun(t, f)
	out := writeReport(t, sys, "rb", "json,md")
	rep := readReport(t, out)
	for _, m := range rep.Metrics {
		if m.Suite == "qa" && m.N > originals {
			t.Errorf("headline %s/%s/%s counts %d samples, more than the %d originals", m.Suite, m.Metric, m.Variant, m.N, originals)
		}
	}
	kinds := map[string]int{}
	for _, r := range rep.Robustness {
		if r.Suite != "qa" {
			t.Errorf("robustness for suite %s, which has no perturbations", r.Suite)
		}
		kinds[r.Perturbation]++
		if r.N == 0 || r.N > originals {
			t.Errorf("robustness %+v pairs %d copies of %d originals", r, r.N, originals)
		}
	}
	// Every variant, on both metrics, for both kinds.
	if kinds["typos"] != 3*2 || kinds["register"] != 3*2 {
		t.Errorf("robustness rows by kind: %v\n%+v", kinds, rep.Robustness)
	}
	for _, s := range rep.Suites {
		if s.Name == "qa" && s.Samples != originals*3 {
			t.Errorf("qa has %d samples, want %d originals and their 2 copies each", s.Samples, originals)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "## Robustness") {
		t.Errorf("report.md has no robustness section (%v)", err)
	}
}
