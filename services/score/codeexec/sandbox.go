package codeexec

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// host is how this machine runs programs: which interpreter, as whom, and
// whether in namespaces.
type host struct {
	python string
	// namespaces is whether the program starts in new user, network and
	// PID namespaces.
	namespaces bool
	// uid and gid run the program: the caller's, or nobody's when the
	// caller is root. In a user namespace they are mapped to themselves.
	uid, gid int
	// note says why the sandbox falls short of the full one.
	note string
}

// Isolation is what [Run] does on this machine; a service logs it at start.
type Isolation struct {
	// Python is the interpreter Run executes.
	Python string
	// Sandbox is the isolation in effect, as in [Result].Sandbox.
	Sandbox string
	// Note says, when Sandbox falls short of the full one, why and what
	// would give it.
	Note string
}

// Probe reports what [Run] does on this machine. It fails like Run when
// there is no python3.
func Probe() (Isolation, error) {
	h, err := findHost()
	if err != nil {
		return Isolation{}, err
	}
	return Isolation{Python: h.python, Sandbox: h.sandbox(), Note: h.note}, nil
}

// sandbox names the isolation: the namespaces, "nobody" when root's
// program runs as nobody, "rlimit", and "nproc" when RLIMIT_NPROC binds
// (it never binds root).
func (h host) sandbox() string {
	var parts []string
	if h.namespaces {
		parts = append(parts, "userns", "netns", "pidns")
	}
	if h.dropsRoot() {
		parts = append(parts, "nobody")
	}
	parts = append(parts, "rlimit")
	if h.uid != 0 {
		parts = append(parts, "nproc")
	}
	return strings.Join(parts, "+")
}

func (h host) dropsRoot() bool { return h.uid != os.Getuid() }

var (
	hostMu     sync.Mutex
	hostCached *host
)

// findHost finds python3 and probes the sandbox once per process; a
// missing python3 is looked for again next time, so that installing it
// needs no restart.
func findHost() (host, error) {
	hostMu.Lock()
	defer hostMu.Unlock()
	if hostCached != nil {
		return *hostCached, nil
	}
	path, err := exec.LookPath("python3")
	if err != nil {
		return host{}, ErrNoPython
	}
	python, err := resolvePython(path)
	if err != nil {
		return host{}, err
	}
	h := probeHost(python)
	hostCached = &h
	return h, nil
}

// resolvePython asks python3 for the real interpreter behind path: a
// version manager's shim (pyenv) needs environment variables that the
// sandbox does not pass.
func resolvePython(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-I", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("running %s: %w (is python3 installed and working? apt-get install python3)", path, err)
	}
	if exe := strings.TrimSpace(string(out)); exe != "" {
		return exe, nil
	}
	return path, nil
}

// probeHost picks the strongest sandbox that runs a program here, trying
// in turn: namespaces, then none; as nobody, then as root (when root). User
// namespaces may be disabled for unprivileged users or forbidden in a
// container even to root, and nobody cannot run an interpreter that lives
// under /root.
func probeHost(python string) host {
	type ids struct{ uid, gid int }
	runAs := []ids{{os.Getuid(), os.Getgid()}}
	if os.Getuid() == 0 {
		runAs = append([]ids{nobody()}, runAs...)
	}
	var whyNot []string
	for _, ns := range []bool{true, false} {
		for _, id := range runAs {
			h := host{python: python, namespaces: ns, uid: id.uid, gid: id.gid}
			last := !ns && id == runAs[len(runAs)-1]
			if !last {
				if err := h.probe(); err != nil {
					whyNot = append(whyNot, err.Error())
					continue
				}
			}
			h.note = strings.Join(whyNot, "; ")
			if h.note != "" && h.uid == 0 {
				h.note += "; to run programs as nobody, put a python3 that nobody can read first on PATH (apt-get install python3) or run as a non-root user"
			}
			return h
		}
	}
	panic("unreachable")
}

// probe runs a program that imports from the standard library, as Run
// would.
func (h host) probe() error {
	const program = "import collections, json, math, re\n"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lim := DefaultLimits()
	lim.Timeout = 30 * time.Second
	res, err := h.run(ctx, program, lim, nil)
	if err == nil && !res.Passed {
		err = fmt.Errorf("%s: %s", res.Status, lastLine(res.Stderr))
	}
	if err != nil {
		return fmt.Errorf("%s under %s: %w", h.python, h.sandbox(), err)
	}
	return nil
}

// nobody is the unprivileged user root's programs run as.
func nobody() struct{ uid, gid int } {
	id := struct{ uid, gid int }{65534, 65534}
	if u, err := user.Lookup("nobody"); err == nil {
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			id.uid, id.gid = uid, gid
		}
	}
	return id
}

func (h host) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Setpgid: true,
		// If this process dies, so does the program.
		Pdeathsig: syscall.SIGKILL,
	}
	if h.dropsRoot() {
		// No Groups: root's supplementary groups are dropped too.
		a.Credential = &syscall.Credential{Uid: uint32(h.uid), Gid: uint32(h.gid)}
	}
	if h.namespaces {
		a.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: h.uid, HostID: h.uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: h.gid, HostID: h.gid, Size: 1}}
		// Only root may allow setgroups, and only root needs it.
		a.GidMappingsEnableSetgroups = h.dropsRoot()
	}
	return a
}

// nprocLimit is the RLIMIT_NPROC for the program, 0 for none. In a user
// namespace the kernel counts the namespace's own tasks, so the limit is
// the program's alone. Outside one it counts every task of the user, so
// the program gets what the user has now plus its share. Root is exempt.
func (h host) nprocLimit(maxProcs int) int {
	switch {
	case h.uid == 0:
		return 0
	case h.namespaces:
		return maxProcs
	default:
		return userTasks(h.uid) + maxProcs
	}
}

// userTasks counts the tasks (threads) of processes whose real uid is uid.
func userTasks(uid int) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	want := strconv.Itoa(uid)
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		mine, threads := false, 0
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			f := strings.Fields(v)
			switch {
			case k == "Uid" && len(f) > 0:
				mine = f[0] == want
			case k == "Threads" && len(f) > 0:
				threads, _ = strconv.Atoi(f[0])
			}
		}
		if mine {
			n += threads
		}
	}
	return n
}

// killGroup kills the program's process group; in a PID namespace that
// includes its first process, whose death kills the rest.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// waitExit waits for pid to exit without reaping it: while it is a zombie
// its pid, and so its process group id, cannot be reused, so killing the
// group afterwards cannot hit a stranger.
func waitExit(pid int) error {
	const pPID = 1     // idtype_t P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return fmt.Errorf("waiting for pid %d: %w", pid, e)
		}
		return nil
	}
}
