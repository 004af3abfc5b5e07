package llm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// The caches of a command run on the user's own machine, where there is
// no bus and its assay_llm_cache bucket: in memory, for one process, or
// in a directory, kept from run to run.

// MemoryCache is a [Cache] in memory, for one process.
type MemoryCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{m: map[string][]byte{}} }

// Get returns the value stored under key.
func (c *MemoryCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok, nil
}

// Put stores val under key.
func (c *MemoryCache) Put(_ context.Context, key string, val []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = val
	return nil
}

// Len is the number of entries.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// DirCache is a [Cache] kept in a directory, a file a key, under
// subdirectories named by the key's last two characters so that no
// directory holds too many files. A value is written to a temporary file
// and renamed into place: a reader sees a whole value or none.
type DirCache struct{ Dir string }

// path is where key's value is kept. Keys are the client's own (a space,
// a dot and a hash), but a key that could name a path elsewhere is
// refused all the same.
func (d DirCache) path(key string) (string, error) {
	if len(key) < 2 || len(key) > 200 || key[0] == '.' {
		return "", fmt.Errorf("cache key %q cannot be a file name", key)
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return "", fmt.Errorf("cache key %q cannot be a file name", key)
		}
	}
	return filepath.Join(d.Dir, key[len(key)-2:], key), nil
}

// Get reads key's value; a missing file is a miss.
func (d DirCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, false, err
	}
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return b, true, nil
}

// Put writes key's value.
func (d DirCache) Put(_ context.Context, key string, val []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(val)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}
