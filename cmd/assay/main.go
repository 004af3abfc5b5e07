// Command assay tells whether a fine-tuned LLM is really better than its
// base model, where it is worse, and whether that stays true. It runs any or
// all of assay's stages in one process, submits runs, writes reports and
// serves simulated models.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd, err := newRoot().ExecuteContextC(ctx)
	interrupted := ctx.Err() != nil
	stop()
	printError(os.Stderr, cmd, err, interrupted)
	os.Exit(exitCode(err, interrupted))
}
