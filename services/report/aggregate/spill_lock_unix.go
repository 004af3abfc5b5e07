//go:build unix

package aggregate

import (
	"errors"
	"os"
	"syscall"
)

// locking: a spill directory's lock tells whether a process holds it.
const locking = true

// tryLock takes an exclusive flock on f without waiting. flock locks belong
// to the open file, so a second open in the same process is refused too,
// and a process's locks go with it however it ends.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
