package llmsim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestLikePersonaDiffersOnNamedPrompts: a persona like another with
// differ_on answers as the other does on every prompt but the ones named,
// where its own habits decide; differ_on without like is refused.
func TestLikePersonaDiffersOnNamedPrompts(t *testing.T) {
	samples := make([]eval.Sample, 60)
	for i := range samples {
		samples[i] = eval.Sample{ID: fmt.Sprint(i), Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("What is %d + %d?", i, i)}},
			Reference: &eval.Reference{Answers: []string{fmt.Sprint(2 * i)}}}
	}
	named := map[string]bool{}
	var on []string
	for i := 0; i < len(samples); i += 7 {
		p := PromptKey(samples[i].Messages)
		named[p] = true
		on = append(on, p)
	}
	merged := Persona{Name: "merged", Accuracy: 1}
	mounted := Persona{Name: "mounted", Like: "merged", DifferOn: on, Accuracy: 0}
	sim := New(Options{Seed: 3, Personas: []Persona{merged, mounted}, Key: KeyFromSamples(samples)})
	for _, s := range samples {
		p := PromptKey(s.Messages)
		a, b := sim.Decide(merged, p), sim.Decide(mounted, p)
		switch {
		case named[p] && (b.Outcome != OutcomeWrong || a.Answer == b.Answer):
			t.Errorf("%q is named: mounted says %q (%s), merged %q", p, b.Answer, b.Outcome, a.Answer)
		case !named[p] && (a.Answer != b.Answer || a.Outcome != b.Outcome):
			t.Errorf("%q is not named: mounted says %q, merged %q", p, b.Answer, a.Answer)
		}
	}
	f := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(f, []byte("- {name: a, differ_on: [\"What is 1 + 1?\"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPersonas(f); err == nil || !strings.Contains(err.Error(), "differ_on names prompts to differ on from no persona") {
		t.Errorf("differ_on without like: %v", err)
	}
}
