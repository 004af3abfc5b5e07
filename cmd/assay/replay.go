package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/spf13/cobra"
)

func newReplayCmd() *cobra.Command {
	var run, judgeFile, metrics, suites, out string
	var wait, noPreflight bool
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "replay --run R (--judge judge.yaml | --metrics LIST)",
		Short: "Re-judge or re-score a run's stored generations, calling no evaluated model",
		Long: `Replays a run's stored generations.

--judge judge.yaml adds a judge (name, base_url, model, prompt, … as in a run
spec's judges) that judges every pair of the run; the report then shows every
judge side by side with their agreement. Judge responses are cached by content,
so the same judge — under any name — costs nothing a second time.

--metrics LIST re-scores the run with these metrics (for the suites of --suite,
or all); the report then uses the new scores.

No evaluated model is called: only what was generated is read again.

Preflight, before the judge is added: its endpoint answers and serves its
model (--no-preflight skips it; its key, by api_key_secret or api_key_env, is
checked by the judge stage, where it is kept).

Exit status: 0 replayed (with --wait: the gate passed), 1 the gate failed,
2 bad usage (a bad judge file, a metric the gate needs), 3 it could not be
evaluated (preflight problems, the run does not exist, gate verdict error,
NATS unreachable), 4 the gate could not decide (no check failed, but an
interval straddles its threshold), 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (judgeFile == "") == (metrics == "") {
				return usagef("give --judge or --metrics (one of them)")
			}
			for _, m := range strings.Split(metrics, ",") {
				if metrics != "" && !slices.Contains(eval.KnownMetrics, m) {
					return usagef("--metrics: unknown metric %q: use %s", m, strings.Join(eval.KnownMetrics, ", "))
				}
			}
			ctx := cmd.Context()
			var j *eval.Judge
			if judgeFile != "" {
				data, err := os.ReadFile(judgeFile)
				if err != nil {
					return usagef("reading judge: %w", err)
				}
				if j, err = eval.ParseJudge(judgeFile, data); err != nil {
					return usage(err)
				}
				if !noPreflight {
					if err := preflightTargets(ctx, []llm.Target{llm.JudgeTarget(*j)}, true); err != nil {
						return err
					}
				}
			}
			b, closeConn, err := conn.dial(ctx)
			if err != nil {
				return err
			}
			defer closeConn()
			if wait {
				if err := waitable(ctx, b, run); err != nil {
					return err
				}
			}
			var changed bool
			if j != nil {
				if changed, err = b.AddJudge(ctx, run, *j); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "judge %s (%s) replays run %s\n", j.Name, j.ID(), run)
			} else {
				var names []string
				if suites != "" {
					names = strings.Split(suites, ",")
				}
				if changed, err = b.SetMetrics(ctx, run, names, strings.Split(metrics, ",")); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "run %s is re-scored with %s\n", run, metrics)
			}
			if !changed {
				fmt.Fprintln(cmd.ErrOrStderr(), "nothing to replay: the run has this already")
			}
			if !wait {
				return nil
			}
			if out == "" {
				out = "assay-report/" + run
			}
			return waitAndReport(ctx, b, run, out, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&run, "run", "", "the run")
	f.StringVar(&judgeFile, "judge", "", "a judge in YAML to add to the run")
	f.StringVar(&metrics, "metrics", "", "metrics to re-score with, comma-separated")
	f.StringVar(&suites, "suite", "", "with --metrics, the suites to re-score (comma-separated; default all)")
	f.BoolVar(&wait, "wait", false, "wait for the report; exit 1 when the gate fails, 3 when the run could not be evaluated, 4 when the gate could not decide")
	f.BoolVar(&noPreflight, "no-preflight", false, "with --judge, do not check the judge's endpoint first")
	f.StringVar(&out, "out", "", "with --wait, directory for the report files (default assay-report/<run>)")
	conn.register(cmd)
	_ = cmd.MarkFlagRequired("run")
	return cmd
}
