package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/assay-eval/assay/pkg/eval"
)

// runStateDir is where a local run keeps its state unless --data says
// otherwise: one directory per run under the user's cache directory
// (~/.cache/assay/runs/<run> on Linux, honouring XDG_CACHE_HOME), so that
// the same command again, from any directory, resumes it, and nothing is
// written into the project the command runs in. Without a cache directory
// it is .assay/runs/<run> here.
func runStateDir(run string) (string, error) {
	if !eval.ValidName(run) {
		// Validated specs have valid names; a path from anything else
		// could escape the cache directory.
		return "", fmt.Errorf("run %q is not a valid name", run)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(".assay", "runs", run), nil
	}
	return filepath.Join(base, "assay", "runs", run), nil
}
