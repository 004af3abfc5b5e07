package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestRunContaminationCheck runs a spec with a contamination section end
// to end: the training data travels with the run, ingest flags the leaked
// samples, and the report gives metrics with and without them.
func TestRunContaminationCheck(t *testing.T) {
	f := newFixture(t, "ct", flowPersonas())
	// Leak three English qa questions into the training data, inside
	// longer documents, among unrelated ones. (The Chinese ones are one
	// template with a country changed: leaking one would flag its
	// siblings too, a limit of n-gram overlap on short templated items.)
	var leaked []string
	for _, s := range f.samples {
		if s.Suite == "qa" && slices.Contains(s.Tags, "en") && len(leaked) < 3 {
			leaked = append(leaked, s.Messages[len(s.Messages)-1].Content)
		}
	}
	train := filepath.Join(f.dir, "train.jsonl")
	var lines []byte
	for i, q := range append(leaked, "Nothing in the eval set looks like this document about gardening and soil.") {
		b, _ := json.Marshal(map[string]any{"id": i, "text": "Some earlier text in the crawl. " + q + " And more text after it."})
		lines = append(append(lines, b...), '\n')
	}
	if err := os.WriteFile(train, lines, 0o644); err != nil {
		t.Fatal(err)
	}
	f.spec.Contamination = &eval.ContaminationCheck{Train: "train.jsonl", File: train}
	sys := completedRun(t, f)
	out := writeReport(t, sys, "ct", "json")
	rep := readReport(t, out)
	if rep.Counts.Contaminated != len(leaked) {
		t.Errorf("%d contaminated samples, want the %d leaked", rep.Counts.Contaminated, len(leaked))
	}
	rows := 0
	for _, e := range rep.Contamination {
		if e.Suite != "qa" {
			t.Errorf("contamination effect for suite %s, which leaked nothing", e.Suite)
			continue
		}
		rows++
		if e.N-e.Clean != len(leaked) {
			t.Errorf("%+v: %d samples left out, want %d", e, e.N-e.Clean, len(leaked))
		}
	}
	if rows != 2*3 { // em and f1, three variants
		t.Errorf("%d contamination rows: %+v", rows, rep.Contamination)
	}
}
