package codeexec

import "errors"

var (
	// ErrNoPython is returned by [Run] when no python3 is on PATH.
	ErrNoPython = errors.New("python3 not found on PATH: install it (apt-get install python3)")

	// ErrPassAtK is returned by [PassAtK] for counts that do not describe
	// a sample of n generations with c correct ones.
	ErrPassAtK = errors.New("invalid pass@k counts")
)
