package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/stage"
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
		Long: `Validates the run spec, uploads its suites and submits the run.

Without --nats every stage runs in this process on an embedded NATS server and
the command waits for the report. With --nats the run is submitted to the
services behind that server; --wait then waits for the report.

The exit status is 1 when the gate fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := logs.logger()
			if err != nil {
				return err
			}
			o.Logger = logger
			return runSpec(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	cmd.Flags().StringVarP(&o.File, "file", "f", "", "run spec (YAML)")
	cmd.Flags().StringVar(&o.NATS, "nats", "", "submit to the services behind this NATS server instead of running them here")
	cmd.Flags().StringVar(&o.Creds, "creds", "", "NATS credentials file")
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "with --nats, wait for the report (exit 1 when the gate fails)")
	cmd.Flags().StringVar(&o.Out, "out", "", "directory for the report files (default assay-report/<run>)")
	cmd.Flags().StringVar(&o.Data, "data", "", "embedded NATS data directory (default: a temporary one)")
	_ = cmd.MarkFlagRequired("file")
	logs.register(cmd, false)
	return cmd
}

type runOptions struct {
	File, NATS, Creds, Out, Data string
	Wait                         bool
	Logger                       *slog.Logger
}

func runSpec(ctx context.Context, stdout, stderr io.Writer, o runOptions) error {
	spec, err := eval.LoadSpec(o.File)
	if err != nil {
		return err
	}
	if o.Out == "" {
		o.Out = "assay-report/" + spec.Run
	}
	if spec.Continuous != nil {
		switch {
		case o.NATS == "":
			return fmt.Errorf("%s: a continuous run takes production queries as they arrive, so it needs running services: "+
				"start them (assay up --intake-addr :8081) and submit it with --nats", o.File)
		case o.Wait:
			return fmt.Errorf("%s: %w", o.File, errContinuousWait)
		}
	}
	var b *bus.Bus
	if o.NATS == "" {
		sys, err := startSystem(ctx, systemOptions{Data: o.Data, Port: -1, Logger: o.Logger})
		if err != nil {
			return err
		}
		defer sys.Stop()
		b = sys.Env.Bus
		o.Wait = true
	} else {
		nc, err := stage.Connect(o.NATS, o.Creds, "assay-cli", o.Logger)
		if err != nil {
			return err
		}
		defer nc.Close()
		if b, err = bus.Open(ctx, nc, bus.Options{}); err != nil {
			return err
		}
	}
	if err := submit(ctx, b, spec, openFile); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "submitted run %s (fingerprint %s)\n", spec.Run, spec.Fingerprint())
	if !o.Wait {
		fmt.Fprintf(stdout, "follow it with: assay report --run %s --nats %s\n", spec.Run, o.NATS)
		return nil
	}
	return waitAndReport(ctx, b, spec.Run, o.Out, stdout, stderr)
}

// waitAndReport waits for run, saves its report, prints the summary and
// returns errGateFailed when the gate failed.
func waitAndReport(ctx context.Context, b *bus.Bus, run, out string, stdout, stderr io.Writer) error {
	if _, err := waitRun(ctx, b, run, stderr); err != nil {
		return err
	}
	rep, err := showReport(ctx, b, run, out, stdout, "")
	if err != nil {
		return err
	}
	if !rep.Gate.Passed {
		return errGateFailed
	}
	return nil
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
