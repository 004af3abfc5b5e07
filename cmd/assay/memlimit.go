package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/spf13/cobra"
)

// cgroupMemoryFiles hold the memory limit of the cgroup this process runs
// in: cgroup v2's, then v1's.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// cgroupShare is the share of a cgroup's memory limit the soft limit is
// set to by default: the rest is for what Go's limit does not count
// (memory mapped files, cgo, the kernel's page cache charged to the
// cgroup) and for the time the collector takes to catch up.
const cgroupShare = 0.8

// memoryLimit is the soft memory limit chosen for this process.
type memoryLimit struct {
	// Bytes is the limit; 0 is none.
	Bytes int64
	// From says where it comes from, for the log.
	From string
}

// parseMemoryLimit reads --memory-limit: auto (the default: from the
// cgroup), off, none or 0 (no limit), or a size such as 768MiB or 2GB.
func parseMemoryLimit(s string) (limit int64, auto bool, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return 0, true, nil
	case "off", "none", "0":
		return 0, false, nil
	}
	n, err := stage.ParseByteSize(s)
	if err != nil {
		return 0, false, fmt.Errorf("--memory-limit: %q is not a size: write one such as 768MiB or 2GiB, auto (%.0f%% of the cgroup's limit) or off", s, 100*cgroupShare)
	}
	return n, false, nil
}

// cgroupMemoryLimit reads a cgroup memory limit file: its bytes, or 0 when
// the file is absent or says there is no limit ("max" in v2, a number near
// the largest int64 in v1).
func cgroupMemoryLimit(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v := strings.TrimSpace(string(b))
	if v == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: %q is not a memory limit", path, v)
	}
	if n >= 1<<62 {
		return 0, nil
	}
	return n, nil
}

// chooseMemoryLimit decides the soft limit from --memory-limit's value,
// GOMEMLIMIT (which, when set, the Go runtime has applied already and
// which wins) and the cgroup's limit files.
func chooseMemoryLimit(flag, gomemlimit string, cgroupFiles []string) (memoryLimit, error) {
	if gomemlimit != "" {
		// GOMEMLIMIT=off leaves the runtime's "no limit", the largest int64.
		if n := debug.SetMemoryLimit(-1); n < math.MaxInt64 {
			return memoryLimit{Bytes: n, From: "GOMEMLIMIT"}, nil
		}
		return memoryLimit{From: "GOMEMLIMIT"}, nil
	}
	n, auto, err := parseMemoryLimit(flag)
	switch {
	case err != nil:
		return memoryLimit{}, err
	case !auto && n == 0:
		return memoryLimit{From: "--memory-limit off"}, nil
	case !auto:
		return memoryLimit{Bytes: n, From: "--memory-limit"}, nil
	}
	for _, f := range cgroupFiles {
		c, err := cgroupMemoryLimit(f)
		if err != nil {
			return memoryLimit{}, err
		}
		if c > 0 {
			return memoryLimit{Bytes: int64(cgroupShare * float64(c)), From: fmt.Sprintf("%.0f%% of the cgroup's %s (%s)", 100*cgroupShare, formatBytes(c), f)}, nil
		}
	}
	return memoryLimit{From: "no cgroup limit"}, nil
}

// formatBytes shows a limit in MiB, or GiB to a tenth past one.
func formatBytes(n int64) string {
	if n >= 1<<30 {
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + "GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 0, 64) + "MiB"
}

// withMemoryLimit gives cmd, which runs stages (and maybe the NATS server)
// in its process, the --memory-limit flag, and sets the soft limit before
// it runs. Go's collector then works harder as the heap nears the limit
// instead of letting it double past the live heap, which is what keeps a
// long run inside a container's memory.
func withMemoryLimit(cmd *cobra.Command) *cobra.Command {
	var flag string
	cmd.Flags().StringVar(&flag, "memory-limit", "auto", fmt.Sprintf("soft memory limit of this process (Go's GOMEMLIMIT), e.g. 768MiB or 2GiB; auto: %.0f%% of the cgroup's memory limit, none without one; off: none. GOMEMLIMIT, when set, wins", 100*cgroupShare))
	pre := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if pre != nil {
			if err := pre(c, args); err != nil {
				return err
			}
		}
		limit, err := chooseMemoryLimit(flag, os.Getenv("GOMEMLIMIT"), cgroupMemoryFiles)
		if err != nil {
			return usage(err)
		}
		if limit.Bytes > 0 {
			debug.SetMemoryLimit(limit.Bytes)
		}
		logMemoryLimit(c, limit)
		return nil
	}
	return cmd
}

// logMemoryLimit logs the limit as the command logs: always for assay up,
// with -v for the others.
func logMemoryLimit(c *cobra.Command, limit memoryLimit) {
	var w io.Writer = c.ErrOrStderr()
	if v := c.Flags().Lookup("verbose"); v != nil && v.Value.String() != "true" {
		w = io.Discard
	}
	level := "info"
	if l := c.Flags().Lookup("log-level"); l != nil {
		level = l.Value.String()
	}
	logger, err := obs.NewLogger(w, level)
	if err != nil {
		// The command says what is wrong with its level itself.
		return
	}
	shown := "none"
	if limit.Bytes > 0 {
		shown = formatBytes(limit.Bytes)
	}
	logger.Info("memory limit", slog.String("limit", shown), slog.Int64("bytes", limit.Bytes), slog.String("from", limit.From))
}
