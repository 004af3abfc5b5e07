package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Endpoint is where a model is served and how hard it may be pushed.
type Endpoint struct {
	// Name is what the endpoint serves in the run, for an [Observer]: a
	// variant's or a judge's name.
	Name    string
	BaseURL string
	// APIKey is sent as is; when it is empty, KeySecret or KeyEnv name
	// the key, which the client's [Endpoints] looks up at each call.
	APIKey string
	// KeySecret is a spec's api_key_secret, KeyEnv its api_key_env.
	KeySecret string
	KeyEnv    string
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
	// TTFT is the time to the first streamed chunk with text (answer or
	// reasoning); 0 when the answer was not streamed.
	TTFT time.Duration `json:"ttft,omitempty"`
	// ITL is the inter-token latency as serving teams read it: the mean
	// gap between streamed chunks with text after the first; 0 when the
	// answer was not streamed or came in one chunk.
	ITL      time.Duration `json:"itl,omitempty"`
	Attempts int           `json:"attempts"`
	Cached   bool          `json:"-"`
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
	// endpoints decides which hosts may be called and with which keys;
	// nil is a local run's (everything).
	endpoints *Endpoints

	// lookup, when set, replaces the cache read before a call: a
	// [Ledger]'s, whose errors end the call unsent. record, set with it,
	// stores a call's final failure before the call's flight ends, so
	// that an identical request made next finds it; its error replaces
	// the failure's.
	lookup func(ctx context.Context, key string) (Response, bool, error)
	record func(ctx context.Context, key string, ce *CallError) error
	// observer is told of every attempt; nil: nobody.
	observer Observer

	mu       sync.Mutex
	limiters map[string]chan struct{}
	flights  map[string]*flight
	// sleep is replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
	// proxyFor is the proxy of a request (HTTP_PROXY, HTTPS_PROXY and
	// NO_PROXY); replaced in tests, as the environment's is read once per
	// process.
	proxyFor func(*http.Request) (*url.URL, error)
}

// Option configures a Client.
type Option func(*Client)

// WithCache stores and reuses responses.
func WithCache(c Cache) Option { return func(cl *Client) { cl.cache = c } }

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(h *http.Client) Option { return func(cl *Client) { cl.http = h } }

// WithEndpoints makes the client keep to a server's endpoint policy: keys
// are looked up by it, and a connection to an address it refuses is never
// made (checked on the address really dialed, so DNS answers and
// redirects cannot lead a call elsewhere). Nil allows everything.
func WithEndpoints(e *Endpoints) Option { return func(cl *Client) { cl.endpoints = e } }

// WithObserver tells o of every request sent to an endpoint.
func WithObserver(o Observer) Option { return func(cl *Client) { cl.observer = o } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(cl *Client) { cl.logger = l } }

