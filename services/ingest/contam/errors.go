package contam

import "errors"

// ErrNoFiles is returned for a directory without a .jsonl or .txt file.
var ErrNoFiles = errors.New("no .jsonl or .txt files in the directory")

// ErrOptions is wrapped by the errors of options out of range.
var ErrOptions = errors.New("invalid option")
