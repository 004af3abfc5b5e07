// Command assay-infer runs assay's inference stage against a NATS server.
package main

import (
	"context"
	"flag"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/infer"
)

func main() {
	var cfg infer.Config
	stage.Main("assay-infer", func(fs *flag.FlagSet) {
		fs.IntVar(&cfg.Ahead, "ahead", 0, "samples of each variant handed out beyond its concurrency, waiting in a replica for a free endpoint slot so that slots are not idle during the bus's round trips; each replica still calls an endpoint at most concurrency at a time, all replicas together at most concurrency + ahead (0: ⌈concurrency/8⌉; -1: none, concurrency caps the calls of every replica together)")
	}, func(ctx context.Context, env *stage.Env) error {
		return infer.New(cfg, env).Run(ctx)
	})
}
