package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// Target is one endpoint a run will call.
type Target struct {
	Kind      string // "variant" or "judge"
	Name      string
	BaseURL   string
	Model     string
	APIKeyEnv string
	// APIKeySecret names the key in the server's configuration.
	APIKeySecret string
	Timeout      time.Duration // per check; 0: 15s
}

// The kinds of [Problem].
const (
	// ProblemKey: api_key_env names a variable that is unset or empty,
	// or api_key_secret a secret that cannot be used.
	ProblemKey = "key"
	// ProblemPolicy: the process's endpoint policy refuses the target's
	// host or key (see [Endpoints]); nothing is sent to it.
	ProblemPolicy = "policy"
	// ProblemUnreachable: nothing answers at base_url (connection refused,
	// no such host, TLS, timeout).
	ProblemUnreachable = "unreachable"
	// ProblemCredentials: the endpoint answers 401 or 403.
	ProblemCredentials = "credentials"
	// ProblemModel: the endpoint answers, but not for the model.
	ProblemModel = "model"
	// ProblemEndpoint: something answers, but not as an OpenAI-compatible
	// API would.
	ProblemEndpoint = "endpoint"
)

// Problem is one thing that would make a target fail; Error() reads
// `variant ft: http://host:8000/v1: model "sft" is not served (served: base, sft-lora)`.
// Detail starts with a summary; what follows its first " (" explains.
type Problem struct {
	Target Target
	Kind   string /* key, policy, unreachable, credentials, model, endpoint */
	Detail string
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", p.Target.Kind, p.Target.Name, p.Target.BaseURL, p.Detail)
}

// Cause is the problem's failure class for the generations or judgments
// it fails ("preflight: model "sft" is not served"): Detail's summary,
// which is the same for every sample.
func (p Problem) Cause() string {
	s, _, _ := strings.Cut(p.Detail, " (")
	return "preflight: " + s
}

// PreflightOptions tune [Client.Preflight].
type PreflightOptions struct {
	// Getenv looks up api_key_env variables; nil is os.Getenv.
	Getenv func(string) string
	// KeysElsewhere: the keys live where the services run (a CLI submitting to --nats):
	// an unset variable is not a problem, and the model check runs without a key,
	// where a 401/403 then means "could not check", not a problem.
	KeysElsewhere bool
}

// SpecTargets lists every variant and judge of spec, in spec order.
func SpecTargets(spec *eval.RunSpec) []Target {
	ts := make([]Target, 0, len(spec.Variants)+len(spec.Judges))
	for _, v := range spec.Variants {
		ts = append(ts, VariantTarget(v))
	}
	for _, j := range spec.Judges {
		ts = append(ts, JudgeTarget(j))
	}
	return ts
}

// VariantTarget is the endpoint variant v calls.
func VariantTarget(v eval.Variant) Target {
	return Target{Kind: "variant", Name: v.Name, BaseURL: v.BaseURL, Model: v.Model, APIKeyEnv: v.APIKeyEnv, APIKeySecret: v.APIKeySecret}
}

// JudgeTarget is the endpoint judge j calls.
func JudgeTarget(j eval.Judge) Target {
	return Target{Kind: "judge", Name: j.Name, BaseURL: j.BaseURL, Model: j.Model, APIKeyEnv: j.APIKeyEnv, APIKeySecret: j.APIKeySecret}
}

// EmbeddingsTarget is the endpoint the metric semantic_sim calls, which
// the endpoint policy admits like a variant's; it is not in
// [SpecTargets], as [Client.Preflight]'s test call is a chat call.
func EmbeddingsTarget(e *eval.Embeddings) Target {
	return Target{Kind: "embeddings", Name: "endpoint", BaseURL: e.BaseURL, Model: e.Model, APIKeyEnv: e.APIKeyEnv, APIKeySecret: e.APIKeySecret}
}

