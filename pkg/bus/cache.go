package bus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// cacheTimeout bounds one read or write of the cache. A request sent to a
// node that dies is never answered, and the callers' contexts (a stage's
// handler) have no deadline of their own: the ledger retries a write that
// timed out, which then reaches the new leader, rather than wait for as
// long as the caller would.
const cacheTimeout = 5 * time.Second

// The LLM cache's key spaces, one per stage that calls models: a key is
// its space, a dot and a hash (llm.CacheKey takes the space from the
// scope's first field, which infer and the judge stage set to these), and
// each stage may write its own space only ([Grants]), so that neither can
// put answers in the other's place.
const (
	CacheSpaceInfer = "gen"
	CacheSpaceJudge = "judge"
)

// KVCache keeps LLM responses in the assay_llm_cache bucket by content key
// (it satisfies llm.Cache). A response is stored before its result is
// published, so a stage killed after publishing does not pay for the call
// again when the message is redelivered.
type KVCache struct{ b *Bus }

// LLMCache returns the bus's LLM response cache.
func (b *Bus) LLMCache() KVCache { return KVCache{b: b} }

// Get returns a stored response.
func (c KVCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	e, err := c.b.Cache.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return e.Value(), true, nil
}

// Put stores a response. A response too large for one message is not
// cached; it is still returned to the caller.
func (c KVCache) Put(ctx context.Context, key string, val []byte) error {
	if c.b.maxPayload > 0 && len(val) > c.b.maxPayload-headroom {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	_, err := c.b.Cache.Put(ctx, key, val)
	return err
}
