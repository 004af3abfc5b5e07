// Command assay-score runs assay's scoring stage against a NATS server.
package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/score"
	"github.com/assay-eval/assay/services/score/codeexec"
)

func main() {
	var cfg score.Config
	stage.Main("assay-score", func(fs *flag.FlagSet) {
		fs.IntVar(&cfg.Workers, "workers", 0, "generations scored at once (default 16 × GOMAXPROCS)")
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "Usage of assay-score (code_pass runs code in the sandbox %s chooses: auto, the strongest this host allows; full, or fail; rlimit, no namespaces):\n", codeexec.SandboxEnv)
			fs.PrintDefaults()
		}
	}, func(ctx context.Context, env *stage.Env) error {
		return score.New(cfg, env).Run(ctx)
	})
}
