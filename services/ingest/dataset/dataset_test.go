package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestLines covers what separates lines: LF or CRLF, blank lines, a missing
// final newline, a byte order mark. Line numbers count every line.
func TestLines(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		sources  []int // lines the samples come from
		problems []string
	}{
		{name: "LF", input: "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n", sources: []int{1, 2}},
		{name: "CRLF", input: "{\"prompt\": \"a\"}\r\n{\"prompt\": \"b\"}\r\n", sources: []int{1, 2}},
		{name: "no final newline", input: "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}", sources: []int{1, 2}},
		{name: "blank lines count", input: "\n\r\n  \t\n{\"prompt\": \"a\"}\n\n\n{\"prompt\": 1}\n\n", sources: []int{4},
			problems: []string{"7: prompt: must be a string or a list of chat messages, not a number"}},
		{name: "CRLF with a bad line", input: "{\"prompt\": \"a\"}\r\n{\"prompt\": \"x\",}\r\n{\"prompt\": \"b\"}\r\n", sources: []int{1, 3},
			problems: []string{"2: not valid JSON at column 16: invalid character '}' looking for beginning of object key string"}},
		{name: "carriage return inside a string is not a line end", input: "{\"prompt\": \"a\\r\\nb\"}\r\n", sources: []int{1}},
		{name: "empty input", input: ""},
		{name: "only blank lines", input: "\n\n \r\n"},
		{name: "byte order mark", input: "\xef\xbb\xbf{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n", sources: []int{1, 2}},
		{name: "byte order mark before a bad line keeps the column", input: "\xef\xbb\xbf{\"prompt\" 1}\n", problems: []string{
			"1: not valid JSON at column 11: invalid character '1' after object key"}},
		{name: "a byte order mark later is an error", input: "{\"prompt\": \"a\"}\n\xef\xbb\xbf{\"prompt\": \"b\"}\n", sources: []int{1}, problems: []string{
			"2: not valid JSON at column 1: invalid character 'ï' looking for beginning of value"}},
		{name: "leading and trailing spaces", input: "  {\"prompt\": \"a\"}  \n", sources: []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res := read(t, eval.Suite{Name: "s"}, tt.input)
			var sources []int
			for i, s := range got {
				if s.Index != i {
					t.Errorf("sample %d has index %d", i, s.Index)
				}
				n, _ := strconv.Atoi(strings.TrimPrefix(s.Source, file+":"))
				sources = append(sources, n)
			}
			sameJSON(t, "sources", sources, tt.sources)
			var want []string
			for _, p := range tt.problems {
				want = append(want, file+":"+p)
			}
			if want == nil {
				want = []string{}
			}
			sameJSON(t, "problems", problemStrings(res.Problems), want)
		})
	}
	t.Run("CRLF and LF read the same", func(t *testing.T) {
		lf := "{\"id\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n{\"prompt\": \"y\", \"reference\": \"1\"}\n"
		a, _ := read(t, eval.Suite{Name: "s"}, lf)
		b, _ := read(t, eval.Suite{Name: "s"}, strings.ReplaceAll(lf, "\n", "\r\n"))
		sameJSON(t, "samples", b, a)
	})
}

