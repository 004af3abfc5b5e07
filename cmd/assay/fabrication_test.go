package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/report/document"
)

// TestFabricationEndToEnd: a suite of unanswerable and false-premise
// questions (should_abstain) beside answerable look-alikes, answered by two
// simulated models that make up answers to a known share of the
// unanswerable ones: each variant's fabrication and abstain rates, and the
// fine-tune's paired fabrication delta, equal what the simulator decided,
// answer by answer.
func TestFabricationEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	var samples []eval.Sample
	yes, no := true, false
	for i := range 60 {
		prompt := fmt.Sprintf("What did the first mayor of Zorvath-%d say at its founding in 1850?", i)
		if i%2 == 1 {
			prompt = fmt.Sprintf("佐尔瓦斯%d市的第一任市长在1850年建城时说了什么？", i)
		}
		lines = append(lines, fmt.Sprintf(`{"id": "u%d", "prompt": %q, "should_abstain": true}`, i, prompt))
		samples = append(samples, eval.Sample{ID: fmt.Sprintf("u%d", i), Messages: []eval.Message{{Role: "user", Content: prompt}},
			Reference: &eval.Reference{ShouldAbstain: &yes}})
	}
	for i := range 20 {
		prompt := fmt.Sprintf("What is the capital of Peru? (%d)", i)
		lines = append(lines, fmt.Sprintf(`{"id": "a%d", "prompt": %q, "reference": ["Lima"], "should_abstain": false}`, i, prompt))
		samples = append(samples, eval.Sample{ID: fmt.Sprintf("a%d", i), Messages: []eval.Message{{Role: "user", Content: prompt}},
			Reference: &eval.Reference{Answers: []string{"Lima"}, ShouldAbstain: &no}})
	}
	if err := os.WriteFile(filepath.Join(dir, "unanswerable.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	personas := []llmsim.Persona{
		{Name: "sim-base", Accuracy: 0.7, Refusal: 0.05, Fabrication: 0.2},
		{Name: "sim-ft", Accuracy: 0.8, Refusal: 0.05, Fabrication: 0.5},
	}
	sim := llmsim.New(llmsim.Options{Seed: 3, Personas: personas, Key: llmsim.KeyFromSamples(samples)})
	sys := runSimSpec(t, dir, "fab", sim, "  - {name: unanswerable, path: unanswerable.jsonl, metrics: [abstain, fabrication]}\n")
	raw, err := os.ReadFile(filepath.Join(writeReport(t, sys, "fab", "json"), "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep document.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}

	// The oracle: what each persona decided. An abstention is the
	// simulator's "no record" answer, or its hedge on an answerable
	// question it gets wrong; a made-up answer is a fabrication; a
	// refusal is neither.
	type rates struct{ fabricated, unanswerable, abstained, all int }
	oracle := map[string]*rates{}
	fabricatedBy := map[string]map[string]bool{}
	for v, p := range map[string]llmsim.Persona{"base": personas[0], "ft": personas[1]} {
		r := &rates{}
		fabricatedBy[v] = map[string]bool{}
		for _, s := range samples {
			d := sim.Decide(p, s.Messages[0].Content)
			r.all++
			unanswerable := *s.Reference.ShouldAbstain
			switch {
			case d.Outcome == llmsim.OutcomeRefuse:
			case unanswerable && d.Outcome == llmsim.OutcomeWrong:
				r.fabricated++
				fabricatedBy[v][s.ID] = true
			case unanswerable && d.Outcome == llmsim.OutcomeCorrect, !unanswerable && d.Outcome == llmsim.OutcomeWrong:
				r.abstained++
			}
			if unanswerable {
				r.unanswerable++
			}
		}
		oracle[v] = r
	}
	if oracle["base"].fabricated == oracle["ft"].fabricated {
		t.Fatal("the personas fabricate as often: the test would not tell them apart")
	}
	found := map[string]bool{}
	for _, m := range rep.Metrics {
		if m.Suite != "unanswerable" || m.Mean == nil {
			continue
		}
		o := oracle[m.Variant]
		switch m.Metric {
		case "fabrication":
			found[m.Metric+"/"+m.Variant] = true
			if m.N != o.unanswerable || math.Abs(*m.Mean-float64(o.fabricated)/float64(o.unanswerable)) > 1e-12 {
				t.Errorf("%s fabrication: n %d, mean %v; want %d of %d", m.Variant, m.N, *m.Mean, o.fabricated, o.unanswerable)
			}
		case "abstain":
			found[m.Metric+"/"+m.Variant] = true
			if m.N != o.all || math.Abs(*m.Mean-float64(o.abstained)/float64(o.all)) > 1e-12 {
				t.Errorf("%s abstain: n %d, mean %v; want %d of %d", m.Variant, m.N, *m.Mean, o.abstained, o.all)
			}
		}
	}
	if len(found) != 4 {
		t.Fatalf("metrics in the report: %v", found)
	}
	// The paired delta: ft's fabrications minus base's, sample by sample.
	var want float64
	for id := range fabricatedBy["ft"] {
		if !fabricatedBy["base"][id] {
			want++
		}
	}
	for id := range fabricatedBy["base"] {
		if !fabricatedBy["ft"][id] {
			want--
		}
	}
	want /= float64(oracle["ft"].unanswerable)
	for _, d := range rep.Deltas {
		if d.Suite == "unanswerable" && d.Metric == "fabrication" && d.Variant == "ft" {
			if d.Test != "mcnemar" || math.Abs(d.Delta-want) > 1e-12 || d.N != oracle["ft"].unanswerable {
				t.Errorf("ft's fabrication delta %+v, want %v over %d pairs by McNemar", d.DeltaEstimate, want, oracle["ft"].unanswerable)
			}
			return
		}
	}
	t.Fatal("no fabrication delta for ft")
}
