package eval

import (
	"strings"
	"testing"
)

func TestDatasetFormat(t *testing.T) {
	for _, c := range []struct {
		name, want string
		gzipped    bool
		err        string
	}{
		{name: "a.jsonl", want: "jsonl"},
		{name: "a.ndjson", want: "jsonl"},
		{name: "a.json", want: "json"},
		{name: "a.csv", want: "csv"},
		{name: "a.tsv", want: "tsv"},
		{name: "a.tab", want: "tsv"},
		{name: "a.parquet", want: "parquet"},
		{name: "a.pq", want: "parquet"},
		{name: "data/gsm8k/test.jsonl.gz", want: "jsonl", gzipped: true},
		{name: "A.NDJSON.GZ", want: "jsonl", gzipped: true},
		{name: "a.json.gz", want: "json", gzipped: true},
		{name: "a.csv.gz", want: "csv", gzipped: true},
		{name: "a.tsv.gz", want: "tsv", gzipped: true},
		{name: "a.parquet.gz", gzipped: true, err: `"a.parquet.gz": a Parquet file is compressed inside already: give it without .gz`},
		{name: "a.gz", gzipped: true, err: `unknown dataset format ".gz": name a compressed file for its format and .gz`},
		{name: "a.txt.gz", gzipped: true, err: `unknown dataset format ".txt.gz"`},
		{name: "a.xlsx", err: `unknown dataset format ".xlsx": name the file .jsonl, .json, .csv, .tsv or .parquet`},
		{name: "a.jsonl.zip", err: `unknown dataset format ".zip"`},
	} {
		got, err := DatasetFormat(c.name)
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("DatasetFormat(%q) = %q, %v; want %q, %q", c.name, got, err, c.want, c.err)
		}
		if g := DatasetGzipped(c.name); g != c.gzipped {
			t.Errorf("DatasetGzipped(%q) = %v", c.name, g)
		}
	}
}
