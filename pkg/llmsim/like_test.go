package llmsim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestLikePersona: a persona like another answers as it does except on
// the share of prompts it differs on, where its own habits decide; a like
// that names no persona, or one like another, is refused.
func TestLikePersona(t *testing.T) {
	base := Persona{Name: "m", Accuracy: 0.7, Refusal: 0.1}
	twin := Persona{Name: "t", Like: "m", Differ: 0.2, Accuracy: 0, Refusal: 0}
	samples := make([]eval.Sample, 400)
	for i := range samples {
		samples[i] = eval.Sample{ID: fmt.Sprint(i), Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("What is %d + %d?", i, i)}},
			Reference: &eval.Reference{Answers: []string{fmt.Sprint(2 * i)}}}
	}
	sim := New(Options{Seed: 1, Personas: []Persona{base, twin}, Key: KeyFromSamples(samples)})
	own, alike := 0, 0
	for _, s := range samples {
		p := s.Messages[0].Content
		a, b := sim.Decide(base, p), sim.Decide(twin, p)
		if sim.u(twin.Name, "differ", p) < twin.Differ {
			own++
			// Its own habits: accuracy 0, no refusals.
			if b.Outcome != OutcomeWrong {
				t.Errorf("%q: %s where the twin's own habits give a wrong answer", p, b.Outcome)
			}
			continue
		}
		alike++
		if a.Text != b.Text || a.Outcome != b.Outcome {
			t.Errorf("%q: %q and %q", p, a.Text, b.Text)
		}
	}
	if own < 50 || own > 110 || alike == 0 {
		t.Errorf("%d prompts of its own, %d alike; want about a fifth its own", own, alike)
	}
	dir := t.TempDir()
	for body, want := range map[string]string{
		"- {name: a, like: b}\n":                                    `like "b" names no persona`,
		"- {name: a}\n- {name: b, like: a}\n- {name: c, like: b}\n": `like "b" is itself like another`,
	} {
		f := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPersonas(f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}
