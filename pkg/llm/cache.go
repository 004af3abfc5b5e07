package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrNotStored marks a call whose outcome — an answer paid for, or a final
// failure — could not be written to the cache, even after retries. A
// caller must not hand the outcome on (publish it) but try again later:
// the [Ledger] keeps the outcome in memory and returns it, and retries the
// write, when the same request is made again, so the endpoint is not paid
// twice.
var ErrNotStored = errors.New("not stored in the LLM cache")

// ErrCacheUnavailable marks a request that was not sent because the cache
// could not be read: it might hold the answer, and sending would pay for
// it again. The caller tries again later.
var ErrCacheUnavailable = errors.New("LLM cache unavailable")

// Failure is a call's final failure as a [Ledger] records it, returned as
// the Err of a [CallError] when the same request is made again: the
// endpoint is not asked again, and the error reads as it did.
type Failure struct {
	Message string `json:"error"`
	// Class is what [Cause] said of the original error.
	Class string `json:"cause"`
}

func (f *Failure) Error() string { return f.Message }

// RecordedCause is [Cause], except that a failure replayed by a [Ledger]
// keeps the class it was recorded with.
func RecordedCause(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Class
	}
	return Cause(err)
}

// failureRecord is a Failure as stored, with its call's endpoint and
// attempts.
type failureRecord struct {
	Endpoint string  `json:"endpoint"`
	Attempts int     `json:"attempts"`
	Failure  Failure `json:"failure"`
}

// FailureKey is the cache key under which a [Ledger] records the final
// failure of the request stored under key; deleting it lets the request be
// asked again.
func FailureKey(key string) string { return key + ".failed" }

type retryingKey struct{}

// Retrying returns a context under which [Ledger.Chat] asks again a
// request whose final failure it recorded (an operator retrying failed
// generations); a stored answer is still used. A new failure replaces the
// record; an answer is looked up before it, so the record no longer
// matters.
func Retrying(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryingKey{}, true)
}

func retrying(ctx context.Context) bool { b, _ := ctx.Value(retryingKey{}).(bool); return b }

// Ledger is a [Client] that is paid once per request and scope: every
// answer and every final failure is in its cache before Chat returns it,
// and a request made again gets the stored outcome without a call. When a
// write fails (a cache node failing over), Chat returns [ErrNotStored]
// and keeps the outcome in memory; the next Chat of the same request
// writes it again rather than calling.
type Ledger struct {
	client *Client
	store  *durableCache
	legacy legacyCheck
}

// NewLedger returns a Ledger keeping outcomes in c; opts configure its
// Client (the ledger sets its cache).
func NewLedger(c Cache, opts ...Option) *Ledger {
	store := &durableCache{cache: c, pending: map[string][]byte{}, attempts: 4, backoff: 50 * time.Millisecond, sleep: sleepCtx}
	cl := New(append(opts, WithCache(store))...)
	store.logger = cl.logger
	l := &Ledger{client: cl, store: store, legacy: legacyCheck{now: time.Now}}
	l.legacy.holder, _ = c.(LegacyHolder)
	// The ledger's lookups and failure records are the client's: made
	// once for identical requests in flight together, by the one that
	// calls, before the others are told.
	cl.lookup, cl.record = l.lookup, l.recordFailure
	return l
}

// ChatFunc is the signature of [Client.Chat] and [Ledger.Chat].
type ChatFunc func(ctx context.Context, ep Endpoint, req ChatRequest, policy RetryPolicy, scope string) (Response, error)

// StageClient is how a stage calls endpoints: c as built when one is given
// (tests), or else a Ledger over cache (nil: the stage's default, which
// the stage passes). It returns the client, for preflight checks, and the
// Chat to call for answers.
func StageClient(c *Client, cache Cache, opts ...Option) (*Client, ChatFunc) {
	if c != nil {
		return c, c.Chat
	}
	l := NewLedger(cache, opts...)
	return l.client, l.Chat
}

// Client is the ledger's client, for calls that are not paid answers
// (preflight checks).
func (l *Ledger) Client() *Client { return l.client }

// Chat is [Client.Chat] paid once: a stored answer or failure of req in
// scope is returned without calling the endpoint, and a new one is
// returned only once stored. Besides the call's own errors it returns
// [ErrNotStored] and [ErrCacheUnavailable], after which the caller must
// not publish and should try again later. An empty scope is not cached.
func (l *Ledger) Chat(ctx context.Context, ep Endpoint, req ChatRequest, policy RetryPolicy, scope string) (Response, error) {
	if scope == "" {
		return l.client.Chat(ctx, ep, req, policy, scope)
	}
	// The client looks the request up (see lookup) and calls only when
	// nothing is stored.
	resp, key, err := l.client.chat(ctx, ep, req, policy, scope)
	if err == nil {
		// The client stored the answer, or kept it pending when it could
		// not (a call sharing another's flight included). It is paid for:
		// it is stored even when ctx ended meanwhile (Ctrl-C), so that a
		// rerun finds it.
		pctx, cancel := paidContext(ctx)
		defer cancel()
		if err := l.store.settle(pctx, key); err != nil {
			return Response{}, err
		}
		return resp, nil
	}
	if ctx.Err() != nil {
		return Response{}, ctx.Err()
	}
	// A call's final failure was recorded by the client (recordFailure),
	// or replayed from the record.
	return resp, err
}

