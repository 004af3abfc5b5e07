package infer

import (
	"context"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// preflight returns what stops variant v of run from answering, checking
// the endpoint when the run first needs it: a passed check stands for the
// run, a failed one for [llm.PreflightRecheck], so that a server fixed
// mid-run is used for the samples still to come. A new outcome is logged
// once.
func (s *Service) preflight(ctx context.Context, run string, v eval.Variant) ([]llm.Problem, error) {
	problems, changed, err := s.preflights.Check(ctx, run, llm.VariantTarget(v))
	switch {
	case err != nil || !changed:
	case len(problems) == 0:
		s.logger.Info("preflight passed: answering the variant's samples", "run", run, "variant", v.Name)
	default:
		s.logger.Error("preflight failed: the variant's samples are answered as failed without calling the endpoint; fix the endpoint and start the run again",
			"run", run, "variant", v.Name, "problem", llm.ProblemsText(problems), "recheck", llm.PreflightRecheck)
	}
	return problems, err
}
