package gz

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxDecompressed is the most a file may decompress to when the caller
// sets no limit: far above any real dataset or corpus file, which is
// streamed rather than held, and still an end to a decompression bomb.
const MaxDecompressed = 64 << 30

// magic opens every gzip stream (RFC 1952); no text file starts with it,
// as 0x1f is a control character.
const magic = "\x1f\x8b"

// NewReader decompresses r, every member of it, up to limit bytes (0 or
// less means [MaxDecompressed]); name is the file errors name. Its caller
// has decided r is gzip (by its name): data that is not, or is empty, is
// refused at once. Errors met while reading wrap [ErrCompressed] too.
// Close releases the decompressor, not r.
func NewReader(r io.Reader, name string, limit int64) (io.ReadCloser, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	head, err := br.Peek(len(magic))
	switch {
	case len(head) == 0 && errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%s: %w: it is empty: compress it with gzip, or give it uncompressed without .gz", name, ErrCompressed)
	case err != nil && !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("reading %s: %w", name, err)
	case string(head) != magic:
		return nil, fmt.Errorf("%s: %w: it is not gzip-compressed: compress it with gzip, or give it uncompressed without .gz", name, ErrCompressed)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, corrupt(err))
	}
	if limit <= 0 {
		limit = MaxDecompressed
	}
	return &reader{zr: zr, left: limit, limit: limit}, nil
}

// Detect returns what r holds: decompressed, as [NewReader] does, when it
// starts as gzip does, whatever its name (stdin, "-"); r itself, buffered,
// otherwise. A name ending in .gz (any case) must be gzip: reading it as
// text would read garbage.
func Detect(r io.Reader, name string, limit int64) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(len(magic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if string(head) == magic || strings.HasSuffix(strings.ToLower(name), ".gz") {
		return NewReader(br, name, limit)
	}
	return io.NopCloser(br), nil
}

// reader turns gzip's errors into one that says what to do, and stops at
// the limit.
type reader struct {
	zr          *gzip.Reader
	left, limit int64
}

func (g *reader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		// One byte more tells a file of exactly limit bytes from a
		// larger one.
		var one [1]byte
		switch n, err := g.zr.Read(one[:]); {
		case n == 0 && errors.Is(err, io.EOF):
			return 0, io.EOF
		case n == 0 && err != nil:
			return 0, corrupt(err)
		case n == 0:
			return 0, nil
		}
		return 0, fmt.Errorf("%w: it decompresses to more than %s: split it into smaller files", ErrCompressed, size(g.limit))
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.zr.Read(p)
	g.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, corrupt(err)
	}
	return n, err
}

func (g *reader) Close() error { return g.zr.Close() }

func corrupt(err error) error {
	if errors.Is(err, io.EOF) {
		// The header itself was cut short.
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: the compressed data is corrupt or cut short (%v): check the file with gzip -t, or give it uncompressed", ErrCompressed, err)
}

// size writes a byte count the way a person would.
func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
