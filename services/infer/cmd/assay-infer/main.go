// Command assay-infer runs assay's inference stage against a NATS server.
package main

import (
	"context"

	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/infer"
)

func main() {
	stage.Main("assay-infer", nil, func(ctx context.Context, env *stage.Env) error {
		return infer.New(infer.Config{}, env).Run(ctx)
	})
}
