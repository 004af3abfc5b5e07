package judge

import (
	"context"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// A judge whose endpoint cannot be used — unreachable, the model not
// served, its key unset or refused — would fail every pair, each after a
// full round of retries, and its failures would read like verdicts. So
// each (run, judge) is checked before its first pair (llm.PreflightCache:
// a pass stands for the run, a failure for llm.PreflightRecheck): while
// the check fails, its pairs are answered at once with the problem, and
// the endpoint is never asked to judge.

// preflight reports why judge j of run cannot be used — every problem's
// text, and the first one's class — or "" when it can. A new outcome is
// logged once.
func (s *Service) preflight(ctx context.Context, run string, j eval.Judge) (problem, cause string) {
	if s.cfg.SkipPreflight {
		return "", ""
	}
	// The judge's own timeout bounds its calls, not this check, which has
	// the preflight's default.
	problems, changed, err := s.preflights.Check(ctx, run, llm.JudgeTarget(j))
	switch {
	case err != nil:
		return "", "" // cancelled, not checked: the next pair checks again
	case len(problems) == 0:
		if changed {
			s.logger.Info("preflight passed: judging the judge's pairs", "run", run, "judge", j.Name)
		}
		return "", ""
	}
	text := llm.ProblemsText(problems)
	if changed {
		s.logger.Error("preflight failed: the judge's pairs are recorded as judge errors without calling it; fix the judge in the run spec",
			"run", run, "judge", j.Name, "model", j.Model, "problem", text, "recheck", llm.PreflightRecheck)
	}
	// The cause reads "preflight: model "x" is not served".
	return text, problems[0].Cause()
}
