package stage

import (
	"runtime/debug"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	built := func(version string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/assay-eval/assay/cmd/assay", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	const rev = "3f2a9c1e6b0d5a7c8e9f00112233445566778899"
	for _, c := range []struct {
		override string
		info     *debug.BuildInfo
		want     string
	}{
		{"", built("v0.4.0", "vcs.revision", rev, "vcs.modified", "false"), "v0.4.0 (commit 3f2a9c1e6b0d)"},
		{"", built("v0.4.1-0.20260101120000-3f2a9c1e6b0d+dirty", "vcs.revision", rev, "vcs.modified", "true"), "v0.4.1-0.20260101120000-3f2a9c1e6b0d+dirty (commit 3f2a9c1e6b0d, modified)"},
		{"v0.4.0-3-g3f2a9c1-dirty", built("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "v0.4.0-3-g3f2a9c1-dirty (commit 3f2a9c1e6b0d, modified)"},
		{"", built("(devel)"), "devel (commit unknown)"},
		{"", nil, "devel (commit unknown)"},
		{"v1.0.0", nil, "v1.0.0 (commit unknown)"},
	} {
		if got := formatVersion(c.override, c.info); got != c.want {
			t.Errorf("formatVersion(%q, …) = %q, want %q", c.override, got, c.want)
		}
	}
}