func TestMaxLine(t *testing.T) {
	const limit = 64
	line := func(n int) string { // a valid line of exactly n bytes
		s := `{"prompt": "`
		return s + strings.Repeat("x", n-len(s)-2) + `"}`
	}
	tests := []struct {
		name     string
		input    string
		sources  []int
		problems []string
	}{
		{name: "at the limit", input: line(limit) + "\n" + line(20) + "\n", sources: []int{1, 2}},
		{name: "at the limit with CRLF", input: line(limit) + "\r\n" + line(20) + "\r\n", sources: []int{1, 2}},
		{name: "at the limit, last line", input: line(20) + "\n" + line(limit), sources: []int{1, 2}},
		{name: "one over", input: line(limit+1) + "\n" + line(20) + "\n", sources: []int{2},
			problems: []string{"1: line is longer than 64 bytes: shorten the item or split it"}},
		{name: "one over with CRLF", input: line(20) + "\r\n" + line(limit+1) + "\r\n" + line(21) + "\r\n", sources: []int{1, 3},
			problems: []string{"2: line is longer than 64 bytes: shorten the item or split it"}},
		{name: "far over, across many buffer fills", input: line(20) + "\n" + line(10*limit+7) + "\n" + line(21) + "\n" + line(5000) + "\n" + line(22), sources: []int{1, 3, 5},
			problems: []string{"2: line is longer than 64 bytes: shorten the item or split it", "4: line is longer than 64 bytes: shorten the item or split it"}},
		{name: "far over, last line", input: line(20) + "\n" + line(1000), sources: []int{1},
			problems: []string{"2: line is longer than 64 bytes: shorten the item or split it"}},
		{name: "blank but too long", input: strings.Repeat(" ", 100) + "\n" + line(20), sources: []int{2},
			problems: []string{"1: line is longer than 64 bytes: shorten the item or split it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := NewReader("run1", eval.Suite{Name: "s"}, file)
			rd.MaxLine = limit
			var sources []int
			res, err := rd.Read(strings.NewReader(tt.input), func(s eval.Sample) error {
				n, _ := strconv.Atoi(strings.TrimPrefix(s.Source, file+":"))
				sources = append(sources, n)
				if s.Index != len(sources)-1 {
					t.Errorf("sample from line %d has index %d", n, s.Index)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "sources", sources, tt.sources)
			want := []string{}
			for _, p := range tt.problems {
				want = append(want, file+":"+p)
			}
			sameJSON(t, "problems", problemStrings(res.Problems), want)
		})
	}
}

// repeatReader yields n copies of b, without holding them in memory.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = r.b
	}
	r.n -= k
	return k, nil
}

