package codeexec

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// host is how this machine runs programs: which interpreter, as whom, and
// in which namespaces.
type host struct {
	python string
	// namespaces is whether the program starts in new network and PID
	// namespaces (and IPC and UTS ones).
	namespaces bool
	// userns is whether it starts in a new user namespace.
	userns bool
	// fsview is whether it sees the private filesystem view (fsview.go)
	// rather than the host's filesystem; it implies namespaces.
	fsview bool
	// helper is whether the program starts through this binary's helper
	// (fsview.go), which sets no_new_privs and, for root, drops to uid
	// itself; fsview implies it.
	helper bool
	// exe is this binary, opened, for the helper.
	exe *os.File
	// extra are the interpreter's directories outside the view's.
	extra []string
	// uid and gid are the host's ids the program runs as: the caller's,
	// or nobody's when the caller is root, never root's.
	uid, gid int
	// note says why the sandbox falls short of the full one, or why the
	// interpreter is not the python3 on PATH.
	note string
}

// Isolation is what [Run] does on this machine; a service logs it at start.
type Isolation struct {
	// Python is the interpreter Run executes.
	Python string
	// Sandbox is the isolation in effect, as in [Result].Sandbox.
	Sandbox string
	// UID and GID are the host's ids programs run as (never 0).
	UID, GID int
	// Network says whether programs can reach the network.
	Network bool
	// Filesystem says what of the filesystem programs see.
	Filesystem string
	// Private is whether that is the private view (only the program's
	// directory writable, the system's directories read-only, nothing
	// else) rather than the host's filesystem.
	Private bool
	// Full is whether this is the full sandbox: the private view in its
	// own mount, network and PID namespaces, never as root. Anything less
	// is a degraded sandbox, which a report warns of.
	Full bool
	// Note says why Sandbox falls short of the full one, or why the
	// interpreter is not the python3 on PATH.
	Note string
}

// String is the one line a service logs at start.
func (i Isolation) String() string {
	net := "none"
	if i.Network {
		net = "host's (no network namespace)"
	}
	s := fmt.Sprintf("code sandbox %s: %s as uid %d gid %d; network: %s; filesystem: %s", i.Sandbox, i.Python, i.UID, i.GID, net, i.Filesystem)
	if i.Note != "" {
		s += "; note: " + i.Note
	}
	return s
}

// Probe reports what [Run] does on this machine. It fails like Run when
// there is no python3 or none the sandbox user can run.
func Probe() (Isolation, error) {
	h, err := findHost()
	if err != nil {
		return Isolation{}, err
	}
	return h.isolation(), nil
}

// Describe is [Probe] as one line for a service's start-up log, or why
// programs cannot run.
func Describe() string {
	iso, err := Probe()
	if err != nil {
		return "code sandbox unavailable: " + err.Error()
	}
	return iso.String()
}

func (h host) isolation() Isolation {
	fs := "the host's, as uid " + strconv.Itoa(h.uid) + " may see it; writable: what that uid may write, its temporary directory included"
	if h.fsview {
		fs = "private: its temporary directory (the only writable place), " + strings.Join(append(append([]string(nil), viewDirs...), h.extra...), " ") + " read-only, /dev/{null,zero,random,urandom}, its own /proc; nothing else"
	}
	return Isolation{Python: h.python, Sandbox: h.sandbox(), UID: h.uid, GID: h.gid, Network: !h.namespaces, Filesystem: fs,
		Private: h.fsview, Full: h.full(), Note: h.note}
}

// sandbox names the isolation: the namespaces, "nobody" when root's
// program runs as nobody, "rlimit", and "nproc" when RLIMIT_NPROC binds
// (it never binds root).
func (h host) sandbox() string {
	var parts []string
	if h.userns {
		parts = append(parts, "userns")
	}
	if h.fsview {
		parts = append(parts, "mntns")
	}
	if h.namespaces {
		parts = append(parts, "netns", "pidns")
	}
	if h.dropsRoot() {
		parts = append(parts, "nobody")
	}
	if h.helper {
		parts = append(parts, "nnp")
	}
	parts = append(parts, "rlimit")
	if h.uid != 0 {
		parts = append(parts, "nproc")
	}
	return strings.Join(parts, "+")
}

func (h host) dropsRoot() bool { return h.uid != os.Getuid() }

// full is whether h is the full sandbox (see [Isolation].Full).
func (h host) full() bool { return h.fsview && h.namespaces && h.uid != 0 }

var (
	hostMu     sync.Mutex
	hostCached *host
	// hostMode is the SandboxEnv setting hostCached was probed under.
	hostMode string
)

