// Command assay-judge runs assay's LLM-judge stage against a NATS server.
package main

import (
	"context"
	"flag"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/judge"
)

func main() {
	var cfg judge.Config
	stage.Main("assay-judge", func(fs *flag.FlagSet) {
		fs.IntVar(&cfg.Ahead, "ahead", 0, "generations of each judge handed out beyond its concurrency, waiting in a replica for a free endpoint slot so that slots are not idle during the bus's round trips; each replica still calls a judge's endpoint at most concurrency at a time (0: ⌈concurrency/8⌉; -1: none)")
	}, func(ctx context.Context, env *stage.Env) error {
		return judge.New(cfg, env).Run(ctx)
	})
}
