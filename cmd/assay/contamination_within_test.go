package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/llmsim"
)

// TestContaminationWithin runs assay contamination --within against the
// simulator's embeddings over HTTP: the output has a line for each item
// that repeats an earlier one — a copy by both checks, a paraphrase by
// embeddings, each naming the earlier item — and for the item the
// endpoint could not embed, which makes the exit status 3; the first item
// of a group and unrelated items have none. --within with --train, or
// without --eval, is a usage error.
func TestContaminationWithin(t *testing.T) {
	url, failed := serveSimEmbeddings(t, "OUTAGE")
	dir := t.TempDir()
	suite := filepath.Join(dir, "suite.jsonl")
	contamWrite(t, suite, contamJSONL(t,
		map[string]any{"id": "car", "prompt": "I want to buy a cheap car for my family."},
		map[string]any{"id": "story", "prompt": contamStory},
		map[string]any{"id": "roman", "prompt": "Summarize the history of the Roman Empire."},
		map[string]any{"id": "para", "prompt": "I wish to purchase an inexpensive automobile for my family."},
		map[string]any{"id": "copy", "prompt": contamStory},
		map[string]any{"id": "down", "prompt": "OUTAGE: this one the endpoint cannot embed."},
	))
	stdout, stderr, err := runContamination(t, "", "--eval", suite, "--within", "--embeddings", url, "--embeddings-model", llmsim.DefaultEmbedModel, "--embeddings-batch", "1")
	if !errors.Is(err, errLinesFailed) || exitCode(&commandError{err}, false) != exitUnevaluated {
		t.Fatalf("err = %v, want exit status 3\n%s", err, stderr)
	}
	res := contamResults(t, stdout)
	if len(res) != 3 {
		t.Errorf("%d lines, want 3 (para, copy, down):\n%s", len(res), stdout)
	}
	if p := res["para"]; p["duplicate"] != true || p["embedding_match"] != "car" || strings.Join(anyStrings(p["by"]), ",") != "embedding" {
		t.Errorf("para: %v", p)
	}
	if c := res["copy"]; c["duplicate"] != true || c["match"] != "story" || c["embedding_match"] != "story" || strings.Join(anyStrings(c["by"]), ",") != "ngram,embedding" {
		t.Errorf("copy: %v", c)
	}
	if d := res["down"]; d["duplicate"] != false || d["embedding_checked"] != false {
		t.Errorf("down: %v", d)
	}
	for _, want := range []string{
		"checked 6 items against the items before them",
		"near-duplicates of an earlier item: 2 (33.3%); by n-grams 1, at threshold 0.5 with 6-grams",
		"by embeddings (sim-embed at " + url + "): 2, at cosine 0.85; 5 items compared, hnsw search",
		"1 items could not be embedded (calling " + url + "/embeddings: HTTP 400: simulated refusal (after 1 attempts)) and were not checked by embeddings",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if failed.Load() != 1 {
		t.Errorf("%d failed requests, want 1", failed.Load())
	}

	// N-grams alone, and nothing failing: exit 0.
	stdout, stderr, err = runContamination(t, "", "--eval", suite, "--within")
	if err != nil || strings.TrimSpace(stdout) != `{"id":"copy","duplicate":true,"score":1,"match":"story"}` {
		t.Errorf("n-grams alone: %v\n%s\n%s", err, stdout, stderr)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--eval", suite, "--within", "--train", suite}, "--within compares the eval set with itself"},
		{[]string{"--eval", suite, "--within", "--train-field", "text"}, "--within compares the eval set with itself"},
		{[]string{"--within"}, "--within needs --eval PATH"},
		{[]string{"--eval", suite}, "or --eval PATH and --within"},
	} {
		_, _, err := runContamination(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(&commandError{err}, false) != exitUsage {
			t.Errorf("%q: err = %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
}