// Preflight checks, before any paid call, that each target would answer:
// its api_key_env is set, its endpoint answers, and it serves the model
// (GET /models lists it; where that endpoint is missing or does not list
// it, as LoRA adapters sometimes are not, one chat call of max_tokens 1
// decides). 401 and 403 are credentials problems. Targets are checked
// concurrently, identical ones once; each check retries a server that is
// still starting for a moment but ends within the target's Timeout. The
// problems come in target order, none when every target is ready. Under a
// server's endpoint policy (see [WithEndpoints]) a target it refuses is a
// ProblemPolicy, and is sent nothing.
func (c *Client) Preflight(ctx context.Context, targets []Target, o PreflightOptions) []Problem {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	type check struct {
		base, model, key string
		timeout          time.Duration
		res              checkResult
	}
	checks := map[string]*check{}
	keyOf := make([]string, len(targets))
	keys := make([]string, len(targets))
	keyErrs := make([]error, len(targets))
	refused := make([]error, len(targets))
	for i, t := range targets {
		if !o.KeysElsewhere {
			// A base_url the policy cannot judge is the check's to report.
			if err := c.endpoints.admit(ctx, t); errors.Is(err, ErrPolicy) {
				refused[i] = err
				continue
			}
		}
		keys[i], keyErrs[i] = c.targetKey(t, getenv, o.KeysElsewhere)
		base := strings.TrimRight(t.BaseURL, "/")
		k := base + "\x00" + t.Model + "\x00" + keys[i]
		keyOf[i] = k
		timeout := t.Timeout
		if timeout <= 0 {
			timeout = defaultPreflightTimeout
		}
		if ch, ok := checks[k]; ok {
			ch.timeout = max(ch.timeout, timeout)
			continue
		}
		checks[k] = &check{base: base, model: t.Model, key: keys[i], timeout: timeout}
	}
	var wg sync.WaitGroup
	for _, ch := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, ch.timeout)
			defer cancel()
			ch.res = c.check(cctx, ch.base, ch.model, ch.key)
			if ch.res.kind == ProblemUnreachable && errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				ch.res.detail = fmt.Sprintf("unreachable: timeout (no answer within %v)", ch.timeout)
			}
		})
	}
	wg.Wait()
	var problems []Problem
	for i, t := range targets {
		if refused[i] != nil {
			problems = append(problems, Problem{Target: t, Kind: ProblemPolicy, Detail: refused[i].Error()})
			continue
		}
		named := t.APIKeyEnv != "" || t.APIKeySecret != ""
		keyMissing := named && keys[i] == ""
		switch {
		case keyMissing && o.KeysElsewhere:
		case keyErrs[i] != nil:
			problems = append(problems, Problem{Target: t, Kind: ProblemKey, Detail: keyErrs[i].Error()})
		case keyMissing && t.APIKeyEnv != "":
			problems = append(problems, Problem{Target: t, Kind: ProblemKey,
				Detail: fmt.Sprintf("api_key_env %s is not set or is empty (export it with the key, or drop api_key_env if the endpoint needs none)", t.APIKeyEnv)})
		}
		r := checks[keyOf[i]].res
		switch {
		case r.kind == "":
		case r.kind == ProblemCredentials && named && (keyMissing || o.KeysElsewhere):
			// Checked without the key the services will use: the endpoint
			// could not be checked, which is no problem of its own.
			c.logger.Debug("preflight could not check the endpoint without its key", "target", t.Name, "url", t.BaseURL, "status", r.status)
		case r.kind == ProblemCredentials:
			problems = append(problems, Problem{Target: t, Kind: r.kind, Detail: credentialsDetail(r.status, t)})
		default:
			problems = append(problems, Problem{Target: t, Kind: r.kind, Detail: r.detail})
		}
	}
	return problems
}

// defaultPreflightTimeout bounds the check of a target whose Timeout is 0.
const defaultPreflightTimeout = 15 * time.Second

func credentialsDetail(status int, t Target) string {
	return CredentialsDetail(status, t.APIKeyEnv, t.APIKeySecret)
}

// CredentialsDetail says which key a 401 or 403 (status) refused and what
// to check, as a preflight problem words it: the key in secret keySecret,
// else in the variable keyEnv, else none named.
func CredentialsDetail(status int, keyEnv, keySecret string) string {
	what := "credentials rejected"
	if status == http.StatusForbidden {
		what = "forbidden"
	}
	switch {
	case keySecret != "":
		return fmt.Sprintf("%s (HTTP %d with the key in secret %s: check its value and what it may use)", what, status, keySecret)
	case keyEnv == "":
		return fmt.Sprintf("%s (HTTP %d, and no api_key_env is set: name the variable that holds the key)", what, status)
	}
	return fmt.Sprintf("%s (HTTP %d with the key in %s: check its value and what it may use)", what, status, keyEnv)
}

