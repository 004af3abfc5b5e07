package codeexec

import "errors"

var (
	// ErrNoPython is returned by [Run] when no python3 is on PATH.
	ErrNoPython = errors.New("python3 not found on PATH: install it (apt-get install python3)")

	// ErrNoSandbox is returned by [Run] when no python3 runs in the
	// sandbox: when assay runs as root, programs run as nobody, who
	// cannot run an interpreter under /root (pyenv).
	ErrNoSandbox = errors.New("no python3 runs in the code sandbox: install Debian's python3 (apt-get install python3), which nobody can run, or run assay as a non-root user")

	// ErrNotFull is returned by [Run] under ASSAY_CODE_SANDBOX=full
	// ([SandboxEnv]) where the full sandbox cannot be had.
	ErrNotFull = errors.New("the full code sandbox is not available here")

	// ErrPassAtK is returned by [PassAtK] for counts that do not describe
	// a sample of n generations with c correct ones.
	ErrPassAtK = errors.New("invalid pass@k counts")
)
