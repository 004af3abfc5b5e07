package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

func TestScoreOutputFiles(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(`{"id": 1, "output": "x", "reference": "x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "{\"id\":1,\"scores\":{\"em\":1}}\n"
	score := func(out string) {
		t.Helper()
		if _, stderr, err := runCLI(t, "score", "--input", in, "--metrics", "em", "--output", out); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
	}

	// A new file is readable by others, as files a tool creates are.
	fresh := filepath.Join(dir, "new.jsonl")
	score(fresh)
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("new output: %v, %v", fi.Mode(), err)
	}
	// An existing file keeps its mode.
	private := filepath.Join(dir, "private.jsonl")
	if err := os.WriteFile(private, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	score(private)
	if fi, _ := os.Stat(private); fi.Mode().Perm() != 0o600 {
		t.Errorf("existing output became %v", fi.Mode())
	}
	// Through a link, the target is written and the link stays.
	target, link := filepath.Join(dir, "target.jsonl"), filepath.Join(dir, "link.jsonl")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	score(link)
	if data, _ := os.ReadFile(target); string(data) != want {
		t.Errorf("target holds %q", data)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	// A named pipe is written into, not replaced by a file.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	got := make(chan string)
	go func() {
		data, _ := os.ReadFile(fifo)
		got <- string(data)
	}()
	score(fifo)
	if data := <-got; data != want {
		t.Errorf("read %q from the pipe", data)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v %v", fi.Mode(), err)
	}
}

// TestScoreCommandHumanEval scores HumanEval outputs as a reasoning model
// writes them, gzipped: the reasoning is split off as a run does, so the
// answer after it passes as the bare answer does.
func TestScoreCommandHumanEval(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH; install it (apt-get install python3) to run the sandbox")
	}
	item := `"prompt": "def add(a, b):\n", "entry_point": "add", "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"`
	lines := `{"id": "bare", ` + item + `, "output": "    return a + b\n"}
{"id": "think", ` + item + `, "output": "<think>x</think>\n    return a + b\n"}
{"id": "wrong", ` + item + `, "output": "<think>x</think>\n    return a - b\n"}
`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(lines))
	zw.Close()
	in := filepath.Join(t.TempDir(), "humaneval.jsonl.gz")
	if err := os.WriteFile(in, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCLI(t, "score", "--input", in, "--metrics", "pass@1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := map[string]float64{"bare": 1, "think": 1, "wrong": 0}
	got := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var s struct {
			ID     string
			Scores map[string]float64
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		got[s.ID] = s.Scores["pass@1"]
	}
	if len(got) != len(want) {
		t.Fatalf("scores:\n%s", stdout)
	}
	for id, p := range want {
		if got[id] != p {
			t.Errorf("%s: pass@1 %v, want %v", id, got[id], p)
		}
	}
}

func TestScoreCommandNamesPassAtK(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(in, []byte(`{"id": 1, "outputs": ["x"], "test": "assert True"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"pass@k", "meteor"} {
		_, _, err := runCLI(t, "score", "--input", in, "--metrics", m)
		if err == nil || errors.Is(err, errLinesFailed) || !strings.Contains(err.Error(), "pass@<k>, e.g. pass@1") {
			t.Errorf("--metrics %s: %v, want a usage error naming pass@<k>", m, err)
		}
	}
}
