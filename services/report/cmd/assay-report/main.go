// Command assay-report runs assay's report stage against a NATS server.
package main

import (
	"context"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/report"
)

func main() {
	stage.Main("assay-report", nil, func(ctx context.Context, env *stage.Env) error {
		return report.New(report.Config{}, env).Run(ctx)
	})
}
