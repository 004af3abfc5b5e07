package llm

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// namedSecret is one named API key of the server's endpoint configuration. A
// file's value is read again when the file changes: Kubernetes rotates a
// mounted secret by pointing a symlink at a new file, which os.Stat
// follows, so a new inode, size or time means a new value.
type namedSecret struct {
	name  string
	file  string
	env   string
	hosts []eval.HostPattern
	// getenv reads env; the process's environment unless a test says.
	getenv func(string) string

	mu    sync.Mutex
	value string
	seen  os.FileInfo
}

// read returns the secret's current value, or an error that names the
// secret and where it is kept, never the value.
func (s *namedSecret) read() (string, error) {
	if s.env != "" {
		v := strings.TrimRight(s.getenv(s.env), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret %s: environment variable %s is not set or empty: set it where the service runs", s.name, s.env)
		}
		return v, nil
	}
	fi, err := os.Stat(s.file)
	if err != nil {
		return "", fmt.Errorf("secret %s: file %s cannot be read (%v): mount it, or fix secrets.%s.file", s.name, s.file, pathErrText(err), s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen != nil && os.SameFile(s.seen, fi) && s.seen.Size() == fi.Size() && s.seen.ModTime().Equal(fi.ModTime()) && time.Since(fi.ModTime()) > time.Second {
		return s.value, nil
	}
	b, err := os.ReadFile(s.file)
	if err != nil {
		return "", fmt.Errorf("secret %s: file %s cannot be read (%v): mount it, or fix secrets.%s.file", s.name, s.file, pathErrText(err), s.name)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("secret %s: file %s is empty: put the key in it", s.name, s.file)
	}
	s.value, s.seen = v, fi
	return v, nil
}

// pathErrText is what went wrong with a file, without repeating its path.
func pathErrText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
