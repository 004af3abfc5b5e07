package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/aggregate"
)

// jsonLines decodes JSON lines.
func jsonLines(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", len(out)+1, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExport exports every kind in every format: one line (or row) per
// message in stream order, the texts beside each, null where a generation
// failed or is gone.
func TestExport(t *testing.T) {
	b := bustest.New(t)
	r := newStoredRun(t, b, testSpec("x3"))
	export := func(what, format string) ([]byte, aggregate.Written) {
		t.Helper()
		var buf bytes.Buffer
		n, err := Export(t.Context(), b, ExportOptions{Run: "x3", What: what, Format: format}, &buf)
		if err != nil {
			t.Fatalf("export %s %s: %v", what, format, err)
		}
		return buf.Bytes(), n
	}

	t.Run("generations jsonl", func(t *testing.T) {
		data, n := export(ExportGenerations, "jsonl")
		lines := jsonLines(t, data)
		// base's q4 was deleted: seven generations are left.
		if len(lines) != 7 || n.Rows != 7 || n.Missing != 0 {
			t.Fatalf("%d lines, %+v", len(lines), n)
		}
		var order []string
		for _, l := range lines {
			key := fmt.Sprint(l["variant"], "/", l["id"])
			order = append(order, key)
			g, s := r.gens[key], r.samples[l["id"].(string)]
			want := map[string]any{"model": g.Model, "params": g.Params, "prompt": eval.LastUserMessage(s.Messages),
				"output": strOrNil(r.output(l["variant"].(string), l["id"].(string))), "run": "x3", "suite": "qa",
				"fingerprint": r.spec.Fingerprint(), "gen_seq": float64(r.genSeq[key]), "error": g.Error, "cause": g.Cause}
			for k, w := range want {
				if l[k] != w {
					t.Errorf("%s: %s = %.40v, want %.40v", key, k, l[k], w)
				}
			}
			if msgs, ok := l["messages"].([]any); !ok || len(msgs) != len(s.Messages) {
				t.Errorf("%s: messages %v", key, l["messages"])
			}
			if _, ok := l["usage"].(map[string]any); !ok {
				t.Errorf("%s: usage %v", key, l["usage"])
			}
		}
		sameOrder(t, order, []string{"base/q1", "ft/q1", "base/q2", "ft/q2", "base/q3", "ft/q3", "ft/q4"})
	})

	t.Run("generations parquet", func(t *testing.T) {
		data, n := export(ExportGenerations, "parquet")
		tbl := readParquet(t, data)
		if tbl.NumRows() != 7 || n.Rows != 7 {
			t.Fatalf("%d rows, %+v", tbl.NumRows(), n)
		}
		if got, want := fields(tbl.Schema()), fields(aggregate.GenerationsSchema()); got != want {
			t.Errorf("columns\n%s\nwant\n%s", got, want)
		}
		variants, outputs := column(t, tbl, "variant"), column(t, tbl, "output")
		for i, id := range column(t, tbl, "id") {
			if want := strOrNil(r.output(variants[i].(string), id.(string))); outputs[i] != want {
				t.Errorf("row %d: output %.40v, want %.40v", i, outputs[i], want)
			}
		}
	})

	t.Run("scores jsonl", func(t *testing.T) {
		data, n := export(ExportScores, "jsonl")
		lines := jsonLines(t, data)
		if len(lines) != 8 || n.Rows != 8 || n.Missing != 1 {
			t.Fatalf("%d lines, %+v; want 8 with the deleted generation missing", len(lines), n)
		}
		for _, l := range lines {
			id := l["sample"].(map[string]any)["id"].(string)
			v := l["variant"].(string)
			if want := strOrNil(r.output(v, id)); l["output"] != want {
				t.Errorf("%s/%s: output %.40v, want %.40v", v, id, l["output"], want)
			}
			if l["prompt"] != eval.LastUserMessage(r.samples[id].Messages) || l["bucket"] == nil || l["metrics"] == nil {
				t.Errorf("%s/%s: %v", v, id, l)
			}
		}
	})

	t.Run("judgments jsonl", func(t *testing.T) {
		data, n := export(ExportJudgments, "jsonl")
		lines := jsonLines(t, data)
		if len(lines) != 4 || n.Rows != 4 || n.Missing != 1 {
			t.Fatalf("%d lines, %+v", len(lines), n)
		}
		for _, l := range lines {
			id := l["sample"].(map[string]any)["id"].(string)
			for k, want := range map[string]any{"candidate_output": strOrNil(r.output("ft", id)), "baseline_output": strOrNil(r.output("base", id)),
				"candidate_model": "m-ft-served", "baseline_model": "m-base-served", "prompt": eval.LastUserMessage(r.samples[id].Messages)} {
				if l[k] != want {
					t.Errorf("%s: %s = %.40v, want %.40v", id, k, l[k], want)
				}
			}
			if id != "q2" && fmt.Sprint(l["rounds"].([]any)[1].(map[string]any)["reason"]) != "B is right" {
				t.Errorf("%s: rounds %v", id, l["rounds"])
			}
		}
	})

	for _, what := range []string{ExportScores, ExportJudgments} {
		t.Run(what+" parquet", func(t *testing.T) {
			data, _ := export(what, "parquet")
			// The report's own file, column for column.
			_, files, err := Build(t.Context(), b, "x3", []string{"parquet"})
			if err != nil {
				t.Fatal(err)
			}
			got, want := readParquet(t, data), readParquet(t, files[what+".parquet"])
			if fields(got.Schema()) != fields(want.Schema()) || got.NumRows() != want.NumRows() {
				t.Errorf("%s export differs from the report's file: %d rows, want %d", what, got.NumRows(), want.NumRows())
			}
		})
	}
}

// TestExportErrors: an unknown kind or format, and a run that does not
// exist.
func TestExportErrors(t *testing.T) {
	b := bustest.New(t)
	for _, c := range []struct {
		o    ExportOptions
		want error
	}{
		{ExportOptions{Run: "x", What: "answers", Format: "jsonl"}, ErrUnknownExport},
		{ExportOptions{Run: "x", What: "scores", Format: "csv"}, ErrUnknownExport},
		{ExportOptions{Run: "nope", What: "scores", Format: "jsonl"}, bus.ErrNotFound},
	} {
		if _, err := Export(t.Context(), b, c.o, &bytes.Buffer{}); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.o, err, c.want)
		}
	}
}

func sameOrder(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("order %v, want %v", got, want)
	}
}
