package dataset

import (
	"io"

	"github.com/assay-eval/assay/pkg/gz"
)

// MaxDecompressed is the most a gzip-compressed dataset may decompress
// to by default: a small file that decompresses without end (a
// decompression bomb) fails its suite instead of taking the stage's time.
// It bounds the streamed formats (JSONL, CSV, TSV), which hold nothing of
// what they read, far above any real suite; a format read whole is held
// to [MaxWholeFile] as it is read. [Reader.MaxDecompressed] overrides it.
const MaxDecompressed = gz.MaxDecompressed

// gunzip decompresses r, up to the reader's limit.
func (rd *Reader) gunzip(r io.Reader) (io.ReadCloser, error) {
	return gz.NewReader(r, rd.File, rd.MaxDecompressed)
}
