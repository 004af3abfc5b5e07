package codeexec

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hostDir makes a directory directly under the system's temporary
// directory with mode perm, so that its mode alone decides who may use it
// (t.TempDir's parents are 0700).
func hostDir(t *testing.T, perm os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "assay-codeexec-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = removeAll(dir) })
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunIsolation runs programs that try to get out, in every sandbox the
// machine offers, and checks from outside that they did not. What a
// sandbox cannot guarantee is skipped with the reason, never passed.
func TestRunIsolation(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-only-root-reads-this"
	root := os.Getuid() == 0

	// A file only root can read, in a directory anyone may enter.
	open := hostDir(t, 0o755)
	rootOnly := filepath.Join(open, "root-only.txt")
	if err := os.WriteFile(rootOnly, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	// A data directory as assay makes one (0700), and one left readable.
	dataDir := filepath.Join(hostDir(t, 0o755), "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "report.json"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	readable := hostDir(t, 0o755)
	if err := os.WriteFile(filepath.Join(readable, "report.json"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory anyone may write: only a private view keeps it out.
	writable := hostDir(t, 0o777)
	if err := os.Chmod(writable, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}

	type check struct {
		name    string
		program string
		// want is the program's last line of output.
		want string
		// needs names what the sandbox must have for the check to apply
		// ("" for always, "root" when only root can set it up); why is
		// the skip reason otherwise.
		needs, why string
		// after checks the host once the program has run.
		after func(t *testing.T)
	}
	readProgram := func(path string) string {
		return fmt.Sprintf(`try:
    print(open(%q).read())
except OSError as e:
    print("denied", type(e).__name__)
`, path)
	}
	checks := []check{
		{name: "a normal solution passes", program: "def add(a, b):\n    return a + b\nassert add(2, 3) == 5\nprint('ok')\n", want: "ok"},
		{name: "root-only file", program: readProgram(rootOnly), want: "denied", needs: "root",
			why: "not run as root: cannot make a file only root can read"},
		{name: "/etc/shadow", program: readProgram("/etc/shadow"), want: "denied", needs: "root",
			why: "not run as root: /etc/shadow is the caller's own concern"},
		{name: "0700 data directory", program: readProgram(filepath.Join(dataDir, "report.json")), want: "denied", needs: "root|mntns",
			why: "neither root nor a mount namespace: the program runs as the caller, who owns the data directory"},
		{name: "readable data directory is not there", program: fmt.Sprintf("import os\nprint(os.path.exists(%q))\n", readable), want: "False", needs: "mntns",
			why: "no mount namespace: the program sees the host's filesystem, so files protected by their mode alone"},
		{name: "write to a world-writable directory", program: fmt.Sprintf(`try:
    open(%q, "w").write("x")
    print("wrote")
except OSError as e:
    print("denied", type(e).__name__)
`, filepath.Join(writable, "escaped")), want: "denied", needs: "mntns",
			why: "no mount namespace: the program can write wherever its uid may (world-writable directories such as /tmp)",
			after: func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(writable, "escaped")); err == nil {
					t.Errorf("the program wrote %s", filepath.Join(writable, "escaped"))
				}
			}},
		{name: "write to /tmp", program: fmt.Sprintf(`import os
p = os.path.join(%q, "assay-codeexec-escaped-%d")
try:
    open(p, "w").write("x")
    os.remove(p)
    print("wrote")
except OSError as e:
    print("denied", type(e).__name__)
`, os.TempDir(), os.Getpid()), want: "denied", needs: "mntns",
			why: "no mount namespace: /tmp is world-writable"},
		{name: "host processes are not listed", program: `import os
pids = [p for p in os.listdir("/proc") if p.isdigit()] if os.path.isdir("/proc") else []
print("few" if len(pids) <= 3 else "many: %d" % len(pids))
`, want: "few", needs: "mntns", why: "no private /proc (it needs a mount namespace): /proc lists the host's processes"},
		{name: "no capability", program: `caps = [l for l in open("/proc/self/status") if l.startswith(("CapEff", "CapPrm", "CapInh", "CapAmb"))]
print(caps)
print("none" if all(int(l.split()[1], 16) == 0 for l in caps) else "some")
`, want: "none", needs: "root|userns", why: "not root and no user namespace: nothing to drop"},
		// Root's program must also have an empty bounding set; an
		// unprivileged caller's cannot empty it, and no_new_privs
		// alone keeps exec from giving it anything.
		{name: "no way back to privilege", program: fmt.Sprintf(`st = {l.split(":")[0]: l.split()[1] for l in open("/proc/self/status") if len(l.split()) > 1}
print(st["NoNewPrivs"], st["CapBnd"])
print("none" if st["NoNewPrivs"] == "1" and (%s or int(st["CapBnd"], 16) == 0) else "some")
`, map[bool]string{true: "False", false: "True"}[root]), want: "none", needs: "nnp",
			why: "not through the helper: nothing sets no_new_privs, so a set-user-ID program (su, sudo) could still raise the program's privileges"},
	}
	for _, m := range modes(t) {
		sandbox := m.host.sandbox()
		has := func(needs string) bool {
			for n := range strings.SplitSeq(needs, "|") {
				if n == "root" && root || n != "root" && strings.Contains(sandbox, n) {
					return true
				}
			}
			return false
		}
		for _, c := range checks {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				if c.needs != "" && !has(c.needs) {
					t.Skipf("under %s: %s", sandbox, c.why)
				}
				res := run(t, m.host, c.program, testLimits())
				out := strings.TrimSpace(res.Stdout)
				last := out[strings.LastIndex(out, "\n")+1:]
				if !strings.HasPrefix(last, c.want) || strings.Contains(res.Stdout, secret) {
					t.Errorf("under %s the program said %q, want %q\nstderr: %s", sandbox, out, c.want, res.Stderr)
				}
				if c.after != nil {
					c.after(t)
				}
			})
		}
	}
}

// TestRunNetworkUnreachable checks from the listener's side: a program in
// a network namespace connects to nothing on the host's loopback.
func TestRunNetworkUnreachable(t *testing.T) {
	t.Parallel()
	h := defaultHost(t)
	if !h.namespaces {
		t.Skipf("under %s: no network namespace on this machine (%s), so the program shares the host's network", h.sandbox(), h.note)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	res := run(t, h, fmt.Sprintf(`import socket
for host in ("127.0.0.1", "localhost"):
    try:
        socket.create_connection((host, %d), timeout=2).close()
        print("connected")
    except OSError as e:
        print("blocked", e)
`, ln.Addr().(*net.TCPAddr).Port), testLimits())
	// A control connection proves the listener works and, accepted after
	// the program's, that the program's would have been seen.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for accepted.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := accepted.Load(); n != 1 || strings.Contains(res.Stdout, "connected") {
		t.Errorf("listener accepted %d connections (want only the test's own); program said %q", n, res.Stdout)
	}
}

// TestRunNeverAsRoot looks at the running program from outside: its uids
// are not root's and it holds no capability.
func TestRunNeverAsRoot(t *testing.T) {
	t.Parallel()
	h := defaultHost(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var status string
	onStart := func(pid int) {
		go func() {
			defer cancel()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
				if err != nil {
					return
				}
				if s := string(b); strings.Contains(s, "Name:\tpython") {
					status = s
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	_, err := h.run(ctx, "import time\nwhile True:\n    time.sleep(0.05)\n", testLimits(), onStart)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v, want it cancelled once the program was seen", err)
	}
	if status == "" {
		t.Fatal("never saw the program running python3")
	}
	fields := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields[k] = strings.Fields(v)
	}
	for _, u := range append(fields["Uid"], fields["Gid"]...) {
		if u == "0" {
			t.Errorf("program runs with uid/gid 0 under %s: Uid %v Gid %v", h.sandbox(), fields["Uid"], fields["Gid"])
			break
		}
	}
	if os.Getuid() == 0 || h.userns {
		for _, k := range []string{"CapEff", "CapPrm"} {
			if v := fields[k]; len(v) != 1 || strings.Trim(v[0], "0") != "" {
				t.Errorf("%s = %v under %s, want none", k, v, h.sandbox())
			}
		}
	}
	t.Logf("under %s: Uid %v Gid %v CapEff %v NoNewPrivs %v", h.sandbox(), fields["Uid"], fields["Gid"], fields["CapEff"], fields["NoNewPrivs"])
}

// TestProbeRefusesRoot gives root an interpreter nobody cannot run: the
// probe falls back to the next one, or refuses, and never runs as root.
func TestProbeRefusesRoot(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("not run as root: programs already run as the caller")
	}
	sys, err := filepath.EvalSymlinks("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3 to fall back to")
	}
	private := filepath.Join(t.TempDir(), "private") // 0700, root's
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	hidden := filepath.Join(private, "python3")
	if err := os.Symlink(sys, hidden); err != nil {
		t.Fatal(err)
	}
	if h, err := probeHost([]string{hidden}); !errors.Is(err, ErrNoSandbox) {
		t.Errorf("probe with only %s = %s as uid %d, %v; want ErrNoSandbox", hidden, h.sandbox(), h.uid, err)
	} else if !strings.Contains(err.Error(), "apt-get install python3") {
		t.Errorf("error %q does not say what to do", err)
	}
	h, err := probeHost([]string{hidden, "/usr/bin/python3"})
	if err != nil || h.python != "/usr/bin/python3" || h.uid == 0 {
		t.Errorf("probe = %s with %s as uid %d, %v; want /usr/bin/python3 as nobody", h.sandbox(), h.python, h.uid, err)
	}
}

func defaultHost(t *testing.T) host {
	t.Helper()
	return modes(t)[0].host
}
