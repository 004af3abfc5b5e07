// Command assay-judge runs assay's LLM-judge stage against a NATS server.
package main

import (
	"context"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/judge"
)

func main() {
	stage.Main("assay-judge", nil, func(ctx context.Context, env *stage.Env) error {
		return judge.New(judge.Config{}, env).Run(ctx)
	})
}
