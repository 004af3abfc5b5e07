package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
)

// preflightError is what the preflight found: one line per problem, then
// what to do. Nothing was submitted (or, where unsent says so, done).
type preflightError struct {
	problems []llm.Problem
	unsent   string
}

func (e *preflightError) Error() string {
	lines := make([]string, 0, len(e.problems)+1)
	for _, p := range e.problems {
		lines = append(lines, "preflight: "+p.Error())
	}
	unsent := cmp.Or(e.unsent, "nothing was submitted")
	lines = append(lines, unsent+": fix the endpoints above, or skip this check with --no-preflight")
	return strings.Join(lines, "\n")
}

// preflight checks every variant and judge of spec, and its embeddings
// endpoint; keysElsewhere says that the API keys live with the services,
// not in this environment.
func preflight(ctx context.Context, spec *eval.RunSpec, keysElsewhere bool) error {
	var embed []llm.Problem
	var wg sync.WaitGroup
	if e := spec.Embeddings; e != nil {
		wg.Go(func() { embed = checkEmbeddings(ctx, preflightClient(), e, keysElsewhere) })
	}
	problems := checkTargets(ctx, llm.SpecTargets(spec), keysElsewhere)
	wg.Wait()
	return preflightOutcome(ctx, append(problems, embed...), "")
}

// preflightTargets checks that each target answers, serves its model and
// takes its key, before anything is submitted that would pay for calls
// which cannot succeed.
func preflightTargets(ctx context.Context, targets []llm.Target, keysElsewhere bool) error {
	return preflightOutcome(ctx, checkTargets(ctx, targets, keysElsewhere), "")
}

// preflightOutcome is the error of problems found, whose message ends
// with unsent (default "nothing was submitted") and what to do: nil when
// there are none, ctx's error when it ended.
func preflightOutcome(ctx context.Context, problems []llm.Problem, unsent string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return &preflightError{problems, unsent}
	}
	return nil
}

// preflightClient calls the endpoints from the user's own machine, under
// the local endpoint policy: where the run goes, the server's policy
// decides.
func preflightClient() *llm.Client {
	return llm.New(llm.WithLogger(slog.New(slog.DiscardHandler)), llm.WithEndpoints(llm.LocalEndpoints()))
}

func checkTargets(ctx context.Context, targets []llm.Target, keysElsewhere bool) []llm.Problem {
	return preflightClient().Preflight(ctx, targets, llm.PreflightOptions{KeysElsewhere: keysElsewhere})
}

// The embeddings check's bounds, as a variant's check has them: a server
// that is starting gets a few tries, one that is down does not hold the
// command up.
const embedPreflightTimeout = 15 * time.Second

var embedPreflightRetry = llm.RetryPolicy{MaxAttempts: 3, InitialBackoff: 500 * time.Millisecond, MaxBackoff: 2 * time.Second, MaxRetryAfter: 2 * time.Second}

// maxServedShown bounds the served models a problem lists.
const maxServedShown = 10

