package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// versionLine is what --version prints: the binary, its version, and the
// commit it was built from (unknown where the build recorded none, as with
// GOFLAGS=-buildvcs=false or outside a git checkout).
var versionLine = regexp.MustCompile(`^(assay(-[a-z]+)?) (\S+) \(commit ([0-9a-f]{12}|unknown)(, modified)?\)\n$`)

// TestVersion: assay and every service binary print their version and
// commit; `make build` stamps the version from git describe.
func TestVersion(t *testing.T) {
	out, _, err := runCLI(t, "--version")
	if err != nil || !versionLine.MatchString(out) {
		t.Fatalf("assay --version in this process: %q, %v", out, err)
	}
	for name := range binaries {
		b, err := exec.Command(binary(t, name), "--version").CombinedOutput()
		if m := versionLine.FindSubmatch(b); err != nil || m == nil || string(m[1]) != name {
			t.Errorf("%s --version: %q, %v", name, b, err)
		}
	}

	// As the Makefile builds it: the version given at link time, the
	// commit from the checkout.
	bin := filepath.Join(t.TempDir(), "assay-ingest")
	build := exec.Command("go", "build", "-buildvcs=auto", "-ldflags", "-X github.com/assay-eval/assay/pkg/stage.version=v9.9.9-test",
		"-o", bin, binaries["assay-ingest"])
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	b, err := exec.Command(bin, "--version").CombinedOutput()
	if m := versionLine.FindSubmatch(b); err != nil || m == nil || string(m[3]) != "v9.9.9-test" {
		t.Fatalf("stamped assay-ingest --version: %q, %v", b, err)
	}
	// Where the go command stamped a commit into the binary (a git
	// checkout; not, for one, a linked worktree in workspace mode), the
	// version names it.
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if stamped := err == nil && strings.Contains(string(info), "vcs.revision="); stamped && strings.Contains(string(b), "commit unknown") {
		t.Errorf("the binary carries a commit, but --version does not show it: %q", b)
	}
}
