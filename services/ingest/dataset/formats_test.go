package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/gz/gztest"
)

// readFile reads testdata/formats/name as a suite of that name.
func readFile(t *testing.T, name string, data []byte) ([]eval.Sample, Result) {
	t.Helper()
	if data == nil {
		var err error
		if data, err = os.ReadFile(filepath.Join("testdata", "formats", name)); err != nil {
			t.Fatal(err)
		}
	}
	rd := NewReader("run1", eval.Suite{Name: "qa", Metrics: []string{"em"}}, name)
	var got []eval.Sample
	res, err := rd.Read(bytes.NewReader(data), func(s eval.Sample) error {
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got, res
}

// summary is what a test checks of each sample: id, prompt, references
// and where it came from.
func summary(ss []eval.Sample) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID+"|"+s.Messages[len(s.Messages)-1].Content+"|"+strings.Join(s.Reference.Answers, "/")+"|"+s.Source)
	}
	return out
}

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		file     string
		samples  []string
		problems []string
	}{
		{"qa.json",
			[]string{
				"q1|What is the capital of France?|Paris|qa.json:2",
				"q2|2 + 2 = ?|4/four|qa.json:3",
				"q4|北京是哪个国家的首都？|中国|qa.json:9",
			},
			[]string{"qa.json:8: prompt: missing: map the prompt with fields.prompt (text) or fields.messages (chat messages)"}},
		{"qa.csv",
			[]string{
				"q1|What is the capital of France?|Paris|qa.csv:2",
				"q2|Name three colours, separated by commas|red|qa.csv:3",
				"q3|A prompt\nover two lines|yes|qa.csv:4",
				"q5|北京是哪个国家的首都？|中国|qa.csv:7",
			},
			[]string{"qa.csv:6: has 4 fields, the header 3"}},
		{"qa.tsv",
			[]string{
				"q1|What is the capital of France?|Paris|qa.tsv:2",
				`q2|Say "hello"|hello|qa.tsv:3`,
				"q4|北京是哪个国家的首都？|中国|qa.tsv:5",
			},
			[]string{"qa.tsv:4: has 2 fields, the header 3"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			got, res := readFile(t, c.file, nil)
			if s := summary(got); !slices.Equal(s, c.samples) {
				t.Errorf("samples:\n%q\nwant\n%q", s, c.samples)
			}
			if p := problemStrings(res.Problems); !slices.Equal(p, c.problems) {
				t.Errorf("problems:\n%q\nwant\n%q", p, c.problems)
			}
		})
	}
}

func TestJSONArrayErrors(t *testing.T) {
	// A .json file of one object a line is JSONL.
	got, _ := readFile(t, "lines.json", []byte("{\"id\": \"a\", \"prompt\": \"p\", \"reference\": \"r\"}\n{\"id\": \"b\", \"prompt\": \"q\", \"reference\": \"s\"}\n"))
	if len(got) != 2 {
		t.Errorf("JSONL in a .json file: %d samples", len(got))
	}
	// A broken array keeps what came before and says where it broke.
	got, res := readFile(t, "broken.json", []byte("[\n{\"id\": \"a\", \"prompt\": \"p\", \"reference\": \"r\"},\n{\"id\": \"b\", \"prompt\": }\n]"))
	if len(got) != 1 || len(res.Problems) != 1 || !strings.HasPrefix(res.Problems[0].Error(), "broken.json:3: not valid JSON") {
		t.Errorf("samples %d, problems %q", len(got), problemStrings(res.Problems))
	}
	// Not an array at all.
	rd := NewReader("run1", eval.Suite{Name: "qa", Metrics: []string{"em"}}, "scalar.json")
	if _, err := rd.Read(strings.NewReader("\n\n42"), func(eval.Sample) error { return nil }); err == nil || !strings.Contains(err.Error(), "scalar.json:3: a .json dataset is an array") {
		t.Errorf("a scalar: %v", err)
	}
}

func TestCSVHeader(t *testing.T) {
	rd := NewReader("run1", eval.Suite{Name: "qa", Metrics: []string{"em"}}, "dup.csv")
	_, err := rd.Read(strings.NewReader("id,prompt,prompt\n1,a,b\n"), func(eval.Sample) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `dup.csv:1: the header names "prompt" twice`) {
		t.Errorf("duplicate header: %v", err)
	}
	// A byte order mark does not become part of the first column's name,
	// and blank headers get a name.
	got, _ := readFile(t, "bom.csv", []byte("\xef\xbb\xbfid,prompt,reference,\nq1,p,r,x\n"))
	if len(got) != 1 || got[0].ID != "q1" {
		t.Errorf("with a BOM: %+v", got)
	}
	if _, err := FormatOf("suite.xlsx"); err == nil || !strings.Contains(err.Error(), "name the file .jsonl, .json, .csv, .tsv or .parquet") {
		t.Errorf("unknown extension: %v", err)
	}
}

