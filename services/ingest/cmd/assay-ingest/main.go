// Command assay-ingest runs assay's ingest stage against a NATS server.
package main

import (
	"context"
	"flag"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/ingest"
)

func main() {
	var cfg ingest.Config
	stage.Main("assay-ingest", func(fs *flag.FlagSet) {
		fs.IntVar(&cfg.Workers, "workers", 0, "runs ingested at once (default 2)")
		fs.StringVar(&cfg.IntakeAddr, "intake-addr", "", "address for the HTTP intake of production queries (POST /v1/intake/<source>); empty: NATS requests only")
	}, func(ctx context.Context, env *stage.Env) error {
		return ingest.New(cfg, env).Run(ctx)
	})
}
