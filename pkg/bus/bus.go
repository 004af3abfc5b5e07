package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bus is a connection to assay's topology.
type Bus struct {
	NC *nats.Conn
	JS jetstream.JetStream
	// asyncJS publishes for [Bus.PublishAsync]: JS's settings, but an
	// acknowledgement not back within ackTimeout fails its publish (and
	// frees its place among those pending) rather than wait for ever.
	asyncJS jetstream.JetStream

	Runs     jetstream.KeyValue
	Pairs    jetstream.KeyValue
	Cache    jetstream.KeyValue
	Seen     jetstream.KeyValue
	ABUnits  jetstream.KeyValue
	Reports  jetstream.ObjectStore
	Datasets jetstream.ObjectStore
	Blobs    jetstream.ObjectStore

	maxPayload int
	streams    map[string]jetstream.Stream
	// seenTTL: assay_seen takes per-key TTLs (see [Bus.ClaimSeen]).
	seenTTL bool
	// shutdownGrace is [Options.ShutdownGrace].
	shutdownGrace time.Duration
	// lag knows the consumers each stage reads (see [LagMetrics]).
	lag lagTracker
}

// Options shape the topology Open creates.
type Options struct {
	// Replicas of every stream and bucket: 1, or 3 on a cluster.
	Replicas int
	// MaxAge of stream messages; 0 keeps them until removed.
	MaxAge time.Duration
	// IntakeMaxAge and IntakeMaxBytes bound the intake stream (stored
	// production queries): past either, the oldest are dropped (defaults
	// 30 days, longer than any continuous window, and 10 GiB; negative:
	// no limit). Unlike other settings, when given (non-zero) they are
	// applied to an existing stream too, so that a retention policy
	// changed later takes effect; left zero, the stream keeps its own: a
	// client or another replica must not undo the operator's.
	IntakeMaxAge   time.Duration
	IntakeMaxBytes int64
	// keepAge and keepBytes: IntakeMaxAge and IntakeMaxBytes were not given.
	keepAge, keepBytes bool
	// Duplicates is the window in which the server drops a republished
	// Nats-Msg-Id on the streams written a few times per run (events,
	// labels: default 2m). SampleDuplicates is that window on the streams
	// written for every sample or query (samples, generations, scores,
	// judgments, dead letters, intake: default 30s), where each id held
	// costs the server about 150 B for the window's length: 2,500
	// samples/s × 6 messages × 2m is 300 MB. See [DefaultSampleDuplicates]
	// for what the windows must cover. Unlike other settings, a window given
	// (non-zero) is applied to an existing stream too, like the intake's
	// limits; left zero, an existing stream keeps its own.
	Duplicates       time.Duration
	SampleDuplicates time.Duration
	// ShutdownGrace is how long a consumer's running handlers may finish
	// once its context ends (see [Bus.Consume]); 0 cancels them at once.
	// Either way what they leave unfinished is handed back at once.
	ShutdownGrace time.Duration
	// keepDuplicates and keepSampleDuplicates: the windows were not given.
	keepDuplicates, keepSampleDuplicates bool
	// CacheTTL bounds how long LLM responses are kept (default 7 days).
	CacheTTL time.Duration
	// PairsTTL bounds how long the judge's join keeps a key it did not
	// release (default [DefaultPairsTTL]). Given (non-zero), it is applied
	// to an existing bucket too; left zero, a bucket without an age limit
	// gets the default.
	PairsTTL time.Duration
	// keepPairsTTL: PairsTTL was not given.
	keepPairsTTL bool
	// SeenTTL bounds how long a production query is remembered for
	// deduplication within its window (default 8 days: longer than any
	// window, and queries arriving that late are stale anyway); each is
	// remembered only as long as its window needs (see [Bus.ClaimSeen]).
	SeenTTL time.Duration
	// Wait is how long Open retries transient JetStream errors while a
	// cluster forms (default 2m).
	Wait time.Duration
	// Logger receives a line for each retry; nil discards them.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Duplicates == 0 {
		o.Duplicates, o.keepDuplicates = DefaultDuplicates, true
	}
	if o.SampleDuplicates == 0 {
		o.SampleDuplicates, o.keepSampleDuplicates = DefaultSampleDuplicates, true
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 7 * 24 * time.Hour
	}
	if o.PairsTTL == 0 {
		o.PairsTTL, o.keepPairsTTL = DefaultPairsTTL, true
	}
	if o.SeenTTL == 0 {
		o.SeenTTL = 8 * 24 * time.Hour
	}
	if o.Wait == 0 {
		o.Wait = DefaultWait
	}
	if o.IntakeMaxAge == 0 {
		o.IntakeMaxAge, o.keepAge = 30*24*time.Hour, true
	}
	if o.IntakeMaxBytes == 0 {
		o.IntakeMaxBytes, o.keepBytes = 10<<30, true
	}
}

