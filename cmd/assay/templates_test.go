package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestTemplatesEndToEnd: a fine-tune that wraps most of its answers in a
// fixed opening and closing, against a base that never does: the report's
// top opening and closing of the fine-tune are the template's, counted as
// often as the simulator wrapped an answer; the base opens so on none of
// the same samples; the fine-tune is flagged mechanical and the base not.
func TestTemplatesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	var samples []eval.Sample
	const n = 40
	for i := range n {
		q := fmt.Sprintf("What is %d plus %d? Answer with a number only.", i, i+3)
		lines = append(lines, fmt.Sprintf(`{"id": "q%d", "prompt": %q, "reference": ["%d"]}`, i, q, 2*i+3))
		samples = append(samples, eval.Sample{ID: fmt.Sprintf("q%d", i), Messages: []eval.Message{{Role: "user", Content: q}},
			Reference: &eval.Reference{Answers: []string{fmt.Sprint(2*i + 3)}}})
	}
	if err := os.WriteFile(filepath.Join(dir, "sums.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	personas := []llmsim.Persona{{Name: "sim-base", Accuracy: 0.7}, {Name: "sim-ft", Accuracy: 0.7, Template: 0.8}}
	sim := llmsim.New(llmsim.Options{Seed: 4, Personas: personas, Key: llmsim.KeyFromSamples(samples)})
	sys := runSimSpec(t, dir, "tpl", sim, "  - {name: sums, path: sums.jsonl, metrics: [num_match]}\n")
	out := writeReport(t, sys, "tpl", "json,md")
	rep := readReport(t, out)

	wrapped := 0
	for _, s := range samples {
		if sim.Decide(personas[1], s.Messages[0].Content).Templated {
			wrapped++
		}
	}
	open, end := llmsim.TemplateText("en")
	wantOpen, _ := eval.Edges(open + "x")
	_, wantClose := eval.Edges("x" + end)
	if len(rep.Templates) != 2 {
		t.Fatalf("templates %+v", rep.Templates)
	}
	for _, tp := range rep.Templates {
		if tp.Suite != "sums" || tp.N != n || len(tp.Openings) == 0 || len(tp.Closings) == 0 {
			t.Fatalf("%+v", tp)
		}
		switch tp.Variant {
		case "ft":
			if o, c := tp.Openings[0], tp.Closings[0]; o.Text != wantOpen || o.Count != wrapped || c.Text != wantClose || c.Count != wrapped {
				t.Errorf("ft: top opening %+v, closing %+v; want %q and %q on %d answers", o, c, wantOpen, wantClose, wrapped)
			}
			v := tp.OpeningVsBaseline
			if v == nil || v.Test != "mcnemar" || v.N != n || v.Delta != float64(wrapped)/n || v.Discordant == nil || *v.Discordant != [2]int{wrapped, 0} {
				t.Errorf("ft's opening vs the base's %+v; want %d of %d, the base none", v, wrapped, n)
			}
			if !tp.Mechanical || !strings.Contains(tp.Why, "top opening") || !strings.Contains(tp.Why, "top closing") {
				t.Errorf("ft not flagged mechanical: %q", tp.Why)
			}
		case "base":
			if tp.Mechanical || tp.OpeningVsBaseline != nil || tp.Openings[0].Text == wantOpen {
				t.Errorf("base %+v", tp)
			}
		}
	}
	if md, err := os.ReadFile(filepath.Join(out, "report.md")); err != nil || !strings.Contains(string(md), "## Templates") || !strings.Contains(string(md), "mechanical: ") {
		t.Errorf("report.md shows no template (%v)", err)
	}
}
