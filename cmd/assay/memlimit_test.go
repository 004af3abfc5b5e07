package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/stage"
)

func TestParseMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int64
		auto  bool
		err   string
	}{
		{"", 0, true, ""},
		{"auto", 0, true, ""},
		{" AUTO ", 0, true, ""},
		{"off", 0, false, ""},
		{"none", 0, false, ""},
		{"0", 0, false, ""},
		{"768MiB", 768 << 20, false, ""},
		{"2GiB", 2 << 30, false, ""},
		{"1.5GiB", 3 << 29, false, ""},
		{"500MB", 500e6, false, ""},
		{"67108864", 64 << 20, false, ""},
		{"1048576", 0, false, "is below 64MiB"},
		{"1", 0, false, "is below 64MiB"},
		{"lots", 0, false, `"lots" is not a size`},
		{"-1GiB", 0, false, "is not a size"},
		{"12 parsecs", 0, false, "is not a size"},
	} {
		t.Run(c.in, func(t *testing.T) {
			limit, auto, err := parseMemoryLimit(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "--memory-limit") {
					t.Fatalf("parseMemoryLimit(%q) = %d, %v, %v; want an error with %q", c.in, limit, auto, err, c.err)
				}
				return
			}
			if err != nil || limit != c.limit || auto != c.auto {
				t.Errorf("parseMemoryLimit(%q) = %d, %v, %v; want %d, %v", c.in, limit, auto, err, c.limit, c.auto)
			}
		})
	}
}

func FuzzParseMemoryLimit(f *testing.F) {
	for _, s := range []string{"auto", "off", "0", "768MiB", "1.5GiB", "9999999999999TiB", "-1", "none", " 12 kb ", "1e3MB", ".5G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		limit, auto, err := parseMemoryLimit(s)
		switch {
		case err != nil:
			if limit != 0 || auto {
				t.Errorf("%q: an error with %d, %v", s, limit, auto)
			}
		case auto && limit != 0, limit < 0:
			t.Errorf("%q: %d, %v", s, limit, auto)
		case limit > 0:
			// A size means what it means for every other size flag.
			if n, err := stage.ParseByteSize(s); err != nil || n != limit {
				t.Errorf("%q: %d, where ParseByteSize gives %d, %v", s, limit, n, err)
			}
		}
	})
}

func TestCgroupMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, content string
		want          int64
		err           bool
	}{
		{"v2 limited", "1073741824\n", 1 << 30, false},
		{"v2 unlimited", "max\n", 0, false},
		{"v1 unlimited", "9223372036854771712\n", 0, false},
		{"garbage", "lots\n", 0, true},
		{"negative", "-5\n", 0, true},
		{"absent", "", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			if c.name != "absent" {
				if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := cgroupMemoryLimit(path)
			if got != c.want || (err != nil) != c.err {
				t.Errorf("cgroupMemoryLimit = %d, %v; want %d, error %v", got, err, c.want, c.err)
			}
		})
	}
}

func TestChooseMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	limited, unlimited, absent := filepath.Join(dir, "limited"), filepath.Join(dir, "unlimited"), filepath.Join(dir, "absent")
	if err := os.WriteFile(limited, []byte("2147483648\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unlimited, []byte("max\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	larger := filepath.Join(dir, "larger")
	if err := os.WriteFile(larger, []byte("4294967296\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, flag, env string
		files           []string
		want            int64
		from            string
	}{
		{"80% of the cgroup", "auto", "", []string{limited}, 2 << 30 * 4 / 5, "80% of the cgroup's 2.0GiB"},
		{"the smallest cgroup limit", "auto", "", []string{absent, unlimited, larger, limited}, 2 << 30 * 4 / 5, "80% of the cgroup's 2.0GiB"},
		{"a file that cannot be read is left out", "auto", "", []string{dir, limited}, 2 << 30 * 4 / 5, "80% of the cgroup's 2.0GiB"},
		{"no cgroup limit", "auto", "", []string{absent, unlimited}, 0, "no cgroup limit"},
		{"the flag over the cgroup", "768MiB", "", []string{limited}, 768 << 20, "--memory-limit"},
		{"off", "off", "", []string{limited}, 0, "--memory-limit off"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := chooseMemoryLimit(c.flag, c.env, c.files)
			if err != nil || got.Bytes != c.want || !strings.HasPrefix(got.From, c.from) {
				t.Errorf("chooseMemoryLimit = %+v, %v; want %d from %q", got, err, c.want, c.from)
			}
		})
	}
	// GOMEMLIMIT, which the runtime applied at start, wins over the flag.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(3 << 30))
	if got, err := chooseMemoryLimit("768MiB", "3GiB", []string{limited}); err != nil || got.Bytes != 3<<30 || got.From != "GOMEMLIMIT" {
		t.Errorf("with GOMEMLIMIT: %+v, %v", got, err)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	if got, err := chooseMemoryLimit("768MiB", "off", []string{limited}); err != nil || got.Bytes != 0 || got.From != "GOMEMLIMIT" {
		t.Errorf("with GOMEMLIMIT=off: %+v, %v", got, err)
	}
	if _, err := chooseMemoryLimit("lots", "", nil); err == nil {
		t.Error("a bad --memory-limit was taken")
	}
}

// TestMemoryLimitFlag runs assay up with --memory-limit and checks that the
// limit is set and logged, and that a bad value is a usage error.
func TestMemoryLimitFlag(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set: it wins over the flag")
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	cmd := withMemoryLimit(newUpCmd())
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)
	if err := cmd.ParseFlags([]string{"--memory-limit", "640MiB"}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.PreRunE(cmd, nil); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 640<<20 {
		t.Errorf("the soft limit is %d, want %d", got, 640<<20)
	}
	if log := stderr.String(); !strings.Contains(log, `"msg":"memory limit","limit":"640MiB"`) || !strings.Contains(log, `"from":"--memory-limit"`) {
		t.Errorf("log: %s", log)
	}

	_, _, err := runCLI(t, "up", "--memory-limit", "lots", "--services", "none", "--data", t.TempDir(), "--port", "-1")
	if code := exitCode(err, false); code != exitUsage || !strings.Contains(err.Error(), `--memory-limit: "lots" is not a size`) {
		t.Errorf("a bad --memory-limit: exit %d, %v", code, err)
	}
}

// TestCgroupMemoryFiles: the process's own cgroup and its ancestors, in
// v2 and v1 layouts, and the mount's own files as a last resort.
func TestCgroupMemoryFiles(t *testing.T) {
	v2 := cgroupMemoryFiles("0::/system.slice/assay.service\n", "/sys/fs/cgroup")
	for _, want := range []string{"/sys/fs/cgroup/system.slice/assay.service/memory.max", "/sys/fs/cgroup/system.slice/memory.max", "/sys/fs/cgroup/memory.max"} {
		if !slices.Contains(v2, want) {
			t.Errorf("v2: %v lacks %s", v2, want)
		}
	}
	v1 := cgroupMemoryFiles("9:name=systemd:/\n4:memory:/process_api/a1f\n3:cpu,cpuacct:/x\n", "/sys/fs/cgroup")
	for _, want := range []string{"/sys/fs/cgroup/memory/process_api/a1f/memory.limit_in_bytes", "/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if !slices.Contains(v1, want) {
			t.Errorf("v1: %v lacks %s", v1, want)
		}
	}
	if slices.ContainsFunc(v1, func(f string) bool { return strings.Contains(f, "/x/") }) {
		t.Errorf("v1: %v reads the cpu hierarchy", v1)
	}
	if got := cgroupMemoryFiles("", "/r"); !slices.Equal(got, []string{"/r/memory.max", "/r/memory/memory.limit_in_bytes"}) {
		t.Errorf("without /proc: %v", got)
	}
	// A limit set on a parent binds: the smallest along the path wins.
	root := t.TempDir()
	leaf := filepath.Join(root, "memory", "pod", "ctr")
	if err := os.MkdirAll(leaf, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, v := range map[string]string{filepath.Join(leaf, "memory.limit_in_bytes"): "9223372036854771712", filepath.Join(root, "memory", "pod", "memory.limit_in_bytes"): "1073741824"} {
		if err := os.WriteFile(path, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := chooseMemoryLimit("auto", "", cgroupMemoryFiles("4:memory:/pod/ctr\n", root))
	if err != nil || got.Bytes != 1<<30*4/5 {
		t.Errorf("a parent's 1GiB: %+v, %v", got, err)
	}
}
