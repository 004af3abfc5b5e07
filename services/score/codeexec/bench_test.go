package codeexec

import "testing"

// BenchmarkRun is the cost of one execution of a trivial program in each
// sandbox this machine offers: the overhead a code_pass score pays on top
// of the program's own run.
func BenchmarkRun(b *testing.B) {
	ms, err := allModes()
	if err != nil {
		b.Skip(err)
	}
	for _, m := range ms {
		b.Run(m.name, func(b *testing.B) {
			lim := DefaultLimits()
			for b.Loop() {
				res, err := m.host.run(b.Context(), "pass\n", lim, nil)
				if err != nil || !res.Passed {
					b.Fatalf("%s: %v %s", res.Status, err, res.Stderr)
				}
			}
		})
	}
}
