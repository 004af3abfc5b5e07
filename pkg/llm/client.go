package llm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Endpoint is where a model is served and how hard it may be pushed.
type Endpoint struct {
	BaseURL string
	APIKey  string
	// Concurrency bounds requests in flight to this base URL and model.
	Concurrency int
	// Timeout bounds each attempt.
	Timeout time.Duration
	// Stream asks for server-sent events, which measures time to first
	// token.
	Stream bool
}

func (e Endpoint) key(model string) string { return e.BaseURL + "#" + model }

// RetryPolicy bounds retries of a failing endpoint.
type RetryPolicy struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxRetryAfter caps how long a server's Retry-After is honoured.
	MaxRetryAfter time.Duration
}

// DefaultRetry is used where a policy leaves fields zero.
var DefaultRetry = RetryPolicy{MaxAttempts: 5, InitialBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second, MaxRetryAfter: 5 * time.Minute}

// Response is a completed chat call.
type Response struct {
	Model        string        `json:"model"`
	Output       string        `json:"output"`
	Reasoning    string        `json:"reasoning,omitempty"`
	Raw          string        `json:"raw,omitempty"`
	FinishReason string        `json:"finish_reason"`
	Usage        WireUsage     `json:"usage"`
	Latency      time.Duration `json:"latency"`
	TTFT         time.Duration `json:"ttft,omitempty"`
	Attempts     int           `json:"attempts"`
	Cached       bool          `json:"-"`
}

// Cache stores responses by content key; assay keeps it in the
// assay_llm_cache KV bucket so that a response is never paid for twice.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Put(ctx context.Context, key string, val []byte) error
}

// Client calls OpenAI-compatible chat endpoints.
type Client struct {
	http   *http.Client
	cache  Cache
	logger *slog.Logger

	mu       sync.Mutex
	limiters map[string]chan struct{}
	flights  map[string]*flight
	// sleep is replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithCache stores and reuses responses.
func WithCache(c Cache) Option { return func(cl *Client) { cl.cache = c } }

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(h *http.Client) Option { return func(cl *Client) { cl.http = h } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(cl *Client) { cl.logger = l } }

// New returns a Client.
func New(opts ...Option) *Client {
	c := &Client{
		http: &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     90 * time.Second,
		}},
		logger:   slog.Default(),
		limiters: map[string]chan struct{}{},
		flights:  map[string]*flight{},
		sleep:    sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) limiter(ep Endpoint, model string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := ep.key(model)
	l, ok := c.limiters[k]
	if !ok {
		n := ep.Concurrency
		if n < 1 {
			n = 1
		}
		l = make(chan struct{}, n)
		c.limiters[k] = l
	}
	return l
}

// APIError is a non-2xx answer from an endpoint.
type APIError struct {
	Status     int
	Message    string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// Retryable reports whether the status may succeed on a later attempt.
func (e *APIError) Retryable() bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ErrBadResponse marks an answer that is not a chat completion.
var ErrBadResponse = errors.New("malformed response")

// CallError is the final failure of a call after its attempts.
type CallError struct {
	Endpoint string
	Attempts int
	Err      error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("calling %s: %v (after %d attempts)", e.Endpoint, e.Err, e.Attempts)
}
func (e *CallError) Unwrap() error { return e.Err }

// Chat sends req to ep, retrying per policy, and returns the answer with its
// reasoning split off. With a cache and a non-empty scope (a run and
// variant, or a judge id), responses are kept by content within the scope:
// a stored response is returned without calling the endpoint, a new one is
// stored before Chat returns, and identical requests in flight at once share
// one call.
func (c *Client) Chat(ctx context.Context, ep Endpoint, req ChatRequest, policy RetryPolicy, scope string) (Response, error) {
	req.Stream, req.StreamOptions = false, nil
	body, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("encoding request: %w", err)
	}
	// The key hashes the body without the streaming fields: streaming is
	// how we ask, not what we ask.
	var key string
	if scope != "" && c.cache != nil {
		key = cacheKey(scope, body)
	}
	if ep.Stream {
		body = append(body[:len(body)-1:len(body)-1], streamSuffix...)
	}
	if key == "" {
		return c.send(ctx, ep, req.Model, body, policy, "")
	}
	c.mu.Lock()
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Response{}, ctx.Err()
		}
		if f.err == nil {
			r := f.resp
			r.Cached = true
			return r, nil
		}
		return c.cached(ctx, ep, req.Model, body, policy, key)
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()
	f.resp, f.err = c.cached(ctx, ep, req.Model, body, policy, key)
	c.mu.Lock()
	delete(c.flights, key)
	c.mu.Unlock()
	close(f.done)
	return f.resp, f.err
}

