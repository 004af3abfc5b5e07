// Command assay tells whether a fine-tuned LLM is really better than its
// base model, where it is worse, and whether that stays true. It runs any or
// all of assay's stages in one process, submits runs, writes reports and
// serves simulated models.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errGateFailed), errors.Is(err, errLinesFailed):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "assay:", err)
		os.Exit(1)
	}
}
