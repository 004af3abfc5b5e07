package codeexec

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// The private filesystem view is set up by this binary itself: Run starts
// it again (through /proc/self/fd, so that its path need not be readable
// by the sandbox user) in new mount, network and PID namespaces with
// helperEnv set, and this package's init turns the process into the
// sandbox before anything else of the program's runs, then executes
// python3. SysProcAttr cannot mount, and no external tool is needed.
//
// The view's root is a read-only tmpfs holding the program's directory at
// its own path, the only writable place, and the system directories bound
// read-only; /dev has only null, zero, random and urandom, /proc is the
// PID namespace's own, and nothing else of the host (its /tmp, /home,
// /root, the data directory) exists there.

const (
	// helperEnv marks the helper; its value is ignored.
	helperEnv = "ASSAY_CODEEXEC_SANDBOX"
	// helperName is the helper's argv[0].
	helperName = "assay-codeexec-sandbox"
	// helperExe is the helper's executable: the fd Run passes it as.
	helperExe = "/proc/self/fd/3"
)

// viewDirs are bound read-only into the view when they exist: what an
// interpreter and its standard library need, and nothing with data in it.
var viewDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// viewDevices are bound into the view's /dev.
var viewDevices = []string{"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"}

// How the helper gives up privilege before python3 starts.
const (
	// dropCaps: it is a user namespace's root and empties its
	// capabilities.
	dropCaps = "caps"
	// dropUser: it is root and changes to the sandbox user.
	dropUser = "user"
	// dropNothing: it is the unprivileged caller already.
	dropNothing = "none"
)

// helperArgs is the helper's command line: the program's directory ("":
// no filesystem view), how to drop privilege, the ids to drop to, extra
// read-only directories (":"-joined, for an interpreter outside
// viewDirs), then the interpreter's argv.
func helperArgs(view, drop string, uid, gid int, extra []string, argv []string) []string {
	return append([]string{helperName, view, drop, strconv.Itoa(uid), strconv.Itoa(gid), strings.Join(extra, ":")}, argv...)
}

func init() {
	if _, ok := os.LookupEnv(helperEnv); !ok || len(os.Args) < 8 || os.Args[0] != helperName {
		return
	}
	runtime.LockOSThread()
	if err := becomeSandbox(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "codeexec sandbox: %v\n", err)
		os.Exit(exitSetup)
	}
	panic("unreachable: becomeSandbox returns only on error")
}

// becomeSandbox builds the view, drops every privilege and executes the
// interpreter; it returns only on failure.
func becomeSandbox(args []string) error {
	_ = syscall.Close(3) // the helper's own executable
	view, drop := args[0], args[1]
	uid, err1 := strconv.Atoi(args[2])
	gid, err2 := strconv.Atoi(args[3])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad ids %q %q", args[2], args[3])
	}
	var extra []string
	if args[4] != "" {
		extra = strings.Split(args[4], ":")
	}
	argv := args[5:]

	if view != "" {
		if err := buildView(view, extra); err != nil {
			return err
		}
	}
	var err error
	switch drop {
	case dropCaps:
		err = dropCapabilities()
	case dropUser:
		err = dropToUser(uid, gid)
	case dropNothing:
		err = noNewPrivs()
	default:
		err = fmt.Errorf("unknown way to drop privilege %q", drop)
	}
	if err != nil {
		return err
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv+"=") {
			env = append(env, kv)
		}
	}
	if err := syscall.Exec(argv[0], argv, env); err != nil {
		return fmt.Errorf("executing %s: %w", argv[0], err)
	}
	return nil
}

