package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bus is a connection to assay's topology.
type Bus struct {
	NC *nats.Conn
	JS jetstream.JetStream

	Runs     jetstream.KeyValue
	Pairs    jetstream.KeyValue
	Cache    jetstream.KeyValue
	Reports  jetstream.ObjectStore
	Datasets jetstream.ObjectStore
	Blobs    jetstream.ObjectStore

	maxPayload int
	streams    map[string]jetstream.Stream
}

// Options shape the topology Open creates.
type Options struct {
	// Replicas of every stream and bucket: 1, or 3 on a cluster.
	Replicas int
	// MaxAge of stream messages; 0 keeps them until removed.
	MaxAge time.Duration
	// Duplicates is the window in which a republished Nats-Msg-Id is
	// dropped by the server (default 2m). Aggregation is keyed too, so a
	// duplicate outside the window is stored but never counted.
	Duplicates time.Duration
	// CacheTTL bounds how long LLM responses are kept (default 7 days).
	CacheTTL time.Duration
}

func (o *Options) defaults() {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Duplicates == 0 {
		o.Duplicates = 2 * time.Minute
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 7 * 24 * time.Hour
	}
}

// StreamSubjects lists each stream's subjects.
var StreamSubjects = map[string][]string{
	StreamSamples:   {prefix + "samples.>"},
	StreamGens:      {prefix + "gens.>"},
	StreamScores:    {prefix + "scores.>"},
	StreamJudgments: {prefix + "judgments.>"},
	StreamLabels:    {prefix + "labels.>"},
	StreamEvents:    {prefix + "events.>"},
	StreamIntake:    {prefix + "intake.>"},
	StreamDLQ:       {prefix + "dlq.>"},
}

// Open creates (or updates) every stream, bucket and object store, and
// returns a Bus on them. It is idempotent: every service calls it at start.
func Open(ctx context.Context, nc *nats.Conn, opts Options) (*Bus, error) {
	opts.defaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	b := &Bus{NC: nc, JS: js, maxPayload: int(nc.MaxPayload()), streams: map[string]jetstream.Stream{}}
	for name, subjects := range StreamSubjects {
		s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:        name,
			Subjects:    subjects,
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    opts.Replicas,
			MaxAge:      opts.MaxAge,
			Duplicates:  opts.Duplicates,
			AllowDirect: true,
		})
		if err != nil {
			return nil, fmt.Errorf("creating stream %s: %w", name, err)
		}
		b.streams[name] = s
	}
	kv := func(name string, history uint8, ttl time.Duration) (jetstream.KeyValue, error) {
		k, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:   name,
			History:  history,
			TTL:      ttl,
			Storage:  jetstream.FileStorage,
			Replicas: opts.Replicas,
		})
		if err != nil {
			return nil, fmt.Errorf("creating KV bucket %s: %w", name, err)
		}
		return k, nil
	}
	if b.Runs, err = kv(BucketRuns, 5, 0); err != nil {
		return nil, err
	}
	if b.Pairs, err = linearizable(ctx, js, jetstream.KeyValueConfig{
		Bucket: BucketPairs, History: 1, Storage: jetstream.FileStorage, Replicas: opts.Replicas,
	}); err != nil {
		return nil, err
	}
	if b.Cache, err = kv(BucketLLMCache, 1, opts.CacheTTL); err != nil {
		return nil, err
	}
	obj := func(name string) (jetstream.ObjectStore, error) {
		o, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:   name,
			Storage:  jetstream.FileStorage,
			Replicas: opts.Replicas,
		})
		if err != nil {
			return nil, fmt.Errorf("creating object store %s: %w", name, err)
		}
		return o, nil
	}
	if b.Reports, err = obj(StoreReports); err != nil {
		return nil, err
	}
	if b.Datasets, err = obj(StoreDatasets); err != nil {
		return nil, err
	}
	if b.Blobs, err = obj(StoreBlobs); err != nil {
		return nil, err
	}
	return b, nil
}

// Stream returns one of assay's streams.
func (b *Bus) Stream(name string) jetstream.Stream { return b.streams[name] }

// ErrNotFound is returned when a message or key the caller asked for does
// not exist.
var ErrNotFound = errors.New("not found")

// linearizable returns a bucket without direct gets: a direct get may be
// answered by a lagging replica, and the judge's join needs every read to
// see the writes that completed before it. The bucket is created when
// missing and otherwise left as it is (CreateOrUpdateKeyValue would turn
// direct gets back on).
func linearizable(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	if _, err := js.KeyValue(ctx, cfg.Bucket); errors.Is(err, jetstream.ErrBucketNotFound) {
		if _, err := js.CreateKeyValue(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, fmt.Errorf("creating KV bucket %s: %w", cfg.Bucket, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("binding KV bucket %s: %w", cfg.Bucket, err)
	}
	name := "KV_" + cfg.Bucket
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading stream %s: %w", name, err)
	}
	if sc := s.CachedInfo().Config; sc.AllowDirect {
		sc.AllowDirect = false
		if _, err := js.UpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("turning off direct gets on %s: %w", name, err)
		}
	}
	out, err := js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("binding KV bucket %s: %w", cfg.Bucket, err)
	}
	return out, nil
}
