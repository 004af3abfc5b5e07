package contam

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSourceReadsJSONL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "items.jsonl")
	lines := "\xef\xbb\xbf" + `{"id": "a", "text": "first"}` + "\r\n" +
		`{"id": 7, "prompt": "from the prompt"}` + "\n" +
		"\n" +
		`{"question": "no id"}` + "\n" +
		`{"id": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "there"}]}` + "\n" +
		`{"id": "bad" "text": "x"}` + "\n" +
		`["not", "an object"]` + "\n" +
		`{"id": "none", "answer": "no text field"}` + "\n" +
		`{"id": "long", "text": "` + strings.Repeat("x", 300) + `"}` + "\n" +
		`{"id": "", "text": "empty id", "x": null}` // no final newline
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, st, err := (&Source{Path: path, MaxLine: 150}).ReadAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []Doc{
		{ID: "a", Text: "first"},
		{ID: "7", Text: "from the prompt", numericID: true},
		{ID: path + ":4", Text: "no id"},
		{ID: "m", Text: "hi\nthere"},
		{ID: path + ":10", Text: "empty id"},
	}
	if !slices.Equal(docs, want) {
		t.Errorf("docs\n%+v\nwant\n%+v", docs, want)
	}
	var probs []string
	for _, p := range st.Problems {
		probs = append(probs, p.Error())
	}
	wantProbs := []string{
		path + ":6: not valid JSON: invalid character '\"' after object key:value pair",
		path + ":7: a line must be a JSON object, not a list",
		path + ":8: no text: none of text, prompt, question, content, messages.#.content holds a string: name the field that holds the text",
		path + ":9: line is longer than 150 bytes: shorten the document or split it",
	}
	if !slices.Equal(probs, wantProbs) {
		t.Errorf("problems\n%s\nwant\n%s", strings.Join(probs, "\n"), strings.Join(wantProbs, "\n"))
	}
	if st.Files != 1 || st.Docs != 5 || st.Failed != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestSourceField(t *testing.T) {
	in := `{"id": 1, "q": {"body": "nested"}, "text": "not this"}
{"id": 2, "q": {"body": 42}}
{"id": 3}
`
	docs, st, err := (&Source{Path: "-", Stdin: strings.NewReader(in), Field: "q.body", IDField: "id"}).ReadAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Text != "nested" || docs[0].ID != "1" {
		t.Errorf("docs %+v", docs)
	}
	var probs []string
	for _, p := range st.Problems {
		probs = append(probs, p.Error())
	}
	want := []string{
		"stdin:2: q.body: must be a string or a list of strings, not a number",
		"stdin:3: q.body: missing: every line needs its text here",
	}
	if !slices.Equal(probs, want) {
		t.Errorf("problems %q, want %q", probs, want)
	}
}

func TestSourceReadsDirectories(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"id": "z", "text": "zipped"}` + "\n"))
	zw.Close()
	write("b/part-1.jsonl.gz", gz.Bytes())
	write("a.jsonl", []byte(`{"id": "a", "text": "line"}`+"\n"))
	write("b/notes.txt", []byte("A whole file\nis one document."))
	write("b/readme.md", []byte("skipped: neither JSONL nor text"))
	write(".hidden/x.jsonl", []byte(`{"id": "h", "text": "hidden"}`+"\n"))
	write("b/.x.jsonl", []byte(`{"id": "h2", "text": "hidden"}`+"\n"))
	write("empty.jsonl", nil)

	docs, st, err := (&Source{Path: dir}).ReadAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []Doc{
		{ID: "a", Text: "line"},
		{ID: filepath.Join(dir, "b/notes.txt"), Text: "A whole file\nis one document."},
		{ID: "z", Text: "zipped"},
	}
	if !slices.Equal(docs, want) || st.Files != 4 {
		t.Errorf("docs %+v (%d files), want %+v", docs, st.Files, want)
	}

	// A text file given by itself, too large.
	_, st, err = (&Source{Path: filepath.Join(dir, "b/notes.txt"), MaxLine: 10}).ReadAll(t.Context())
	if err != nil || len(st.Problems) != 1 || st.Problems[0].Error() != filepath.Join(dir, "b/notes.txt")+":1: the file is larger than 10 bytes: split it" {
		t.Errorf("%v %+v", err, st.Problems)
	}
}

func TestSourceErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := (&Source{Path: filepath.Join(dir, "missing.jsonl")}).ReadAll(t.Context()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := (&Source{Path: dir}).ReadAll(t.Context()); !errors.Is(err, ErrNoFiles) {
		t.Errorf("empty directory: %v", err)
	}
	bad := filepath.Join(dir, "bad.jsonl.gz")
	os.WriteFile(bad, []byte("not gzip"), 0o644)
	if _, _, err := (&Source{Path: bad}).ReadAll(t.Context()); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad gzip: %v", err)
	}
	if _, _, err := (&Source{Path: "-"}).ReadAll(t.Context()); err == nil {
		t.Error("stdin without a reader: no error")
	}
}

// TestCheckCountsTrainingProblems: bad training lines are counted and
// reported in input order, whichever worker met them, and the rest is
// checked.
func TestCheckCountsTrainingProblems(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		if i%50 == 7 {
			b.WriteString("{broken\n")
			continue
		}
		b.WriteString(`{"text": "` + firstWords(storm, 0.5) + `"}` + "\n")
	}
	ix, err := NewIndex([]Doc{{ID: "s", Text: storm}}, Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ix.Check(t.Context(), Source{Path: "-", Stdin: strings.NewReader(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Train.Docs != 490 || rep.Train.Failed != 10 || len(rep.Train.Problems) != 10 {
		t.Fatalf("train stats %+v", rep.Train)
	}
	for i, p := range rep.Train.Problems {
		if p.Line != 50*i+8 || !strings.HasPrefix(p.Error(), "stdin:") {
			t.Errorf("problem %d: %v", i, p)
		}
	}
	if r := rep.Results[0]; r.Match != "stdin:1" || r.Contaminated {
		t.Errorf("result %+v: want half the item, first found on line 1", r)
	}
}

// TestSourceLineEndings: a blank line after a line ending in a carriage
// return takes nothing from it.
func TestSourceLineEndings(t *testing.T) {
	in := "{\"text\": \"a\"}\r\r\n\n{\"text\": \"b\"}\r\n\r\n{\"text\": \"c\"}"
	docs, st, err := (&Source{Path: "-", Stdin: strings.NewReader(in)}).ReadAll(t.Context())
	if err != nil || st.Failed != 0 || len(docs) != 3 || docs[2].Text != "c" || docs[1].ID != "stdin:3" {
		t.Errorf("docs %+v, stats %+v, %v", docs, st, err)
	}
}