// flight is a call that identical concurrent requests wait for.
type flight struct {
	done chan struct{}
	resp Response
	err  error
}

// cached answers from the cache, or calls the endpoint and stores the
// answer.
func (c *Client) cached(ctx context.Context, ep Endpoint, model string, body []byte, policy RetryPolicy, key string) (Response, error) {
	if b, ok, err := c.cache.Get(ctx, key); err != nil {
		c.logger.Warn("reading LLM cache failed; calling the endpoint", "err", err)
	} else if ok {
		var r Response
		if err := json.Unmarshal(b, &r); err == nil {
			r.Cached = true
			return r, nil
		}
	}
	return c.send(ctx, ep, model, body, policy, key)
}

// send calls the endpoint with body until it answers or policy gives up,
// and stores the answer under key when key is set.
func (c *Client) send(ctx context.Context, ep Endpoint, model string, body []byte, policy RetryPolicy, key string) (Response, error) {
	policy = policy.withDefaults()
	url := strings.TrimRight(ep.BaseURL, "/") + "/chat/completions"
	var lastErr error
	for attempt := 1; attempt <= policy.MaxAttempts; attempt++ {
		r, err := c.attempt(ctx, ep, model, url, body)
		if err == nil {
			r.Attempts = attempt
			if key != "" {
				b, _ := json.Marshal(r)
				if err := c.cache.Put(ctx, key, b); err != nil {
					// The answer is paid for: hand it on rather than lose it.
					c.logger.Warn("storing response in the LLM cache failed", "err", err)
				}
			}
			return r, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return Response{}, ctx.Err()
		}
		wait, retry := policy.wait(attempt, err)
		if !retry || attempt == policy.MaxAttempts {
			return Response{}, &CallError{Endpoint: url, Attempts: attempt, Err: err}
		}
		c.logger.Debug("endpoint call failed; retrying", "url", url, "model", model, "attempt", attempt, "wait", wait, "err", err)
		if err := c.sleep(ctx, wait); err != nil {
			return Response{}, err
		}
	}
	return Response{}, &CallError{Endpoint: url, Attempts: policy.MaxAttempts, Err: lastErr}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts < 1 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = DefaultRetry.InitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultRetry.MaxBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultRetry.MaxRetryAfter
	}
	return p
}

// wait says how long to wait before the next attempt, and whether to retry
// at all: exponential backoff with "equal" jitter (a random wait between
// half the backoff and all of it, so that a burst of failures spreads out
// but never retries at once), or the server's Retry-After when it gave one.
func (p RetryPolicy) wait(attempt int, err error) (time.Duration, bool) {
	var api *APIError
	if errors.As(err, &api) {
		if !api.Retryable() {
			return 0, false
		}
		if api.RetryAfter > 0 {
			return min(api.RetryAfter, p.MaxRetryAfter), true
		}
	} else if errors.Is(err, ErrBadResponse) {
		return 0, false
	}
	d := p.InitialBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		if d > p.MaxBackoff/2 {
			// Doubling could overflow into a negative wait, on which
			// rand.N panics.
			d = p.MaxBackoff
			break
		}
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	return d/2 + rand.N(d/2+1), true
}

func (c *Client) attempt(ctx context.Context, ep Endpoint, model, url string, body []byte) (Response, error) {
	lim := c.limiter(ep, model)
	select {
	case lim <- struct{}{}:
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	defer func() { <-lim }()
	if ep.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ep.Timeout)
		defer cancel()
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Response{}, fmt.Errorf("building request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if ep.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+ep.APIKey)
	}
	if ep.Stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	start := time.Now()
	resp, err := c.http.Do(hreq)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return Response{}, readAPIError(resp)
	}
	var r Response
	if ep.Stream && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		r, err = readStream(resp.Body, start)
	} else {
		r, err = readResponse(resp.Body)
	}
	if err != nil {
		return Response{}, err
	}
	r.Latency = time.Since(start)
	r.Output, r.Reasoning = splitWithServerReasoning(r.Raw, r.Reasoning)
	return r, nil
}

