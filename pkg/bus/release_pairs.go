package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultPairsTTL is how long assay_pairs keeps a key after its last
// write. Keys are released once their sample's generations are acked for
// good (see [ReleaseAfterAck]); the TTL is the backstop for a key never
// released — a variant dead-lettered, a generation stored again after its
// sample's release, a judge stopped while it waited for acks — and it must
// outlast any live join: a sample's generations arrive within the run's
// minutes or hours, a checkpoint or a retry days later at most. 7 days,
// like the LLM cache. The bucket's age limit does it, per message: a key
// lives for the TTL after its last write (the bucket keeps one revision),
// on servers of any version, and leaves no marker when it expires.
const DefaultPairsTTL = 7 * 24 * time.Hour

// pairsTTL gives assay_pairs the age limit ttl when it has none (a bucket
// created by an older version) or when ttl was given; an identity that may
// not update the bucket leaves it as it is, with a warning: its keys never
// released then stay for good.
func pairsTTL(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration, given bool, logger *slog.Logger) error {
	name := "KV_" + bucket
	s, err := js.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("reading stream %s: %w", name, notYet(err))
	}
	sc := s.CachedInfo().Config
	if sc.MaxAge == ttl || sc.MaxAge != 0 && !given {
		return nil
	}
	sc.MaxAge = ttl
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		if Retryable(err) {
			return fmt.Errorf("setting the age limit of %s: %w", name, err)
		}
		if logger != nil {
			logger.Warn("keys of the pairs bucket never released stay for good: this identity may not set its age limit (open the bus once as admin)", "bucket", bucket, "err", err)
		}
	}
	return nil
}
