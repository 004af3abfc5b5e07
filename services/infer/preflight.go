package infer

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// preflightRecheck is how long a failed preflight stands before a sample
// checks the endpoint again: a server that comes up later is noticed,
// while a run against a broken one ends at once rather than paying a check
// per sample.
const preflightRecheck = 30 * time.Second

// preflight is the state of one variant's check within a run.
type preflight struct {
	mu       sync.Mutex
	checked  time.Time
	passed   bool
	problems []llm.Problem
	// logged is the text of the failure last logged, so that a failure
	// is logged once, not once a sample or a re-check.
	logged string
}

// preflight returns what stops variant v of run from answering, checking
// the endpoint when the run first needs it (see [llm.Client.Preflight]).
// A passed check is kept for the run; a failed one stands for
// preflightRecheck. Workers of the variant wait for a check under way
// rather than each making their own.
func (s *Service) preflight(ctx context.Context, run string, v eval.Variant) ([]llm.Problem, error) {
	// The endpoint's fields are in the key: a resubmitted spec that
	// points the variant elsewhere is checked anew.
	key := strings.Join([]string{run, v.Name, v.BaseURL, v.Model, v.APIKeyEnv}, "\x00")
	e, _ := s.preflights.LoadOrStore(key, &preflight{})
	p := e.(*preflight)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.passed:
		return nil, nil
	case !p.checked.IsZero() && s.now().Sub(p.checked) < preflightRecheck:
		return p.problems, nil
	}
	target := llm.Target{Kind: "variant", Name: v.Name, BaseURL: v.BaseURL, Model: v.Model, APIKeyEnv: v.APIKeyEnv}
	problems := s.client.Preflight(ctx, []llm.Target{target}, llm.PreflightOptions{})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.checked, p.problems, p.passed = s.now(), problems, len(problems) == 0
	if p.passed {
		if p.logged != "" {
			s.logger.Info("preflight passed: answering the variant's samples", "run", run, "variant", v.Name)
		}
		return nil, nil
	}
	if text := problemsText(problems); text != p.logged {
		s.logger.Error("preflight failed: the variant's samples are answered as failed without calling the endpoint; fix the endpoint and start the run again",
			"run", run, "variant", v.Name, "problem", text, "recheck", preflightRecheck)
		p.logged = text
	}
	return problems, nil
}

// problemsText is a failed generation's Error: every problem, in order,
// each as the CLI prints it.
func problemsText(ps []llm.Problem) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "; ")
}
