// Package codeexec runs model-generated Python programs in a sandbox and
// scores code-generation samples: [Run] executes one program under
// [Limits] and reports a [Result], [HumanEvalProgram] and [MBPPProgram]
// assemble a program from a benchmark's prompt, the model's completion and
// the benchmark's tests, [ExtractCode] pulls the code out of a chat answer,
// and [PassAtK] is the unbiased pass@k estimator.
//
// # Isolation
//
// Each program runs as `python3 -I -B` in a fresh 0700 temporary directory
// (removed afterwards), with stdin from /dev/null, an environment of only
// PATH, HOME and TMPDIR (both the temporary directory) and LANG, and in its
// own process group, which is killed as a whole on timeout, on cancellation
// and as soon as the program exits, so that nothing it forked lingers.
// Output is read through a bounded buffer, however much there is.
//
// Resource limits are set by a fixed Python preamble given to the
// interpreter with -c: it calls resource.setrlimit (address space, CPU
// seconds, file size, core dumps, process count) and only then compiles and
// executes the program file as __main__. Go's SysProcAttr cannot set
// rlimits, and prlimit(2) on the started pid would race with the program:
// by the time the parent applied it, user code may already have run. With
// the preamble no line of the program runs before the limits are in force,
// its forks inherit them, and its tracebacks and syntax errors name its own
// file.
//
// On top of that, as far as this machine allows (probed once per process,
// strongest first, see [Probe] and [Describe]):
//
//   - the program never runs as root. When the caller is root it runs as
//     nobody (uid 65534), and the interpreter must be one nobody can run:
//     python3 on PATH is tried first, then /usr/bin/python3 and
//     /usr/local/bin/python3 (a pyenv python3 under /root cannot be run);
//     with none, Run fails with [ErrNoSandbox] rather than run as root.
//   - a private filesystem view ("mntns", fsview.go): this binary starts
//     itself again as a helper in new user, mount, network, PID, IPC and
//     UTS namespaces, mounts a tmpfs root holding the program's directory
//     (at its own path, the only writable place), /usr, /etc and the bin
//     and lib directories read-only, /dev/null, zero, random and urandom,
//     and the PID namespace's own /proc; it then detaches the host's
//     root, empties every capability set including the bounding set,
//     sets no_new_privs and executes python3. Nothing else of the host
//     exists for the program: not /tmp, /home, /root or the data
//     directory. In the user namespace the program is uid 0 with no
//     capability; outside it is nobody (or the unprivileged caller).
//     Where only root may create namespaces, the helper builds the same
//     view as root and drops to nobody before python3 starts.
//   - no way back to privilege ("nnp"): whenever this binary's helper can
//     start, even with no namespace at all, it sets no_new_privs (a
//     set-user-ID program such as su gains nothing) and, for root, empties
//     the bounding set and changes to nobody itself.
//   - no network ("netns"): not even loopback.
//   - its own PID namespace ("pidns"): when the first process dies the
//     kernel kills everything in the namespace, even processes that left
//     the process group.
//   - in a user namespace ("userns") the hard limits cannot be raised and
//     RLIMIT_NPROC counts the namespace's own tasks only.
//
// [Result].Sandbox names what was in effect, "+"-joined: the namespaces,
// "nobody", "rlimit", and "nproc" when the process limit binds. The full
// sandbox is "userns+mntns+netns+pidns+nnp+rlimit+nproc" for an
// unprivileged caller and "userns+mntns+netns+pidns+nobody+nnp+rlimit+nproc"
// for root. The fallbacks, each logged with the reason the stronger ones
// failed, are "mntns+netns+pidns+nobody+nnp+rlimit+nproc" (root, no user
// namespace), "userns+netns+pidns+…" (the helper cannot run),
// "[nobody+]nnp+rlimit+nproc" (no namespace at all) and
// "[nobody+]rlimit+nproc" (not even the helper).
//
// [SandboxEnv] (ASSAY_CODE_SANDBOX) changes the choice: full refuses to run
// programs in less than the full sandbox ([Isolation].Full), rlimit skips
// the namespaces. Each code score records the sandbox it ran in, and the
// report warns of degraded ones.
//
// # Limitations
//
// This is a sandbox for honest mistakes and casual mischief (reading
// secrets, writing outside its directory, calling out), not a boundary
// against a determined attacker: it shares the kernel, and a kernel bug
// reachable from a user namespace defeats it; seccomp is not used. Without
// the filesystem view the program sees the host's filesystem as its uid
// may (files protected by their mode alone, world-writable directories
// such as /tmp writable, host processes listed in /proc); without the
// helper nothing sets no_new_privs, so a set-user-ID program could raise
// its privileges.
// Without a network namespace it can reach the network. Without a PID
// namespace a process it moves out of its process group (setsid) survives
// it, and RLIMIT_NPROC counts all of the user's tasks, so the program gets
// MaxProcs more than the user had when it started, minus what other
// programs start meanwhile. Programs that run as the same user outside a
// mount namespace can see each other's directories. A program can also
// fake success by exiting 0 before the tests run (os._exit(0)), as with the
// reference HumanEval harness.
package codeexec