// findHost finds python3 and probes the sandbox once per process (again
// when SandboxEnv changes); a missing python3 is looked for again next
// time, so that installing it needs no restart.
func findHost() (host, error) {
	mode, err := sandboxMode()
	if err != nil {
		return host{}, err
	}
	hostMu.Lock()
	defer hostMu.Unlock()
	if hostCached != nil && hostMode == mode {
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
	h, err := probeMode(pythons(python), mode)
	if err != nil {
		return host{}, err
	}
	hostCached, hostMode = &h, mode
	return h, nil
}

// systemPythons are tried after the one on PATH: the sandbox user cannot
// run an interpreter under /root (pyenv), and Debian's can be.
var systemPythons = []string{"/usr/bin/python3", "/usr/local/bin/python3"}

// pythons is python then the system's interpreters, each once.
func pythons(python string) []string {
	out := []string{python}
	seen := map[string]bool{python: true}
	for _, p := range systemPythons {
		if r, err := filepath.EvalSymlinks(p); err == nil && !seen[r] {
			seen[r] = true
			out = append(out, p)
		}
	}
	return out
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
// in turn: the private filesystem view in a user namespace, the view
// without one (root only), a user namespace alone, then no namespace; and
// for each the interpreters in order. User namespaces may be disabled for
// unprivileged users or forbidden in a container even to root, and nobody
// cannot run an interpreter that lives under /root. The program never runs
// as root: when root has nothing nobody can run, that is an error.
func probeHost(pythons []string) (host, error) {
	return probeKinds(pythons, sandboxKinds)
}

// sandboxKind is one way of running programs that probeHost tries.
type sandboxKind struct{ userns, fsview, namespaces, helper bool }

// sandboxKinds are the ways probeHost tries, strongest first.
var sandboxKinds = []sandboxKind{{true, true, true, true}, {false, true, true, true}, {true, false, true, false}, {false, false, false, true}, {false, false, false, false}}

// probeKinds is probeHost over the given kinds only.
func probeKinds(pythons []string, kinds []sandboxKind) (host, error) {
	id := ids{os.Getuid(), os.Getgid()}
	root := id.uid == 0
	if root {
		id = nobody()
	}
	exe, exeErr := openSelf()
	var whyNot []string
	for ki, k := range kinds {
		if k.fsview && !k.userns && !root {
			continue // only root may create mount namespaces without a user namespace
		}
		if k.helper && exeErr != nil {
			whyNot = append(whyNot, exeErr.Error())
			continue
		}
		for _, python := range pythons {
			h := host{python: python, userns: k.userns, fsview: k.fsview, namespaces: k.namespaces, helper: k.helper, uid: id.uid, gid: id.gid}
			if k.helper {
				h.exe = exe
			}
			if k.fsview {
				h.extra = outsideView(python)
			}
			if err := h.probe(); err != nil {
				whyNot = append(whyNot, err.Error())
				continue
			}
			switch {
			case ki == 0 && len(whyNot) > 0:
				h.note = fmt.Sprintf("the python3 on PATH, %s, cannot run as uid %d (it lives where that user cannot reach, as under /root): using %s", pythons[0], id.uid, python)
			case len(whyNot) > 0:
				h.note = strings.Join(whyNot, "; ")
			}
			return h, nil
		}
	}
	return host{}, fmt.Errorf("%w: as uid %d: %s", ErrNoSandbox, id.uid, strings.Join(whyNot, "; "))
}

// openSelf opens this binary for the fsview helper: by its fd the sandbox
// user can execute it even where its path is not searchable (a go test
// binary under a 0700 directory).
func openSelf() (*os.File, error) {
	path, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary for the filesystem view: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening this binary for the filesystem view: %w", err)
	}
	return f, nil
}

// outsideView are the directories an interpreter needs that the view does
// not have: its installation prefix, when it is not under /usr.
func outsideView(python string) []string {
	real, err := filepath.EvalSymlinks(python)
	if err != nil {
		return nil
	}
	for _, d := range viewDirs {
		if strings.HasPrefix(real, d+"/") {
			return nil
		}
	}
	// …/bin/python3 → … (a pyenv version, a venv's base, /opt/python).
	return []string{filepath.Dir(filepath.Dir(real))}
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

type ids struct{ uid, gid int }

// nobody is the unprivileged user root's programs run as.
func nobody() ids {
	id := ids{65534, 65534}
	if u, err := user.Lookup("nobody"); err == nil {
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil && uid != 0 {
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
	if h.namespaces {
		a.Cloneflags = syscall.CLONE_NEWNET | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	}
	if h.fsview {
		a.Cloneflags |= syscall.CLONE_NEWNS
	}
	switch {
	case h.userns && h.fsview:
		// The helper is the namespace's root, which is the sandbox user
		// outside, so that it can mount; it drops its capabilities
		// before python3 starts.
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: h.uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: h.gid, Size: 1}}
		if h.dropsRoot() {
			// setuid(0) inside makes the process the sandbox user
			// outside; no Groups: root's supplementary groups go too.
			a.Credential = &syscall.Credential{Uid: 0, Gid: 0}
			a.GidMappingsEnableSetgroups = true
		}
	case h.userns:
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: h.uid, HostID: h.uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: h.gid, HostID: h.gid, Size: 1}}
		// Only root may allow setgroups, and only root needs it.
		a.GidMappingsEnableSetgroups = h.dropsRoot()
		if h.dropsRoot() {
			a.Credential = &syscall.Credential{Uid: uint32(h.uid), Gid: uint32(h.gid)}
		}
	case !h.helper && h.dropsRoot():
		// No Groups: root's supplementary groups are dropped too.
		a.Credential = &syscall.Credential{Uid: uint32(h.uid), Gid: uint32(h.gid)}
	}
	// Through the helper without a user namespace, root's helper drops
	// to h.uid itself (after mounting, with fsview).
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
	case h.userns:
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