// targetKey is the key t's check sends: api_key_env read with getenv on
// the user's own machine, otherwise what the client's [Endpoints] gives.
// Where the keys live elsewhere (a CLI submitting to a server) a secret
// is not looked up here.
func (c *Client) targetKey(t Target, getenv func(string) string, elsewhere bool) (string, error) {
	switch {
	case t.APIKeySecret != "" && elsewhere:
		return "", nil
	case t.APIKeyEnv != "" && c.endpoints.Local():
		return getenv(t.APIKeyEnv), nil
	}
	host, port, err := hostPort(t.BaseURL)
	if err != nil {
		return "", nil // the check reports the base_url
	}
	return c.endpoints.key(t.APIKeyEnv, t.APIKeySecret, host, port)
}

// checkResult is the outcome of checking one endpoint and model: a
// problem's kind and detail, or kind "" when it is ready.
type checkResult struct {
	kind, detail string
	// status is the HTTP status of a credentials problem.
	status int
}

// preflightAttempts bounds the tries of one preflight request, and
// preflightBackoff is the wait after the first failed one (doubling):
// enough for a server that is just starting, little for one that is down.
const (
	preflightAttempts = 3
	preflightBackoff  = 500 * time.Millisecond
)

// maxModelList bounds what is read of GET /models.
const maxModelList = 4 << 20

func (c *Client) check(ctx context.Context, base, model, key string) checkResult {
	if err := eval.CheckEndpointURL(base); err != nil {
		return checkResult{kind: ProblemEndpoint, detail: fmt.Sprintf("base_url is not usable (%v)", err)}
	}
	models, err := c.probe(ctx, http.MethodGet, base+"/models", key, nil)
	if err != nil {
		return unreachable(err)
	}
	var served []string
	listed := false
	switch {
	case models.status == http.StatusUnauthorized || models.status == http.StatusForbidden:
		return checkResult{kind: ProblemCredentials, status: models.status}
	case models.status == http.StatusOK:
		var list ModelList
		if json.Unmarshal(models.body, &list) == nil && (list.Object == "list" || len(list.Data) > 0) {
			listed = true
			for _, m := range list.Data {
				served = append(served, models.red.text(m.ID))
			}
			if slices.Contains(served, model) {
				return checkResult{}
			}
		}
	}
	// Not listed, or no list: one 1-token call decides.
	body, _ := json.Marshal(ChatRequest{Model: model, Messages: []WireMessage{{Role: "user", Content: "Say OK."}}, MaxTokens: 1, TopP: 1})
	chat, err := c.probe(ctx, http.MethodPost, base+"/chat/completions", key, body)
	if err != nil && models.status != 0 && Cause(err) == "timeout" {
		// The server answered GET /models but is slow to generate even one
		// token (busy, or loading the adapter): that is no reason to stop
		// the run, whose calls have timeouts of their own.
		c.logger.Warn("preflight could not confirm the model: a 1-token test call timed out", "url", base, "model", model)
		return checkResult{}
	}
	if err != nil {
		return unreachable(err)
	}
	api := chat.apiError()
	switch {
	case chat.status/100 == 2:
		if _, err := readResponse(bytes.NewReader(chat.body), chat.red); err != nil {
			return checkResult{kind: ProblemEndpoint, detail: fmt.Sprintf("does not answer like an OpenAI-compatible API (a test chat call: %v; does base_url end in /v1?)", err)}
		}
		return checkResult{}
	case chat.status == http.StatusUnauthorized || chat.status == http.StatusForbidden:
		return checkResult{kind: ProblemCredentials, status: chat.status}
	case (chat.status == http.StatusNotFound || chat.status == http.StatusBadRequest || chat.status == http.StatusUnprocessableEntity) && saysModelMissing(api.Message):
		return notServed(model, listed, served, api.Message)
	case chat.status == http.StatusNotFound && listed:
		return notServed(model, listed, served, api.Message)
	case chat.status == http.StatusNotFound || chat.status == http.StatusMethodNotAllowed:
		return checkResult{kind: ProblemEndpoint, detail: fmt.Sprintf("no chat API here (GET /models: HTTP %d, POST /chat/completions: HTTP %d; does base_url end in /v1?)", models.status, chat.status)}
	case chat.status/100 == 5:
		return checkResult{kind: ProblemEndpoint, detail: fmt.Sprintf("a 1-token test call failed: %s (after %d attempts)", Cause(api), preflightAttempts)}
	}
	// A 400 about something else, a 429: the server read the model name
	// and did not object to it.
	return checkResult{}
}

func unreachable(err error) checkResult {
	kind, detail := Unreachable(err)
	return checkResult{kind: kind, detail: detail}
}

