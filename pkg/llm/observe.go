package llm

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Observer is told of every request a [Client] sends to an endpoint (each
// attempt of a call, retries included; answers from the cache are not
// requests): the endpoint's [Endpoint.Name], the attempt's outcome (one of
// the Attempt… constants) and, for an answer, its latency and its time to
// first token (0 when it was not streamed). Prometheus metrics implement
// it (obs.Endpoints).
type Observer interface {
	Attempt(name, outcome string, latency, ttft time.Duration)
}

// The outcomes of an attempt: a small fixed set, fit for a metric's label.
const (
	AttemptOK = "ok"
	// AttemptRateLimited is an HTTP 429.
	AttemptRateLimited = "rate_limited"
	// AttemptServerError is an HTTP 5xx, a stream's error event included,
	// and a stream cut short.
	AttemptServerError = "server_error"
	// AttemptClientError is any other HTTP status: the request was refused
	// as sent (a key, a model name).
	AttemptClientError = "client_error"
	AttemptTimeout     = "timeout"
	// AttemptFailed is anything else: the connection, a malformed answer,
	// the endpoint policy.
	AttemptFailed = "failed"
)

// observe tells the client's observer of an attempt. One that failed
// because its caller gave up says nothing of the endpoint.
func (c *Client) observe(ctx context.Context, ep Endpoint, t timing, err error) {
	switch {
	case c.observer == nil:
	case err == nil:
		c.observer.Attempt(ep.Name, AttemptOK, t.latency, t.ttft)
	case ctx.Err() == nil:
		c.observer.Attempt(ep.Name, attemptOutcome(err), 0, 0)
	}
}

// attemptOutcome classes a failed attempt.
func attemptOutcome(err error) string {
	var api *APIError
	switch {
	case errors.As(err, &api) && api.Status == http.StatusTooManyRequests:
		return AttemptRateLimited
	case errors.As(err, &api) && api.Status >= 500:
		return AttemptServerError
	case errors.As(err, &api):
		return AttemptClientError
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return AttemptTimeout
	}
	return AttemptFailed
}
