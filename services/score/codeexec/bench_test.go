package codeexec

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkRun is the cost of one execution of a trivial program in each
// sandbox this machine offers: the overhead a code_pass score pays on top
// of the program's own run. Besides wall time it reports the CPU time the
// program's processes used (cpu-ms/op), which a loaded machine disturbs
// less.
func BenchmarkRun(b *testing.B) {
	ms, err := allModes()
	if err != nil {
		b.Skip(err)
	}
	for _, m := range ms {
		b.Run(m.name, func(b *testing.B) {
			lim := DefaultLimits()
			before := childCPU(b)
			for b.Loop() {
				res, err := m.host.run(b.Context(), "pass\n", lim, nil)
				if err != nil || !res.Passed {
					b.Fatalf("%s: %v %s", res.Status, err, res.Stderr)
				}
			}
			b.ReportMetric(float64(childCPU(b)-before)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// childCPU is the user and system time of the reaped children so far.
func childCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
