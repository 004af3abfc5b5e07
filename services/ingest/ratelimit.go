package ingest

import (
	"math"
	"sync"
	"time"
)

// maxBuckets bounds the sources a rate limiter tracks: past it, buckets
// that have refilled (their source is idle) are forgotten, which costs
// nothing since a new bucket starts full.
const maxBuckets = 4096

// rateLimiter is a token bucket per source (Turner, "New directions in
// communications", 1986: rate r, burst b): a source may send b queries at
// once and r a second after that.
type rateLimiter struct {
	rate  float64 // tokens a second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newRateLimiter(rate float64, burst int) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(max(burst, 1)), now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes a token from source's bucket, or says how long until there
// is one.
func (l *rateLimiter) allow(source string) (ok bool, wait time.Duration) {
	return l.allowN(source, 1)
}

// allowN takes n tokens from source's bucket (a batch of n events), or
// says how long until there are; a batch larger than the burst takes the
// whole burst.
func (l *rateLimiter) allowN(source string, n int) (ok bool, wait time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[source]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.forgetFull(now)
			if len(l.buckets) >= maxBuckets {
				// As many sources are busy as are tracked: a new one
				// waits rather than grow the map without bound.
				return false, time.Second
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[source] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	need := math.Min(float64(max(n, 1)), l.burst)
	if b.tokens >= need {
		b.tokens -= need
		return true, 0
	}
	return false, time.Duration((need - b.tokens) / l.rate * float64(time.Second))
}

// forgetFull drops the buckets that are full by now.
func (l *rateLimiter) forgetFull(now time.Time) {
	for src, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, src)
		}
	}
}
