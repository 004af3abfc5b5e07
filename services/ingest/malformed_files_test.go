package ingest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestMalformedLinesPerFile: a suite read from a directory counts its
// malformed lines per file, with each file's first three, so that every
// file at fault is named (b.jsonl too, though a.jsonl alone has more
// than three).
func TestMalformedLinesPerFile(t *testing.T) {
	s, b := newIntake(t)
	file := func(good int, bad ...int) []byte {
		var buf bytes.Buffer
		for i := 1; i <= good+len(bad); i++ {
			if slices.Contains(bad, i) {
				buf.WriteString("{\"id\": \"x\", \"prompt\": \"\"}\n")
				continue
			}
			fmt.Fprintf(&buf, "{\"prompt\": \"what is %d + %d?\", \"reference\": \"%d\"}\n", i, good, i+good)
		}
		return buf.Bytes()
	}
	spec := &eval.RunSpec{Run: "dir", Baseline: "base", Variants: []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}},
		Suites: []eval.Suite{{Name: "arith", Path: "data/arith", Metrics: []string{"em"}}}}
	for _, f := range []struct {
		path string
		data []byte
	}{
		{"data/arith/a.jsonl", file(6, 2, 4, 7, 9)},
		{"data/arith/b.jsonl", file(7, 1, 5)},
	} {
		obj, err := b.PutDataset(t.Context(), f.path, bytes.NewReader(f.data))
		if err != nil {
			t.Fatal(err)
		}
		spec.Suites[0].Parts = append(spec.Suites[0].Parts, eval.DatasetPart{Path: f.path, Object: obj})
	}
	st, err := s.Ingest(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	ss := st.Suites["arith"]
	if ss.Malformed != 6 || ss.Samples != 13 {
		t.Fatalf("suite %+v: want 6 malformed lines and 13 samples", ss)
	}
	want := []eval.MalformedFile{
		{File: "data/arith/a.jsonl", Malformed: 4, Problems: []string{"data/arith/a.jsonl:2: ", "data/arith/a.jsonl:4: ", "data/arith/a.jsonl:7: "}},
		{File: "data/arith/b.jsonl", Malformed: 2, Problems: []string{"data/arith/b.jsonl:1: ", "data/arith/b.jsonl:5: "}},
	}
	if len(ss.Files) != len(want) {
		t.Fatalf("files %+v, want %+v", ss.Files, want)
	}
	for i, w := range want {
		f := ss.Files[i]
		if f.File != w.File || f.Malformed != w.Malformed || len(f.Problems) != len(w.Problems) {
			t.Errorf("file %d: %+v, want %+v", i, f, w)
			continue
		}
		for j, p := range w.Problems {
			if !strings.HasPrefix(f.Problems[j], p) {
				t.Errorf("file %s problem %d: %q, want it to start %q", f.File, j, f.Problems[j], p)
			}
		}
	}
}
