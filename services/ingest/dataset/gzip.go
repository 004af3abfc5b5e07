package dataset

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// MaxDecompressed is the most a gzip-compressed dataset may decompress
// to by default: a small file that decompresses without end (a
// decompression bomb) fails its suite instead of taking the stage's time.
// It bounds the streamed formats (JSONL, CSV, TSV), which hold nothing of
// what they read, far above any real suite; a format read whole is held
// to [MaxWholeFile] as it is read. [Reader.MaxDecompressed] overrides it.
const MaxDecompressed = 64 << 30

// ErrCompressed is the cause of every failure to decompress a dataset:
// corrupt or cut-short gzip data, or more than [MaxDecompressed] of it.
// The file is the problem, so reading it again cannot help.
var ErrCompressed = errors.New("the gzip-compressed file cannot be read")

// gunzip decompresses r, up to limit bytes.
func (rd *Reader) gunzip(r io.Reader) (io.ReadCloser, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("it is empty")
		}
		return nil, fmt.Errorf("%s: %w: %v: compress it with gzip, or give it uncompressed without .gz", rd.File, ErrCompressed, err)
	}
	limit := rd.MaxDecompressed
	if limit <= 0 {
		limit = MaxDecompressed
	}
	return &gunzipReader{zr: zr, left: limit, limit: limit}, nil
}

// gunzipReader turns gzip's errors into one that says what to do, and
// stops at the decompression limit.
type gunzipReader struct {
	zr          *gzip.Reader
	left, limit int64
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		// One byte more tells a file of exactly limit bytes from a
		// larger one.
		var one [1]byte
		switch n, err := g.zr.Read(one[:]); {
		case n == 0 && errors.Is(err, io.EOF):
			return 0, io.EOF
		case n == 0 && err != nil:
			return 0, g.corrupt(err)
		case n == 0:
			return 0, nil
		}
		return 0, fmt.Errorf("%w: it decompresses to more than %s: split it into smaller files (a suite's path may be a directory of them)",
			ErrCompressed, size(int(g.limit)))
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.zr.Read(p)
	g.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, g.corrupt(err)
	}
	return n, err
}

func (g *gunzipReader) corrupt(err error) error {
	return fmt.Errorf("%w: the compressed data is corrupt or cut short (%v): check the file with gzip -t, or give it uncompressed", ErrCompressed, err)
}

func (g *gunzipReader) Close() error { return g.zr.Close() }
