package codeexec

import (
	"strings"
	"syscall"
	"time"
)

// Status is how a run ended.
type Status string

const (
	// StatusPassed: the program exited 0.
	StatusPassed Status = "passed"
	// StatusFailed: the program exited non-zero, typically on a failed
	// assertion or an uncaught exception.
	StatusFailed Status = "failed"
	// StatusTimeout: the program ran out of wall-clock or CPU time.
	StatusTimeout Status = "timeout"
	// StatusMemory: the program ran out of memory (MemoryError, or killed
	// by the kernel for it).
	StatusMemory Status = "memory"
	// StatusSyntaxError: the program did not compile.
	StatusSyntaxError Status = "syntax_error"
	// StatusError: the program could not be run at all; [Run] returns an
	// error saying why.
	StatusError Status = "error"
)

// Result is the outcome of one [Run].
type Result struct {
	// Passed is Status == StatusPassed.
	Passed bool
	Status Status
	// ExitCode is the process's exit code, or -1 when a signal ended it
	// or it never ran. The preamble exits 97 when the program does not
	// compile and 98 on an uncaught MemoryError.
	ExitCode int
	// Stdout and Stderr are what the program printed, each cut to
	// Limits.MaxOutputBytes by dropping its middle (the end of stderr
	// holds the traceback) and putting a "[codeexec: N bytes truncated]"
	// marker there.
	Stdout, Stderr string
	// Duration is the wall-clock time from start to exit.
	Duration time.Duration
	// Sandbox names the isolation in effect, such as
	// "userns+netns+pidns+rlimit+nproc" or "rlimit"; see the package
	// documentation.
	Sandbox string
}

// Exit codes the preamble uses for the failures it recognises, so that a
// status does not rest on stderr alone.
const (
	exitSyntax = 97
	exitMemory = 98
)

// classify reads a status from how the process ended. timedOut is whether
// the wall-clock limit killed it.
func classify(ws syscall.WaitStatus, ru *syscall.Rusage, lim Limits, timedOut bool, stderrTail string) Status {
	last := lastLine(stderrTail)
	switch {
	case timedOut:
		return StatusTimeout
	case ws.Exited() && ws.ExitStatus() == 0:
		return StatusPassed
	case ws.Exited() && ws.ExitStatus() == exitSyntax && isSyntaxError(last):
		return StatusSyntaxError
	case strings.HasPrefix(last, "MemoryError"):
		return StatusMemory
	case ws.Signaled() && ws.Signal() == syscall.SIGXCPU:
		return StatusTimeout
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		// Past the soft CPU limit comes SIGKILL at the hard one (a PID
		// namespace's first process ignores SIGXCPU); any other SIGKILL
		// we did not send is the OOM killer's.
		if ru != nil && cpuTime(ru) >= time.Duration(lim.CPUSeconds)*time.Second {
			return StatusTimeout
		}
		return StatusMemory
	}
	return StatusFailed
}

func isSyntaxError(line string) bool {
	for _, p := range []string{"SyntaxError", "IndentationError", "TabError", "ValueError: source code"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func cpuTime(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Exception is the last line of the program's error output: the
// exception a failed test raised ("AssertionError: …").
func (r Result) Exception() string { return lastLine(r.Stderr) }

// lastLine is the last non-blank line of s, where a traceback names its
// exception.
func lastLine(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
