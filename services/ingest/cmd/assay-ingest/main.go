// Command assay-ingest runs assay's ingest stage against a NATS server.
package main

import (
	"context"
	"flag"
	"os"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/ingest"
)

func main() {
	var (
		cfg    ingest.Config
		intake ingest.IntakeFlags
	)
	stage.Main("assay-ingest", func(fs *flag.FlagSet) {
		fs.IntVar(&cfg.Workers, "workers", 0, "runs ingested at once (default 2)")
		fs.StringVar(&cfg.IntakeAddr, "intake-addr", "", "address for the HTTP intake of production queries (POST /v1/intake/<source>), e.g. 127.0.0.1:8081; empty: NATS requests only")
		intake.Register(fs)
	}, func(ctx context.Context, env *stage.Env) error {
		var err error
		if cfg.Intake, err = intake.Config(os.Getenv(ingest.IntakeTokensEnv)); err != nil {
			return err
		}
		return ingest.New(cfg, env).Run(ctx)
	})
}
