package offline

import (
	"io"

	"github.com/assay-eval/assay/pkg/gz"
)

// Decompress returns the JSONL that r holds: r itself, or, when it is
// gzip-compressed (it starts as gzip does, whatever its name), its
// decompressed bytes, up to [gz.MaxDecompressed], as ingest and `assay
// contamination` read .jsonl.gz files. A source named .gz that is not gzip
// is refused: reading it as text would score garbage. Errors of the
// compressed data, met at once or while reading, wrap [gz.ErrCompressed]
// and say what to do.
func Decompress(r io.Reader, source string) (io.Reader, error) {
	return decompress(r, source, 0)
}

// decompress is Decompress up to limit bytes (0: the default).
func decompress(r io.Reader, source string, limit int64) (io.Reader, error) {
	return gz.Detect(r, source, limit)
}
