package stage_test

import (
	"flag"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/stage"
)

// TestShutdownGraceFlag: --shutdown-grace defaults to 10s, takes
// ASSAY_SHUTDOWN_GRACE, and the flag wins over it.
func TestShutdownGraceFlag(t *testing.T) {
	parse := func(args ...string) time.Duration {
		var f stage.Flags
		fs := flag.NewFlagSet("assay-infer", flag.ContinueOnError)
		f.Register(fs, "assay-infer")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.ShutdownGrace
	}
	if got := parse(); got != stage.DefaultShutdownGrace {
		t.Errorf("default %v", got)
	}
	t.Setenv("ASSAY_SHUTDOWN_GRACE", "25s")
	if got := parse(); got != 25*time.Second {
		t.Errorf("from the environment: %v", got)
	}
	if got := parse("--shutdown-grace", "0s"); got != 0 {
		t.Errorf("from the flag: %v", got)
	}
}