func TestParquet(t *testing.T) {
	// A Parquet file written here, as a user's pipeline would: string and
	// list columns, and a row without a prompt.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "prompt", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "reference", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "difficulty", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"p1", "p2", "p3"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"Capital of Japan?", "", "Capital of Italy?"}, []bool{true, false, true})
	lb := b.Field(2).(*array.ListBuilder)
	for _, refs := range [][]string{{"Tokyo"}, {"x"}, {"Rome", "Roma"}} {
		lb.Append(true)
		lb.ValueBuilder().(*array.StringBuilder).AppendValues(refs, nil)
	}
	b.Field(3).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, res := readFile(t, "qa.parquet", buf.Bytes())
	want := []string{"p1|Capital of Japan?|Tokyo|qa.parquet:1", "p3|Capital of Italy?|Rome/Roma|qa.parquet:3"}
	if s := summary(got); !slices.Equal(s, want) {
		t.Errorf("samples %q, want %q", s, want)
	}
	if p := problemStrings(res.Problems); len(p) != 1 || !strings.HasPrefix(p[0], "qa.parquet:2: prompt:") {
		t.Errorf("problems %q", p)
	}
	// Not Parquet at all.
	rd := NewReader("run1", eval.Suite{Name: "qa", Metrics: []string{"em"}}, "bad.parquet")
	if _, err := rd.Read(strings.NewReader("id,prompt\n"), func(eval.Sample) error { return nil }); err == nil || !strings.Contains(err.Error(), "bad.parquet: not a Parquet file") {
		t.Errorf("not Parquet: %v", err)
	}
}

// FuzzFormats reads arbitrary bytes as each format: no panic, no error
// but a read failure or a whole-file verdict, and every problem located.
// The same bytes are also read as gzip data (corrupt, mostly), and,
// compressed, must read exactly as they do uncompressed.
func FuzzFormats(f *testing.F) {
	for _, s := range []string{
		"[{\"id\": 1, \"prompt\": \"p\"}]", "[", "[{}, 1, \"x\"]", "id,prompt\n1,\"a\nb\"\n", "id\tprompt\n1\tp\"q\n",
		"\xef\xbb\xbf[]", "PAR1", "a,a\n", "",
		"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", // a gzip header, and nothing after it
	} {
		f.Add([]byte(s))
	}
	f.Add(gztest.Gzipped(f, []byte("{\"prompt\": \"p\", \"reference\": \"r\"}\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		located := func(name string, res Result) {
			for _, p := range res.Problems {
				if p.Line < 1 || p.File != name {
					t.Fatalf("%s: problem at %s:%d", name, p.File, p.Line)
				}
			}
		}
		for _, name := range []string{"f.json", "f.csv", "f.tsv", "f.parquet", "f.jsonl", "f.jsonl.gz", "f.json.gz", "f.csv.gz", "f.tsv.gz"} {
			rd := NewReader("run1", eval.Suite{Name: "s", Metrics: []string{"em"}}, name)
			rd.MaxDecompressed = 1 << 20
			res, _ := rd.Read(bytes.NewReader(data), func(eval.Sample) error { return nil })
			located(name, res)
		}
		compressed := gztest.Gzipped(t, data)
		for _, name := range []string{"f.json", "f.csv", "f.tsv", "f.jsonl"} {
			plain, pres, perr := readAs(name, data)
			got, res, err := readAs(name+".gz", compressed)
			located(name+".gz", res)
			if (err == nil) != (perr == nil) || len(got) != len(plain) || len(res.Problems) != len(pres.Problems) {
				t.Fatalf("%s: %d samples, %d problems, %v; uncompressed %d, %d, %v", name, len(got), len(res.Problems), err, len(plain), len(pres.Problems), perr)
			}
			for i, p := range pres.Problems {
				p.File = name + ".gz"
				if res.Problems[i] != p {
					t.Fatalf("%s: problem %v, uncompressed %v", name, res.Problems[i], p)
				}
			}
		}
	})
}

func TestFormatEdges(t *testing.T) {
	// TSV has no quoting: a field may start with a quotation mark.
	got, res := readFile(t, "q.tsv", []byte("id\tprompt\treference\nq1\t\"Moby Dick\" was written by whom?\tMelville\nq2\tWhat is 2+2?\t4\n"))
	if len(got) != 2 || got[0].Messages[0].Content != `"Moby Dick" was written by whom?` || len(res.Problems) != 0 {
		t.Errorf("samples %+v, problems %q", summary(got), problemStrings(res.Problems))
	}
	// An empty .json file is an empty suite, as an empty .jsonl is.
	for _, data := range []string{"", "\n\n", "\xef\xbb\xbf"} {
		if got, res := readFile(t, "empty.json", []byte(data)); len(got) != 0 || len(res.Problems) != 0 {
			t.Errorf("empty .json %q: %d samples, %q", data, len(got), problemStrings(res.Problems))
		}
	}
}

func TestCopyMarkRefused(t *testing.T) {
	rd := NewReader("run1", eval.Suite{Name: "s", Metrics: []string{"em"}, Perturbations: []string{"typos"}}, "p.jsonl")
	var got []eval.Sample
	res, err := rd.Read(strings.NewReader(`{"id": "q1", "prompt": "p", "reference": "r"}`+"\n"+`{"id": "q1~typos", "prompt": "other", "reference": "r"}`+"\n"),
		func(s eval.Sample) error { got = append(got, s); return nil })
	if err != nil || len(got) != 1 || len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), "p.jsonl:2: id: \"q1~typos\" contains ~") {
		t.Fatalf("samples %d, problems %q, %v", len(got), problemStrings(res.Problems), err)
	}
}
