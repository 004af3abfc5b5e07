// Package rss reads the process's resident memory, for the benchmarks of
// ingest's packages that report it.
package rss

import (
	"bytes"
	"os"
	"strconv"
)

// Peak is the process's peak resident set size (VmHWM) in bytes, 0 where
// /proc is not there.
func Peak() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(data) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			return kb << 10
		}
	}
	return 0
}
