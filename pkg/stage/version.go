package stage

import (
	"runtime/debug"
	"strings"
)

// version is set at link time by `make build`
// (-ldflags "-X github.com/assay-eval/assay/pkg/stage.version=$(git describe …)");
// without it the module version the Go toolchain recorded is used.
var version string

// Version is what `assay --version` and `assay-<stage> --version` print:
// the version and the commit the binary was built from, e.g.
// "v0.4.0 (commit 3f2a9c1e6b0d, modified)".
func Version() string {
	info, _ := debug.ReadBuildInfo()
	return formatVersion(version, info)
}

func formatVersion(override string, info *debug.BuildInfo) string {
	v := override
	var rev string
	var modified bool
	if info != nil {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var details []string
	if rev != "" {
		details = append(details, "commit "+rev[:min(len(rev), 12)])
	} else {
		// go run and go test record no commit.
		details = append(details, "commit unknown")
	}
	if modified {
		details = append(details, "modified")
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}
