package offline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/gz"
	"github.com/assay-eval/assay/pkg/gz/gztest"
	"github.com/assay-eval/assay/services/score/metric"
)

// scoreFile scores data as the command does a file named source.
func scoreFile(t testing.TB, data []byte, source string, opt Options) (string, *Summary, error) {
	t.Helper()
	in, err := Decompress(bytes.NewReader(data), source)
	if err != nil {
		return "", nil, err
	}
	opt.Source = source
	var out bytes.Buffer
	sum, err := Score(context.Background(), in, &out, opt, nil)
	return out.String(), sum, err
}

func TestScoreReadsGzip(t *testing.T) {
	plain := []byte(`{"id": 1, "output": "The cat sat on the mat.", "reference": "The cat is on the mat."}
{"id": 2, "output": "Paris", "reference": "Paris"}
`)
	opt := Options{Metrics: []string{"bleu", "em"}}
	want, _, err := scoreFile(t, plain, "in.jsonl", opt)
	if err != nil || strings.Count(want, "\n") != 2 {
		t.Fatalf("plain input: %q, %v", want, err)
	}
	zipped := gztest.Gzipped(t, plain)
	// Two gzip members, as `cat a.gz b.gz` makes.
	twice := append(gztest.Gzipped(t, plain[:len(plain)/2]), gztest.Gzipped(t, plain[len(plain)/2:])...)
	for _, tc := range []struct {
		name, source string
		data         []byte
		err          string // "" for the plain input's scores
	}{
		{"jsonl.gz", "in.jsonl.gz", zipped, ""},
		{"gzip on stdin", "-", zipped, ""},
		{"gzip whatever its name", "in.jsonl", zipped, ""},
		{"concatenated members", "in.jsonl.gz", twice, ""},
		{"upper-case extension", "IN.JSONL.GZ", zipped, ""},
		{"named .gz, not gzip", "in.jsonl.gz", plain, "in.jsonl.gz: the gzip-compressed file cannot be read: it is not gzip-compressed"},
		{"empty .gz", "in.jsonl.gz", nil, "in.jsonl.gz: the gzip-compressed file cannot be read: it is empty"},
		{"cut short", "in.jsonl.gz", zipped[:len(zipped)-10], "the compressed data is corrupt or cut short"},
		{"header only", "in.jsonl.gz", zipped[:5], "the compressed data is corrupt or cut short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := scoreFile(t, tc.data, tc.source, opt)
			if tc.err == "" {
				if err != nil || got != want {
					t.Fatalf("scores %q, %v; want %q", got, err, want)
				}
				return
			}
			if !errors.Is(err, gz.ErrCompressed) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q (gz.ErrCompressed)", err, tc.err)
			}
		})
	}
}

// TestScoreRefusesBomb: an input that decompresses past the limit fails
// with what to do, rather than being read without end.
func TestScoreRefusesBomb(t *testing.T) {
	line := []byte(`{"id": 1, "output": "Paris", "reference": "Paris"}` + "\n")
	data := gztest.Gzipped(t, bytes.Repeat(line, 1000))
	in, err := decompress(bytes.NewReader(data), "in.jsonl.gz", 4096)
	if err == nil {
		_, err = Score(t.Context(), in, io.Discard, Options{Metrics: []string{"em"}, Workers: 1}, nil)
	}
	if !errors.Is(err, gz.ErrCompressed) || !strings.Contains(err.Error(), "decompresses to more than 4096 bytes: split it into smaller files") {
		t.Fatalf("err %v, want the limit's (gz.ErrCompressed)", err)
	}
}

// TestScoreSplitsReasoning: an output's reasoning is split off as the
// pipeline's client does, and the answer is otherwise scored byte for
// byte (a HumanEval completion's indentation is code).
func TestScoreSplitsReasoning(t *testing.T) {
	const solution = "    return a + b\n"
	// The runner passes exactly the bare solution.
	run := func(_ context.Context, answer string, _ *eval.CodeTest) (metric.CodeOutcome, error) {
		return metric.CodeOutcome{Passed: answer == solution}, nil
	}
	for _, tc := range []struct {
		name, line string
		metric     string
		want       float64
	}{
		{"bare", `{"id": 1, "output": "    return a + b\n", "test": "def check(c): pass", "entry_point": "add"}`, "pass@1", 1},
		{"think block", `{"id": 1, "output": "<think>x</think>\n    return a + b\n", "test": "def check(c): pass", "entry_point": "add"}`, "pass@1", 1},
		{"think in outputs", `{"id": 1, "outputs": ["<think>\nadd them\n</think>\n\n    return a + b\n", "    return a + b\n"], "test": "def check(c): pass", "entry_point": "add"}`, "pass@1", 1},
		{"trace begun in the prompt", `{"id": 1, "output": "add them</think>\n    return a + b\n", "test": "def check(c): pass", "entry_point": "add"}`, "pass@1", 1},
		{"trace cut off: no answer", `{"id": 1, "output": "<think>add them", "test": "def check(c): pass", "entry_point": "add"}`, "pass@1", 0},
		{"indentation is kept", `{"id": 1, "output": "return a + b\n", "test": "def check(c): pass", "entry_point": "add"}`, "pass@1", 0},
		{"exact match", `{"id": 1, "output": "<think>The capital…</think>Paris", "reference": "Paris"}`, "em", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Score(t.Context(), strings.NewReader(tc.line), &out, Options{Metrics: []string{tc.metric}, Code: run, Workers: 1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeOutput(t, out.Bytes()); len(got) != 1 || got[0].Scores[tc.metric] != tc.want {
				t.Fatalf("%s: %+v, want %v", tc.metric, got, tc.want)
			}
		})
	}
}

// FuzzDecompress: any bytes, as they are and gzipped, under any name: no
// panic, and a gzipped input scores as the input itself does.
func FuzzDecompress(f *testing.F) {
	f.Add([]byte(`{"id": 1, "output": "a", "reference": "a"}`+"\n"), "in.jsonl")
	f.Add([]byte("\x1f\x8b\x08\x00"), "in.jsonl.gz")
	f.Add([]byte("\x1f"), "-")
	f.Add([]byte{}, "x.gz")
	f.Fuzz(func(t *testing.T, data []byte, source string) {
		opt := Options{Metrics: []string{"em", "length"}, Workers: 1}
		if in, err := Decompress(bytes.NewReader(data), source); err == nil {
			_, _ = Score(context.Background(), in, io.Discard, opt, nil)
		} else if !errors.Is(err, gz.ErrCompressed) {
			t.Fatalf("error %v does not wrap gz.ErrCompressed", err)
		}
		if bytes.HasPrefix(data, []byte("\x1f\x8b")) || strings.HasSuffix(strings.ToLower(source), ".gz") {
			return
		}
		want, wsum, werr := scoreFile(t, data, source, opt)
		got, gsum, gerr := scoreFile(t, gztest.Gzipped(t, data), source+".gz", opt)
		if got != want || (werr == nil) != (gerr == nil) || (wsum != nil && gsum != nil && (wsum.N != gsum.N || wsum.Failed != gsum.Failed)) {
			t.Fatalf("gzipped: %q, %v; plain: %q, %v", got, gerr, want, werr)
		}
	})
}
