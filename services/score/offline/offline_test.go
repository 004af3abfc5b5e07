package offline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/score/metric"
)

// referenceInput turns the metric package's golden pairs into assay score
// input, so that the whole command is checked against sacreBLEU,
// rouge-score and the SQuAD script.
func referenceInput(t *testing.T, lang string) (input []byte, values []map[string]any, corpus map[string]any) {
	t.Helper()
	dir := filepath.Join("..", "metric", "testdata", "reference")
	var in bytes.Buffer
	for _, raw := range fileLines(t, filepath.Join(dir, "pairs_"+lang+".jsonl")) {
		var p struct {
			ID     string   `json:"id"`
			Output string   `json:"output"`
			Refs   []string `json:"refs"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		var ref any = p.Refs
		if len(p.Refs) == 1 {
			ref = p.Refs[0] // a lone string is a reference too
		}
		line, _ := json.Marshal(map[string]any{"id": p.ID, "output": p.Output, "reference": ref, "source": "golden"})
		in.Write(append(line, '\n'))
	}
	for _, raw := range fileLines(t, filepath.Join(dir, "values_"+lang+".jsonl")) {
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	data, err := os.ReadFile(filepath.Join(dir, "corpus_"+lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &corpus); err != nil {
		t.Fatal(err)
	}
	return in.Bytes(), values, corpus
}

func fileLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for l := range bytes.Lines(data) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

type scored struct {
	ID     any                `json:"id"`
	Source string             `json:"source"`
	Scores map[string]float64 `json:"scores"`
}

func decodeOutput(t *testing.T, out []byte) []scored {
	t.Helper()
	var res []scored
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s scored
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		res = append(res, s)
	}
	return res
}

func TestScoreMatchesTheReferences(t *testing.T) {
	for _, lang := range []metric.Lang{metric.LangEN, metric.LangZH} {
		t.Run(string(lang), func(t *testing.T) {
			in, values, corpus := referenceInput(t, string(lang))
			var out bytes.Buffer
			metrics := []string{"bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum", "em", "f1"}
			sum, err := Score(t.Context(), bytes.NewReader(in), &out, Options{Metrics: metrics, Lang: lang, Workers: 3, Source: "golden.jsonl"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeOutput(t, out.Bytes())
			if len(got) != len(values) || sum.N != len(values) || sum.Failed != 0 {
				t.Fatalf("%d output lines, summary n %d failed %d; want %d", len(got), sum.N, sum.Failed, len(values))
			}
			mean := map[string]float64{}
			for i, g := range got {
				if g.ID != values[i]["id"] || g.Source != "golden" {
					t.Fatalf("line %d is %v (source %q), want %v in input order with its fields", i+1, g.ID, g.Source, values[i]["id"])
				}
				for _, m := range metrics {
					tol := 1e-6
					if m == "bleu" || m == "chrf" {
						tol = 0.01
					}
					if w := values[i][m].(float64); math.Abs(g.Scores[m]-w) > tol {
						t.Errorf("%v %s = %v, reference %v", g.ID, m, g.Scores[m], w)
					}
					mean[m] += g.Scores[m] / float64(len(got))
				}
			}
			for _, m := range []string{"bleu", "chrf"} {
				if w := corpus[m].(float64); math.Abs(sum.Corpus[m]-w) > 0.01 {
					t.Errorf("corpus %s = %v, reference %v", m, sum.Corpus[m], w)
				}
				if w := corpus[m+"_signature"].(string); sum.Signatures[m] != w {
					t.Errorf("%s signature %q, sacreBLEU's %q", m, sum.Signatures[m], w)
				}
			}
			for m, v := range mean {
				if math.Abs(sum.Mean[m]-v) > 1e-9 || sum.Count[m] != len(got) {
					t.Errorf("mean %s = %v over %d, want %v over %d", m, sum.Mean[m], sum.Count[m], v, len(got))
				}
			}
		})
	}
}

func TestScoreSkipsMalformedLines(t *testing.T) {
	in := strings.Join([]string{
		`{"id": "a", "output": "Paris", "reference": "Paris"}`,
		`not json`,
		``,
		`{"id": "b", "reference": "x"}`,
		`{"output": "x", "reference": "x"}`,
		`{"id": {"no": 1}, "output": "x", "reference": "x"}`,
		`{"id": "c", "output": 42, "reference": "x"}`,
		`{"id": "d", "output": "x", "reference": []}`,
		`{"id": "e", "output": "x", "reference": [1, 2]}`,
		`{"id": "f", "output": "x"}`,
		`null`,
		`{"id": 7, "output": "Rome", "reference": ["Paris", "Rome"]}`,
	}, "\n")
	var out bytes.Buffer
	var errs []string
	sum, err := Score(t.Context(), strings.NewReader(in), &out, Options{Metrics: []string{"em", "bleu"}, Source: "in.jsonl"}, func(e *LineError) {
		errs = append(errs, e.Error())
	})
	if !errors.Is(err, ErrLinesFailed) {
		t.Fatalf("err = %v, want ErrLinesFailed", err)
	}
	want := []string{
		"in.jsonl:2: not a JSON object",
		"in.jsonl:4: output: missing",
		"in.jsonl:5: id: missing",
		"in.jsonl:6: id: must be a string or a number",
		"in.jsonl:7: output: must be a string",
		"in.jsonl:8: reference: is an empty list",
		"in.jsonl:9: reference: must be a string or a list of strings",
		"in.jsonl:10: reference: missing: em, bleu need one",
		"in.jsonl:11: null",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors:\n%s", strings.Join(errs, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i], w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
	got := decodeOutput(t, out.Bytes())
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != float64(7) || got[0].Scores["em"] != 1 || got[1].Scores["em"] != 1 {
		t.Fatalf("output %+v", got)
	}
	if sum.N != 2 || sum.Failed != 9 {
		t.Errorf("summary n %d failed %d", sum.N, sum.Failed)
	}
}

func TestScoreKeepsInputOrder(t *testing.T) {
	var in strings.Builder
	for i := range 2000 {
		// Long and short lines alternate, so that workers finish out of
		// order.
		out := strings.Repeat("word ", 1+(i%7)*200)
		fmt.Fprintf(&in, "{\"id\": %d, \"output\": %q, \"reference\": \"word word\"}\n", i, out)
	}
	var out bytes.Buffer
	if _, err := Score(t.Context(), strings.NewReader(in.String()), &out, Options{Metrics: []string{"rougeL", "chrf"}, Workers: 8}, nil); err != nil {
		t.Fatal(err)
	}
	for i, g := range decodeOutput(t, out.Bytes()) {
		if g.ID != float64(i) {
			t.Fatalf("line %d has id %v", i, g.ID)
		}
	}
}

func TestScoreOtherMetrics(t *testing.T) {
	schema := `{"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}`
	in := strings.Join([]string{
		`{"id": "mc", "output": "The answer is (C).", "reference": "C", "choices": ["a", "b", "c", "d"]}`,
		`{"id": "gsm", "output": "She has 1,234 apples.\n#### 1,234", "reference": "Some work.\n#### 1234"}`,
		`{"id": "flex", "output": "So the total is $18.", "reference": "#### 18"}`,
		`{"id": "json", "output": "` + "```json\\n{\\\"name\\\": 3}\\n```" + `", "reference": "-"}`,
		`{"id": "refusal", "output": "I'm sorry, but I can't help with that.", "reference": "-"}`,
	}, "\n")
	var out bytes.Buffer
	_, err := Score(t.Context(), strings.NewReader(in), &out, Options{
		Metrics: []string{"mc_acc", "num_strict", "num_flexible", "json_valid", "json_schema", "refusal", "length"},
		Schema:  json.RawMessage(schema),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[any]map[string]float64{}
	for _, g := range decodeOutput(t, out.Bytes()) {
		got[g.ID] = g.Scores
	}
	for _, c := range []struct {
		id, metric string
		want       float64
	}{
		{"mc", "mc_acc", 1},
		{"gsm", "num_strict", 1}, {"gsm", "num_flexible", 1},
		{"flex", "num_strict", 0}, {"flex", "num_flexible", 1},
		{"json", "json_valid", 1}, {"json", "json_schema", 0},
		{"refusal", "refusal", 1}, {"mc", "refusal", 0},
		{"mc", "length", 7},
	} {
		if v, ok := got[c.id][c.metric]; !ok || v != c.want {
			t.Errorf("%s %s = %v (present %v), want %v", c.id, c.metric, v, ok, c.want)
		}
	}
}

func TestPassAtK(t *testing.T) {
	// A runner that passes the answers saying "pass": pass@k is then
	// exactly the estimator of the passes counted.
	var calls atomic.Int32
	run := func(_ context.Context, answer string, test *eval.CodeTest) (metric.CodeOutcome, error) {
		calls.Add(1)
		if test.EntryPoint != "f" || !strings.Contains(test.Test, "check") {
			return metric.CodeOutcome{}, fmt.Errorf("test not passed through: %+v", test)
		}
		return metric.CodeOutcome{Passed: strings.Contains(answer, "pass"), Status: "failed"}, nil
	}
	in := strings.Join([]string{
		`{"id": 1, "outputs": ["pass", "fail", "fail", "pass"], "test": "def check(c): pass", "entry_point": "f", "prompt": "def f():"}`,
		`{"id": 2, "outputs": ["fail"], "test": "def check(c): pass", "entry_point": "f"}`,
		`{"id": 3, "outputs": ["pass", "pass"]}`,
	}, "\n")
	var out bytes.Buffer
	var errs []string
	_, err := Score(t.Context(), strings.NewReader(in), &out, Options{Metrics: []string{"pass@1", "pass@2"}, Code: run}, func(e *LineError) { errs = append(errs, e.Error()) })
	if !errors.Is(err, ErrLinesFailed) || len(errs) != 2 {
		t.Fatalf("err %v, line errors %q", err, errs)
	}
	if !strings.Contains(errs[0], ":2: outputs: pass@2 needs at least 2 generations") || !strings.Contains(errs[1], ":3: test: missing") {
		t.Errorf("line errors %q", errs)
	}
	got := decodeOutput(t, out.Bytes())
	// n = 4, c = 2: pass@1 = 2/4, pass@2 = 1 - C(2,2)/C(4,2) = 5/6.
	if len(got) != 1 || math.Abs(got[0].Scores["pass@1"]-0.5) > 1e-12 || math.Abs(got[0].Scores["pass@2"]-5.0/6) > 1e-12 {
		t.Fatalf("output %+v", got)
	}
	// Lines 2 and 3 are refused before any of their code runs.
	if calls.Load() != 4 {
		t.Errorf("%d programs run, want each of line 1's 4 generations once", calls.Load())
	}
}

func TestParseMetrics(t *testing.T) {
	if _, err := ParseMetrics("bleu, chrf,pass@10"); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct{ list, err string }{
		{"", "no metrics"},
		{"bleu,meteor", `unknown metric "meteor": use bleu chrf`},
		{"pass@0", "pass@<k>, e.g. pass@1"},
		{"pass@k", `metric "pass@k": k is a number of generations from 1 to 9999: pass@<k>, e.g. pass@1`},
		{"pass@10000", "pass@<k>, e.g. pass@1"},
		{"pass@", "pass@<k>, e.g. pass@1"},
	} {
		if _, err := ParseMetrics(tc.list); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: %v, want %q", tc.list, err, tc.err)
		}
	}
	if _, err := ParseMetrics("meteor"); err == nil || !strings.HasSuffix(err.Error(), "or pass@<k>, e.g. pass@1") {
		t.Errorf("meteor: %v", err)
	}
}

func TestScoreRefusesAnOverlongLine(t *testing.T) {
	in := `{"id": 1, "output": "` + strings.Repeat("a", maxLine+10) + `", "reference": "a"}` + "\n" + `{"id": 2, "output": "a", "reference": "a"}` + "\n"
	var out bytes.Buffer
	var errs []string
	_, err := Score(t.Context(), strings.NewReader(in), &out, Options{Metrics: []string{"em"}, Source: "big.jsonl"}, func(e *LineError) { errs = append(errs, e.Error()) })
	if !errors.Is(err, ErrLinesFailed) || len(errs) != 1 || !strings.HasPrefix(errs[0], "big.jsonl:1: longer than") {
		t.Fatalf("err %v, line errors %q", err, errs)
	}
	if got := decodeOutput(t, out.Bytes()); len(got) != 1 || got[0].ID != float64(2) {
		t.Fatalf("output %+v", got)
	}
}

func FuzzScoreLine(f *testing.F) {
	for _, s := range []string{
		`{"id": "a", "output": "Paris", "reference": "Paris"}`,
		`{"id": 1, "output": "", "reference": ["a", "b"]}`,
		`{"id": 1, "outputs": ["x"], "test": "assert True"}`,
		`null`, `[]`, `{"id": null}`, `{"id": 1, "output": "x", "reference": null}`,
	} {
		f.Add([]byte(s))
	}
	run := func(context.Context, string, *eval.CodeTest) (metric.CodeOutcome, error) {
		return metric.CodeOutcome{Passed: true}, nil
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var out bytes.Buffer
		failed := 0
		sum, err := Score(context.Background(), bytes.NewReader(line), &out, Options{
			Metrics: []string{"bleu", "chrf", "rougeLsum", "em", "f1", "json_schema", "pass@1"},
			Schema:  json.RawMessage(`{"type": "object"}`), Code: run,
		}, func(*LineError) { failed++ })
		if err != nil && !errors.Is(err, ErrLinesFailed) {
			t.Fatal(err)
		}
		if sum.Failed != failed || (failed > 0) != (err != nil) {
			t.Fatalf("failed %d, summary %d, err %v", failed, sum.Failed, err)
		}
		for _, g := range decodeOutput(t, out.Bytes()) {
			for k, v := range g.Scores {
				if math.IsNaN(v) || v < 0 || (k != "bleu" && k != "chrf" && v > 1) {
					t.Fatalf("%s = %v", k, v)
				}
			}
		}
	})
}

func TestScoreStopsWhenCancelled(t *testing.T) {
	// An endless input: Score must stop when its context ends, say so,
	// and report no line as failed on the way out.
	ctx, cancel := context.WithCancel(t.Context())
	r, w := io.Pipe()
	go func() {
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "{\"id\": %d, \"output\": \"a b\", \"reference\": \"a b\"}\n", i); err != nil {
				return
			}
			if i == 1000 {
				cancel()
			}
		}
	}()
	var out bytes.Buffer
	failed := 0
	_, err := Score(ctx, r, &out, Options{Metrics: []string{"bleu"}}, func(*LineError) { failed++ })
	r.Close()
	if !errors.Is(err, context.Canceled) || failed != 0 {
		t.Fatalf("err %v, %d lines reported failed", err, failed)
	}
}

func TestScoreRefusesUnusableSchemas(t *testing.T) {
	in := `{"id": 1, "output": "{}", "schema": {"type": 5}}` + "\n" + `{"id": 2, "output": "{}", "schema": {"type": "object"}}` + "\n"
	var errs []string
	var out bytes.Buffer
	_, err := Score(t.Context(), strings.NewReader(in), &out, Options{Metrics: []string{"json_schema"}, Source: "s.jsonl"}, func(e *LineError) { errs = append(errs, e.Error()) })
	if !errors.Is(err, ErrLinesFailed) || len(errs) != 1 || !strings.HasPrefix(errs[0], "s.jsonl:1: schema: not a usable JSON Schema") {
		t.Fatalf("err %v, line errors %q", err, errs)
	}
	if got := decodeOutput(t, out.Bytes()); len(got) != 1 || got[0].Scores["json_schema"] != 1 {
		t.Fatalf("output %+v", got)
	}
	if _, err := Score(t.Context(), strings.NewReader(in), &out, Options{Metrics: []string{"json_schema"}, Schema: json.RawMessage(`{"type": 5}`)}, nil); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Fatalf("a bad --schema: %v", err)
	}
}

