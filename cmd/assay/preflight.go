package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// preflightError is what the preflight found: one line per problem, then
// what to do. Nothing was submitted.
type preflightError struct{ problems []llm.Problem }

func (e *preflightError) Error() string {
	lines := make([]string, 0, len(e.problems)+1)
	for _, p := range e.problems {
		lines = append(lines, "preflight: "+p.Error())
	}
	lines = append(lines, "nothing was submitted: fix the endpoints above, or skip this check with --no-preflight")
	return strings.Join(lines, "\n")
}

// preflight checks every variant and judge of spec; keysElsewhere says
// that the API keys live with the services, not in this environment.
func preflight(ctx context.Context, spec *eval.RunSpec, keysElsewhere bool) error {
	return preflightTargets(ctx, llm.SpecTargets(spec), keysElsewhere)
}

// preflightTargets checks that each target answers, serves its model and
// takes its key, before anything is submitted that would pay for calls
// which cannot succeed. It runs on the user's own machine, under the local
// endpoint policy: where the run goes, the server's policy decides.
func preflightTargets(ctx context.Context, targets []llm.Target, keysElsewhere bool) error {
	c := llm.New(llm.WithLogger(slog.New(slog.DiscardHandler)), llm.WithEndpoints(llm.LocalEndpoints()))
	problems := c.Preflight(ctx, targets, llm.PreflightOptions{KeysElsewhere: keysElsewhere})
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return &preflightError{problems}
	}
	return nil
}
