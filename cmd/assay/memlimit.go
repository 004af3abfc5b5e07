package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/spf13/cobra"
)

// cgroupRoot is where the cgroup hierarchies are mounted, and
// procSelfCgroup names this process's cgroups.
const (
	cgroupRoot     = "/sys/fs/cgroup"
	procSelfCgroup = "/proc/self/cgroup"
)

// cgroupMemoryFiles lists the files that may limit this process's memory,
// given /proc/self/cgroup's content and the hierarchies' mount point: the
// memory.max (cgroup v2) or memory.limit_in_bytes (v1) of its own cgroup
// and of every ancestor up to the mount, since a limit set on a parent
// (a systemd slice, a pod) binds too. Inside a container with its own
// cgroup namespace the path is "/" and only the mount's own files are
// listed.
func cgroupMemoryFiles(procCgroup, root string) []string {
	var files []string
	add := func(mount, path, file string) {
		path = filepath.Clean("/" + path)
		for {
			files = append(files, filepath.Join(mount, path, file))
			if path == "/" {
				return
			}
			path = filepath.Dir(path)
		}
	}
	for _, line := range strings.Split(procCgroup, "\n") {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			add(root, parts[2], "memory.max")
			add(filepath.Join(root, "unified"), parts[2], "memory.max")
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			add(filepath.Join(root, "memory"), parts[2], "memory.limit_in_bytes")
		}
	}
	// Without /proc (or a line naming memory), the mount's own files.
	return append(files, filepath.Join(root, "memory.max"), filepath.Join(root, "memory", "memory.limit_in_bytes"))
}

// cgroupShare is the share of a cgroup's memory limit the soft limit is
// set to by default: the rest is for what Go's limit does not count
// (memory mapped files, cgo, the kernel's page cache charged to the
// cgroup) and for the time the collector takes to catch up.
const cgroupShare = 0.8

// minMemoryLimit is the smallest limit --memory-limit takes.
const minMemoryLimit = 64 << 20

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
	if n < minMemoryLimit {
		// Below what the process needs at rest the collector would run
		// without end.
		return 0, false, fmt.Errorf("--memory-limit: %s is below %s, less than assay needs at rest: give at least that, or off", s, formatBytes(minMemoryLimit))
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
// which wins) and the cgroup's limit files, the smallest limit of which
// binds. A file that cannot be read is left out and named in From: a
// limit the process cannot see is no reason not to start.
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
	var least int64
	var from string
	var unread []string
	for _, f := range cgroupFiles {
		c, err := cgroupMemoryLimit(f)
		if err != nil {
			unread = append(unread, err.Error())
			continue
		}
		if c > 0 && (least == 0 || c < least) {
			least, from = c, f
		}
	}
	var out memoryLimit
	if least > 0 {
		out = memoryLimit{Bytes: int64(cgroupShare * float64(least)), From: fmt.Sprintf("%.0f%% of the cgroup's %s (%s)", 100*cgroupShare, formatBytes(least), from)}
	} else {
		out = memoryLimit{From: "no cgroup limit"}
	}
	if len(unread) > 0 {
		out.From += "; not read: " + strings.Join(unread, "; ")
	}
	return out, nil
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
		proc, _ := os.ReadFile(procSelfCgroup)
		limit, err := chooseMemoryLimit(flag, os.Getenv("GOMEMLIMIT"), cgroupMemoryFiles(string(proc), cgroupRoot))
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
