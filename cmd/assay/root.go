package main

import (
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/assay-eval/assay/pkg/obs"
	"github.com/spf13/cobra"
)

// errGateFailed makes the process exit 1 without a further message: the
// summary already said which checks failed.
var errGateFailed = errors.New("gate failed")

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "assay",
		Short:         "Is the fine-tune really better than the base model, where is it worse, and does that stay true?",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDemoCmd(), newUpCmd(), newRunCmd(), newCheckpointCmd(), newReplayCmd(), newReportCmd(), newScoreCmd(), newContaminationCmd(), newSimCmd())
	return root
}

// logFlags are the logging flags of commands that run stages.
type logFlags struct {
	level   string
	verbose bool
}

func (l *logFlags) register(cmd *cobra.Command, verboseDefault bool) {
	cmd.Flags().StringVar(&l.level, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().BoolVarP(&l.verbose, "verbose", "v", verboseDefault, "write the stages' JSON logs to stderr")
}

func (l *logFlags) logger() (*slog.Logger, error) {
	if !l.verbose {
		return slog.New(slog.NewJSONHandler(io.Discard, nil)), nil
	}
	return obs.NewLogger(os.Stderr, l.level)
}
