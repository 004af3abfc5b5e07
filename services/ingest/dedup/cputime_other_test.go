//go:build !unix

package dedup

// cpuSeconds is not measured here: cpu-ns/prompt reads 0.
func cpuSeconds() float64 { return 0 }
