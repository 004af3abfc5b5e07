package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/score/metric"
)

// TestScoreCommandSemanticSim runs assay score --metrics semantic_sim
// against the simulator's embeddings over HTTP: each value is the cosine
// of the simulator's own vectors for the output and its reference; a line
// whose call fails has none, says why, is counted on stderr and in the
// summary, and makes the exit status 3 while the other lines are scored.
// With the endpoint down, the preflight refuses to score; with
// --embeddings-cache and --no-preflight a second scoring sends the
// endpoint nothing.
// semantic_sim without --embeddings, --embeddings without semantic_sim, an
// --embeddings flag without --embeddings and a host the policy refuses
// are usage errors.
func TestScoreCommandSemanticSim(t *testing.T) {
	url, failed, down := serveSimEmbeddingsDown(t, "OUTAGE")
	sim := llmsim.NewEmbedder(demoSeed, llmsim.DefaultEmbedModel, 0)
	dir := t.TempDir()
	in, out, sum, cache := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "scores.jsonl"), filepath.Join(dir, "summary.json"), filepath.Join(dir, "cache")
	lines := [][3]string{
		{"same", "The cat sat on the mat.", "The cat sat on the mat."},
		{"para", "I want to buy a cheap car.", "I wish to purchase an inexpensive automobile."},
		{"other", "The stock market fell today.", "Water boils at 100 degrees."},
		{"down", "OUTAGE of the endpoint", "An answer."},
	}
	var b strings.Builder
	for _, l := range lines {
		line, _ := json.Marshal(map[string]any{"id": l[0], "output": l[1], "reference": l[2]})
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"score", "--input", in, "--metrics", "em,semantic_sim", "--output", out, "--summary", sum,
		"--embeddings", url, "--embeddings-model", llmsim.DefaultEmbedModel, "--embeddings-cache", cache}
	_, stderr, err := runCLI(t, args...)
	if !errors.Is(err, errLinesFailed) || exitCode(err, false) != exitUnevaluated {
		t.Fatalf("err = %v, want exit status 3\n%s", err, stderr)
	}
	if want := "1 of 4 lines have no semantic_sim, which could not be computed (1 × HTTP 400: simulated refusal): fix the endpoint and score again"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	type scoredLine struct {
		ID     string
		Scores map[string]float64
		Failed map[string]string
	}
	var got []scoredLine
	for _, raw := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var g scoredLine
		if err := json.Unmarshal([]byte(raw), &g); err != nil {
			t.Fatal(err)
		}
		got = append(got, g)
	}
	if len(got) != len(lines) {
		t.Fatalf("%d lines scored:\n%s", len(got), data)
	}
	for i, l := range lines {
		v, ok := got[i].Scores["semantic_sim"]
		if l[0] == "down" {
			if ok || got[i].Failed["semantic_sim"] != "HTTP 400: simulated refusal" || got[i].Scores["em"] != 0 {
				t.Errorf("down: %+v, want em and no semantic_sim", got[i])
			}
			continue
		}
		want := max(metric.Cosine(sim.Vector(l[1]), sim.Vector(l[2])), 0)
		if !ok || got[i].Failed != nil || math.Abs(v-want) > 1e-5 {
			t.Errorf("%s: semantic_sim %v (present %v), want %v", l[0], v, ok, want)
		}
	}
	var s struct {
		Count    map[string]int
		Unscored map[string]map[string]int
	}
	data, _ = os.ReadFile(sum)
	if err := json.Unmarshal(data, &s); err != nil || s.Count["semantic_sim"] != 3 || s.Unscored["semantic_sim"]["HTTP 400: simulated refusal"] != 1 {
		t.Errorf("summary %s (%v): want semantic_sim over 3 lines, 1 unscored", data, err)
	}

	// Again, with the endpoint failing every call: the preflight says
	// so, and nothing is scored; without it, the vectors of the three
	// lines scored come from the cache, and the failed one fails again.
	scores, _ := os.ReadFile(out)
	down.Store(true)
	failed.Store(0)
	_, _, err = runCLI(t, args...)
	expectPreflightRefusal(t, err, "assay: preflight: embeddings endpoint: "+url+": a test call to /embeddings was refused: HTTP 400: simulated refusal")
	if !strings.Contains(err.Error(), "nothing was scored") || failed.Load() != 2 {
		t.Errorf("%d requests failed, want 2 (the test call, and the list of models that tells why): %v", failed.Load(), err)
	}
	if again, _ := os.ReadFile(out); string(again) != string(scores) {
		t.Errorf("a refused scoring changed %s", out)
	}
	failed.Store(0)
	_, stderr, err = runCLI(t, append(args, "--no-preflight")...)
	if !errors.Is(err, errLinesFailed) || failed.Load() != 1 {
		t.Errorf("from the cache: %v, %d calls failed, want only the line never embedded\n%s", err, failed.Load(), stderr)
	}
	if again, _ := os.ReadFile(out); string(again) != string(scores) {
		t.Errorf("from the cache:\n%s\nwant\n%s", again, scores)
	}
	down.Store(false)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics", "semantic_sim"}, "semantic_sim needs an embeddings endpoint: give --embeddings URL"},
		{[]string{"--metrics", "em", "--embeddings", url}, "--embeddings is for semantic_sim"},
		{[]string{"--metrics", "em", "--embeddings-key-env", "K"}, "--embeddings-key-env needs --embeddings URL"},
		{[]string{"--metrics", "em", "--token-embeddings"}, "--token-embeddings needs --embeddings URL"},
		{[]string{"--metrics", "em", "--no-preflight"}, "--no-preflight needs --embeddings URL"},
		{[]string{"--metrics", "semantic_sim", "--embeddings", url, "--embeddings-model", "m", "--endpoint-allow", "api.openai.com"}, "endpoint policy refuses host 127.0.0.1"},
		{[]string{"--metrics", "semantic_sim", "--embeddings", url}, "the endpoint serves"},
	} {
		_, _, err := runCLI(t, append([]string{"score", "--input", in}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err, false) != exitUsage {
			t.Errorf("%q: err = %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
}