// maxBody bounds what is read of an answer: model output is untrusted.
const maxBody = 32 << 20

func readAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var eb ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != nil && eb.Error.Message != "" {
		e.Message = eb.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(b))
		if len(e.Message) > 300 {
			// Cut on a rune boundary: the message ends up in logs and JSON.
			cut := 300
			for cut > 0 && !utf8.RuneStart(e.Message[cut]) {
				cut--
			}
			e.Message = e.Message[:cut] + "…"
		}
	}
	return e
}

// retryAfterForever stands for a Retry-After too long for a Duration;
// RetryPolicy.MaxRetryAfter caps it like any other.
const retryAfterForever = time.Duration(math.MaxInt64)

// parseRetryAfter reads delay-seconds or an HTTP date; 0 means none given.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		switch {
		case math.IsNaN(s) || s <= 0:
			return 0
		case s >= float64(retryAfterForever/time.Second):
			// Converting would overflow into a negative Duration, and
			// the server's wish would be ignored.
			return retryAfterForever
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func readResponse(body io.Reader) (Response, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxBody))
	if err != nil {
		return Response{}, fmt.Errorf("reading response: %w", err)
	}
	var cr ChatResponse
	if err := json.Unmarshal(b, &cr); err != nil {
		return Response{}, fmt.Errorf("%w: not a chat completion: %v", ErrBadResponse, err)
	}
	if len(cr.Choices) == 0 {
		return Response{}, fmt.Errorf("%w: no choices", ErrBadResponse)
	}
	ch := cr.Choices[0]
	r := Response{Model: cr.Model, Raw: ch.Message.Content, FinishReason: ch.FinishReason,
		Reasoning: firstNonEmpty(ch.Message.ReasoningContent, ch.Message.Reasoning)}
	if cr.Usage != nil {
		r.Usage = *cr.Usage
	}
	return r, nil
}

func readStream(body io.Reader, start time.Time) (Response, error) {
	sc := bufio.NewScanner(io.LimitReader(body, maxBody))
	// Events are small; the scanner grows the buffer for a large one.
	sc.Buffer(make([]byte, 0, 4<<10), 8<<20)
	var content, reasoning strings.Builder
	var r Response
	done := false
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue // comments, event names, blank separators
		}
		data = bytes.TrimSpace(data)
		if bytes.Equal(data, []byte("[DONE]")) {
			done = true
			break
		}
		var ch ChatChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return Response{}, fmt.Errorf("%w: stream event is not JSON: %v", ErrBadResponse, err)
		}
		if ch.Error != nil {
			return Response{}, &APIError{Status: http.StatusInternalServerError, Message: "in stream: " + ch.Error.Message}
		}
		if ch.Model != "" {
			r.Model = ch.Model
		}
		if ch.Usage != nil {
			r.Usage = *ch.Usage
		}
		for _, c := range ch.Choices {
			if c.Index != 0 {
				continue
			}
			d := c.Delta
			if r.TTFT == 0 && (d.Content != "" || d.ReasoningContent != "" || d.Reasoning != "") {
				r.TTFT = time.Since(start)
			}
			content.WriteString(d.Content)
			// Like readResponse, one of the two names: servers moving from
			// reasoning_content to reasoning send both with the same text.
			reasoning.WriteString(firstNonEmpty(d.ReasoningContent, d.Reasoning))
			if c.FinishReason != nil {
				r.FinishReason = *c.FinishReason
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Response{}, fmt.Errorf("reading stream: %w", err)
	}
	if !done && r.FinishReason == "" {
		return Response{}, &APIError{Status: http.StatusBadGateway, Message: "stream ended before [DONE]"}
	}
	r.Raw = content.String()
	r.Reasoning = reasoning.String()
	return r, nil
}

// splitWithServerReasoning strips inline reasoning from the content and
// joins it with what the server reported separately.
func splitWithServerReasoning(raw, server string) (string, string) {
	answer, inline := SplitReasoning(raw)
	server = strings.TrimSpace(server)
	switch {
	case server == "":
		return answer, inline
	case inline == "":
		return answer, server
	}
	return answer, server + "\n" + inline
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
