//go:build unix

package dedup

import (
	"syscall"
	"time"
)

// cpuSeconds is the CPU time the process has spent, user and system: on a
// busy machine a fairer cost than the wall clock.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return (time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())).Seconds()
}
