package judge

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// A judge whose endpoint cannot be used — unreachable, the model not
// served, its key unset or refused — would fail every pair, each after a
// full round of retries, and its failures would read like verdicts. So
// each (run, judge) is checked before its first pair: while the check
// fails, its pairs are answered at once with the problem, and the endpoint
// is never asked to judge.

// preflightRecheck is how long a failed check stands before the endpoint
// is checked again: long enough not to hammer a dead endpoint from every
// worker, short enough that a judge fixed mid-run is used for the pairs
// still to come. A passed check stands for the run.
const preflightRecheck = 30 * time.Second

// preflightCheck is one (run, judge)'s last check. Its mutex is held
// while checking, so that concurrent pairs wait for one check instead of
// each making their own.
type preflightCheck struct {
	mu      sync.Mutex
	at      time.Time
	passed  bool
	problem string // the problem's text, when the check failed
	cause   string // its class, for counting
}

// preflights holds the checks by run, judge and endpoint: a resubmitted
// spec that points the judge elsewhere is checked anew.
type preflights struct {
	mu     sync.Mutex
	checks map[string]*preflightCheck
}

func (p *preflights) check(run string, j eval.Judge) *preflightCheck {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.checks == nil {
		p.checks = map[string]*preflightCheck{}
	}
	k := strings.Join([]string{run, j.Name, j.BaseURL, j.Model, j.APIKeyEnv}, "\x00")
	c, ok := p.checks[k]
	if !ok {
		c = &preflightCheck{}
		p.checks[k] = c
	}
	return c
}

// preflight reports why judge j of run cannot be used — every problem's
// text, and the first one's class — or "" when it can. The result is
// cached as [preflightRecheck] says; a new failure is logged once.
func (s *Service) preflight(ctx context.Context, run string, j eval.Judge) (problem, cause string) {
	if s.cfg.NoPreflight {
		return "", ""
	}
	c := s.preflights.check(run, j)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	if c.passed || !c.at.IsZero() && now.Sub(c.at) < preflightRecheck {
		return c.problem, c.cause
	}
	target := llm.Target{Kind: "judge", Name: j.Name, BaseURL: j.BaseURL, Model: j.Model, APIKeyEnv: j.APIKeyEnv, Timeout: j.Timeout.D()}
	problems := s.client.Preflight(ctx, []llm.Target{target}, llm.PreflightOptions{Getenv: os.Getenv})
	if ctx.Err() != nil {
		// Cancelled, not checked: the next pair checks again.
		return "", ""
	}
	c.at = now
	if len(problems) == 0 {
		if c.problem != "" {
			s.logger.Info("preflight passed: judging the judge's pairs", "run", run, "judge", j.Name)
		}
		c.passed, c.problem, c.cause = true, "", ""
		return "", ""
	}
	texts := make([]string, len(problems))
	for i, p := range problems {
		texts[i] = p.Error()
	}
	text := strings.Join(texts, "; ")
	if text != c.problem {
		s.logger.Error("preflight failed: the judge's pairs are recorded as judge errors without calling it; fix the judge in the run spec",
			"run", run, "judge", j.Name, "model", j.Model, "problem", text, "recheck", preflightRecheck)
	}
	// The cause reads "preflight: model "x" is not served".
	c.problem, c.cause = text, problems[0].Cause()
	return c.problem, c.cause
}
