package bus

import (
	"context"
	"errors"
	"strings"
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
// The score stage's space holds embeddings (llm.EmbedSpace), for
// semantic_sim.
const (
	CacheSpaceInfer = "gen"
	CacheSpaceJudge = "judge"
	CacheSpaceEmbed = "embed"
)

// KVCache keeps LLM responses in the assay_llm_cache bucket by content key
// (it satisfies llm.Cache). A response is stored before its result is
// published, so a stage killed after publishing does not pay for the call
// again when the message is redelivered.
type KVCache struct {
	b       *Bus
	release bool
}

// LLMCache returns the bus's LLM response cache.
func (b *Bus) LLMCache() KVCache { return KVCache{b: b} }

// ReleasedOnAck returns the cache as a handler of a releasing consumer
// ([ConsumeOptions].Release) uses it: every answer it reads or writes is
// deleted once the handler's message is acked for good ([ReleaseOnAck]),
// since nothing can ask for it again then. Final failures (keys ending in
// [FailedSuffix]) stay, for assay retry. Outside such a handler it is the
// plain cache.
func (c KVCache) ReleasedOnAck() KVCache { c.release = true; return c }

// FailedSuffix ends the key under which the ledger records a request's
// final failure (llm.FailureKey).
const FailedSuffix = ".failed"

// keep releases the entry at rev of key when c releases.
func (c KVCache) keep(ctx context.Context, key string, rev uint64) {
	if c.release && !strings.HasSuffix(key, FailedSuffix) {
		ReleaseOnAck(ctx, KVEntry(BucketLLMCache, key, rev))
	}
}

// HoldsLegacy reports whether the cache may hold entries under keys from
// before it was split into key spaces: a hash alone, or a hash and
// [FailedSuffix] (see [CacheSpaceInfer]). It satisfies llm.LegacyHolder,
// so that a ledger stops looking requests up under those keys once none
// is left: they are never written again, and expire with the cache's TTL.
// It asks for the first message on such a subject, one message however
// many there are.
func (c KVCache) HoldsLegacy(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	s, err := c.b.JS.Stream(ctx, "KV_"+BucketLLMCache)
	if err != nil {
		return false, err
	}
	prefix := "$KV." + BucketLLMCache + "."
	for _, filter := range []string{prefix + "*", prefix + "*" + FailedSuffix} {
		_, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(filter))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return false, err
		default:
			return true, nil
		}
	}
	return false, nil
}

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
	c.keep(ctx, key, e.Revision())
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
	rev, err := c.b.Cache.Put(ctx, key, val)
	if err == nil {
		c.keep(ctx, key, rev)
	}
	return err
}
