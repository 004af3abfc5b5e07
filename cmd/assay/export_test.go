package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/report/aggregate"
)

// exportRun runs a small evaluation to completion: ten questions answered
// by base and ft — ft fails some for good — and judged by one judge. It
// returns the system and the prompts by sample id.
func exportRun(t *testing.T) (*system, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	prompts := map[string]string{}
	var suite strings.Builder
	for i := range 10 {
		id := fmt.Sprintf("e%d", i)
		prompts[id] = fmt.Sprintf("What is %d times 3? Answer with a number only.", i+2)
		fmt.Fprintf(&suite, "{\"id\": %q, \"prompt\": %q, \"reference\": [%q]}\n", id, prompts[id], strconv.Itoa(3*(i+2)))
	}
	if err := os.WriteFile(filepath.Join(dir, "arith.jsonl"), []byte(suite.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sim := llmsim.New(llmsim.Options{Seed: 5, Personas: []llmsim.Persona{
		{Name: "x-base", Accuracy: 0.6},
		{Name: "x-ft", Accuracy: 0.8, Down: 0.4},
		{Name: "x-judge", Judge: true},
	}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	spec := fmt.Sprintf(`run: exp
baseline: base
variants:
  - {name: base, base_url: %[1]s/v1, model: x-base}
  - {name: ft,   base_url: %[1]s/v1, model: x-ft}
decoding: {temperature: 0, max_tokens: 32}
retry: {max_attempts: 2, initial_backoff: 5ms, max_backoff: 10ms}
suites:
  - {name: arith, path: arith.jsonl, metrics: [em]}
judges:
  - {name: judge, base_url: %[1]s/v1, model: x-judge}
`, srv.URL)
	p := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := eval.LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	return runToCompletion(t, s), prompts
}

func decodeLines(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", len(out)+1, err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func readParquetFile(t *testing.T, path string) arrow.Table {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := aggregate.ReadParquet(t.Context(), data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	t.Cleanup(tbl.Release)
	return tbl
}

// strings of a table's column, "<null>" for a null.
func stringColumn(t *testing.T, tbl arrow.Table, name string) []string {
	t.Helper()
	is := tbl.Schema().FieldIndices(name)
	if len(is) != 1 {
		t.Fatalf("no column %s in %s", name, tbl.Schema())
	}
	var out []string
	for _, c := range tbl.Column(is[0]).Data().Chunks() {
		s := c.(*array.String)
		for i := range s.Len() {
			if s.IsNull(i) {
				out = append(out, "<null>")
			} else {
				out = append(out, s.Value(i))
			}
		}
	}
	return out
}

// TestExportCommand exports a finished run's generations, scores and
// judgments as JSONL and as Parquet, and reads them back.
func TestExportCommand(t *testing.T) {
	sys, prompts := exportRun(t)
	dir := t.TempDir()
	export := func(t *testing.T, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, err := runCLI(t, append([]string{"export", "--run", "exp", "--nats", sys.URL, "--nats-nkey", sys.clientSeed()}, args...)...)
		if err != nil {
			t.Fatalf("export %v: %v\n%s", args, err, stderr)
		}
		return stdout, stderr
	}

	t.Run("generations", func(t *testing.T) {
		stdout, stderr := export(t) // the defaults: generations, JSONL, stdout
		lines := decodeLines(t, []byte(stdout))
		if len(lines) != 20 || !strings.Contains(stderr, "exported 20 generations of run exp to stdout") {
			t.Fatalf("%d lines; stderr %s", len(lines), stderr)
		}
		failed := 0
		for _, l := range lines {
			for _, k := range []string{"id", "suite", "variant", "model", "params", "prompt", "messages", "output", "reasoning", "reference",
				"finish_reason", "usage", "latency_ms", "ttft_ms", "itl_ms", "error", "cause", "run", "fingerprint"} {
				if _, ok := l[k]; !ok {
					t.Errorf("line %v has no %s", l, k)
				}
			}
			if l["prompt"] != prompts[l["id"].(string)] || l["run"] != "exp" || l["params"] == "" {
				t.Errorf("line %v", l)
			}
			if l["error"] != "" {
				failed++
				if l["output"] != nil || l["cause"] == "" {
					t.Errorf("a failed generation has output %v, cause %v", l["output"], l["cause"])
				}
			} else if out, ok := l["output"].(string); !ok || out == "" {
				t.Errorf("%s/%s: output %v", l["variant"], l["id"], l["output"])
			}
		}
		if failed == 0 {
			t.Error("no generation failed: the test shows nothing about failures")
		}

		path := filepath.Join(dir, "gens.parquet")
		export(t, "--format", "parquet", "--out", path)
		tbl := readParquetFile(t, path)
		errs, outs := stringColumn(t, tbl, "error"), stringColumn(t, tbl, "output")
		if tbl.NumRows() != 20 {
			t.Fatalf("%d rows", tbl.NumRows())
		}
		for i := range errs {
			if (errs[i] != "") != (outs[i] == "<null>") {
				t.Errorf("row %d: error %q, output %q", i, errs[i], outs[i])
			}
		}
	})

	t.Run("scores", func(t *testing.T) {
		path := filepath.Join(dir, "scores.jsonl")
		export(t, "--what", "scores", "--out", path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := decodeLines(t, data)
		if len(lines) != 20 {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			id := l["sample"].(map[string]any)["id"].(string)
			if l["prompt"] != prompts[id] || (l["bucket"] == "error") != (l["output"] == nil) {
				t.Errorf("line %v", l)
			}
		}

		path = filepath.Join(dir, "scores.parquet")
		export(t, "--what", "scores", "--format", "parquet", "--out", path)
		tbl := readParquetFile(t, path)
		if tbl.NumRows() != 20 {
			t.Fatalf("%d rows", tbl.NumRows())
		}
		buckets, outs := stringColumn(t, tbl, "bucket"), stringColumn(t, tbl, "output")
		for i, p := range stringColumn(t, tbl, "prompt") {
			if !strings.HasPrefix(p, "What is ") || (buckets[i] == "error") != (outs[i] == "<null>") {
				t.Errorf("row %d: prompt %q, bucket %s, output %q", i, p, buckets[i], outs[i])
			}
		}
	})

	t.Run("judgments", func(t *testing.T) {
		stdout, _ := export(t, "--what", "judgments")
		lines := decodeLines(t, []byte(stdout))
		if len(lines) != 10 {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			if l["candidate_model"] != "x-ft" || l["baseline_model"] != "x-base" || l["baseline_output"] == nil {
				t.Errorf("line %v", l)
			}
			if (l["candidate_output"] == nil) != (l["generation_failed"] == true) {
				t.Errorf("candidate output %v of a pair with generation_failed %v", l["candidate_output"], l["generation_failed"])
			}
		}

		path := filepath.Join(dir, "judgments.parquet")
		export(t, "--what", "judgments", "--format", "parquet", "--out", path)
		tbl := readParquetFile(t, path)
		if tbl.NumRows() != 10 {
			t.Fatalf("%d rows", tbl.NumRows())
		}
		for _, col := range []string{"run", "prompt", "candidate_model", "baseline_output"} {
			for i, v := range stringColumn(t, tbl, col) {
				if v == "" || v == "<null>" {
					t.Errorf("row %d: %s %q", i, col, v)
				}
			}
		}
	})

	// Every output was renamed into place: nothing else is left in dir.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestExportCommandErrors: bad usage exits 2, a run that does not exist
// or NATS out of reach exits 3, and neither leaves a file.
func TestExportCommandErrors(t *testing.T) {
	sys := startNATS(t)
	closed := "nats://127.0.0.1:" + strconv.Itoa(freePort(t))
	out := filepath.Join(t.TempDir(), "out.jsonl")
	for _, c := range []struct {
		name string
		args []string
		code int
		line string
	}{
		{"unknown what", []string{"--run", "r", "--what", "answers", "--nats", sys.URL, "--nats-nkey", sys.clientSeed()}, exitUsage, `--what: unknown "answers": use generations, scores, judgments`},
		{"unknown format", []string{"--run", "r", "--format", "csv", "--nats", sys.URL, "--nats-nkey", sys.clientSeed()}, exitUsage, `--format: unknown "csv": use jsonl or parquet`},
		{"no run", []string{"--nats", sys.URL, "--nats-nkey", sys.clientSeed()}, exitUsage, `required flag(s) "run" not set`},
		{"no such run", []string{"--run", "nothing", "--nats", sys.URL, "--nats-nkey", sys.clientSeed(), "--out", out}, exitUnevaluated, `run "nothing" does not exist`},
		{"NATS unreachable", []string{"--run", "r", "--nats", closed, "--out", out}, exitUnevaluated, "connecting to NATS at " + closed},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot()
			root.SetArgs(append([]string{"export"}, c.args...))
			root.SetOut(new(strings.Builder))
			root.SetErr(new(strings.Builder))
			cmd, err := root.ExecuteContextC(t.Context())
			if got := exitCode(err, false); got != c.code {
				t.Fatalf("exit %d, want %d (err %v)", got, c.code, err)
			}
			var msg strings.Builder
			printError(&msg, cmd, err, false)
			if first, _, _ := strings.Cut(msg.String(), "\n"); !strings.Contains(first, c.line) {
				t.Errorf("first line %q does not name %q", first, c.line)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created", out)
			}
		})
	}
}