// Unreachable is the preflight problem of a call nothing answered (err):
// its kind (ProblemUnreachable, or ProblemEndpoint for a base_url that is
// no URL) and a detail that says what to check.
func Unreachable(err error) (kind, detail string) {
	cause := Cause(err)
	hint := "is the server running, and is base_url right?"
	switch cause {
	case "no such host", "DNS error":
		hint = "is the host name in base_url right?"
	case "TLS error":
		hint = "does the server speak HTTPS with a certificate this machine trusts? use http:// for a plain one"
	case "bad base_url":
		return ProblemEndpoint, "base_url is not an http:// or https:// URL"
	}
	return ProblemUnreachable, fmt.Sprintf("unreachable: %s (%s)", cause, hint)
}

// maxServedShown bounds the served models a problem lists, and
// maxServedName the bytes of each name shown.
const (
	maxServedShown = 10
	maxServedName  = 100
)

func notServed(model string, listed bool, served []string, msg string) checkResult {
	d := fmt.Sprintf("model %q is not served", model)
	// The names come from the endpoint, untrusted: one short line each.
	shown := make([]string, min(len(served), maxServedShown))
	for i := range shown {
		shown[i] = clipBytes(sanitizeReason(served[i]), maxServedName)
	}
	switch {
	case listed && len(served) == 0:
		d += " (the server lists no models)"
	case listed && len(served) > maxServedShown:
		d += fmt.Sprintf(" (served: %s and %d more)", strings.Join(shown, ", "), len(served)-maxServedShown)
	case listed:
		d += fmt.Sprintf(" (served: %s)", strings.Join(shown, ", "))
	case msg != "":
		d += fmt.Sprintf(" (the server says: %s)", causeMessage(msg))
	}
	return checkResult{kind: ProblemModel, detail: d}
}

// saysModelMissing reports whether an error message says the requested
// model does not exist, as vLLM ("The model `x` does not exist."), Ollama
// ("model "x" not found, try pulling it first"), OpenAI and LiteLLM put it.
func saysModelMissing(msg string) bool {
	m := strings.ToLower(msg)
	if !strings.Contains(m, "model") {
		return false
	}
	for _, s := range []string{"does not exist", "not exist", "not found", "unknown model", "no such model", "not served", "invalid model", "model_not_found", "not available", "not loaded"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// probeAnswer is what a preflight request got back: the body as sent,
// since replacing keys in JSON could break it, and the redactor (red) of
// the key sent, for every text taken from it.
type probeAnswer struct {
	status int
	header http.Header
	body   []byte
	red    redactor
}

func (a probeAnswer) apiError() *APIError {
	return readAPIError(&http.Response{StatusCode: a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body))}, a.red).(*APIError)
}

// probe sends one preflight request, again after a short wait when the
// failure may pass (the server is starting, or busy), and returns the
// last answer, or the error when nothing answered.
func (c *Client) probe(ctx context.Context, method, url, key string, body []byte) (probeAnswer, error) {
	wait := preflightBackoff
	for attempt := 1; ; attempt++ {
		a, err := c.probeOnce(ctx, method, url, key, body)
		transient := (err != nil && transientNetwork(err)) ||
			(err == nil && (a.status == http.StatusRequestTimeout || a.status == http.StatusTooManyRequests || (a.status/100 == 5 && a.status != http.StatusNotImplemented)))
		if !transient || attempt == preflightAttempts || ctx.Err() != nil {
			return a, err
		}
		c.logger.Debug("preflight request failed; retrying", "url", url, "attempt", attempt, "status", a.status, "err", err)
		if c.sleep(ctx, wait) != nil {
			return a, err
		}
		wait *= 2
	}
}

func (c *Client) probeOnce(ctx context.Context, method, url, key string, body []byte) (probeAnswer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return probeAnswer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return probeAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxModelList))
	if err != nil {
		return probeAnswer{}, fmt.Errorf("reading the answer to %s %s: %w", method, url, err)
	}
	// The answer's words reach problems, which are logged and stored:
	// a key it echoes is replaced in each text taken from it.
	return probeAnswer{status: resp.StatusCode, header: resp.Header, body: b, red: c.redactor(key)}, nil
}

// transientNetwork reports whether a request that got no answer may get
// one soon: refused or reset connections and timeouts, not a host name
// that does not resolve, a certificate, or a malformed URL.
func transientNetwork(err error) bool {
	switch Cause(err) {
	case "no such host", "TLS error", "bad base_url", "context canceled":
		return false
	}
	return true
}