// TestMaxLineDefault streams a line just over 64 MiB through the default
// limit: it is reported, not kept, and the next line is read.
func TestMaxLineDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB")
	}
	input := io.MultiReader(
		strings.NewReader(`{"prompt": "`),
		&repeatReader{'x', MaxLine},
		strings.NewReader("\"}\n{\"prompt\": \"next\"}\n"),
	)
	rd := NewReader("run1", eval.Suite{Name: "s"}, file)
	var got []eval.Sample
	res, err := rd.Read(input, func(s eval.Sample) error { got = append(got, s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "problems", problemStrings(res.Problems), []string{file + ":1: line is longer than 64 MiB: shorten the item or split it"})
	if len(got) != 1 || got[0].Source != file+":2" || got[0].Index != 0 {
		t.Errorf("got %+v", got)
	}
}

func TestReadLine(t *testing.T) {
	type out struct {
		line    string
		tooLong bool
		eof     bool
	}
	tests := []struct {
		name  string
		input string
		limit int
		want  []out
	}{
		{"LF", "ab\ncd\n", 8, []out{{"ab", false, false}, {"cd", false, false}, {"", false, true}}},
		{"CRLF", "ab\r\ncd\r\n", 8, []out{{"ab", false, false}, {"cd", false, false}, {"", false, true}}},
		{"only one CR is the line end", "ab\r\r\n", 8, []out{{"ab\r", false, false}, {"", false, true}}},
		{"lone CR is content", "a\rb\n", 8, []out{{"a\rb", false, false}, {"", false, true}}},
		{"no final newline", "ab\ncd", 8, []out{{"ab", false, false}, {"cd", false, true}}},
		{"exactly the limit", "12345678\n", 8, []out{{"12345678", false, false}, {"", false, true}}},
		{"exactly the limit with CRLF", "12345678\r\n", 8, []out{{"12345678", false, false}, {"", false, true}}},
		{"one over", "123456789\nab\n", 8, []out{{"", true, false}, {"ab", false, false}, {"", false, true}}},
		{"one over at the end", "123456789", 8, []out{{"", true, true}}},
		{"one over, CR", "123456789\r\n", 8, []out{{"", true, false}, {"", false, true}}},
		{"many buffer fills", strings.Repeat("z", 100) + "\nok\n", 8, []out{{"", true, false}, {"ok", false, false}, {"", false, true}}},
		{"long line under a large limit", strings.Repeat("z", 100) + "\n", 1000, []out{{strings.Repeat("z", 100), false, false}, {"", false, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The smallest bufio buffer (16 bytes), read one byte at a
			// time, so that lines span buffer fills.
			br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tt.input)), 16)
			for i, w := range tt.want {
				line, tooLong, err := ReadLine(br, nil, tt.limit)
				if err != nil && !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				got := out{string(line), tooLong, errors.Is(err, io.EOF)}
				if got != w {
					t.Errorf("line %d: got %+v, want %+v", i+1, got, w)
				}
			}
		})
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int]string{MaxLine: "64 MiB", 1 << 20: "1 MiB", 64: "64 bytes", 3<<20 + 1: "3145729 bytes"} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	t.Run("reading fails", func(t *testing.T) {
		rd := NewReader("run1", eval.Suite{Name: "s"}, file)
		r := io.MultiReader(strings.NewReader("{\"prompt\": \"a\"}\n{\"prompt\": \"a\"}\n"), iotest.ErrReader(errors.New("disk on fire")))
		n := 0
		res, err := rd.Read(r, func(eval.Sample) error { n++; return nil })
		if err == nil || err.Error() != "reading "+file+": disk on fire" {
			t.Errorf("err = %v", err)
		}
		if n != 1 || res.Samples != 1 || len(res.Duplicates) != 1 {
			t.Errorf("emitted %d, result %+v", n, res)
		}
	})
	t.Run("emit fails", func(t *testing.T) {
		rd := NewReader("run1", eval.Suite{Name: "s"}, file)
		boom := errors.New("bus down")
		input := "{\"prompt\": \"a\"}\n{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n{\"prompt\": \"c\"}\n"
		n := 0
		res, err := rd.Read(strings.NewReader(input), func(s eval.Sample) error {
			n++
			if s.Index == 1 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
		if n != 2 || res.Samples != 1 || len(res.Duplicates) != 1 {
			t.Errorf("emitted %d, result %+v", n, res)
		}
	})
}

// FuzzRead: whatever the bytes, reading does not panic; every sample has a
// conversation ending in a non-empty user message and a unique id; and
// each non-blank line is accounted for exactly once, as a sample, a
// dropped duplicate or a problem.
func FuzzRead(f *testing.F) {
	seeds := []string{
		"{\"id\": \"a\", \"prompt\": \"x\", \"reference\": \"1\"}\n{\"prompt\": \"x\"}\n",
		"{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"q\"}]}]}\r\n",
		"{\"prompt\": \"q\", \"choices\": {\"A\": \"x\", \"B\": \"y\"}, \"answer\": \"(B)\"}\n\n{\"prompt\": \"q\", \"choices\": [1, 2], \"answer\": 1}",
		"{\"prompt\": \"q\", \"schema\": {\"type\": \"object\", \"properties\": {\"a\": {\"$ref\": \"#/$defs/x\"}}, \"$defs\": {\"x\": {}}}}\n",
		"{\"prompt\": \"q\", \"schema\": {\"$ref\": \"x.json\"}, \"should_refuse\": true, \"tags\": [\"a\"]}\n",
		"{\"id\": 1, \"prompt\": \"a\"}\n{\"id\": 1.0, \"prompt\": \"b\"}\n{\"id\": \"s-x\", \"prompt\": \"A\"}\n",
		"{\"prompt\": \"x\",}\n\xff\n[]\nnull\n\"s\"\n{\"prompt\": null}\n",
		"\xef\xbb\xbf{\"prompt\": \"ｗｈａｔ\"}\n{\"prompt\": \"WHAT\"}\n",
		"{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\"}]}\n{\"messages\": []}\n{\"messages\": [1]}\n",
		"{\"prompt\": \"" + strings.Repeat("long ", 80) + "\"}\n",
		"\r\n\r\n \n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Add([]byte(seeds[0]), uint8(1))
	f.Add([]byte(seeds[2]), uint8(4))
	metricSets := [][]string{nil, {"em"}, {"num_match"}, {"json_fields"}, {"mc_acc"}, {"json_schema", "safety"}}
	const limit = 256
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		suite := eval.Suite{Name: "fz", Metrics: metricSets[int(which)%len(metricSets)]}
		rd := NewReader("run", suite, "f.jsonl")
		rd.MaxLine = limit
		var samples []eval.Sample
		res, err := rd.Read(bytes.NewReader(data), func(s eval.Sample) error {
			samples = append(samples, s)
			return nil
		})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if res.Samples != len(samples) {
			t.Fatalf("Result.Samples = %d, emitted %d", res.Samples, len(samples))
		}
		// The lines as the reader splits them.
		want := map[int]bool{}
		lines := bytes.Split(data, []byte("\n"))
		for i, l := range lines {
			if i == len(lines)-1 && len(l) == 0 {
				break
			}
			l = bytes.TrimSuffix(l, []byte("\r"))
			if i == 0 {
				l = bytes.TrimPrefix(l, bom)
			}
			if len(l) > limit || len(bytes.TrimSpace(l)) > 0 {
				want[i+1] = true
			}
		}
		got := map[int]string{}
		account := func(line int, what string) {
			if !want[line] {
				t.Errorf("%s on line %d, which is blank or does not exist", what, line)
			}
			if prev, ok := got[line]; ok {
				t.Errorf("line %d counted twice: %s and %s", line, prev, what)
			}
			got[line] = what
		}
		lineOf := func(source string) int {
			n, err := strconv.Atoi(strings.TrimPrefix(source, "f.jsonl:"))
			if err != nil {
				t.Fatalf("source %q", source)
			}
			return n
		}
		ids := map[string]bool{}
		for i, s := range samples {
			account(lineOf(s.Source), "sample")
			if s.Index != i {
				t.Errorf("sample %d has index %d", i, s.Index)
			}
			if s.ID == "" || ids[s.ID] {
				t.Errorf("sample %d: id %q empty or used twice", i, s.ID)
			}
			ids[s.ID] = true
			if len(s.Messages) == 0 {
				t.Fatalf("sample %d has no messages", i)
			}
			last := s.Messages[len(s.Messages)-1]
			if last.Role != "user" || strings.TrimSpace(last.Content) == "" {
				t.Errorf("sample %d ends with %+v", i, last)
			}
			if s.Reference == nil {
				t.Errorf("sample %d has no reference", i)
			}
		}
		for _, d := range res.Duplicates {
			account(lineOf(d.Source), "duplicate")
			if !ids[d.Twin] {
				t.Errorf("duplicate %+v names a twin that was not emitted", d)
			}
		}
		for _, p := range res.Problems {
			account(p.Line, "problem")
			if p.File != "f.jsonl" || p.Msg == "" || strings.Contains(p.Error(), "\n") {
				t.Errorf("problem %q", p.Error())
			}
		}
		if len(got) != len(want) {
			for l := range want {
				if _, ok := got[l]; !ok {
					t.Errorf("line %d was lost: %q", l, lines[l-1])
				}
			}
		}
	})
}

func ExampleReader_Read() {
	input := `{"id": "q1", "prompt": "Capital of France?", "reference": "Paris"}
{"id": "q2", "prompt": "capital of  FRANCE?", "reference": "Paris"}
{"id": "q3", "prompt": 42}
`
	rd := NewReader("demo", eval.Suite{Name: "geo", Metrics: []string{"em"}}, "geo.jsonl")
	res, _ := rd.Read(strings.NewReader(input), func(s eval.Sample) error {
		fmt.Println(s.Index, s.ID, s.Messages[0].Content, s.Reference.Answers)
		return nil
	})
	for _, d := range res.Duplicates {
		fmt.Println("duplicate", d.ID, "of", d.Twin, "at", d.Source)
	}
	for _, p := range res.Problems {
		fmt.Println(p)
	}
	// Output:
	// 0 q1 Capital of France? [Paris]
	// duplicate q2 of q1 at geo.jsonl:2
	// geo.jsonl:3: prompt: must be a string or a list of chat messages, not a number
}
