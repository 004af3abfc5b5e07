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
// see [Probe]):
//
//   - new user, network and PID namespaces ("userns+netns+pidns"): no
//     network at all, not even loopback; the hard limits cannot be raised;
//     RLIMIT_NPROC counts the namespace's own tasks only; and when the
//     namespace's first process dies the kernel kills everything in it,
//     even processes that left the process group. Unprivileged user
//     namespaces may be disabled, or a container may forbid them to root.
//   - when the caller is root, the program runs as nobody ("nobody"): it
//     cannot write root's files, cannot raise its limits, and RLIMIT_NPROC
//     binds, which it never does for root. This needs an interpreter that
//     nobody can read: a python3 under /root (pyenv) cannot be.
//
// [Result].Sandbox names what was in effect, "+"-joined: the namespaces,
// "nobody", "rlimit", and "nproc" when the process limit binds. The full
// sandbox is "userns+netns+pidns+rlimit+nproc" for an unprivileged caller
// and "userns+netns+pidns+nobody+rlimit+nproc" for root; the weakest is
// "rlimit", root without namespaces and with a python3 nobody cannot run.
//
// # Limitations
//
// This is a sandbox for honest mistakes (infinite loops, memory bombs,
// floods of output, stray forks), not for hostile code. There is no
// filesystem isolation: the program can read whatever its user can, and
// write what that user owns. Without namespaces it can reach the network;
// a process it moves out of its process group (setsid) survives it; and
// RLIMIT_NPROC counts all of the user's tasks, so the program gets
// MaxProcs more than the user had when it started, minus what other
// programs start meanwhile. Without "nproc" a fork bomb is stopped only by
// the wall-clock timeout, and a program run as root outside a user
// namespace can raise its own limits (with CAP_SYS_RESOURCE). Programs that
// run as the same user can see each other's directories. A program can also fake success by exiting 0 before
// the tests run (os._exit(0)), as with the reference HumanEval harness.
package codeexec
