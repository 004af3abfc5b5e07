// Command assay-score runs assay's scoring stage against a NATS server.
package main

import (
	"context"
	"flag"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/score"
)

func main() {
	var cfg score.Config
	stage.Main("assay-score", func(fs *flag.FlagSet) {
		fs.IntVar(&cfg.Workers, "workers", 0, "generations scored at once (default 16 × GOMAXPROCS)")
	}, func(ctx context.Context, env *stage.Env) error {
		return score.New(cfg, env).Run(ctx)
	})
}
