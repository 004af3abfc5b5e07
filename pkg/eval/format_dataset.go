package eval

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// ContaminationCheck checks the run's samples against training data as
// ingest reads them (see services/ingest/contam): a contaminated sample is
// flagged, not dropped, and the report gives its metrics with and without
// the flagged samples.
type ContaminationCheck struct {
	// Train is the training data: a JSONL or .txt file (.gz too), or a
	// directory of them (ending in /), relative to the spec file.
	Train string `yaml:"train" json:"train"`
	// Field and ID are gjson paths of a training document's text and id.
	Field string `yaml:"field" json:"field,omitempty"`
	ID    string `yaml:"id" json:"id,omitempty"`
	// NGram and Threshold tune the check (0: its defaults, 6 and 0.5).
	NGram     int     `yaml:"ngram" json:"ngram,omitempty"`
	Threshold float64 `yaml:"threshold" json:"threshold,omitempty"`
	// File is Train resolved on the client; Parts are its uploaded files.
	File  string        `yaml:"-" json:"-"`
	Parts []DatasetPart `yaml:"-" json:"parts,omitempty"`
}

// TrainingFile reports whether a file name is one a contamination check
// reads: JSONL or text, optionally gzipped.
func TrainingFile(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".gz")
	return strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".txt")
}

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
// csv, tsv (.tsv, .tab) or parquet (.parquet, .pq). A gzip-compressed
// file (see [DatasetGzipped]) is named for the format inside and .gz:
// data.jsonl.gz.
func DatasetFormat(name string) (string, error) {
	lower := strings.ToLower(name)
	inner, gz := strings.CutSuffix(lower, ".gz")
	switch ext := path.Ext(inner); ext {
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	case ".json":
		return "json", nil
	case ".csv":
		return "csv", nil
	case ".tsv", ".tab":
		return "tsv", nil
	case ".parquet", ".pq":
		if gz {
			return "", fmt.Errorf("%q: a Parquet file is compressed inside already: give it without .gz", path.Base(name))
		}
		return "parquet", nil
	default:
		if gz {
			return "", fmt.Errorf("unknown dataset format %q: name a compressed file for its format and .gz (.jsonl.gz, .json.gz, .csv.gz, .tsv.gz)", ext+".gz")
		}
		return "", fmt.Errorf("unknown dataset format %q: name the file .jsonl, .json, .csv, .tsv or .parquet (or any of them but Parquet with .gz)", ext)
	}
}

// DatasetGzipped reports whether a dataset's file name says it is
// gzip-compressed: it ends in .gz.
func DatasetGzipped(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".gz")
}