func TestScoreCodeLines(t *testing.T) {
	var seen []*eval.CodeTest
	run := func(_ context.Context, _ string, test *eval.CodeTest) (metric.CodeOutcome, error) {
		seen = append(seen, test)
		return metric.CodeOutcome{Passed: true}, nil
	}
	in := strings.Join([]string{
		// MBPP: test_list as a list, and a prose prompt that is not code.
		`{"id": 1, "output": "def f(): return 1", "prompt": "Write f.", "test": ["assert f() == 1", "assert f() > 0"]}`,
		`{"id": 2, "output": "x", "test": ["assert 1", ""]}`,
		`{"id": 3, "output": "x", "reference": ["a", null]}`,
	}, "\n")
	var errs []string
	var out bytes.Buffer
	_, err := Score(t.Context(), strings.NewReader(in), &out, Options{Metrics: []string{"pass@1"}, Code: run, Workers: 1}, func(e *LineError) { errs = append(errs, e.Error()) })
	if !errors.Is(err, ErrLinesFailed) || len(errs) != 2 || !strings.Contains(errs[0], ":2: test: must be Python test code") || !strings.Contains(errs[1], ":3: reference: item 1 is null") {
		t.Fatalf("err %v, line errors %q", err, errs)
	}
	if len(seen) != 1 || seen[0].Test != "assert f() == 1\nassert f() > 0" || seen[0].Prompt != "" {
		t.Fatalf("tests run: %+v", seen)
	}
}
