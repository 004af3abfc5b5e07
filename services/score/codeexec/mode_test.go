package codeexec

import (
	"errors"
	"strings"
	"testing"
)

// TestSandboxModes: ASSAY_CODE_SANDBOX=rlimit runs programs without
// namespaces and says so (not Full), auto takes the strongest, full refuses
// anything less, and another value is refused naming the variable. It
// cannot be parallel: it sets the environment.
func TestSandboxModes(t *testing.T) {
	auto, err := Probe()
	if errors.Is(err, ErrNoPython) {
		t.Skip("python3 is not on PATH; install it (apt-get install python3) to run the sandbox tests")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("auto: %s", auto)
	if auto.Full != (auto.Private && !auto.Network) || auto.UID == 0 {
		t.Errorf("auto: %+v", auto)
	}

	t.Setenv(SandboxEnv, ModeRlimit)
	iso, err := Probe()
	if err != nil {
		t.Fatal(err)
	}
	if iso.Full || iso.Private || !iso.Network || strings.Contains(iso.Sandbox, "ns") || iso.UID == 0 {
		t.Errorf("rlimit: %+v", iso)
	}
	res, err := Run(t.Context(), "import os\nassert os.getuid() != 0\n", Limits{})
	if err != nil || !res.Passed || res.Sandbox != iso.Sandbox {
		t.Errorf("rlimit: a program gave %+v, %v; want it passed under %s", res, err, iso.Sandbox)
	}

	t.Setenv(SandboxEnv, ModeFull)
	full, err := Probe()
	switch {
	case auto.Full && (err != nil || !full.Full):
		t.Errorf("full where auto is full: %+v, %v", full, err)
	case !auto.Full && !errors.Is(err, ErrNotFull):
		t.Errorf("full where only %s is: %v, want ErrNotFull", auto.Sandbox, err)
	}

	t.Setenv(SandboxEnv, "none")
	if _, err := Probe(); err == nil || !strings.Contains(err.Error(), SandboxEnv) {
		t.Errorf("a bad %s: %v", SandboxEnv, err)
	}

	t.Setenv(SandboxEnv, "")
	if again, err := Probe(); err != nil || again != auto {
		t.Errorf("back to auto: %+v, %v; want %+v", again, err, auto)
	}
}