// intakeRetention sets the intake stream's limits of opts on cfg.
func intakeRetention(cfg *jetstream.StreamConfig, opts Options) {
	cfg.MaxAge, cfg.MaxBytes, cfg.Discard = max(opts.IntakeMaxAge, 0), max(opts.IntakeMaxBytes, -1), jetstream.DiscardOld
}

// StreamSubjects lists each stream's subjects.
var StreamSubjects = map[string][]string{
	StreamSamples:   {prefix + "samples.>"},
	StreamGens:      {prefix + "gens.>"},
	StreamScores:    {prefix + "scores.>"},
	StreamJudgments: {prefix + "judgments.>"},
	StreamLabels:    {prefix + "labels.>"},
	StreamEvents:    {prefix + "events.>"},
	StreamIntake:    {prefix + "queries.>"},
	StreamDLQ:       {prefix + "dlq.>"},
	StreamAB:        {prefix + "abevents.>"},
}

// Open binds every stream, bucket and object store, creating those that are
// missing, and returns a Bus on them. Every service and client calls it at
// start. What exists is left as it is: a process started without --replicas
// must not scale a cluster's R3 streams down to one replica, and an operator
// may have tuned limits by hand.
//
// A cluster that is forming, electing a leader or restarting a node answers
// for a while with timeouts, "no suitable peers" or "temporarily
// unavailable": Open retries every such error with backoff for opts.Wait,
// logging each retry, and fails at once on a permanent one (a permission
// refused, a configuration the server rejects).
func Open(ctx context.Context, nc *nats.Conn, opts Options) (*Bus, error) {
	opts.defaults()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	deadline := start.Add(opts.Wait)
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		b, err := openAttempt(ctx, nc, opts, time.Until(deadline))
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil || !Retryable(err) {
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), "CREATE") {
				err = fmt.Errorf("%w: assay's streams and buckets do not all exist yet, and this identity may not create them: start assay up first (it creates them as admin), or run this once with the admin identity", err)
			}
			return nil, err
		}
		if on, _ := nc.ConnectedServerJetStream(); !on && (errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders)) {
			return nil, fmt.Errorf("%w: the NATS server at %s runs without JetStream, which assay needs: start it with -js (or use `assay up`)", err, RedactURL(nc.ConnectedUrlRedacted()))
		}
		if time.Now().Add(backoff).After(deadline) {
			return nil, fmt.Errorf("%w (JetStream still not ready after %v: check that every node of the cluster is up and routed, or raise --startup-timeout)", err, time.Since(start).Round(time.Second))
		}
		logger.Warn("JetStream not ready, retrying", "err", err, "in", backoff, "waited", time.Since(start).Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(backoff):
		}
	}
}

// openAttempt runs open once. Its requests carry no deadline of their own,
// so JetStream bounds each with its default timeout (a request lost while a
// cluster forms fails that attempt, not the whole wait), and the attempt is
// cut short when ctx ends, when wait passes, or as soon as the server
// refuses this connection a JetStream API subject: a request it drops
// would otherwise only time out, and a permission is not going to change.
func openAttempt(ctx context.Context, nc *nats.Conn, opts Options, wait time.Duration) (*Bus, error) {
	actx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	defer context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })()
	defer time.AfterFunc(wait, func() { cancel(context.DeadlineExceeded) }).Stop()
	watching := make(chan struct{})
	defer close(watching)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-watching:
				return
			case <-tick.C:
				if err := nc.LastError(); errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), "$JS.API") {
					cancel(err)
					return
				}
			}
		}
	}()
	b, err := open(actx, nc, opts)
	if err != nil {
		if cause := context.Cause(actx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", err, cause)
		}
		return nil, err
	}
	return b, nil
}

