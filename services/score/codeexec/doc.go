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
// PATH, HOME, TMPDIR (both the temporary directory) and LANG, and in its own
// process group, which is killed as a whole on timeout, on cancellation and
// when the program exits (so that nothing it forked lingers).
//
// Resource limits are set by a fixed Python preamble given to the
// interpreter with -c: it calls resource.setrlimit (address space, CPU
// seconds, file size, core dumps, process count) and only then reads,
// compiles and executes the program file. Go's SysProcAttr cannot set
// rlimits, and prlimit(2) on the started pid would race with the program:
// by the time the parent applied it, user code may already have run. With
// the preamble no byte of the program runs before the limits are in force,
// and the program's tracebacks and syntax errors name its own file.
//
// Where the kernel allows it, the interpreter also starts in new user,
// network and PID namespaces (the user namespace maps only the caller's
// uid and gid). The program then has no network at all (not even
// loopback), cannot raise its hard limits, its process count is its own,
// and killing the namespace's first process kills everything in it. Whether
// that works is probed once per process; where it does not (unprivileged
// user namespaces disabled, or a container that forbids them) Run falls back
// to rlimits alone. [Result].Sandbox tells which was in effect.
//
// # Limitations
//
// This is a sandbox for honest mistakes (infinite loops, memory bombs,
// floods of output, stray forks), not for hostile code. There is no
// filesystem isolation: the program can read and write whatever the
// calling user can, so run the scorer as an unprivileged user. Without
// namespaces the program can reach the network, and as root it could raise
// its own limits and RLIMIT_NPROC does not bind, so a fork bomb is only
// stopped by the wall-clock timeout. A program can also fake success by
// exiting 0 before the tests run (os._exit(0)), as with the reference
// HumanEval harness.
package codeexec
