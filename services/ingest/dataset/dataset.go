// Package dataset reads evaluation suites into samples: JSONL with fields
// mapped by gjson paths, stable sample ids, exact-duplicate removal on
// normalised text, and a clear file:line: field error for every line that
// cannot be used, while the rest of the file goes on.
package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/assay-eval/assay/pkg/eval"
)

// DefaultFields is the mapping used where a suite names none: the bundled
// suites and most hand-written business sets use these names.
var DefaultFields = eval.Fields{
	ID:           "id",
	Prompt:       "prompt",
	Messages:     "messages",
	System:       "system",
	Reference:    "reference",
	Choices:      "choices",
	Label:        "answer",
	Schema:       "schema",
	Tags:         "tags",
	ShouldRefuse: "should_refuse",
}

// MaxLine is the longest line read; longer lines are reported and skipped.
const MaxLine = 64 << 20

// Problem is one line that could not be used.
type Problem struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (p Problem) Error() string {
	if p.Field == "" {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Field, p.Msg)
}

// Result summarises a read.
type Result struct {
	Samples    int
	Duplicates []eval.DroppedDuplicate
	Problems   []Problem
}

// Reader reads one suite.
type Reader struct {
	Run    string
	Suite  eval.Suite
	File   string
	fields eval.Fields
	seen   map[string]string // normalised prompt -> id
	ids    map[string]int    // id -> line
	// dropped are the duplicates removed so far.
	dropped []eval.DroppedDuplicate
}

// NewReader returns a reader for suite, naming file in its problems.
func NewReader(run string, suite eval.Suite, file string) *Reader {
	f := suite.Fields
	def := DefaultFields
	fill := func(dst *string, d string) {
		if *dst == "" {
			*dst = d
		}
	}
	fill(&f.ID, def.ID)
	fill(&f.Prompt, def.Prompt)
	fill(&f.Messages, def.Messages)
	fill(&f.System, def.System)
	fill(&f.Reference, def.Reference)
	fill(&f.Choices, def.Choices)
	fill(&f.Label, def.Label)
	fill(&f.Schema, def.Schema)
	fill(&f.Tags, def.Tags)
	fill(&f.ShouldRefuse, def.ShouldRefuse)
	return &Reader{Run: run, Suite: suite, File: file, fields: f, seen: map[string]string{}, ids: map[string]int{}}
}

// Read reads JSONL from r and calls emit for each sample, in file order,
// with its index among the samples kept. Lines that cannot be used are
// collected as problems; an error is returned only when reading fails or
// emit does.
func (rd *Reader) Read(r io.Reader, emit func(eval.Sample) error) (Result, error) {
	var res Result
	br := bufio.NewReaderSize(r, 1<<20)
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return res, fmt.Errorf("reading %s: %w", rd.File, err)
		}
		last := errors.Is(err, io.EOF)
		switch {
		case tooLong:
			res.Problems = append(res.Problems, Problem{rd.File, lineNo, "", fmt.Sprintf("line is longer than %d MiB", MaxLine>>20)})
		case len(bytes.TrimSpace(line)) > 0:
			s, p := rd.sample(line, lineNo)
			switch {
			case p != nil:
				res.Problems = append(res.Problems, *p)
			case s == nil:
				// a duplicate, recorded by sample
			default:
				s.Index = res.Samples
				if err := emit(*s); err != nil {
					return res, err
				}
				res.Samples++
			}
		}
		if last {
			break
		}
	}
	res.Duplicates = rd.dropped
	return res, nil
}

// readLine returns the next line without its newline; a line over MaxLine
// is consumed and reported as too long.
func readLine(br *bufio.Reader) ([]byte, bool, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxLine {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(buf, "\r\n"), tooLong, err
	}
}
