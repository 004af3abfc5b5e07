package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pqfile "github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/assay-eval/assay/pkg/eval"
)

// Format is a dataset file's format.
type Format string

const (
	// FormatJSONL is one JSON object a line (.jsonl, .ndjson).
	FormatJSONL Format = "jsonl"
	// FormatJSON is a JSON array of objects (.json); a .json file that
	// holds one object a line is read as JSONL.
	FormatJSON Format = "json"
	// FormatCSV and FormatTSV have a header row naming the fields.
	FormatCSV Format = "csv"
	FormatTSV Format = "tsv"
	// FormatParquet is read with Apache Arrow; each row is a record.
	FormatParquet Format = "parquet"
)

// FormatOf is the format a dataset's file name says (see
// [eval.DatasetFormat]).
func FormatOf(name string) (Format, error) {
	f, err := eval.DatasetFormat(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return Format(f), nil
}

// MaxWholeFile is the largest dataset read whole: a JSON array or a
// Parquet file, which cannot be streamed line by line as JSONL is.
const MaxWholeFile = 1 << 30

func (rd *Reader) readWhole(r io.Reader, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxWholeFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rd.File, err)
	}
	if len(data) > MaxWholeFile {
		return nil, fmt.Errorf("%s: a %s is read whole, and this one is larger than %s: convert it to JSONL", rd.File, what, size(MaxWholeFile))
	}
	return data, nil
}

// readJSON reads a JSON array of objects; a problem names the line its
// element starts on.
func (rd *Reader) readJSON(r io.Reader, record func(int, []byte) error, problem func(Problem)) error {
	data, err := rd.readWhole(r, "JSON array")
	if err != nil {
		return err
	}
	data = bytes.TrimPrefix(data, bom)
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil // an empty file: no records, as an empty JSONL file
	}
	if trimmed[0] == '{' {
		// One object a line, named .json.
		return rd.lines(bytes.NewReader(data), record, problem)
	}
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return fmt.Errorf("%s:%d: a .json dataset is an array of objects ([{…}, …]) or one object a line", rd.File, lines.at(int(dec.InputOffset())))
	}
	for dec.More() {
		start := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// The array is broken from here on: nothing after can be
			// found reliably.
			problem(Problem{rd.File, lines.at(start + leadingSpace(data[start:])), "", fmt.Sprintf("not valid JSON: %v: the rest of the file is skipped", err)})
			return nil
		}
		if err := record(lines.at(start+leadingSpace(data[start:])), raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		problem(Problem{rd.File, lines.at(int(dec.InputOffset())), "", fmt.Sprintf("the array does not end: %v", err)})
	}
	return nil
}

// leadingSpace is how many bytes of JSON white space and separating
// commas start b: the decoder's offset is before them.
func leadingSpace(b []byte) int {
	for i, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n', ',':
		default:
			return i
		}
	}
	return len(b)
}

// lineIndex finds the line of a byte offset.
type lineIndex []int

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, c := range data {
		if c == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) at(off int) int {
	lo, hi := 0, len(l)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if l[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

// readCSV reads CSV or TSV with a header row; each record becomes an
// object of its header's fields, values as strings.
func (rd *Reader) readCSV(r io.Reader, format Format, record func(int, []byte) error, problem func(Problem)) error {
	if format == FormatTSV {
		return rd.readTSV(r, record, problem)
	}
	cr := csv.NewReader(bomReader(r))
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s:1: the header row: %v", rd.File, err)
	}
	if err := checkHeader(rd.File, header); err != nil {
		return err
	}
	cr.FieldsPerRecord = len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("reading %s: %w", rd.File, err)
			}
			msg := pe.Err.Error()
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				msg = fmt.Sprintf("has %d fields, the header %d", len(rec), len(header))
			}
			problem(Problem{rd.File, pe.StartLine, "", msg})
			continue
		}
		line, _ := cr.FieldPos(0)
		if err := recordObject(line, header, rec, record); err != nil {
			return err
		}
	}
}

// readTSV reads tab-separated values as IANA's text/tab-separated-values
// defines them: a record a line, fields split at tabs, no quoting (a field
// may begin with a quotation mark), a header row naming the fields.
func (rd *Reader) readTSV(r io.Reader, record func(int, []byte) error, problem func(Problem)) error {
	var header []string
	return rd.lines(r, func(lineNo int, line []byte) error {
		fields := strings.Split(string(line), "\t")
		if header == nil {
			header = fields
			return checkHeader(rd.File, header)
		}
		if len(fields) != len(header) {
			problem(Problem{rd.File, lineNo, "", fmt.Sprintf("has %d fields, the header %d", len(fields), len(header))})
			return nil
		}
		return recordObject(lineNo, header, fields, record)
	}, problem)
}

// recordObject passes a CSV or TSV record on as a JSON object of its
// header's fields.
func recordObject(lineNo int, header, fields []string, record func(int, []byte) error) error {
	obj := make(map[string]string, len(header))
	for i, h := range header {
		obj[h] = fields[i]
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return record(lineNo, raw)
}

// checkHeader names blank columns and refuses a name given twice.
func checkHeader(file string, header []string) error {
	seen := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			h = fmt.Sprintf("column%d", i+1)
		}
		if j, dup := seen[h]; dup {
			return fmt.Errorf("%s:1: the header names %q twice (columns %d and %d): give every column its own name", file, h, j+1, i+1)
		}
		seen[h] = i
		header[i] = h
	}
	return nil
}

// bomReader drops a UTF-8 byte order mark.
func bomReader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, _ := br.Peek(len(bom)); bytes.Equal(b, bom) {
		br.Discard(len(bom))
	}
	return br
}

// readParquet reads every row of a Parquet file; a problem names the row
// (1-based) as its line.
func (rd *Reader) readParquet(r io.Reader, record func(int, []byte) error, problem func(Problem)) (err error) {
	// arrow-go panics on some corrupt files (a slice sized from the
	// file's metadata): a bad upload must fail its suite, not the stage.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: not a readable Parquet file (%v)", rd.File, p)
		}
	}()
	data, err := rd.readWhole(r, "Parquet file")
	if err != nil {
		return err
	}
	pf, err := pqfile.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: not a Parquet file: %v", rd.File, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("%s: %v", rd.File, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %v", rd.File, err)
	}
	defer rr.Release()
	row := 0
	var buf bytes.Buffer
	for rr.Next() {
		buf.Reset()
		if err := array.RecordToJSON(rr.RecordBatch(), &buf); err != nil {
			return fmt.Errorf("%s: row %d: %v", rd.File, row+1, err)
		}
		for line := range bytes.Lines(buf.Bytes()) {
			row++
			if err := record(row, bytes.TrimSuffix(line, []byte("\n"))); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: after row %d: %v", rd.File, row, err)
	}
	return nil
}
