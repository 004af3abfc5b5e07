package dataset

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/gz"
	"github.com/assay-eval/assay/pkg/gz/gztest"
)

// readAs reads data as a suite file named name.
func readAs(name string, data []byte, configure ...func(*Reader)) ([]eval.Sample, Result, error) {
	rd := NewReader("run1", eval.Suite{Name: "qa", Metrics: []string{"em"}}, name)
	for _, c := range configure {
		c(rd)
	}
	var got []eval.Sample
	res, err := rd.Read(bytes.NewReader(data), func(s eval.Sample) error {
		got = append(got, s)
		return nil
	})
	return got, res, err
}

// TestGzip reads every format gzip-compressed: the same samples and
// problems as the file uncompressed, located in the .gz file by the line
// of the decompressed text.
func TestGzip(t *testing.T) {
	jsonl := []byte("{\"id\": \"q1\", \"prompt\": \"What is the capital of France?\", \"reference\": \"Paris\"}\n" +
		"{\"id\": \"q2\", \"prompt\": }\n" +
		"{\"id\": \"q3\", \"prompt\": \"2 + 2 = ?\", \"reference\": [\"4\", \"four\"]}\n")
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"qa.jsonl", jsonl},
		{"qa.ndjson", jsonl},
		{"qa.json", nil},
		{"qa.csv", nil},
		{"qa.tsv", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if data == nil {
				var err error
				if data, err = os.ReadFile(filepath.Join("testdata", "formats", c.name)); err != nil {
					t.Fatal(err)
				}
			}
			plain, pres, err := readAs(c.name, data)
			if err != nil || len(plain) == 0 || len(pres.Problems) == 0 {
				t.Fatalf("uncompressed: %d samples, %q, %v", len(plain), problemStrings(pres.Problems), err)
			}
			gz := c.name + ".gz"
			got, res, err := readAs(gz, gztest.Gzipped(t, data))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			// The same, but located in the .gz file.
			want := strings.ReplaceAll(strings.Join(summary(plain), "\n"), c.name+":", gz+":")
			if s := strings.Join(summary(got), "\n"); s != want {
				t.Errorf("samples:\n%s\nwant\n%s", s, want)
			}
			var wantProblems []string
			for _, p := range pres.Problems {
				p.File = gz
				wantProblems = append(wantProblems, p.Error())
			}
			if p := problemStrings(res.Problems); !slices.Equal(p, wantProblems) {
				t.Errorf("problems %q, want %q", p, wantProblems)
			}
		})
	}
	t.Run("upper case", func(t *testing.T) {
		if got, _, err := readAs("QA.JSONL.GZ", gztest.Gzipped(t, jsonl)); err != nil || len(got) != 2 {
			t.Errorf("%d samples, %v", len(got), err)
		}
	})
	t.Run("several gzip members", func(t *testing.T) {
		// gzip -c a >> f; gzip -c b >> f: one file, read whole.
		lines := bytes.SplitAfter(jsonl, []byte("\n"))
		data := append(gztest.Gzipped(t, lines[0]), gztest.Gzipped(t, bytes.Join(lines[1:], nil))...)
		if got, _, err := readAs("qa.jsonl.gz", data); err != nil || len(got) != 2 {
			t.Errorf("%d samples, %v", len(got), err)
		}
	})
}

// TestGzipErrors: a file that cannot be decompressed fails its suite with
// what is wrong and what to do, never a panic or a partial success passed
// off as whole.
func TestGzipErrors(t *testing.T) {
	var lines strings.Builder
	for i := range 2000 {
		lines.WriteString(`{"prompt": "question number ` + strings.Repeat("x", i%50) + `", "reference": "r"}` + "\n")
	}
	whole := gztest.Gzipped(t, []byte(lines.String()))
	csv := gztest.Gzipped(t, []byte("prompt,reference\n"+strings.Repeat("a question,an answer\n", 1000)))
	small := func(rd *Reader) { rd.MaxDecompressed = 4096 }
	for _, c := range []struct {
		name, file string
		data       []byte
		configure  func(*Reader)
		want       string
	}{
		{"truncated", "qa.jsonl.gz", whole[:len(whole)/2], nil, "the compressed data is corrupt or cut short (unexpected EOF)"},
		{"truncated JSON array", "qa.json.gz", gztest.Gzipped(t, []byte(`[{"prompt": "a", "reference": "r"}]`))[:20], nil, "reading qa.json.gz: the gzip-compressed file cannot be read"},
		{"truncated CSV", "qa.csv.gz", csv[:len(csv)-4], nil, "reading qa.csv.gz: the gzip-compressed file cannot be read: the compressed data is corrupt or cut short"},
		{"checksum", "qa.jsonl.gz", append(slices.Clone(whole[:len(whole)-8]), 0, 0, 0, 0, 0, 0, 0, 0), nil, "corrupt or cut short (gzip: invalid checksum)"},
		{"not gzip", "qa.jsonl.gz", []byte(lines.String()), nil, "qa.jsonl.gz: the gzip-compressed file cannot be read: it is not gzip-compressed: compress it with gzip"},
		{"empty", "qa.jsonl.gz", nil, nil, "qa.jsonl.gz: the gzip-compressed file cannot be read: it is empty"},
		{"a bomb", "qa.jsonl.gz", whole, small, "it decompresses to more than 4096 bytes: split it into smaller files"},
		{"a bomb read whole", "qa.json.gz", gztest.Gzipped(t, append([]byte("["), bytes.Repeat([]byte(" "), 10000)...)), small, "decompresses to more than 4096 bytes"},
		{"Parquet", "qa.parquet.gz", whole, nil, "a Parquet file is compressed inside already: give it without .gz"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var configure []func(*Reader)
			if c.configure != nil {
				configure = append(configure, c.configure)
			}
			_, _, err := readAs(c.file, c.data, configure...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if c.name != "Parquet" && !errors.Is(err, gz.ErrCompressed) {
				t.Errorf("%v is not gz.ErrCompressed", err)
			}
		})
	}
	// A truncated JSONL file is located after the last whole line.
	_, _, err := readAs("qa.jsonl.gz", whole[:len(whole)/2])
	if err == nil || !strings.HasPrefix(err.Error(), "reading qa.jsonl.gz at line ") {
		t.Errorf("truncated: %v", err)
	}
	// Exactly at the limit is not over it.
	exact := []byte(`{"prompt": "a", "reference": "r"}` + "\n")
	if got, _, err := readAs("qa.jsonl.gz", gztest.Gzipped(t, exact), func(rd *Reader) { rd.MaxDecompressed = int64(len(exact)) }); err != nil || len(got) != 1 {
		t.Errorf("at the limit: %d samples, %v", len(got), err)
	}
}
