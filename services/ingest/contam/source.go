package contam

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultFields are the fields a line's text is looked for in, in this
// order, when [Source.Field] is empty: pretraining corpora use "text",
// eval suites "prompt" or "question", chat data "messages".
var DefaultFields = []string{"text", "prompt", "question", "content", "messages.#.content"}

// Source is a set of documents: a JSONL file (one document a line), a text
// file ending in .txt (one document), a directory holding such files
// (*.jsonl and *.txt, found recursively in lexical order; hidden files and
// directories are skipped), or "-" for JSONL on Stdin. A name ending in .gz
// is gunzipped first ("train.jsonl.gz").
//
// A line's id is its IDField when that is a string or a number, else
// FILE:LINE; a text file's id is its path. A line that is not a JSON
// object, has no text or is longer than MaxLine is a problem: reported as
// FILE:LINE and skipped, while the rest is read.
type Source struct {
	Path string
	// Field is the gjson path of the text (a string, or an array of strings
	// joined by newlines, such as "messages.#.content"); empty tries
	// [DefaultFields].
	Field string
	// IDField is the gjson path of the id; empty means "id".
	IDField string
	// Stdin is read for the path "-".
	Stdin io.Reader
	// MaxLine is the longest line (and text file) read; 0 means
	// [dataset.MaxLine].
	MaxLine int
	// Files and Open, when Open is set, replace Path: the files are
	// named by Files (.jsonl, .txt, optionally .gz) and opened by Open,
	// from an object store, say.
	Files []string
	Open  func(name string) (io.ReadCloser, error)
}

// Doc is a text to check, or to check against.
type Doc struct {
	ID   string
	Text string
	// numericID records that the id was a JSON number, so that results
	// give it back as one.
	numericID bool
}

// file is one file of a source.
type file struct {
	path string // to open; "-" for stdin
	name string // in problems and ids
	// whole: a text file, one document; else JSONL.
	whole bool
	gz    bool
}

// files lists the source's files.
func (s *Source) files() ([]file, error) {
	if s.Open != nil {
		out := make([]file, len(s.Files))
		for i, name := range s.Files {
			out[i] = kind(name)
			out[i].path, out[i].name = name, name
		}
		if len(out) == 0 {
			return nil, ErrNoFiles
		}
		return out, nil
	}
	if s.Path == "-" {
		return []file{{path: "-", name: "stdin"}}, nil
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		f := kind(s.Path)
		f.path, f.name = s.Path, s.Path
		return []file{f}, nil
	}
	var out []file
	err = filepath.WalkDir(s.Path, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != s.Path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if f := kind(path); f.whole || strings.HasSuffix(strings.TrimSuffix(path, ".gz"), ".jsonl") {
			f.path, f.name = path, path
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", s.Path, ErrNoFiles)
	}
	return out, nil
}

// kind tells a text file from JSONL by its name.
func kind(path string) file {
	gz := strings.HasSuffix(path, ".gz")
	return file{gz: gz, whole: strings.HasSuffix(strings.TrimSuffix(path, ".gz"), ".txt")}
}

// ReadAll reads every document of the source, in input order: how the eval
// items are read, which are few enough to hold.
func (s *Source) ReadAll(ctx context.Context) ([]Doc, Stats, error) {
	free, out := make(chan *batch, 2), make(chan *batch, 1)
	free <- &batch{}
	free <- &batch{}
	type done struct {
		files int
		err   error
	}
	end := make(chan done, 1)
	go func() {
		n, err := s.read(ctx, free, out)
		end <- done{n, err}
	}()
	var docs []Doc
	var t tally
	for b := range out {
		for i, rec := range b.recs {
			text, p := s.text(b, i)
			if p != nil {
				t.fail(*p)
				continue
			}
			id, numeric := s.id(b, i)
			docs = append(docs, Doc{ID: id, Text: text, numericID: numeric})
			t.doc(rec.end - rec.start)
		}
		free <- b
	}
	d := <-end
	if d.err != nil {
		return nil, stats(d.files, &t), d.err
	}
	return docs, stats(d.files, &t), nil
}
