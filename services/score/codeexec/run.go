package codeexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// drainGrace is how long Run waits, once the program's process group is
// dead, for the rest of its output: only a process that left the group
// (possible without a PID namespace) can hold the pipes open longer.
const drainGrace = 500 * time.Millisecond

// Run executes program with python3 under lim (zero fields take their
// default) and reports how it ended. A program that fails, loops, runs out
// of memory or does not compile is a Result, not an error; the error is for
// a program that could not be run: no python3 ([ErrNoPython]), no temporary
// directory, or ctx done (then the program has been killed). See the
// package documentation for the sandbox.
func Run(ctx context.Context, program string, lim Limits) (Result, error) {
	h, err := findHost()
	if err != nil {
		return Result{Status: StatusError, ExitCode: -1}, err
	}
	return h.run(ctx, program, lim.withDefaults(), nil)
}

// run is Run on a given host; onStart, when set, is told the program's pid.
func (h host) run(ctx context.Context, program string, lim Limits, onStart func(pid int)) (res Result, err error) {
	res = Result{Status: StatusError, ExitCode: -1, Sandbox: h.sandbox()}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("running program: %w", err)
	}
	dir, err := os.MkdirTemp("", "assay-codeexec-")
	if err != nil {
		return res, fmt.Errorf("creating the program's directory: %w", err)
	}
	defer func() {
		if rmErr := removeAll(dir); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	path := filepath.Join(dir, "program.py")
	if err := os.WriteFile(path, []byte(program), 0o600); err != nil {
		return res, fmt.Errorf("writing the program: %w", err)
	}
	if h.dropsRoot() {
		for _, p := range []string{dir, path} {
			if err := os.Chown(p, h.uid, h.gid); err != nil {
				return res, fmt.Errorf("handing the program's directory to uid %d: %w", h.uid, err)
			}
		}
	}

	cmd := h.command(dir, path, lim)
	cmd.SysProcAttr = h.sysProcAttr()

	// The pipes are ours rather than exec's so that Wait reaps the
	// process without waiting for its output, which a straggler could
	// hold open.
	outR, outW, err := os.Pipe()
	if err != nil {
		return res, fmt.Errorf("creating a pipe: %w", err)
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return res, fmt.Errorf("creating a pipe: %w", err)
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW

	start := time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		return res, fmt.Errorf("starting %s: %w", h.python, err)
	}
	stdout, stderr := newCapture(lim.MaxOutputBytes), newCapture(lim.MaxOutputBytes)
	var copying sync.WaitGroup
	copying.Go(func() { _, _ = io.Copy(stdout, outR) })
	copying.Go(func() { _, _ = io.Copy(stderr, errR) })
	pid := cmd.Process.Pid
	if onStart != nil {
		onStart(pid)
	}

	runCtx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	killed := make(chan struct{})
	stopKiller := context.AfterFunc(runCtx, func() {
		killGroup(pid)
		close(killed)
	})
	waitErr := waitExit(pid)
	res.Duration = time.Since(start)
	killedByUs := !stopKiller()
	if killedByUs {
		<-killed
	}
	if waitErr == nil {
		// Whatever the program left behind in its group goes with it.
		killGroup(pid)
	}
	if err := cmd.Wait(); err != nil && !errors.As(err, new(*exec.ExitError)) {
		return res, fmt.Errorf("waiting for the program: %w", err)
	}

	drained := make(chan struct{})
	go func() { copying.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainGrace):
		outR.Close()
		errR.Close()
		<-drained
	}

	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	res.ExitCode = cmd.ProcessState.ExitCode()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	killedByUs = killedByUs && ws.Signaled()
	if killedByUs && ctx.Err() != nil {
		return res, fmt.Errorf("running program: %w", context.Cause(ctx))
	}
	if ws.Exited() && ws.ExitStatus() == exitSetup {
		return res, fmt.Errorf("setting up the sandbox: %s", lastLine(stderr.Tail()))
	}
	res.Status = classify(ws, ru, lim, killedByUs, stderr.Tail())
	res.Passed = res.Status == StatusPassed
	return res, nil
}

// removeAll removes dir even where the program took the write or search
// bit off a directory of its own.
func removeAll(dir string) error {
	if os.RemoveAll(dir) == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the program's directory: %w", err)
	}
	return nil
}

// command is the program's command: python3 with the preamble, started
// through the helper when the host has one.
func (h host) command(dir, path string, lim Limits) *exec.Cmd {
	argv := []string{h.python, "-I", "-B", "-c", preamble, path,
		strconv.FormatUint(lim.MemoryBytes, 10),
		strconv.Itoa(lim.CPUSeconds),
		strconv.Itoa(fileSizeLimit),
		strconv.Itoa(h.nprocLimit(lim.MaxProcs))}
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"LANG=C.UTF-8",
	}
	if !h.helper {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Env = dir, env
		return cmd
	}
	drop := dropUser
	switch {
	case h.userns:
		drop = dropCaps
	case !h.dropsRoot():
		drop = dropNothing
	}
	view := ""
	if h.fsview {
		view = dir
	}
	args := helperArgs(view, drop, h.uid, h.gid, h.extra, argv)
	cmd := &exec.Cmd{Path: helperExe, Args: args, Dir: dir, Env: append(env, helperEnv+"=1")}
	cmd.ExtraFiles = []*os.File{h.exe}
	return cmd
}