func buildView(dir string, extra []string) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	// The new root is a tmpfs mounted over the program's directory, which
	// stays reachable through its fd to be bound back at its own path.
	fd, err := syscall.Open(dir, oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer syscall.Close(fd)
	root := dir
	if err := syscall.Mount("tmpfs", root, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755,size=1m"); err != nil {
		return fmt.Errorf("mounting the new root: %w", err)
	}
	for _, d := range append(append([]string(nil), viewDirs...), extra...) {
		if err := bindReadOnly(root, d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		return fmt.Errorf("creating /dev: %w", err)
	}
	for _, d := range viewDevices {
		if err := bindReadOnly(root, d); err != nil {
			return err
		}
	}
	work := filepath.Join(root, dir)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("creating %s in the new root: %w", dir, err)
	}
	if err := syscall.Mount("/proc/self/fd/"+strconv.Itoa(fd), work, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding %s: %w", dir, err)
	}
	// A fresh /proc shows only the PID namespace; a container that masks
	// parts of its own /proc refuses it, and python3 runs without one.
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o555); err == nil {
		if syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "") != nil {
			_ = os.Remove(proc)
		}
	}
	if err := syscall.Chdir(root); err != nil {
		return fmt.Errorf("entering the new root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root under the new one, and the
	// detach unmounts it: nothing else of the host is left reachable.
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("changing root: %w", err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's root: %w", err)
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV, ""); err != nil {
		return fmt.Errorf("making the new root read-only: %w", err)
	}
	if err := syscall.Chdir(dir); err != nil {
		return fmt.Errorf("entering %s: %w", dir, err)
	}
	return nil
}

// bindReadOnly binds host path p at the same path under root, read-only.
// A symbolic link (/bin → usr/bin on merged-/usr systems) is copied as a
// link instead.
func bindReadOnly(root, p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil // absent on this system
	}
	target := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		link, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("reading link %s: %w", p, err)
		}
		if err := os.Symlink(link, target); err != nil && !os.IsExist(err) {
			return fmt.Errorf("linking %s: %w", p, err)
		}
		return nil
	case fi.IsDir():
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", p, err)
		}
	default:
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("creating %s: %w", p, err)
		}
		f.Close()
	}
	if err := syscall.Mount(p, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("binding %s: %w", p, err)
	}
	// A remount in a user namespace must keep the flags the kernel locked
	// on the original mount (nosuid, nodev, noexec, atime).
	var st syscall.Statfs_t
	if err := syscall.Statfs(target, &st); err != nil {
		return fmt.Errorf("reading the flags of %s: %w", p, err)
	}
	flags := uintptr(syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_RDONLY | syscall.MS_NOSUID)
	for _, f := range []struct{ st, ms uintptr }{
		{stNoDev, syscall.MS_NODEV}, {stNoExec, syscall.MS_NOEXEC},
		{stNoAtime, syscall.MS_NOATIME}, {stNoDirAtime, syscall.MS_NODIRATIME}, {stRelAtime, syscall.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	if err := syscall.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", p, err)
	}
	return nil
}

// statfs(2) f_flags (ST_* in <sys/statvfs.h>).
const (
	stNoDev      = 0x4
	stNoExec     = 0x8
	stNoAtime    = 0x400
	stNoDirAtime = 0x800
	stRelAtime   = 0x1000
)

// dropToUser leaves root for uid and gid (the caller was root outside a
// user namespace): the kernel clears every capability on that change.
func dropToUser(uid, gid int) error {
	if err := dropBounding(); err != nil {
		return err
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("dropping supplementary groups: %w", err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("changing to gid %d: %w", gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("changing to uid %d: %w", uid, err)
	}
	// The change of uid cleared the parent-death signal.
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); e != 0 {
		return fmt.Errorf("setting the parent-death signal: %w", e)
	}
	return noNewPrivs()
}

// Capability and securebits constants (<linux/capability.h>,
// <linux/securebits.h>, <linux/prctl.h>).
const (
	prCapAmbient         = 47
	prCapAmbientClearAll = 4
	prSetNoNewPrivs      = 38
	linuxCapV3           = 0x20080522
	// SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP and SECBIT_KEEP_CAPS_LOCKED,
	// each with its lock.
	secureBits = 0x01 | 0x02 | 0x04 | 0x08 | 0x20
)

// dropCapabilities leaves the user namespace's root with no capability,
// now or after exec: the bounding, ambient, inheritable, permitted and
// effective sets are emptied, and securebits stop exec from giving root
// its capabilities back. The uid stays 0 inside (it is the only one
// mapped); outside it is the sandbox user's.
func dropCapabilities() error {
	if err := dropBounding(); err != nil {
		return err
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClearAll, 0); e != 0 && e != syscall.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %w", e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_SECUREBITS, secureBits, 0); e != 0 {
		return fmt.Errorf("setting securebits: %w", e)
	}
	hdr := struct {
		version uint32
		pid     int32
	}{linuxCapV3, 0}
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("clearing capabilities: %w", e)
	}
	return noNewPrivs()
}

// dropBounding empties the capability bounding set: no later exec can
// give a capability back.
func dropBounding() error {
	for c := 0; c <= 63; c++ {
		if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_CAPBSET_DROP, uintptr(c), 0); e != 0 && e != syscall.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, e)
		}
	}
	return nil
}

// noNewPrivs stops exec from granting privileges (set-user-ID files).
func noNewPrivs() error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); e != 0 {
		return fmt.Errorf("setting no_new_privs: %w", e)
	}
	return nil
}

// oPath is O_PATH (<fcntl.h>), which package syscall lacks.
const oPath = 0x200000
