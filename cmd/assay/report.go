package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/render"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	var run, out, formats string
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "report --run R",
		Short: "Compute a run's report from what the streams hold now",
		Long: `Reads the run's scores, judgments and dead letters from NATS, computes the
report as it stands (complete or not) and writes it to --out.

Exit status, by the gate's verdict on the run as it stands: 0 passed (or no
gate), 1 failed, 3 error: the run could not be evaluated (it is not over,
its suites could not be read, or more calls failed than gate.error_rate_max
allows), 4 inconclusive: no check failed, but an interval straddles its
threshold; also 2 bad usage, 3 NATS unreachable or no such run, 130
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := strings.Split(formats, ",")
			for _, f := range fs {
				if !slices.Contains(report.Formats, f) {
					return usagef("--format: unknown format %q: use %s", f, strings.Join(report.Formats, ","))
				}
			}
			b, closeConn, err := conn.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer closeConn()
			rep, files, err := report.Build(cmd.Context(), b, run, fs)
			if err != nil {
				return err
			}
			if out == "" {
				out = "assay-report/" + run
			}
			paths, err := writeFiles(out, files)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if err := render.Summary(w, rep); err != nil {
				return err
			}
			fmt.Fprintln(w, "\nreport:")
			for _, p := range paths {
				fmt.Fprintln(w, "  "+p)
			}
			return verdictError(run, rep.Gate)
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "the run")
	cmd.Flags().StringVar(&out, "out", "", "directory for the report files (default assay-report/<run>)")
	cmd.Flags().StringVar(&formats, "format", "json,md,html", "formats: json, md, html, parquet (comma-separated)")
	conn.register(cmd)
	_ = cmd.MarkFlagRequired("run")
	return cmd
}