// recordFailure stores the final failure ce of the request under key.
// (A recorded failure replayed comes from lookup, never from a call.)
func (l *Ledger) recordFailure(ctx context.Context, key string, ce *CallError) error {
	b, _ := json.Marshal(failureRecord{Endpoint: ce.Endpoint, Attempts: ce.Attempts, Failure: Failure{Message: ce.Err.Error(), Class: Cause(ce)}})
	return l.store.Put(ctx, FailureKey(key), b)
}

// lookup finds what is stored of the request under key: its answer, or
// its final failure (as the error of a [CallError], unless ctx is
// [Retrying]), and the same under the key's legacy form while the cache
// may hold such keys. found is false when nothing is; an error other than
// a stored failure is [ErrCacheUnavailable], and the request must not be
// sent.
func (l *Ledger) lookup(ctx context.Context, key string) (r Response, found bool, err error) {
	fkey := FailureKey(key)
	var lookups [4]string
	keys := append(lookups[:0], key, fkey)
	if retrying(ctx) {
		keys = keys[:1]
	}
	if legacyKey(key) != "" && l.legacy.holds(ctx) {
		for _, k := range keys {
			keys = append(keys, legacyKey(k))
		}
	}
	for _, k := range keys {
		b, ok, err := l.store.Get(ctx, k)
		if err != nil {
			return Response{}, false, fmt.Errorf("%w: %w", ErrCacheUnavailable, err)
		}
		if !ok {
			continue
		}
		if err := l.store.settle(ctx, k); err != nil {
			return Response{}, false, err
		}
		if k == key || k == legacyKey(key) {
			var r Response
			if err := json.Unmarshal(b, &r); err == nil {
				r.Cached = true
				return r, true, nil
			}
			continue // unreadable: ask again
		}
		var f failureRecord
		if err := json.Unmarshal(b, &f); err == nil && f.Failure.Message != "" {
			return Response{}, true, &CallError{Endpoint: f.Endpoint, Attempts: f.Attempts, Err: &f.Failure}
		}
	}
	return Response{}, false, nil
}

// LegacyHolder is a [Cache] that can tell whether it may hold entries
// under keys of the form they had before the cache was split into key
// spaces (see legacyKey). A ledger over a cache that cannot tell looks
// every request up under both forms.
type LegacyHolder interface {
	HoldsLegacy(ctx context.Context) (bool, error)
}

// legacyCheckEvery is how often a ledger asks its cache again whether it
// holds legacy keys, while it may. Once it holds none it never will: no
// one but an administrator writes such keys.
const legacyCheckEvery = time.Minute

// legacyCheck remembers whether the cache may hold legacy keys, so that a
// request is looked up under two keys, not four, once it holds none.
type legacyCheck struct {
	holder LegacyHolder
	now    func() time.Time

	mu       sync.Mutex
	none     bool // the cache said it holds none
	checking bool // a check is under way
	checked  time.Time
	may      bool // the last answer, or true when it failed
}

// holds reports whether the cache may hold legacy keys. One caller asks
// the cache, without holding the others up: until it has an answer, they
// take the last one (may, before the first).
func (c *legacyCheck) holds(ctx context.Context) bool {
	if c.holder == nil {
		return true
	}
	c.mu.Lock()
	switch {
	case c.none:
		c.mu.Unlock()
		return false
	case c.checking, !c.checked.IsZero() && c.now().Sub(c.checked) < legacyCheckEvery:
		may := c.may || c.checked.IsZero()
		c.mu.Unlock()
		return may
	}
	c.checking = true
	c.mu.Unlock()
	holds, err := c.holder.HoldsLegacy(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checking, c.checked, c.may = false, c.now(), holds || err != nil
	c.none = err == nil && !holds
	return c.may
}

// durableCache retries a Cache's writes with backoff, and keeps in memory
// what it could not write, answering reads of it and retrying the write
// until one succeeds.
type durableCache struct {
	cache    Cache
	logger   *slog.Logger
	attempts int
	backoff  time.Duration
	sleep    func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	pending map[string][]byte
}

func (d *durableCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	d.mu.Lock()
	v, ok := d.pending[key]
	d.mu.Unlock()
	if ok {
		return v, true, nil
	}
	wait := d.backoff
	for attempt := 1; ; attempt++ {
		v, ok, err := d.cache.Get(ctx, key)
		if err == nil || attempt == d.attempts || ctx.Err() != nil || d.sleep(ctx, wait) != nil {
			return v, ok, err
		}
		wait *= 2
	}
}

// Put writes val, retrying; what it cannot write stays pending and is
// [ErrNotStored].
func (d *durableCache) Put(ctx context.Context, key string, val []byte) error {
	err := d.write(ctx, key, val)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.pending[key] = val
		return err
	}
	delete(d.pending, key)
	return nil
}

// settle writes key's pending value, if it has one.
func (d *durableCache) settle(ctx context.Context, key string) error {
	d.mu.Lock()
	v, ok := d.pending[key]
	d.mu.Unlock()
	if !ok {
		return nil
	}
	return d.Put(ctx, key, v)
}

func (d *durableCache) write(ctx context.Context, key string, val []byte) error {
	wait := d.backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = d.cache.Put(ctx, key, val); err == nil {
			return nil
		}
		if attempt == d.attempts || ctx.Err() != nil {
			break
		}
		d.logger.Debug("storing in the LLM cache failed; retrying", "attempt", attempt, "wait", wait, "err", err)
		if d.sleep(ctx, wait) != nil {
			break
		}
		wait *= 2
	}
	d.logger.Warn("storing in the LLM cache failed; the outcome is kept in memory and not handed on", "attempts", d.attempts, "err", err)
	return fmt.Errorf("%w after %d attempts: %w", ErrNotStored, d.attempts, err)
}
