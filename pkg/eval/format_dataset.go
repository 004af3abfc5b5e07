package eval

import (
	"fmt"
	"path"
	"strings"
)

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
