package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/services/report"
	"github.com/spf13/cobra"
)

func newExportCmd() *cobra.Command {
	var o report.ExportOptions
	var out string
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "export --run R [--what generations|scores|judgments] [--format jsonl|parquet] [--out FILE|-]",
		Short: "Write a run's generations, scores or judgments with their texts, as JSONL or Parquet",
		Long: `Reads what the streams hold now of a run and writes it with the texts beside
every record, as it goes: memory holds one batch of texts (Parquet scores and
judgments are built from the run's tables, as the report is).

--what generations (default): one line per generation in stream order,
  {"id", "suite", "variant", "model", "params", "prompt", "messages",
   "output", "reasoning", "reference", "turns", "finish_reason", "usage",
   "latency_ms", "ttft_ms", "itl_ms", "error", "cause", "run",
   "fingerprint", "sample_seq", "gen_seq"}
--what scores: one line per score message, the score as published with
  "prompt", "messages", "reference" and "output" beside it
--what judgments: one line per judgment message (its rounds with the
  judge's reasons) with "prompt", "messages", "reference",
  "candidate_output", "baseline_output", the models and the params

prompt is the sample's last user message; output is null when the
generation failed (see error and cause); a text no longer stored (a purged
stream) is null and counted on stderr.

--format parquet: for scores and judgments, the report's scores.parquet and
judgments.parquet (one row per sample and variant, or pair and judge, the
dead letters' included, where the JSONL has one line per message); for
generations the fields above as columns (messages, reference and turns as
JSON text, "" for no reference; usage as prompt_tokens, completion_tokens and
total_tokens).

--out FILE is written beside its name and renamed into place when
complete; - (the default) is stdout.

Exit status: 0 written, 2 bad usage, 3 the run does not exist or NATS is
unreachable, 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(report.ExportWhat, o.What) {
				return usagef("--what: unknown %q: use %s", o.What, strings.Join(report.ExportWhat, ", "))
			}
			if !slices.Contains(report.ExportFormats, o.Format) {
				return usagef("--format: unknown %q: use %s", o.Format, strings.Join(report.ExportFormats, " or "))
			}
			b, closeConn, err := conn.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer closeConn()
			// The run is looked up before the output is created, so that a
			// wrong name leaves no empty file behind.
			if _, err := b.Spec(cmd.Context(), o.Run); errors.Is(err, bus.ErrNotFound) {
				return fmt.Errorf("run %q does not exist at %s: check the name (assay run prints it)", o.Run, b.NC.ConnectedUrlRedacted())
			} else if err != nil {
				return err
			}
			w, commit, err := createOutput(out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			n, err := report.Export(cmd.Context(), b, o, w)
			if err != nil {
				commit(false)
				return fmt.Errorf("exporting %s of run %s: %w", o.What, o.Run, err)
			}
			if err := commit(true); err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			where := out
			if out == "" || out == "-" {
				where = "stdout"
			}
			fmt.Fprintf(stderr, "exported %d %s of run %s to %s\n", n.Rows, o.What, o.Run, where)
			if n.Missing > 0 {
				fmt.Fprintf(stderr, "%d texts are no longer stored (their stream was purged or aged out) and were written as null\n", n.Missing)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Run, "run", "", "the run")
	f.StringVar(&o.What, "what", report.ExportGenerations, strings.Join(report.ExportWhat, ", "))
	f.StringVar(&o.Format, "format", "jsonl", strings.Join(report.ExportFormats, " or "))
	f.StringVar(&out, "out", "-", "file to write (- for stdout)")
	conn.register(cmd)
	_ = cmd.MarkFlagRequired("run")
	return cmd
}
