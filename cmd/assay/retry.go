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
		Short: "Ask again what failed for good in a complete run: generations and judge calls",
		Long: `Asks again what failed for good in run R (with --variant V, only V's
generations and the judgments of V's pairs):

  - generations that failed — an endpoint down, 5xx or timeouts after every
    retry, a failed preflight: they are generated again, scored, and their
    pairs judged again;
  - judgments whose judge failed (no verdict after its retries) on a pair
    whose generations did not.

The run's report is then rebuilt, each retried result replacing its
failure. Nothing else is asked again: an answer or verdict already given is
never paid for twice (every call is checked against the run's response
cache), and no other pair is judged again. Not asked again: messages
dead-lettered before they had a result (poison input; they stay reported
as dead letters), and continuous runs (they never complete). A run with
nothing failed is left as it is; retrying again asks again what is still
failed.

The run must be complete: a running run is refused (assay run --wait
shows when it is done), and so is a run whose earlier retry is still
waiting for the report stage to reopen it. The stages must run (assay up,
or the services). The stages check every retry request against what is
stored: a request for a result that did not fail, or for an attempt the
run was not reopened for, is refused (a dead letter, counted in the
report's warnings) and changes nothing. A run has at most 1000 retries.

Exit status: 0 retried (with --wait: the gate passed) or nothing to retry,
1 the gate failed, 2 bad usage (an unknown variant, a continuous, running
or unevaluated run), 3 it could not be evaluated (the run does not exist,
gate verdict error, NATS unreachable), 4 the gate could not decide, 130
interrupted.`,
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
			fmt.Fprintf(cmd.ErrOrStderr(), "waiting for the report stage to reopen run %s for retry %d (if this lasts, check that assay-report runs)\n", run, n)
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
	f.StringVar(&variant, "variant", "", "retry only this variant's failed generations and the failed judgments of its pairs")
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
	if errors.Is(err, bus.ErrNotFound) {
		return 0, fmt.Errorf("run %s has a spec but no status at %s: ingest has not taken it in yet (is assay-ingest running?); retry it once it is complete", run, b.NC.ConnectedUrlRedacted())
	}
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
	last, err := report.LastRetry(ctx, b, run)
	if err != nil {
		return 0, err
	}
	if last > st.Retry {
		// Its requests are stored but the run is not reopened yet: asking
		// again now would ask the same failures twice.
		return 0, usagef("retry %d of run %s is waiting for the report stage to reopen the run (is assay-report running?): try again once it is complete", last, run)
	}
	reqs, err := report.Failures(ctx, b, spec, variant)
	if err != nil {
		return 0, err
	}
	if len(reqs) == 0 {
		fmt.Fprintf(w, "run %s has no failed generations or judgments%s: nothing to retry, nothing changed\n", run, ofVariant(variant))
		return 0, nil
	}
	n, err := eval.NextRetryAttempt(run, max(st.Retry, last))
	if err != nil {
		return 0, usage(err)
	}
	if err := b.StartRetry(ctx, run, n, reqs); err != nil {
		return 0, err
	}
	fmt.Fprintf(w, "retry %d of run %s asks again %s\n", n, run, retried(reqs))
	return n, nil
}

// retried says what a retry asks again: "3 failed generations (base 1, ft
// 2) and 2 failed judgments (judge-a 2)".
func retried(reqs []eval.RetryRequest) string {
	var gens, judged []string
	for _, r := range reqs {
		if r.Judge == "" {
			gens = append(gens, r.Variant)
		} else {
			judged = append(judged, r.Judge)
		}
	}
	var parts []string
	if len(gens) > 0 {
		parts = append(parts, fmt.Sprintf("%d failed generations (%s)", len(gens), countEach(gens)))
	}
	if len(judged) > 0 {
		parts = append(parts, fmt.Sprintf("%d failed judgments (%s)", len(judged), countEach(judged)))
	}
	return strings.Join(parts, " and ")
}

func ofVariant(v string) string {
	if v == "" {
		return ""
	}
	return " of variant " + v
}

// countEach counts the names: "base 3, ft 1".
func countEach(names []string) string {
	counts := map[string]int{}
	for _, n := range names {
		counts[n]++
	}
	keys := make([]string, 0, len(counts))
	for n := range counts {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, n := range keys {
		parts[i] = fmt.Sprintf("%s %d", n, counts[n])
	}
	return strings.Join(parts, ", ")
}
