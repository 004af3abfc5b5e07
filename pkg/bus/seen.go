package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// seenMarkerTTL is how long assay_seen keeps the marker of a key its
// bucket's age limit removed: the server takes per-key TTLs only on a
// bucket that keeps such markers, and nothing reads them.
const seenMarkerTTL = time.Minute

// perKeyTTL turns per-key TTLs on for an assay_seen created without them
// (by an older version) and rebinds it, reporting whether they are on. An
// identity that may not update the bucket leaves it as it is: its keys
// then live for the bucket's age limit, as they did before.
func perKeyTTL(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, logger *slog.Logger) (jetstream.KeyValue, bool, error) {
	bucket := kv.Bucket()
	name := "KV_" + bucket
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, false, fmt.Errorf("reading stream %s: %w", name, notYet(err))
	}
	sc := s.CachedInfo().Config
	if sc.AllowMsgTTL {
		return kv, true, nil
	}
	sc.AllowMsgTTL, sc.SubjectDeleteMarkerTTL = true, seenMarkerTTL
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		if Retryable(err) {
			return nil, false, fmt.Errorf("turning on per-key TTLs on %s: %w", name, err)
		}
		if logger != nil {
			logger.Warn("production queries are remembered for the bucket's age limit, not their windows: this identity may not turn on per-key TTLs (open the bus once as admin)", "bucket", bucket, "err", err)
		}
		return kv, false, nil
	}
	if kv, err = js.KeyValue(ctx, bucket); err != nil {
		return nil, false, fmt.Errorf("binding KV bucket %s: %w", bucket, notYet(err))
	}
	return kv, true, nil
}

// ClaimSeen creates key in assay_seen with value, kept for ttl (at least
// a second, the server's least), or for the bucket's age limit on a bucket
// that takes no per-key TTLs. A key that exists is [jetstream.ErrKeyExists].
func (b *Bus) ClaimSeen(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	var opts []jetstream.KVCreateOpt
	if b.seenTTL {
		opts = append(opts, jetstream.KeyTTL(max(ttl, time.Second).Round(time.Second)))
	}
	if _, err := b.Seen.Create(ctx, key, value, opts...); err != nil {
		return err
	}
	return nil
}