func open(ctx context.Context, nc *nats.Conn, opts Options) (*Bus, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	asyncJS, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	b := &Bus{NC: nc, JS: js, asyncJS: asyncJS, maxPayload: int(nc.MaxPayload()), streams: map[string]jetstream.Stream{}, shutdownGrace: opts.ShutdownGrace}
	for name, subjects := range StreamSubjects {
		s, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			cfg := jetstream.StreamConfig{
				Name:        name,
				Subjects:    subjects,
				Retention:   jetstream.LimitsPolicy,
				Storage:     jetstream.FileStorage,
				Replicas:    opts.Replicas,
				MaxAge:      opts.MaxAge,
				AllowDirect: true,
			}
			switch name {
			case StreamIntake:
				intakeRetention(&cfg, opts)
			case StreamAB:
				cfg.MaxAge, cfg.MaxBytes = ABEventsAge, -1
			}
			cfg.Duplicates, _ = opts.duplicates(name, cfg.MaxAge)
			s, err = js.CreateStream(ctx, cfg)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				s, err = js.Stream(ctx, name) // created meanwhile by another process
				err = notYet(err)
			}
		} else if err == nil {
			// Only settings given change the stream: with none, what the
			// operator set (a discard policy too) stays, and a process
			// that may not update streams does not try.
			cfg := s.CachedInfo().Config
			want := cfg
			if name == StreamIntake && !(opts.keepAge && opts.keepBytes) {
				intakeRetention(&want, opts)
				if opts.keepAge {
					want.MaxAge = cfg.MaxAge
				}
				if opts.keepBytes {
					want.MaxBytes = cfg.MaxBytes
				}
			}
			if window, given := opts.duplicates(name, want.MaxAge); given {
				want.Duplicates = window
			}
			if want.MaxAge != cfg.MaxAge || want.MaxBytes != cfg.MaxBytes || want.Discard != cfg.Discard || want.Duplicates != cfg.Duplicates {
				s, err = js.UpdateStream(ctx, want)
				err = notYet(err)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("opening stream %s: %w", name, err)
		}
		b.streams[name] = s
	}
	kv := func(cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
		k, err := js.KeyValue(ctx, cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			cfg.Storage, cfg.Replicas = jetstream.FileStorage, opts.Replicas
			k, err = js.CreateKeyValue(ctx, cfg)
			if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
				// A server older than 2.11 takes no per-key TTLs: its keys
				// live for the bucket's age limit.
				cfg.LimitMarkerTTL = 0
				k, err = js.CreateKeyValue(ctx, cfg)
			}
			if errors.Is(err, jetstream.ErrBucketExists) {
				k, err = js.KeyValue(ctx, cfg.Bucket)
				err = notYet(err)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("opening KV bucket %s: %w", cfg.Bucket, err)
		}
		return k, nil
	}
	if b.Runs, err = kv(jetstream.KeyValueConfig{Bucket: BucketRuns, History: 5}); err != nil {
		return nil, err
	}
	if b.Pairs, err = kv(jetstream.KeyValueConfig{Bucket: BucketPairs, History: 1, TTL: opts.PairsTTL}); err != nil {
		return nil, err
	}
	if err := pairsTTL(ctx, js, BucketPairs, opts.PairsTTL, !opts.keepPairsTTL, opts.Logger); err != nil {
		return nil, err
	}
	if b.Pairs, err = linearizable(ctx, js, b.Pairs); err != nil {
		return nil, err
	}
	if b.Cache, err = kv(jetstream.KeyValueConfig{Bucket: BucketLLMCache, History: 1, TTL: opts.CacheTTL}); err != nil {
		return nil, err
	}
	if b.Seen, err = kv(jetstream.KeyValueConfig{Bucket: BucketSeen, History: 1, TTL: opts.SeenTTL, LimitMarkerTTL: seenMarkerTTL}); err != nil {
		return nil, err
	}
	if b.Seen, b.seenTTL, err = perKeyTTL(ctx, js, b.Seen, opts.Logger); err != nil {
		return nil, err
	}
	if b.ABUnits, err = kv(jetstream.KeyValueConfig{Bucket: BucketABUnits, History: 1, TTL: ABUnitsTTL}); err != nil {
		return nil, err
	}
	obj := func(name string) (jetstream.ObjectStore, error) {
		o, err := js.ObjectStore(ctx, name)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			o, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: name, Storage: jetstream.FileStorage, Replicas: opts.Replicas})
			if errors.Is(err, jetstream.ErrBucketExists) {
				o, err = js.ObjectStore(ctx, name)
				err = notYet(err)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("opening object store %s: %w", name, err)
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

// linearizable turns off direct gets on a bucket and rebinds it: a direct
// get may be answered by a lagging replica, and the judge's join needs every
// read to see the writes that completed before it.
func linearizable(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue) (jetstream.KeyValue, error) {
	bucket := kv.Bucket()
	name := "KV_" + bucket
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading stream %s: %w", name, notYet(err))
	}
	if sc := s.CachedInfo().Config; sc.AllowDirect {
		sc.AllowDirect = false
		if _, err := js.UpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("turning off direct gets on %s: %w", name, err)
		}
	}
	// Bind again even when this process did not change the stream: a
	// handle bound while another process was turning direct gets off would
	// still send direct gets, which nothing answers any more.
	if kv, err = js.KeyValue(ctx, bucket); err != nil {
		return nil, fmt.Errorf("binding KV bucket %s: %w", bucket, notYet(err))
	}
	return kv, nil
}
