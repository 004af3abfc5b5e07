package offline

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrCompressed is the cause of every failure to decompress an input:
// corrupt or cut-short gzip data, or a file named .gz that is not gzip.
var ErrCompressed = errors.New("the gzip-compressed input cannot be read")

// gzipMagic opens every gzip stream (RFC 1952); no JSONL line can start
// with it, as 0x1f is not JSON.
const gzipMagic = "\x1f\x8b"

// Decompress returns the JSONL that r holds: r itself, or, when it is
// gzip-compressed (it starts as gzip does, whatever its name), its
// decompressed bytes, as ingest and `assay contamination` read
// .jsonl.gz files. A source named .gz that is not gzip is refused:
// reading it as text would score garbage. Errors of the compressed data
// met while reading wrap [ErrCompressed] and say what to do.
func Decompress(r io.Reader, source string) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(len(gzipMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %s: %w", source, err)
	}
	gz := string(head) == gzipMagic
	if !gz {
		if strings.HasSuffix(strings.ToLower(source), ".gz") {
			return nil, fmt.Errorf("%s: %w: it is named .gz but is not gzip-compressed: compress it with gzip, or give it without .gz", source, ErrCompressed)
		}
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", source, ErrCompressed, corrupt(err))
	}
	return &gunzipReader{zr: zr}, nil
}

// gunzipReader says what to do about corrupt data.
type gunzipReader struct{ zr *gzip.Reader }

func (g *gunzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%w: %w", ErrCompressed, corrupt(err))
	}
	return n, err
}

func corrupt(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("the compressed data is corrupt or cut short (%v): check the file with gzip -t, or give it uncompressed", err)
}
