package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runContamination runs `assay contamination args…` with stdin.
func runContamination(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newContaminationCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true // as under the root command
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

const (
	contamStory = "The storm came in from the west just after noon and the fishing boats hurried back to the harbour with their nets still half empty. By evening the wind had torn the roof from the old customs house and scattered its tiles across the square."
	contamPoem  = "《春晓》\n作者：孟浩然\n春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"
)

func TestContaminationCommand(t *testing.T) {
	dir := t.TempDir()
	trainDir := filepath.Join(dir, "train")
	os.MkdirAll(trainDir, 0o755)
	contamWrite(t, filepath.Join(trainDir, "web.jsonl"), contamJSONL(t,
		map[string]any{"id": "web-1", "text": "Weather report. " + contamStory + " More news tomorrow."},
		map[string]any{"id": "web-2", "text": "Nothing to see here at all, just some words about other things entirely."},
	))
	contamWrite(t, filepath.Join(trainDir, "poems.txt"), []byte(contamPoem))
	evalFile := filepath.Join(dir, "eval.jsonl")
	contamWrite(t, evalFile, contamJSONL(t,
		map[string]any{"id": "q-clean", "prompt": "Which river flows through the city of Vienna, and into which sea does it finally drain?"},
		map[string]any{"id": 7, "question": strings.Replace(contamStory, "fishing boats", "fishing vessels", 1)},
		map[string]any{"id": "q-poem", "prompt": contamPoem},
	))
	out := filepath.Join(dir, "results.jsonl")
	stdout, stderr, err := runContamination(t, "", "--train", trainDir, "--eval", evalFile, "--output", out)
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
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("results:\n%s", data)
	}
	if lines[0] != `{"id":"q-clean","contaminated":false,"score":0}` {
		t.Errorf("clean item: %s", lines[0])
	}
	if !strings.HasPrefix(lines[1], `{"id":7,"contaminated":true,"score":0.`) || !strings.HasSuffix(lines[1], `,"match":"web-1"}`) {
		t.Errorf("edited copy: %s", lines[1])
	}
	if want := `{"id":"q-poem","contaminated":true,"score":1,"match":"` + filepath.Join(trainDir, "poems.txt") + `"}`; lines[2] != want {
		t.Errorf("poem: %s, want %s", lines[2], want)
	}
	for _, want := range []string{"checked 3 eval items against 3 training documents", "in 2 files", "contaminated: 2 (66.7%) at threshold 0.5 with 6-grams"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	// Eval items on stdin, their text in a field of their own, a stricter
	// threshold.
	stdin := string(contamJSONL(t,
		map[string]any{"id": "copy", "body": map[string]any{"text": contamStory}},
		map[string]any{"id": "edited", "body": map[string]any{"text": strings.Replace(contamStory, "fishing boats", "fishing vessels", 1)}},
	))
	stdout, stderr, err = runContamination(t, stdin, "--train", trainDir, "--eval", "-", "--field", "body.text", "--threshold", "0.99")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	lines = strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 2 || lines[0] != `{"id":"copy","contaminated":true,"score":1,"match":"web-1"}` || !strings.HasPrefix(lines[1], `{"id":"edited","contaminated":false,`) {
		t.Errorf("results:\n%s", stdout)
	}
}

func TestContaminationCommandReportsBadLines(t *testing.T) {
	dir := t.TempDir()
	trainFile, evalFile := filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "eval.jsonl")
	contamWrite(t, trainFile, []byte(`{"id": "t1", "text": "`+contamStory+`"}`+"\n{broken\n"))
	contamWrite(t, evalFile, []byte(`{"id": "e1", "text": "`+contamStory+`"}`+"\n"+`{"id": "e2"}`+"\n"))
	stdout, stderr, err := runContamination(t, "", "--train", trainFile, "--eval", evalFile)
	if !errors.Is(err, errLinesFailed) {
		t.Fatalf("err = %v, want the lines-failed exit", err)
	}
	for _, want := range []string{
		evalFile + ":2: no text: none of text, prompt, question",
		trainFile + ":2: not valid JSON",
		"1 eval and 1 training lines failed and were skipped",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if stdout != `{"id":"e1","contaminated":true,"score":1,"match":"t1"}`+"\n" {
		t.Errorf("the good item is not written: %q", stdout)
	}
}

func TestContaminationCommandErrors(t *testing.T) {
	dir := t.TempDir()
	evalFile := filepath.Join(dir, "eval.jsonl")
	contamWrite(t, evalFile, []byte(`{"text": "x"}`+"\n"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--eval", evalFile}, "--train PATH and --eval PATH are required"},
		{[]string{"--train", "-", "--eval", "-"}, "only one of --train and --eval can read stdin"},
		{[]string{"--train", filepath.Join(dir, "missing"), "--eval", evalFile}, "reading --train: stat " + filepath.Join(dir, "missing")},
		{[]string{"--train", evalFile, "--eval", dir + "/nope.jsonl"}, "reading --eval:"},
		{[]string{"--train", dir, "--eval", evalFile, "--threshold", "2"}, "threshold 2: use a share above 0 and at most 1"},
		{[]string{"--train", evalFile, "--eval", evalFile, "extra"}, "unknown command"},
		{[]string{"--train", evalFile, "--eval", "-"}, "--eval -: no items to check"},
	} {
		_, _, err := runContamination(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, _, err := runContamination(t, "", "--train", filepath.Join(dir, "missing"), "--eval", evalFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing path: %v, want fs.ErrNotExist", err)
	}
}

func contamWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func contamJSONL(t *testing.T, lines ...map[string]any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}
