package codeexec

import "time"

// Limits bound one run of a program. A zero field takes its value from
// [DefaultLimits].
type Limits struct {
	// Timeout is the wall-clock limit; the process group is killed then.
	Timeout time.Duration
	// MemoryBytes caps the address space (RLIMIT_AS) of each process.
	MemoryBytes uint64
	// CPUSeconds caps the CPU time (RLIMIT_CPU) of each process.
	CPUSeconds int
	// MaxOutputBytes caps what is kept of stdout and of stderr, each.
	MaxOutputBytes int
	// MaxProcs caps the processes and threads the program may have at
	// once (RLIMIT_NPROC), where that binds: see the package
	// documentation.
	MaxProcs int
}

// fileSizeLimit caps every file the program writes (RLIMIT_FSIZE): tests
// have no business writing large files, and the temp dir shares a disk.
const fileSizeLimit = 16 << 20

// DefaultLimits returns the limits for a HumanEval or MBPP test: generous
// for a correct solution, short enough that a stuck one costs little.
func DefaultLimits() Limits {
	return Limits{
		Timeout:        10 * time.Second,
		MemoryBytes:    512 << 20,
		CPUSeconds:     10,
		MaxOutputBytes: 64 << 10,
		MaxProcs:       16,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MemoryBytes == 0 {
		l.MemoryBytes = d.MemoryBytes
	}
	if l.CPUSeconds <= 0 {
		l.CPUSeconds = d.CPUSeconds
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxProcs <= 0 {
		l.MaxProcs = d.MaxProcs
	}
	return l
}
