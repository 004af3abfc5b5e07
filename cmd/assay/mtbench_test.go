package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestTurnByTurn runs MT-Bench-style questions: every variant answers the
// first turn, then the second with its own first answer before it.
func TestTurnByTurn(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "services", "ingest", "dataset", "testdata", "presets", "mt-bench.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mt.jsonl"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sim := llmsim.New(llmsim.Options{Seed: 1, Record: true})
	sys := runSimSpec(t, dir, "mt", sim, "  - {name: mt, path: mt.jsonl, preset: mt-bench, metrics: [length]}\n")

	for _, model := range []string{"sim-base", "sim-ft"} {
		if n := sim.Calls(model); n != 4 {
			t.Errorf("%s answered %d times, want 2 questions × 2 turns", model, n)
		}
		for _, second := range []string{"Now rewrite it so that every sentence starts with the letter S.", "And how many pens can you buy with 10 dollars?"} {
			if n := sim.PromptCalls(model, second); n != 1 {
				t.Errorf("%s was asked the second turn %q %d times", model, second, n)
			}
		}
	}
	gens := bustest.Stored[eval.Generation](t, sys.Env.Bus, bus.StreamGens)
	if len(gens) != 4 {
		t.Fatalf("%d generations", len(gens))
	}
	for _, g := range gens {
		if len(g.Turns) != 1 || g.Turns[0] == "" || g.Output == "" || g.Error != "" {
			t.Errorf("%s/%s: turns %q, output %q, error %q", g.Variant, g.Sample.ID, g.Turns, g.Output, g.Error)
		}
	}
}
