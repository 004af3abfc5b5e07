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
	ctx, stop := signalContext()
	cmd, err := newRoot().ExecuteContextC(ctx)
	interrupted := ctx.Err() != nil
	stop()
	printError(os.Stderr, cmd, err, interrupted)
	os.Exit(exitCode(err, interrupted))
}

// signalContext is cancelled by the first SIGINT or SIGTERM, which asks
// the command to stop cleanly. Its signal handling ends there: a second
// signal, from someone who will not wait for the clean stop, kills the
// process at once, as it would any program (status 130 for Ctrl-C).
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}
