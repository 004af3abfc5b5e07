package codeexec

import (
	"fmt"
	"os"
	"strings"
)

// SandboxEnv chooses the sandbox [Run] uses:
//
//   - auto (or unset): the strongest this machine allows;
//   - full: only the full sandbox ([Isolation].Full); without it Run fails
//     with [ErrNotFull] rather than run code in less;
//   - rlimit: no namespaces, only this binary's helper (no_new_privs, never
//     root) and rlimits, for a host where namespaces misbehave. Reports
//     warn of code scored so.
const SandboxEnv = "ASSAY_CODE_SANDBOX"

// Sandbox modes, the values of SandboxEnv.
const (
	ModeAuto   = "auto"
	ModeFull   = "full"
	ModeRlimit = "rlimit"
)

// sandboxMode is SandboxEnv's value, checked.
func sandboxMode() (string, error) {
	switch m := strings.TrimSpace(os.Getenv(SandboxEnv)); m {
	case "", ModeAuto:
		return ModeAuto, nil
	case ModeFull, ModeRlimit:
		return m, nil
	default:
		return "", fmt.Errorf("%s=%q: write %s (the strongest sandbox this machine allows, the default), %s (refuse anything less than the full sandbox) or %s (no namespaces)",
			SandboxEnv, m, ModeAuto, ModeFull, ModeRlimit)
	}
}

// probeMode is probeHost under a SandboxEnv mode.
func probeMode(pythons []string, mode string) (host, error) {
	switch mode {
	case ModeRlimit:
		var kinds []sandboxKind
		for _, k := range sandboxKinds {
			if !k.namespaces && !k.userns && !k.fsview {
				kinds = append(kinds, k)
			}
		}
		return probeKinds(pythons, kinds)
	case ModeFull:
		h, err := probeHost(pythons)
		if err == nil && !h.full() {
			return host{}, fmt.Errorf("%w (%s=%s): the strongest here is %s (%s): allow user namespaces (or run assay as root), or unset %s to accept it",
				ErrNotFull, SandboxEnv, ModeFull, h.sandbox(), h.note, SandboxEnv)
		}
		return h, err
	}
	return probeHost(pythons)
}
