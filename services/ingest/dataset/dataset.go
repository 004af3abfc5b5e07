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
	"github.com/assay-eval/assay/pkg/gz"
)

// DefaultFields is the mapping used where a suite names none: the bundled
// suites and most hand-written business sets use these names.
var DefaultFields = eval.Fields{
	ID:            "id",
	Prompt:        "prompt",
	Messages:      "messages",
	System:        "system",
	Reference:     "reference",
	Choices:       "choices",
	Label:         "answer",
	Schema:        "schema",
	Tags:          "tags",
	ShouldRefuse:  "should_refuse",
	ShouldAbstain: "should_abstain",
	Test:          "test",
	EntryPoint:    "entry_point",
	Setup:         "setup",
}

// MaxLine is the longest line read by default, not counting its line
// ending; longer lines are reported and skipped. [Reader.MaxLine] overrides
// it.
const MaxLine = 64 << 20

// bom is the UTF-8 byte order mark some editors put at the start of a file.
var bom = []byte("\xef\xbb\xbf")

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
	Run   string
	Suite eval.Suite
	File  string
	// MaxLine is the longest line read; 0 means [MaxLine].
	MaxLine int
	// MaxDecompressed bounds what a gzip-compressed file decompresses
	// to; 0 means [MaxDecompressed].
	MaxDecompressed int64
	fields          eval.Fields
	// template builds the prompt, when the suite or its preset has one.
	template []eval.TemplatePart
	// turnRefs is where a multi-turn question's per-turn references are
	// (the preset's), or "".
	turnRefs string
	// next is the index of the next sample kept, across the files of a
	// suite read from a directory.
	next int
	// lastAnswer is the final assistant turn of the record being read, a
	// recorded conversation's reference.
	lastAnswer string
	// kept finds a kept sample by a hash of its normalised text (the
	// text itself would make ingest's memory grow with prompt length) or
	// by its id.
	kept *kept
	// dropped are the duplicates removed so far.
	dropped []eval.DroppedDuplicate
}

// NewReader returns a reader for suite, naming file in its problems.
func NewReader(run string, suite eval.Suite, file string) *Reader {
	f, tmpl, turnRefs := withPreset(suite)
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
	fill(&f.ShouldAbstain, def.ShouldAbstain)
	fill(&f.Test, def.Test)
	fill(&f.EntryPoint, def.EntryPoint)
	fill(&f.Setup, def.Setup)
	// The spec was validated, so the template parses.
	parts, _ := eval.ParsePromptTemplate(tmpl)
	return &Reader{Run: run, Suite: suite, File: file, fields: f, template: parts, turnRefs: turnRefs, kept: newKept()}
}

// ReadFile reads one more file of the suite (a suite read from a
// directory): ids stay unique, duplicates are found, and indexes go on
// across its files. The Result is this file's, with every duplicate so
// far.
func (rd *Reader) ReadFile(file string, r io.Reader, emit func(eval.Sample) error) (Result, error) {
	rd.File = file
	return rd.Read(r, emit)
}

// Read reads the suite's file from r, in the format its name says (see
// [FormatOf]; decompressed as it is read when the name ends in .gz), and
// calls emit for each sample, in file order, with its index among the
// samples kept. Records that cannot be used are collected as problems; an
// error is returned only when reading fails or emit does.
func (rd *Reader) Read(r io.Reader, emit func(eval.Sample) error) (res Result, err error) {
	defer func() { res.Duplicates = rd.dropped }()
	format, err := FormatOf(rd.File)
	if err != nil {
		return res, err
	}
	if eval.DatasetGzipped(rd.File) {
		zr, err := rd.gunzip(r)
		if err != nil {
			return res, err
		}
		defer zr.Close()
		r = zr
	}
	record := func(n int, raw []byte) error {
		s, p := rd.sample(raw, n)
		switch {
		case p != nil:
			res.Problems = append(res.Problems, *p)
		case s == nil:
			// a duplicate, recorded by sample
		default:
			s.Index = rd.next
			rd.next++
			if err := emit(*s); err != nil {
				return err
			}
			res.Samples++
		}
		return nil
	}
	problem := func(p Problem) { res.Problems = append(res.Problems, p) }
	switch format {
	case FormatJSON:
		err = rd.readJSON(r, record, problem)
	case FormatCSV, FormatTSV:
		err = rd.readCSV(r, format, record, problem)
	case FormatParquet:
		err = rd.readParquet(r, record, problem)
	default:
		err = rd.lines(r, record, problem) // JSONL: a record a line
	}
	return res, err
}

// lines calls fn with each non-blank line of r and its number, a byte
// order mark dropped; a line longer than the limit is a problem.
func (rd *Reader) lines(r io.Reader, fn func(int, []byte) error, problem func(Problem)) error {
	limit := rd.MaxLine
	if limit <= 0 {
		limit = MaxLine
	}
	br := bufio.NewReaderSize(r, min(limit+2, 1<<20))
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := ReadLine(br, nil, limit)
		if errors.Is(err, gz.ErrCompressed) {
			return fmt.Errorf("reading %s at line %d: %w", rd.File, lineNo, err)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", rd.File, err)
		}
		last := errors.Is(err, io.EOF)
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, bom)
		}
		switch {
		case tooLong:
			problem(Problem{rd.File, lineNo, "", fmt.Sprintf("line is longer than %s: shorten the item or split it", size(limit))})
		case len(bytes.TrimSpace(line)) > 0:
			if err := fn(lineNo, line); err != nil {
				return err
			}
		}
		if last {
			return nil
		}
	}
}

// ReadLine appends the next line to buf, without its line ending (LF or
// CRLF). A line longer than limit is consumed without being kept and
// reported as too long.
func ReadLine(br *bufio.Reader, buf []byte, limit int) ([]byte, bool, error) {
	start := len(buf)
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			// limit+2 leaves room for a CRLF, which does not count.
			if len(buf)-start+len(chunk) > limit+2 {
				tooLong, buf = true, buf[:start]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			return buf, true, err
		}
		line := bytes.TrimSuffix(bytes.TrimSuffix(buf[start:], []byte("\n")), []byte("\r"))
		if len(line) > limit {
			return buf[:start], true, err
		}
		return buf[:start+len(line)], false, err
	}
}

// size writes a byte count the way a person would.
func size(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
