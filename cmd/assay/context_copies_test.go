package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/ingest/perturb"
)

// TestContextCopiesEndToEnd: a suite asking for long_context and
// instruction_conflict copies is answered on each — every variant is sent
// the padded question, and the question that overrides an earlier
// instruction — and the report compares each kind's copies with their
// originals.
func TestContextCopiesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	const n = 8
	for i := range n {
		q := fmt.Sprintf("What is %d plus %d? Answer with a number only.", i, i+1)
		if i%2 == 1 {
			q = fmt.Sprintf("%d加%d等于多少？只回答数字。", i, i+1)
		}
		lines = append(lines, fmt.Sprintf(`{"id": "q%d", "prompt": %q, "reference": ["%d"]}`, i, q, 2*i+1))
	}
	if err := os.WriteFile(filepath.Join(dir, "sums.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sim := llmsim.New(llmsim.Options{Seed: 5, Record: true})
	sys := runSimSpec(t, dir, "ctx", sim, "  - {name: sums, path: sums.jsonl, metrics: [num_match], perturbations: [long_context, instruction_conflict], long_context: {tokens: 400, position: after}}\n")

	for i := range n {
		q := fmt.Sprintf("What is %d plus %d? Answer with a number only.", i, i+1)
		if i%2 == 1 {
			q = fmt.Sprintf("%d加%d等于多少？只回答数字。", i, i+1)
		}
		seed := fmt.Sprintf("sums\x00q%d", i)
		padded, _ := perturb.LongContext(seed, q, 400, false)
		overriding := q + "\n\n" + perturb.InstructionConflict(seed, q).Override
		for _, model := range []string{"sim-base", "sim-ft"} {
			for what, prompt := range map[string]string{"original": q, "long_context": padded, "instruction_conflict": overriding} {
				// Asked again only after a simulated transient failure.
				if c := sim.PromptCalls(model, prompt); c < 1 || c > 2 {
					t.Errorf("%s was asked q%d's %s %d times", model, i, what, c)
				}
			}
		}
	}
	rep := readReport(t, writeReport(t, sys, "ctx", "json"))
	rows := map[string]int{}
	for _, r := range rep.Robustness {
		rows[r.Perturbation+"/"+r.Variant] = r.N
	}
	for _, k := range []string{"long_context/base", "long_context/ft", "instruction_conflict/base", "instruction_conflict/ft"} {
		if rows[k] != n {
			t.Errorf("robustness %s pairs %d copies, want %d (rows %v)", k, rows[k], n, rows)
		}
	}
}
