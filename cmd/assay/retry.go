package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report"
	"github.com/spf13/cobra"
)

func newRetryCmd() *cobra.Command {
	var run, variant, out string
	var wait bool
	var conn natsFlags
	cmd := &cobra.Command{
		Use:   "retry --run R [--variant V] [--wait]",
		Short: "Ask again the generations of a complete run that failed for good",
		Long: `Asks again the generations of run R (of variant V only, with --variant)
that failed for good — an endpoint that was down, 5xx or timeouts after every
retry, a failed preflight — then scores them and judges their pairs again, and
rebuilds the run's report, in which each retried (sample, variant) replaces
its failure.

Only those generations are asked again: an answer already given is never
asked or paid for again (each call is checked against the run's response
cache), and no other pair is judged again. Not asked again: samples
dead-lettered before they had a generation (they are reported as dead
letters), judge calls that failed on pairs whose generations did not
(the judgment stays an error), and samples of a continuous run. A run
with no failed generation is left as it is. Retrying again asks again
what is still failed.

The run must be over: a running run is refused (wait for it: assay run
--wait, or assay report). The stages must run (assay up, or the services).

Exit status: 0 retried (with --wait: the gate passed) or nothing to retry,
1 the gate failed, 2 bad usage (an unknown variant, a continuous or running
run), 3 it could not be evaluated (the run does not exist, gate verdict
error, NATS unreachable), 4 the gate could not decide, 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			b, closeConn, err := conn.dial(ctx)
			if err != nil {
				return err
			}
			defer closeConn()
			n, err := retry(ctx, b, run, variant, cmd.ErrOrStderr())
			if err != nil || n == 0 || !wait {
				return err
			}
			// The report stage reopens the run once it has the requests:
			// until then the status is the complete run's of before.
			if _, err := waitStatus(ctx, b, run, io.Discard, func(st *eval.RunStatus) bool { return st.Retry >= n }); err != nil {
				return err
			}
			if out == "" {
				out = "assay-report/" + run
			}
			return waitAndReport(ctx, b, run, out, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&run, "run", "", "the run")
	f.StringVar(&variant, "variant", "", "retry only this variant's failed generations")
	f.BoolVar(&wait, "wait", false, "wait for the report; exit 1 when the gate fails, 3 when the run could not be evaluated, 4 when the gate could not decide")
	f.StringVar(&out, "out", "", "with --wait, directory for the report files (default assay-report/<run>)")
	conn.register(cmd)
	_ = cmd.MarkFlagRequired("run")
	return cmd
}

// errRunning refuses to retry a run that is not over: its failures are not
// all known yet, and some may still be answered.
var errRunning = errors.New("is still running")

// retry asks again the failed generations of run (of variant, when not
// ""), saying what it does on w, and returns the retry's attempt, or 0
// when nothing failed.
func retry(ctx context.Context, b *bus.Bus, run, variant string, w io.Writer) (int, error) {
	spec, err := b.Spec(ctx, run)
	if errors.Is(err, bus.ErrNotFound) {
		return 0, fmt.Errorf("run %q does not exist at %s: check its name (assay report --run lists nothing for it)", run, b.NC.ConnectedUrlRedacted())
	}
	if err != nil {
		return 0, err
	}
	if spec.Continuous != nil {
		return 0, usagef("run %s is continuous: it never completes, and assay retry asks again only the failures of a complete run", run)
	}
	if _, ok := spec.Variant(variant); variant != "" && !ok {
		names := make([]string, len(spec.Variants))
		for i, v := range spec.Variants {
			names[i] = v.Name
		}
		return 0, usagef("--variant: run %s has no variant %q: use one of %s", run, variant, strings.Join(names, ", "))
	}
	st, err := b.Status(ctx, run)
	if err != nil {
		return 0, err
	}
	switch st.State {
	case eval.StateRunning:
		return 0, usagef("run %s %w (%d of %s scores, %d of %s judgments): retry it once it is complete (assay run --wait shows when)",
			run, errRunning, st.Scores, expected(st.ScoresExpected), st.Judgments, expected(st.JudgmentsExpected))
	case eval.StateError:
		return 0, usagef("run %s could not be evaluated (%s): nothing was generated to retry; fix it and submit it again", run, st.Error)
	}
	reqs, err := report.FailedGenerations(ctx, b, spec, variant)
	if err != nil {
		return 0, err
	}
	if len(reqs) == 0 {
		fmt.Fprintf(w, "run %s has no failed generations%s: nothing to retry, nothing changed\n", run, ofVariant(variant))
		return 0, nil
	}
	n := st.Retry + 1
	if err := b.StartRetry(ctx, run, n, reqs); err != nil {
		return 0, err
	}
	fmt.Fprintf(w, "retry %d of run %s asks again %d failed generations (%s)\n", n, run, len(reqs), perVariant(reqs))
	return n, nil
}

func ofVariant(v string) string {
	if v == "" {
		return ""
	}
	return " of variant " + v
}

// perVariant counts requests by variant: "base 3, ft 1".
func perVariant(reqs []eval.RetryRequest) string {
	counts := map[string]int{}
	for _, r := range reqs {
		counts[r.Variant]++
	}
	names := make([]string, 0, len(counts))
	for v := range counts {
		names = append(names, v)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, v := range names {
		parts[i] = fmt.Sprintf("%s %d", v, counts[v])
	}
	return strings.Join(parts, ", ")
}
