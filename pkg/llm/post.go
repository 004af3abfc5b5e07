package llm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// What every call to an endpoint goes through, whatever it asks for (a
// chat completion, embeddings): the endpoint policy, the key, the
// per-endpoint limit on requests in flight, the attempt's timeout, retries
// with backoff, the [Observer], and keys replaced in whatever the endpoint
// sends back.

// timing is what an attempt that was answered tells an [Observer].
type timing struct{ latency, ttft time.Duration }

// retry calls try until an attempt succeeds or policy gives up, and
// returns the number of attempts made. The request goes to path under
// ep's base URL, which is checked first; ep's key is looked up (for each
// call: a rotated secret is used from the next call on) and set in the
// Endpoint try is given. A final failure is a [CallError] naming the URL
// without credentials.
func (c *Client) retry(ctx context.Context, ep Endpoint, path, model string, policy RetryPolicy, try func(ep Endpoint, url string) (timing, error)) (int, error) {
	policy = policy.withDefaults()
	// A spec reaching a service was validated, but the bus is no
	// guarantee: a base_url that could aim the call elsewhere than its
	// API is refused here too.
	if err := eval.CheckEndpointURL(ep.BaseURL); err != nil {
		return 0, fmt.Errorf("not calling the endpoint: base_url %w", err)
	}
	url := strings.TrimRight(ep.BaseURL, "/") + path
	// What errors and logs name: without a password in the URL.
	shown := redactURL(url)
	key, err := c.apiKey(ep)
	if err != nil {
		return 0, &CallError{Endpoint: shown, Attempts: 0, Err: err}
	}
	ep.APIKey = key
	var lastErr error
	for attempt := 1; attempt <= policy.MaxAttempts; attempt++ {
		t, err := try(ep, url)
		c.observe(ctx, ep, t, err)
		if err == nil {
			return attempt, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return attempt, ctx.Err()
		}
		wait, again := policy.wait(attempt, err)
		if !again || attempt == policy.MaxAttempts {
			return attempt, &CallError{Endpoint: shown, Attempts: attempt, Err: err}
		}
		c.logger.Debug("endpoint call failed; retrying", "url", shown, "model", model, "attempt", attempt, "wait", wait, "err", err)
		if err := c.sleep(ctx, wait); err != nil {
			return attempt, err
		}
	}
	return policy.MaxAttempts, &CallError{Endpoint: shown, Attempts: policy.MaxAttempts, Err: lastErr}
}

// apiKey is ep's API key: the one it carries, else the one the endpoint
// policy gives for its key source and host (looked up at each call: a
// rotated secret is used from the next call on).
func (c *Client) apiKey(ep Endpoint) (string, error) {
	if ep.APIKey != "" {
		return ep.APIKey, nil
	}
	host, port, err := hostPort(ep.BaseURL)
	if err != nil {
		return "", err
	}
	return c.endpoints.key(ep.KeyEnv, ep.KeySecret, host, port)
}

// reply is a 2xx answer as [Client.post] hands it to its reader.
type reply struct {
	body io.Reader
	// stream: the body is server-sent events (ep.Stream asked for them),
	// watched for the answer's finish.
	stream bool
	// start is when the request was sent.
	start time.Time
	// red replaces keys in the texts taken from the body.
	red redactor
}

// post sends one attempt of body to url, within ep's limit on requests in
// flight and its timeout, and hands a 2xx answer to read; any other
// status is an [APIError]. Errors are returned with keys replaced.
func (c *Client) post(ctx context.Context, ep Endpoint, model, url string, body []byte, read func(reply) error) error {
	lim := c.limiter(ep, model)
	select {
	case lim <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-lim }()
	ctx, call, done := outliving(ctx, ep.Timeout)
	defer done()
	// From the endpoint's first byte the answer may be on its way: a
	// Ctrl-C landing while Do still reads the headers gives the call
	// streamGrace to show it is (a final answer's status, a stream's
	// finish) rather than cut it. An informational (1xx) response is no
	// answer; a redirect's first byte gives at most streamGrace too.
	informational := 0
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotFirstResponseByte: call.streaming,
		Got1xxResponse: func(int, textproto.MIMEHeader) error {
			call.informational()
			if informational++; informational > max1xx {
				return fmt.Errorf("%w: more than %d informational (1xx) responses", ErrBadResponse, max1xx)
			}
			return nil
		},
	})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if ep.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+ep.APIKey)
	}
	if ep.Stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	// What the endpoint answers is stored and logged: a key it echoes
	// is replaced everywhere (see redactor).
	red := c.redactor(ep.APIKey)
	start := time.Now()
	resp, err := c.http.Do(hreq)
	if err != nil {
		return red.err(err)
	}
	defer resp.Body.Close()
	stream := resp.StatusCode/100 == 2 && ep.Stream && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	if !stream {
		// A whole body is on its way: an answer, or why not.
		call.answered()
	}
	if resp.StatusCode/100 != 2 {
		return red.err(readAPIError(resp, red))
	}
	rep := reply{body: resp.Body, start: start, red: red}
	if stream {
		// A stream's headers come when generation starts: the
		// answer is paid for once the stream delivers its finish.
		call.streaming()
		rep.body, rep.stream = &finishWatch{r: resp.Body, finished: call.answered}, true
	}
	return red.err(read(rep))
}