// checkEmbeddings checks the endpoint semantic_sim calls, which
// [llm.Client.Preflight] does not (its test call is a chat call): one
// embeddings call of one word, of the spec's model, dimensions and kind
// (token vectors from /pooling when token_embeddings), with its key.
// Without that, a wrong URL, model or key would show only as every
// answer's semantic_sim failing, after the run was paid for. Where the
// keys live elsewhere the call is made without one, and a 401 or 403 to
// a key the spec names is no problem: it could not be checked here.
func checkEmbeddings(ctx context.Context, c *llm.Client, e *eval.Embeddings, keysElsewhere bool) []llm.Problem {
	t := llm.EmbeddingsTarget(e)
	var problems []llm.Problem
	ep := llm.Endpoint{Name: "embeddings", BaseURL: e.BaseURL, Concurrency: 1, Timeout: e.Timeout.D()}
	named := e.APIKeyEnv != "" || e.APIKeySecret != ""
	keyMissing := false
	if !keysElsewhere {
		ep.KeyEnv, ep.KeySecret = e.APIKeyEnv, e.APIKeySecret
		if e.APIKeyEnv != "" && os.Getenv(e.APIKeyEnv) == "" {
			keyMissing = true
			problems = append(problems, llm.Problem{Target: t, Kind: llm.ProblemKey,
				Detail: fmt.Sprintf("api_key_env %s is not set or is empty (export it with the key, or drop api_key_env if the endpoint needs none)", e.APIKeyEnv)})
		}
	}
	cctx, cancel := context.WithTimeout(ctx, embedPreflightTimeout)
	defer cancel()
	o := llm.EmbedOptions{Model: e.Model, Dimensions: e.Dimensions}
	var err error
	if e.TokenEmbeddings {
		_, err = c.EmbedTokens(cctx, ep, o, []string{"preflight"}, embedPreflightRetry)
	} else {
		_, err = c.Embed(cctx, ep, o, []string{"preflight"}, embedPreflightRetry)
	}
	if err == nil || ctx.Err() != nil {
		return problems
	}
	kind, detail := embeddingsProblem(cctx, c, ep, e, err)
	switch {
	case kind == "":
	case kind == llm.ProblemCredentials && named && (keyMissing || keysElsewhere):
		// Checked without the key the services will use.
	default:
		problems = append(problems, llm.Problem{Target: t, Kind: kind, Detail: detail})
	}
	return problems
}

// embeddingsProblem classes the failed test call of [checkEmbeddings] as
// a [llm.Problem]'s kind and detail, which says what to do; kind "" when
// the failure says nothing against the endpoint (rate limited: it read
// the model and did not object).
func embeddingsProblem(ctx context.Context, c *llm.Client, ep llm.Endpoint, e *eval.Embeddings, err error) (kind, detail string) {
	path := "/embeddings"
	if e.TokenEmbeddings {
		path = "/pooling"
	}
	var api *llm.APIError
	var ce *llm.CallError
	switch {
	case errors.Is(err, llm.ErrPolicy) && errors.As(err, &ce):
		// A key the policy cannot give: api_key_secret on this machine.
		return llm.ProblemKey, ce.Err.Error()
	case errors.As(err, &api):
	case errors.Is(err, llm.ErrBadResponse), errors.Is(err, llm.ErrMalformed):
		return llm.ProblemEndpoint, fmt.Sprintf("does not answer like an OpenAI-compatible embeddings API (a test call to %s: %s; does base_url end in /v1?)", path, llm.Cause(err))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return llm.ProblemUnreachable, fmt.Sprintf("unreachable: timeout (no answer within %v)", embedPreflightTimeout)
	default:
		return llm.Unreachable(err)
	}
	switch {
	case api.Status == http.StatusUnauthorized || api.Status == http.StatusForbidden:
		return llm.ProblemCredentials, llm.CredentialsDetail(api.Status, e.APIKeyEnv, e.APIKeySecret)
	case api.Status == http.StatusTooManyRequests:
		return "", ""
	case api.Status/100 == 5:
		return llm.ProblemEndpoint, fmt.Sprintf("a test call to %s failed: %s (after %d attempts)", path, llm.Cause(api), embedPreflightRetry.MaxAttempts)
	}
	// Refused: the model's name, or the path. The list of models tells
	// which, without reading the server's words.
	served, lerr := c.ServedModels(ctx, ep)
	switch {
	case lerr == nil && len(served) == 0:
		return llm.ProblemModel, fmt.Sprintf("model %q is not served (the server lists no models)", e.Model)
	case lerr == nil && !slices.Contains(served, e.Model):
		shown := served[:min(len(served), maxServedShown)]
		more := ""
		if n := len(served) - len(shown); n > 0 {
			more = fmt.Sprintf(" and %d more", n)
		}
		return llm.ProblemModel, fmt.Sprintf("model %q is not served (served: %s%s)", e.Model, strings.Join(shown, ", "), more)
	}
	hint := "is the model an embedding model?"
	if e.TokenEmbeddings {
		hint = "token_embeddings needs vLLM's pooling API, at the server's root: base_url without /v1"
	} else if lerr != nil {
		hint = "does base_url end in /v1, and does the server serve embeddings?"
	}
	return llm.ProblemEndpoint, fmt.Sprintf("a test call to %s was refused: %s (%s)", path, llm.Cause(api), hint)
}
