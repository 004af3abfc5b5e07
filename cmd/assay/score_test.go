package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScoreCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "outputs.jsonl")
	lines := `{"id": "a", "output": "The cat sat on the mat.", "reference": "The cat is on the mat.", "model": "ft"}
{"id": "b", "output": "我爱北京天安门", "reference": ["北京天安门", "天安门"]}
`
	if err := os.WriteFile(in, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out, sum := filepath.Join(dir, "scores.jsonl"), filepath.Join(dir, "summary.json")
	stdout, stderr, err := runCLI(t, "score", "--input", in, "--metrics", "bleu,chrf,rougeL,f1", "--lang", "zh", "--output", out, "--summary", sum)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q with --output", stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(got) != 2 || !strings.HasPrefix(got[0], `{"id":"a","model":"ft","scores":{`) || !strings.HasPrefix(got[1], `{"id":"b","scores":{`) {
		t.Fatalf("scores:\n%s", data)
	}
	var line struct{ Scores map[string]float64 }
	if err := json.Unmarshal([]byte(got[1]), &line); err != nil || math.Abs(line.Scores["rougeL"]-5.0/6) > 1e-12 {
		t.Errorf("zh ROUGE-L %v (%v), want 5/6", line.Scores["rougeL"], err)
	}
	var s struct {
		N          int
		Corpus     map[string]float64
		Signatures map[string]string
		Mean       map[string]float64
	}
	data, _ = os.ReadFile(sum)
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || s.Signatures["bleu"] != "nrefs:var|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0" || s.Corpus["chrf"] <= 0 || len(s.Mean) != 4 {
		t.Errorf("summary %s", data)
	}
	if !strings.Contains(stderr, "corpus bleu") {
		t.Errorf("no summary on stderr:\n%s", stderr)
	}
}

func TestScoreCommandReportsBadLines(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "outputs.jsonl")
	if err := os.WriteFile(in, []byte("{\"id\": 1, \"output\": \"x\", \"reference\": \"x\"}\n{\"id\": 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "scores.jsonl")
	_, stderr, err := runCLI(t, "score", "--input", in, "--metrics", "em", "--output", out)
	if !errors.Is(err, errLinesFailed) {
		t.Fatalf("err = %v, want the lines-failed exit", err)
	}
	if !strings.Contains(stderr, in+":2: output: missing") || !strings.Contains(stderr, "1 of 2 lines failed") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if data, _ := os.ReadFile(out); string(data) != "{\"id\":1,\"scores\":{\"em\":1}}\n" {
		t.Errorf("the good line is not written: %q", data)
	}
	for _, args := range [][]string{
		{"score", "--metrics", "em"},
		{"score", "--input", in, "--metrics", "meteor"},
		{"score", "--input", in, "--metrics", "em", "--lang", "fr"},
		{"score", "--input", filepath.Join(dir, "missing.jsonl"), "--metrics", "em"},
	} {
		if _, _, err := runCLI(t, args...); err == nil || errors.Is(err, errLinesFailed) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
}
