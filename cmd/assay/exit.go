package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/spf13/cobra"
)

// Exit statuses. They are the same for run, checkpoint, replay, retry and report,
// so that CI can tell a model that regressed (1) from a pipeline that could
// not evaluate it (3), a mistake in how assay was called (2), or a sample
// too small to tell (4).
const (
	exitGateFailed  = 1
	exitUsage       = 2
	exitUnevaluated = 3
	// exitInconclusive is a gate that could not decide: no check failed,
	// but the interval of at least one straddles its threshold, so the
	// model is neither shown good enough nor shown worse; more samples
	// would decide it.
	exitInconclusive = 4
	// exitInterrupted is the shell's status for a process ended by
	// SIGINT (128 + 2); SIGTERM ends assay the same way.
	exitInterrupted = 130
)

// errGateFailed is a gate that failed: exit 1 without a further message,
// since the summary already said which checks failed.
var errGateFailed = errors.New("gate failed")

// errGateInconclusive is a gate that could not decide: exit 4 without a
// further message, since the summary already said which checks straddle
// their thresholds and what would decide them.
var errGateInconclusive = errors.New("gate inconclusive")

// errUnevaluated is a run that could not be evaluated: its gate verdict is
// error, it ended in state error, or it is not over.
var errUnevaluated = errors.New("could not be evaluated")

// usageError is a mistake in how assay was called — a flag, an argument, the
// spec — found before anything was submitted.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage marks err as a usage error (exit 2).
func usage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}

func usagef(format string, a ...any) error { return usage(fmt.Errorf(format, a...)) }

// interruptedError is a command cancelled by SIGINT or SIGTERM, with what
// to do next.
type interruptedError struct {
	next string
	err  error
}

func (e *interruptedError) Error() string { return "interrupted: " + e.next }
func (e *interruptedError) Unwrap() error { return e.err }

// commandError is an error a command's RunE returned. Anything else that
// cobra returns is its own usage error: an unknown command or flag, a bad
// flag value, a missing required flag, an extra argument.
type commandError struct{ err error }

func (e *commandError) Error() string { return e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }

// markCommandErrors wraps the RunE of cmd and of its subcommands so that
// their errors can be told from cobra's own.
func markCommandErrors(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if err := run(c, args); err != nil {
				return &commandError{err}
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		markCommandErrors(c)
	}
}

// exitCode is the process's exit status for the error a command returned;
// interrupted says that SIGINT or SIGTERM cancelled the command's context.
func exitCode(err error, interrupted bool) int {
	var ue *usageError
	var ce *commandError
	switch {
	case err == nil:
		return 0
	case interrupted || errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, errGateFailed):
		return exitGateFailed
	case errors.Is(err, errGateInconclusive):
		return exitInconclusive
	case errors.As(err, &ue), !errors.As(err, &ce),
		// A resubmitted spec that would change the run's results, a
		// checkpoint or judge whose name the run uses for another: a
		// mistake in what was given, and nothing was changed.
		errors.Is(err, bus.ErrRunExists), errors.Is(err, bus.ErrConflict):
		return exitUsage
	}
	return exitUnevaluated
}

// printError writes err to w, one "assay: " line per line of its text, so
// that the first line names the cause. cmd is the command that ran.
func printError(w io.Writer, cmd *cobra.Command, err error, interrupted bool) {
	if err == nil || errors.Is(err, errGateFailed) || errors.Is(err, errGateInconclusive) || errors.Is(err, errLinesFailed) {
		return // already said: the summary, or each line's problem
	}
	if interrupted || errors.Is(err, context.Canceled) {
		// What failed after the cancel is its consequence, not news.
		var ie *interruptedError
		if errors.As(err, &ie) {
			fmt.Fprintln(w, "assay:", ie)
		} else {
			fmt.Fprintln(w, "assay: interrupted")
		}
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.TrimSpace(line) != "" {
			fmt.Fprintln(w, "assay:", line)
		}
	}
	var ce *commandError
	if !errors.As(err, &ce) && cmd != nil {
		fmt.Fprintf(w, "assay: see %s --help\n", cmd.CommandPath())
	}
}

// verdictError is what a run's gate verdict makes of the exit status: nil
// when it passed (or there is no gate), errGateFailed when it failed,
// errGateInconclusive when it could not decide, and an error naming the
// causes when the run could not be evaluated.
func verdictError(run string, g document.Gate) error {
	switch g.Verdict {
	case document.VerdictPass:
		return nil
	case document.VerdictFail:
		return errGateFailed
	case document.VerdictInconclusive:
		return errGateInconclusive
	case document.VerdictError:
		why := "see the report's warnings"
		if len(g.Errors) > 0 {
			why = strings.Join(g.Errors, "; ")
		}
		return fmt.Errorf("run %s %w: %s", run, errUnevaluated, why)
	case "":
		// A report stored before verdicts were recorded.
		if g.Passed {
			return nil
		}
		return errGateFailed
	}
	return fmt.Errorf("run %s: unknown gate verdict %q", run, g.Verdict)
}
