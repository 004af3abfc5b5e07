package contam

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/assay-eval/assay/pkg/gz"
	"github.com/assay-eval/assay/services/ingest/dataset"
)

// batchBytes is about how much text a batch carries from the reader to the
// workers: enough that passing it costs nothing next to checking it, small
// enough that the batches in flight take little memory.
const batchBytes = 1 << 20

// batch carries records of one file from the reader to a worker.
type batch struct {
	f    *file
	ord  int64 // the first record's place among all records
	buf  []byte
	recs []record
}

// record is a line of JSONL or a whole text file.
type record struct {
	line    int // 1 for a text file
	start   int // its bytes are buf[start:end]
	end     int
	tooLong bool
}

func (b *batch) bytes(i int) []byte { return b.buf[b.recs[i].start:b.recs[i].end] }

// read sends the source's records, in batches taken from free, to out, and
// closes out when done. It returns the number of files read.
func (s *Source) read(ctx context.Context, free chan *batch, out chan<- *batch) (int, error) {
	defer close(out)
	files, err := s.files()
	if err != nil {
		return 0, err
	}
	limit := s.MaxLine
	if limit <= 0 {
		limit = dataset.MaxLine
	}
	var ord int64
	for i := range files {
		if err := s.readFile(ctx, &files[i], limit, &ord, free, out); err != nil {
			return i, err
		}
	}
	return len(files), nil
}

func (s *Source) readFile(ctx context.Context, f *file, limit int, ord *int64, free chan *batch, out chan<- *batch) error {
	var r io.Reader
	switch {
	case s.Open != nil:
		rc, err := s.Open(f.path)
		if err != nil {
			return err
		}
		defer rc.Close()
		r = rc
	case f.path == "-":
		if s.Stdin == nil {
			return errors.New("reading stdin: no stdin")
		}
		r = s.Stdin
	default:
		fh, err := os.Open(f.path)
		if err != nil {
			return err
		}
		defer fh.Close()
		r = fh
	}
	if f.gz {
		zr, err := gz.NewReader(r, f.name, 0)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	var b *batch
	take := func() error {
		select {
		case b = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		b.f, b.ord, b.buf, b.recs = f, *ord, b.buf[:0], b.recs[:0]
		return nil
	}
	send := func() error {
		select {
		case out <- b:
			b = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := take(); err != nil {
		return err
	}
	if f.whole {
		data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.name, err)
		}
		rec := record{line: 1, tooLong: len(data) > limit}
		if !rec.tooLong {
			b.buf = append(b.buf, data...)
			rec.end = len(data)
		}
		b.recs = append(b.recs, rec)
		*ord++
		return send()
	}
	br := bufio.NewReaderSize(r, 1<<16)
	for lineNo := 1; ; lineNo++ {
		start := len(b.buf)
		var tooLong bool
		var err error
		b.buf, tooLong, err = dataset.ReadLine(br, b.buf, limit)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", f.name, err)
		}
		if lineNo == 1 {
			if rest := bytes.TrimPrefix(b.buf[start:], bom); len(rest) < len(b.buf)-start {
				b.buf = append(b.buf[:start], rest...)
			}
		}
		if tooLong || len(bytes.TrimSpace(b.buf[start:])) > 0 {
			b.recs = append(b.recs, record{line: lineNo, start: start, end: len(b.buf), tooLong: tooLong})
			*ord++
		} else {
			b.buf = b.buf[:start]
		}
		last := errors.Is(err, io.EOF)
		if len(b.recs) > 0 && (last || len(b.buf) >= batchBytes) {
			if err := send(); err != nil {
				return err
			}
			if !last {
				if err := take(); err != nil {
					return err
				}
			}
		}
		if last {
			if b != nil { // an empty file, or blank lines at its end
				free <- b
			}
			return nil
		}
	}
}

// bom is the UTF-8 byte order mark some editors put at the start of a file.
var bom = []byte("\xef\xbb\xbf")