// New returns a Client.
func New(opts ...Option) *Client {
	c := &Client{}
	*c = Client{
		http: &http.Client{Transport: &http.Transport{
			Proxy:               c.proxy,
			DialContext:         c.dial,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     90 * time.Second,
		}, CheckRedirect: sameHostRedirect},
		logger:   slog.Default(),
		limiters: map[string]chan struct{}{},
		flights:  map[string]*flight{},
		sleep:    sleepCtx,
		proxyFor: http.ProxyFromEnvironment,
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

// Chat sends req to ep, retrying per policy, and returns the answer with its
// reasoning split off. With a cache and a non-empty scope (a run and
// variant, or a judge id), responses are kept by content within the scope:
// a stored response is returned without calling the endpoint, a new one is
// stored before Chat returns, and identical requests in flight at once share
// one call.
func (c *Client) Chat(ctx context.Context, ep Endpoint, req ChatRequest, policy RetryPolicy, scope string) (Response, error) {
	r, _, err := c.chat(ctx, ep, req, policy, scope)
	return r, err
}

// chat is Chat, which also returns the request's cache key ("" when it
// has none).
func (c *Client) chat(ctx context.Context, ep Endpoint, req ChatRequest, policy RetryPolicy, scope string) (Response, string, error) {
	req.Stream, req.StreamOptions = false, nil
	body, err := json.Marshal(req)
	if err != nil {
		return Response{}, "", fmt.Errorf("encoding request: %w", err)
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
		r, err := c.send(ctx, ep, req.Model, body, policy, "")
		return r, "", err
	}
	c.mu.Lock()
	for unavailable := 0; ; {
		f, ok := c.flights[key]
		if !ok {
			break
		}
		f.waiters++
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Response{}, key, ctx.Err()
		}
		if f.err == nil {
			r := f.resp
			r.Cached = true
			return r, key, nil
		}
		if ctx.Err() != nil {
			return Response{}, key, ctx.Err()
		}
		if !f.relead(ctx, unavailable) {
			return Response{}, key, f.err
		}
		if errors.Is(f.err, ErrCacheUnavailable) {
			unavailable++
		}
		// The flight failed for its leader's own reasons: lead the
		// next flight, or join one another waiter leads, so that
		// identical requests still share a call.
		c.mu.Lock()
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()
	f.resp, f.err = c.cached(ctx, ep, req.Model, body, policy, key)
	f.own = ctx.Err() != nil && errors.Is(f.err, ctx.Err())
	f.retrying = retrying(ctx)
	c.mu.Lock()
	delete(c.flights, key)
	c.mu.Unlock()
	close(f.done)
	return f.resp, key, f.err
}

// flight is a call that identical concurrent requests wait for.
type flight struct {
	done chan struct{}
	resp Response
	err  error
	// waiters counts the calls that joined it (under the client's mu).
	waiters int
	// own is set when the flight failed because its leader's context
	// ended; retrying when the leader was [Retrying].
	own, retrying bool
}

// relead reports whether a request waiting on f, which failed, should
// lead or join the next flight rather than take f's error: when the
// failure was its leader's own (its context ended), once when the cache
// could not be read for it, and when it replayed a recorded failure to a
// leader that was not [Retrying] while the waiter is. Any other failure —
// the endpoint's, recorded by the leader — is the waiter's too: asking
// again would pay again. unavailable counts the waiter's earlier re-leads
// for an unreadable cache.
func (f *flight) relead(ctx context.Context, unavailable int) bool {
	var replayed *Failure
	switch {
	case f.own:
		return true
	case errors.Is(f.err, ErrCacheUnavailable):
		return unavailable == 0
	case errors.As(f.err, &replayed):
		return retrying(ctx) && !f.retrying
	}
	return false
}

// cached answers from the cache, or calls the endpoint and stores the
// answer.
func (c *Client) cached(ctx context.Context, ep Endpoint, model string, body []byte, policy RetryPolicy, key string) (Response, error) {
	if c.lookup != nil {
		if r, found, err := c.lookup(ctx, key); found || err != nil {
			return r, err
		}
		r, err := c.send(ctx, ep, model, body, policy, key)
		var ce *CallError
		// A call cut by its caller (Ctrl-C) did not fail for good.
		if err != nil && c.record != nil && ctx.Err() == nil && errors.As(err, &ce) {
			if rerr := c.record(ctx, key, ce); rerr != nil {
				return Response{}, rerr
			}
		}
		return r, err
	}
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

// send calls the chat endpoint with body until it answers or policy gives
// up, and stores the answer under key when key is set.
func (c *Client) send(ctx context.Context, ep Endpoint, model string, body []byte, policy RetryPolicy, key string) (Response, error) {
	var r Response
	attempts, err := c.retry(ctx, ep, "/chat/completions", model, policy, func(ep Endpoint, url string) (timing, error) {
		var err error
		r, err = c.attempt(ctx, ep, model, url, body)
		return timing{latency: r.Latency, ttft: r.TTFT}, err
	})
	if err != nil {
		return Response{}, err
	}
	r.Attempts = attempts
	if key != "" {
		b, _ := json.Marshal(r)
		// Stored even when the caller gave up meanwhile (Ctrl-C): the
		// answer is paid for, and a rerun finds it here rather than
		// paying again.
		pctx, cancel := paidContext(ctx)
		err := c.cache.Put(pctx, key, b)
		cancel()
		if err != nil {
			// The answer is paid for: hand it on rather than lose it.
			c.logger.Warn("storing response in the LLM cache failed", "err", err)
		}
	}
	return r, nil
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
	} else if errors.Is(err, ErrBadResponse) || errors.Is(err, ErrRedirect) || errors.Is(err, ErrPolicy) {
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

// attempt sends one chat request and reads its answer, streamed or not.
func (c *Client) attempt(ctx context.Context, ep Endpoint, model, url string, body []byte) (Response, error) {
	var r Response
	err := c.post(ctx, ep, model, url, body, func(rep reply) error {
		var err error
		if rep.stream {
			r, err = readStream(rep.body, rep.start, rep.red)
		} else {
			r, err = readResponse(rep.body, rep.red)
		}
		if err != nil {
			return err
		}
		r.Latency = time.Since(rep.start)
		r = rep.red.response(r)
		r.Output, r.Reasoning = splitWithServerReasoning(r.Raw, r.Reasoning)
		return nil
	})
	if err != nil {
		return Response{}, err
	}
	return r, nil
}
