package llm

import (
	"context"
	"strings"
	"sync"
	"time"
)

// PreflightRecheck is how long a failed check stands in a [PreflightCache]:
// long enough that a stage's workers do not each check a dead endpoint
// again, short enough that one fixed mid-run is used for the work still
// to come.
const PreflightRecheck = 30 * time.Second

// PreflightCache keeps the preflight of the targets a long-running stage
// calls, per scope (a run): a passed check stands for the scope, a failed
// one for Recheck, and callers that need a target while it is being
// checked wait for that check instead of making their own. The zero value
// with a Client is ready to use.
type PreflightCache struct {
	Client  *Client
	Options PreflightOptions
	// Recheck is how long a failed check stands; 0 is PreflightRecheck.
	Recheck time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]*preflightEntry
}

// preflightEntry is one target's last check in a scope. Its mutex is held
// while checking.
type preflightEntry struct {
	mu       sync.Mutex
	at       time.Time
	passed   bool
	problems []Problem
	// reported is the outcome last reported as changed.
	reported string
}

// Check returns what stops target t from being called within scope,
// checking it when the cache has no standing result. changed reports an
// outcome the caller has not been told of: a first failure, another
// failure, or a pass after failing; the caller logs it, once. The error is
// ctx's only: a cancelled check is no result, and the next call checks
// again.
func (pc *PreflightCache) Check(ctx context.Context, scope string, t Target) (problems []Problem, changed bool, err error) {
	e := pc.entry(scope, t)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now
	if pc.Now != nil {
		now = pc.Now
	}
	recheck := pc.Recheck
	if recheck <= 0 {
		recheck = PreflightRecheck
	}
	if e.passed || !e.at.IsZero() && now().Sub(e.at) < recheck {
		return e.problems, false, nil
	}
	problems = pc.Client.Preflight(ctx, []Target{t}, pc.Options)
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	e.at, e.passed, e.problems = now(), len(problems) == 0, problems
	text := ProblemsText(problems)
	changed = text != e.reported
	e.reported = text
	return problems, changed, nil
}

func (pc *PreflightCache) entry(scope string, t Target) *preflightEntry {
	// The endpoint's fields are in the key: a resubmitted spec that
	// points the target elsewhere, or names another key, is checked anew.
	k := strings.Join([]string{scope, t.Kind, t.Name, t.BaseURL, t.Model, t.APIKeyEnv, t.APIKeySecret}, "\x00")
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.entries == nil {
		pc.entries = map[string]*preflightEntry{}
	}
	e, ok := pc.entries[k]
	if !ok {
		e = &preflightEntry{}
		pc.entries[k] = e
	}
	return e
}

// ProblemsText is problems as one error text: each as [Problem.Error]
// reads, joined by "; ". It is "" for none.
func ProblemsText(problems []Problem) string {
	s := make([]string, len(problems))
	for i, p := range problems {
		s[i] = p.Error()
	}
	return strings.Join(s, "; ")
}
