package gz

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/gz/gztest"
)

// readAll reads data named name as Detect does, with limit.
func readAll(data []byte, name string, limit int64) ([]byte, error) {
	r, err := Detect(bytes.NewReader(data), name, limit)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestDetect(t *testing.T) {
	plain := []byte(strings.Repeat(`{"prompt": "a question", "reference": "r"}`+"\n", 200))
	gz := gztest.Gzipped(t, plain)
	twice := append(gztest.Gzipped(t, plain[:100]), gztest.Gzipped(t, plain[100:])...)
	for _, c := range []struct {
		name, file string
		data       []byte
		limit      int64
		want       string // an error's text; "" for plain
	}{
		{"plain", "qa.jsonl", plain, 0, ""},
		{"gzip by name", "qa.jsonl.gz", gz, 0, ""},
		{"gzip whatever its name", "-", gz, 0, ""},
		{"upper-case extension", "QA.JSONL.GZ", gz, 0, ""},
		{"concatenated members", "qa.jsonl.gz", twice, 0, ""},
		{"exactly at the limit", "qa.jsonl.gz", gz, int64(len(plain)), ""},
		{"a bomb", "qa.jsonl.gz", gz, 4096, "the gzip-compressed file cannot be read: it decompresses to more than 4096 bytes: split it into smaller files"},
		{"one byte over", "qa.jsonl.gz", gz, int64(len(plain)) - 1, "it decompresses to more than"},
		{"named .gz, not gzip", "qa.jsonl.gz", plain, 0, "qa.jsonl.gz: the gzip-compressed file cannot be read: it is not gzip-compressed: compress it with gzip"},
		{"empty .gz", "qa.jsonl.gz", nil, 0, "qa.jsonl.gz: the gzip-compressed file cannot be read: it is empty"},
		{"truncated", "qa.jsonl.gz", gz[:len(gz)/2], 0, "the compressed data is corrupt or cut short (unexpected EOF): check the file with gzip -t"},
		{"header only", "-", gz[:5], 0, "-: the gzip-compressed file cannot be read: the compressed data is corrupt or cut short (unexpected EOF)"},
		{"checksum", "qa.jsonl.gz", append(slices.Clone(gz[:len(gz)-8]), 0, 0, 0, 0, 0, 0, 0, 0), 0, "corrupt or cut short (gzip: invalid checksum)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(c.data, c.file, c.limit)
			if c.want == "" {
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("read %d bytes, %v; want the %d plain ones", len(got), err, len(plain))
				}
				return
			}
			if !errors.Is(err, ErrCompressed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q (ErrCompressed)", err, c.want)
			}
		})
	}
}

// FuzzDetect: any bytes under any name and limit: no panic; a failure
// wraps ErrCompressed; gzip data reads back whole within the limit and
// fails beyond it.
func FuzzDetect(f *testing.F) {
	f.Add([]byte(`{"id": 1}`+"\n"), "in.jsonl", int64(0))
	f.Add([]byte("\x1f\x8b\x08\x00"), "in.jsonl.gz", int64(10))
	f.Add([]byte("\x1f"), "-", int64(1))
	f.Add([]byte{}, "x.gz", int64(0))
	f.Fuzz(func(t *testing.T, data []byte, name string, limit int64) {
		limit %= 1 << 20
		if got, err := readAll(data, name, limit); err != nil && !errors.Is(err, ErrCompressed) {
			t.Fatalf("error %v does not wrap ErrCompressed", err)
		} else if err == nil && !bytes.HasPrefix(data, []byte(magic)) && !bytes.Equal(got, data) {
			t.Fatalf("plain data read as %q, want %q", got, data)
		}
		got, err := readAll(gztest.Gzipped(t, data), name, limit)
		switch {
		case limit > 0 && int64(len(data)) > limit:
			if !errors.Is(err, ErrCompressed) || !strings.Contains(err.Error(), "decompresses to more than") {
				t.Fatalf("%d bytes over a limit of %d: %v", len(data), limit, err)
			}
		case err != nil || !bytes.Equal(got, data):
			t.Fatalf("gzipped: read %q, %v; want %q", got, err, data)
		}
	})
}
