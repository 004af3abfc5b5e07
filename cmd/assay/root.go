package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/spf13/cobra"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "assay",
		Short: "Is the fine-tune really better than the base model, where is it worse, and does that stay true?",
		Long: `Is the fine-tune really better than the base model, where is it worse, and
does that stay true?

Exit status (run, checkpoint, replay, retry, report):
  0    the gate passed, or there is no gate (or nothing waited for a verdict)
  1    the gate failed
  2    bad usage: an unknown command or flag, a missing or bad argument, an
       invalid spec, a resubmitted spec that would change the run's results;
       nothing was submitted
  3    the run could not be evaluated: preflight problems, the gate's verdict
       is error, the run failed or is not over, NATS is unreachable, the run
       does not exist, a data directory in use
  4    the gate could not decide: no check failed, but the 95% interval of
       at least one straddles its threshold (more samples would decide it)
  130  interrupted (SIGINT or SIGTERM)

assay score and assay contamination exit 3 when some input lines were
malformed and skipped (the rest is written), and never 1. assay demo exits
0 whatever its gate; assay up exits 0 when stopped by SIGINT or SIGTERM.

Environment (a flag overrides its variable):
  ASSAY_NATS (--nats)
      run, checkpoint, replay, retry, report, export, plan and review
  ASSAY_NATS_CREDS (--nats-creds), ASSAY_NATS_NKEY, ASSAY_NATS_USER,
  ASSAY_NATS_PASSWORD, ASSAY_NATS_PASSWORD_FILE, ASSAY_NATS_TLS_CA,
  ASSAY_NATS_TLS_CERT, ASSAY_NATS_TLS_KEY, ASSAY_STARTUP_TIMEOUT
      the same commands, and assay up with --nats
  ASSAY_LOG_LEVEL (--log-level)
      the commands that run stages: up, run, demo
  ASSAY_METRICS_ADDR, ASSAY_PYROSCOPE, ASSAY_ENDPOINTS, ASSAY_ENDPOINT_ALLOW,
  ASSAY_INTAKE_TOKENS, ASSAY_INTAKE_MAX_AGE, ASSAY_INTAKE_MAX_BYTES,
  ASSAY_DEDUPE_WINDOW
      assay up (see assay up --help)
  ASSAY_CODE_SANDBOX
      the code sandbox of code_pass (auto, full or rlimit) in assay up, a
      local run and demo
  ASSAY_REVIEW_TOKENS
      assay review serve and assay up --review-addr: the reviewers'
      name=token entries when --reviewers is not given
  ASSAY_AB_TOKEN
      assay sim traffic: the live experiment's token
  ASSAY_SHUTDOWN_GRACE (--shutdown-grace)
      the service binaries: how long messages being handled may finish
      after SIGTERM (default 7s)
  GOMEMLIMIT
      up, run and demo; wins over --memory-limit
assay up does not read ASSAY_NATS, which is where clients find it. A local
run keeps its state under the user cache directory (XDG_CACHE_HOME, else
~/.cache, on Linux).`,
		Version:       stage.Version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.AddCommand(withMemoryLimit(newDemoCmd()), withMemoryLimit(newUpCmd()), withMemoryLimit(newRunCmd()), newCheckpointCmd(), newReplayCmd(), newRetryCmd(), newReportCmd(), newPlanCmd(), newExportCmd(), newScoreCmd(), newContaminationCmd(), newSimCmd(), newReviewCmd(), newHealthCmd(), newNATSConfigCmd())
	markCommandErrors(root)
	return root
}

// logFlags are the logging flags of commands that run stages.
type logFlags struct {
	level   string
	verbose bool
}

func (l *logFlags) register(cmd *cobra.Command, verboseDefault bool) {
	cmd.Flags().StringVar(&l.level, "log-level", envOr("ASSAY_LOG_LEVEL", "info"), "with -v: debug, info, warn or error (env ASSAY_LOG_LEVEL)")
	cmd.Flags().BoolVarP(&l.verbose, "verbose", "v", verboseDefault, "write the stages' JSON logs to stderr")
}

func (l *logFlags) logger() (*slog.Logger, error) {
	if !l.verbose {
		return slog.New(slog.NewJSONHandler(io.Discard, nil)), nil
	}
	return obs.NewLogger(os.Stderr, l.level)
}
