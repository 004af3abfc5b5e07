package natsembed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrLocked is a data directory another server (in this process or
// another) holds: two servers on one store would both consume its streams.
var ErrLocked = errors.New("data directory in use")

// LockedError says which process holds a data directory.
type LockedError struct {
	Dir string
	// PID of the holder, 0 when it could not be read.
	PID int
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID != 0 {
		holder = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("%s is in use by %s (assay up or assay run): stop it, or use another data directory", e.Dir, holder)
}

// Is makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// lockName is the file in a data directory that is locked while a server
// uses it and holds the holder's process id.
const lockName = "assay.lock"

// lockDir takes the exclusive lock on dir; release gives it up. The lock
// is the kernel's, so it goes with its holder however that ends.
func lockDir(dir string) (release func(), err error) {
	p := filepath.Join(dir, lockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking data directory: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking data directory %s: %w", dir, err)
	}
	if !held {
		b, _ := os.ReadFile(p)
		f.Close()
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return nil, &LockedError{Dir: dir, PID: pid}
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = f.Truncate(0)
		unlock(f)
		f.Close()
	}, nil
}
