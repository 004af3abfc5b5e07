package aggregate

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultSpillBytes is how many bytes of sealed record batches a table
// keeps in memory before writing them to a segment file.
const DefaultSpillBytes = 4 << 20

// spillPrefix names the spill directories, followed by the pid of the
// process that made one (for whoever looks at them; it tells nothing of
// whether the process lives: a pid is reused, and another container
// sharing the volume has pids of its own) and a random part. A directory is
// made under the name with a dot before it, locked, then renamed, so that
// a spill directory is never without its lock held while its collector
// lives.
const (
	spillPrefix    = "assay-report-spill-"
	newSpillPrefix = "." + spillPrefix
)

// spillLock is the file in a spill directory its collector holds an
// exclusive flock on until the directory is removed: a directory whose
// lock anyone can take is garbage left by a process that ended without
// removing it (killed mid-report), removed by the next collector that
// spills in the same place.
const spillLock = "lock"

// Option configures a collector.
type Option func(*options)

type options struct {
	spillDir   string
	spillBytes int64
	horizon    int
}

// WithSpill makes the collector's tables keep at most bytes of sealed
// results in memory each, writing the rest as Arrow IPC segment files in a
// directory of its own under dir ("" is [os.TempDir]), removed by
// [Collector.Release]. bytes <= 0 keeps everything in memory.
func WithSpill(dir string, bytes int64) Option {
	return func(o *options) { o.spillDir, o.spillBytes = dir, bytes }
}

// spill is where a collector's tables write their segments: a directory
// made on the first segment, removed once the collector and every [Rows]
// taken from it are released. A segment is removed on its own once no
// table and no Rows reads it (see [segment.release]).
type spill struct {
	parent string
	dir    string
	// lock is dir's lock file, its flock held until dir is removed.
	lock *os.File
	n    int
	// now is the clock a failed write's retry waits on.
	now func() time.Time
	// refs counts the collector and its unreleased Rows.
	refs atomic.Int32
}

func newSpill(parent string) *spill {
	s := &spill{parent: parent, now: time.Now}
	s.refs.Store(1)
	return s
}

// retain keeps the directory for one more holder.
func (s *spill) retain() { s.refs.Add(1) }

// release lets go of the directory, removing it after the last holder.
func (s *spill) release() {
	if s.refs.Add(-1) == 0 {
		s.remove()
	}
}

// create makes a new segment file, making the directory first if need be.
func (s *spill) create() (*os.File, error) {
	if s.dir == "" {
		if err := s.open(); err != nil {
			return nil, fmt.Errorf("making the spill directory: %w", err)
		}
	}
	s.n++
	// Only the owner reads results back, whatever the umask.
	f, err := os.OpenFile(filepath.Join(s.dir, fmt.Sprintf("%06d.arrow", s.n)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating a spill segment: %w", err)
	}
	return f, nil
}

// open makes the spill directory and takes its lock, after removing the
// abandoned ones beside it. A sweep of another process that takes the lock
// between its file's creation and this one's flock removes the directory
// being made: open then fails, and the table tries again later.
func (s *spill) open() error {
	parent := cmp.Or(s.parent, os.TempDir())
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	removeAbandonedSpills(parent)
	tmp, err := os.MkdirTemp(parent, newSpillPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(tmp, spillLock), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	dir := filepath.Join(parent, strings.TrimPrefix(filepath.Base(tmp), "."))
	ok, err := tryLock(lock)
	if err == nil && !ok {
		err = errors.New("its lock is held by another")
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		lock.Close()
		return err
	}
	s.dir, s.lock = dir, lock
	return nil
}

// remove deletes the directory and every segment in it, then lets go of
// its lock.
func (s *spill) remove() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.lock.Close()
		s.dir, s.lock = "", nil
	}
}

// removeAbandonedSpills removes the spill directories under parent that
// no collector holds: a process killed mid-report leaves its segments, and
// nothing else would ever remove them. One is abandoned when its lock can
// be taken, or when it has no lock file (made before spill directories
// had one); one being made (dot name) without a lock file yet is not.
func removeAbandonedSpills(parent string) {
	if !locking {
		return
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		making := strings.HasPrefix(e.Name(), newSpillPrefix)
		if !e.IsDir() || !making && !strings.HasPrefix(e.Name(), spillPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		lock, err := os.Open(filepath.Join(dir, spillLock))
		if errors.Is(err, fs.ErrNotExist) && !making {
			os.RemoveAll(dir)
		}
		if err != nil {
			continue
		}
		if ok, err := tryLock(lock); ok && err == nil {
			os.RemoveAll(dir)
		}
		lock.Close()
	}
}

// segment is sealed batches written to a file, read by the table part it
// belongs to and by the Rows taken while it did.
type segment struct {
	path string
	rows int
	// refs counts the readers: the file is removed after the last one
	// (a window's part is dropped when the window folds, while Rows taken
	// before may still read its segments).
	refs atomic.Int32
}

// retain keeps the segment for one more reader.
func (seg *segment) retain() { seg.refs.Add(1) }

// release lets go of the segment, removing its file after the last reader.
func (seg *segment) release() {
	if seg.refs.Add(-1) == 0 {
		os.Remove(seg.path)
	}
}

// writeSegment writes batches to a new segment file of s.
func writeSegment(s *spill, schema *arrow.Schema, batches []arrow.RecordBatch) (*segment, error) {
	f, err := s.create()
	if err != nil {
		return nil, err
	}
	seg := &segment{path: f.Name()}
	seg.refs.Store(1)
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err == nil {
		for _, rec := range batches {
			if err = w.Write(rec); err != nil {
				break
			}
			seg.rows += int(rec.NumRows())
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("writing a spill segment: %w", err)
	}
	return seg, nil
}

// each hands every batch of the segment to fn, one at a time, released
// after fn returns (fn retains what it keeps).
func (seg *segment) each(mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	f, err := os.Open(seg.path)
	if err != nil {
		return fmt.Errorf("reading a spill segment: %w", err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		return fmt.Errorf("reading spill segment %s: %w", seg.path, err)
	}
	defer r.Close()
	for i := range r.NumRecords() {
		rec, err := r.RecordBatchAt(i)
		if err != nil {
			return fmt.Errorf("reading spill segment %s: %w", seg.path, err)
		}
		err = fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// spillWarning says how often the tables' segments could not be written,
// or "" when they always could.
func (c *Collector) spillWarning() string {
	n := c.scores.spillFailures + c.judgments.spillFailures
	if n == 0 {
		return ""
	}
	err := c.scores.spillErr
	if c.judgments.spillRetry.After(c.scores.spillRetry) {
		err = c.judgments.spillErr
	}
	return fmt.Sprintf("results could not be spilled to disk %d times (the last: %v): they were kept in memory meanwhile, and spilling is tried again a minute after each failure",
		n, err)
}
