package eval

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// DatasetPart is one file of a suite read from a directory.
type DatasetPart struct {
	// Path is the file's path as the spec's directory path and the
	// file's name within it ("data/mmlu/astronomy.csv").
	Path   string `json:"path"`
	Object string `json:"object"`
}

// IsDatasetDir reports whether a suite's path names a directory: it ends
// with a slash.
func IsDatasetDir(p string) bool {
	return strings.HasSuffix(p, "/") || strings.HasSuffix(p, string(filepath.Separator))
}

// DatasetFormat is the format a dataset's file name says by its extension:
// jsonl (.jsonl, .ndjson), json (a JSON array, or one object a line),
// csv, tsv (.tsv, .tab) or parquet (.parquet, .pq).
func DatasetFormat(name string) (string, error) {
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	case ".json":
		return "json", nil
	case ".csv":
		return "csv", nil
	case ".tsv", ".tab":
		return "tsv", nil
	case ".parquet", ".pq":
		return "parquet", nil
	default:
		return "", fmt.Errorf("unknown dataset format %q: name the file .jsonl, .json, .csv, .tsv or .parquet", ext)
	}
}
