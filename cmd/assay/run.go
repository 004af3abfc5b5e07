package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/render"
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var o runOptions
	var logs logFlags
	cmd := &cobra.Command{
		Use:   "run -f run.yaml",
		Short: "Run a spec: in this process on embedded NATS, or submitted to --nats",
		Long: `Validates the run spec, checks every variant's and judge's endpoint,
and the embeddings endpoint if the spec has one (preflight), uploads the
suites and submits the run.

Without --nats (or ASSAY_NATS) every stage runs in this process on an embedded
NATS server and the command waits for the report. The run's state is kept in
a data directory (default: the user cache directory, e.g.
~/.cache/assay/runs/<run>; --data overrides it), so that Ctrl-C and the same
command again pay for nothing already answered; --fresh starts over.

With --nats the run is submitted to the services behind that server; --wait
then waits for the report. It connects as every command does: --nats-creds,
--nats-nkey, or --nats-user with --nats-password-file (or ASSAY_NATS_PASSWORD)
authenticate it, --nats-tls-ca, --nats-tls-cert and --nats-tls-key secure it;
the URL's password, if any, is never shown.

Preflight, before anything is uploaded: every endpoint answers, serves its
model, and accepts its key (api_key_env set and non-empty; with --nats the
keys live with the services, which check them themselves, and a server takes
keys by api_key_secret: a secret its operator configured for the endpoint's
host). A local run calls any host and reads api_key_env from your environment. Each problem is
one line on stderr and nothing is submitted; --no-preflight skips the check.

A local run scores code_pass in the sandbox ASSAY_CODE_SANDBOX chooses
(auto, full or rlimit; see assay up --help).

Exit status: 0 the gate passed (or there is none, or --nats without --wait),
1 the gate failed, 2 bad usage or an invalid spec, 3 the run could not be
evaluated (preflight problems, gate verdict error, NATS unreachable, the
data directory in use), 4 the gate could not decide (no check failed, but
some interval straddles its threshold: more samples would decide it), 130
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := logs.logger()
			if err != nil {
				return usage(err)
			}
			o.Logger = logger
			return runSpec(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.File, "file", "f", "", "run spec (YAML)")
	o.Conn.register(cmd)
	// Unlike the commands that only talk to a running assay, run has a
	// default without NATS: here, in this process.
	o.Conn.URL = os.Getenv("ASSAY_NATS")
	nf := f.Lookup("nats")
	nf.DefValue = bus.RedactURL(o.Conn.URL)
	nf.Usage = "submit to the services behind this NATS server instead of running them here (env ASSAY_NATS; --nats \"\" runs here all the same); a password in it is never shown, but prefer --nats-password-file"
	f.BoolVar(&o.Wait, "wait", false, "with --nats, wait for the report (a local run always waits)")
	f.StringVar(&o.Out, "out", "", "directory for the report files (default assay-report/<run>)")
	f.StringVar(&o.Data, "data", "", "local run: the data directory that keeps its state (default <user cache dir>/assay/runs/<run>)")
	f.BoolVar(&o.Fresh, "fresh", false, "local run: start over, removing the state kept in the data directory first")
	f.BoolVar(&o.NoPreflight, "no-preflight", false, "do not check the endpoints before submitting")
	_ = cmd.MarkFlagRequired("file")
	logs.register(cmd, false)
	return cmd
}

type runOptions struct {
	File, Out, Data          string
	Wait, Fresh, NoPreflight bool
	Logger                   *slog.Logger
	// Conn is where to submit (--nats and how to reach it); no URL runs
	// here.
	Conn natsFlags
}

func runSpec(ctx context.Context, stdout, stderr io.Writer, o runOptions) error {
	spec, err := eval.LoadSpec(o.File)
	if err != nil {
		return usage(err)
	}
	if o.Out == "" {
		o.Out = "assay-report/" + spec.Run
	}
	local := o.Conn.URL == ""
	switch {
	case spec.Continuous != nil && local:
		return usagef("%s: a continuous run takes production queries as they arrive, so it needs running services: "+
			"start them (assay up --intake-addr 127.0.0.1:8081) and submit it with --nats", o.File)
	case spec.Continuous != nil && o.Wait:
		return usagef("%s: %w", o.File, errContinuousWait)
	case local && o.Wait:
		return usage(errLocalWait)
	case !local && (o.Data != "" || o.Fresh):
		return usagef("--data and --fresh are for a local run (without --nats): the services behind %s keep the run's state", bus.RedactURL(o.Conn.URL))
	case local && o.Conn.cmd != nil:
		if set := changedClientFlags(o.Conn.cmd); len(set) > 0 {
			return usagef("--%s: for a run submitted with --nats: a local run uses its own embedded NATS", strings.Join(set, ", --"))
		}
	}
	if !o.NoPreflight {
		if err := preflight(ctx, spec, !local); err != nil {
			return err
		}
	}
	if local {
		return runLocal(ctx, stdout, stderr, spec, o)
	}
	b, closeConn, err := o.Conn.dial(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	if err := submit(ctx, b, spec, openFile); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "submitted run %s (fingerprint %s)\n", spec.Run, spec.Fingerprint())
	if !o.Wait {
		fmt.Fprintf(stdout, "follow it with: assay report --run %s --nats %s\n", spec.Run, bus.RedactURL(o.Conn.URL))
		return nil
	}
	err = waitAndReport(ctx, b, spec.Run, o.Out, stdout, stderr)
	if ctx.Err() != nil {
		return &interruptedError{next: fmt.Sprintf("run %s goes on in the services: follow it with assay report --run %s", spec.Run, spec.Run), err: ctx.Err()}
	}
	return err
}

// errLocalWait refuses --wait where it means nothing.
var errLocalWait = errors.New("--wait is for a run submitted with --nats (or ASSAY_NATS): a local run always waits for its report. " +
	"To add checkpoints or replays to a run later, start the services with assay up and submit the run with --nats")

// runLocal runs spec with every stage in this process, keeping its state
// in a data directory so that the same command again resumes it.
func runLocal(ctx context.Context, stdout, stderr io.Writer, spec *eval.RunSpec, o runOptions) error {
	dir := o.Data
	if dir == "" {
		var err error
		if dir, err = runStateDir(spec.Run); err != nil {
			return err
		}
	}
	sys, err := startSystem(ctx, systemOptions{Data: dir, Fresh: o.Fresh, Port: -1, Logger: o.Logger, Endpoints: llm.LocalEndpoints()})
	if err != nil {
		return err
	}
	defer sys.Stop()
	started := "state in"
	if o.Fresh {
		started = "started over; state in"
	}
	fmt.Fprintf(stderr, "%s %s; Ctrl-C and the same command again resumes (--fresh starts over)\n", started, dir)
	b := sys.Env.Bus
	err = submit(ctx, b, spec, openFile)
	if errors.Is(err, bus.ErrRunExists) {
		return fmt.Errorf("%w (state in %s: start over with --fresh)", err, dir)
	}
	if err == nil {
		fmt.Fprintf(stderr, "submitted run %s (fingerprint %s)\n", spec.Run, spec.Fingerprint())
		err = waitAndReport(ctx, b, spec.Run, o.Out, stdout, stderr)
	}
	switch {
	case ctx.Err() != nil:
		return &interruptedError{next: fmt.Sprintf("the state is kept in %s: the same command again resumes", dir), err: ctx.Err()}
	case errors.Is(err, errUnevaluated):
		// The same command again would show the same outcome.
		return fmt.Errorf("%w (state in %s: --fresh starts over)", err, dir)
	}
	return err
}

// waitAndReport waits for run, saves its report, prints the summary and
// returns what the gate's verdict makes of the exit status.
func waitAndReport(ctx context.Context, b *bus.Bus, run, out string, stdout, stderr io.Writer) error {
	st, err := waitRun(ctx, b, run, stderr)
	if err != nil {
		return err
	}
	if st.State == eval.StateError {
		// Show what the report stage made of it, when it stored a report.
		_, _ = showReport(ctx, b, run, out, stdout, "")
		return runError(st)
	}
	rep, err := showReport(ctx, b, run, out, stdout, "")
	if err != nil {
		return err
	}
	return verdictError(run, rep.Gate)
}

// showReport saves run's stored report into out and prints its summary, a
// verdict line when one is given, and where the files are.
func showReport(ctx context.Context, b *bus.Bus, run, out string, stdout io.Writer, verdict string) (*document.Report, error) {
	rep, paths, err := saveReport(ctx, b, run, out)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout)
	if err := render.Summary(stdout, rep); err != nil {
		return nil, err
	}
	if verdict != "" {
		fmt.Fprintln(stdout, verdict)
	}
	fmt.Fprintln(stdout, "\nreport:")
	for _, p := range paths {
		fmt.Fprintln(stdout, "  "+p)
	}
	return rep, nil
}
