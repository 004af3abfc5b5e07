package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is a delivered message with its payload resolved.
type Msg struct {
	jetstream.Msg
	// Payload is the message data, fetched from the object store when it
	// travelled by reference.
	Payload []byte
	Meta    *jetstream.MsgMetadata
	// MaxDeliver is how many deliveries the stage allows the message, so a
	// handler can tell its last chance.
	MaxDeliver int
}

// Seq is the message's stream sequence.
func (m *Msg) Seq() uint64 { return m.Meta.Sequence.Stream }

// LastDelivery reports whether a failure now would exhaust MaxDeliver.
func (m *Msg) LastDelivery() bool {
	return m.MaxDeliver > 0 && m.Meta.NumDelivered >= uint64(m.MaxDeliver)
}

// Handler handles one message. Returning nil acks it; a [TransientError] (or
// any other error) naks it with a delay; a [PoisonError] terminates it and
// records it in the dead-letter stream.
type Handler func(ctx context.Context, m *Msg) error

// Observer is told about every message a consumer handles (Prometheus
// metrics implement it).
type Observer interface {
	Begin()
	End(d time.Duration, outcome string)
}

// Outcomes passed to [Observer.End].
const (
	OutcomeAcked   = "acked"
	OutcomeRetry   = "retry"
	OutcomeDead    = "dead"
	OutcomeAborted = "aborted"
)

// ConsumerDefaults are used where a ConsumerConfig leaves a field zero.
// The ack wait is short because a handler that is alive says so every third
// of it (InProgress), however long its LLM call takes: what the wait bounds
// is how long the messages of a killed process stay with it, so each crash
// costs about this much idle time (10 s was measured to cost 10 s a kill).
// [Bus.EnsureConsumer] applies it to consumers created with an older value.
const (
	DefaultAckWait    = 3 * time.Second
	DefaultMaxDeliver = 10
)

// maxDeliverKey is the consumer metadata key holding the stage's delivery
// limit. The server's own MaxDeliver is unlimited: a server that reaches its
// limit drops the message, and a message whose dead-letter entry could not
// be written must come back rather than vanish.
const maxDeliverKey = "assay-max-deliver"

// EnsureConsumer creates or updates a durable pull consumer on stream with
// explicit acks. cfg.MaxDeliver (default 10) becomes the stage's limit,
// after which a message is dead-lettered. An existing consumer takes cfg's
// settings, the ack wait included, so a data directory from an older
// version gets the current defaults.
func (b *Bus) EnsureConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	s := b.streams[stream]
	if s == nil {
		return nil, fmt.Errorf("stream %s is not part of the topology", stream)
	}
	cfg.AckPolicy = jetstream.AckExplicitPolicy
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	limit := cfg.MaxDeliver
	if limit <= 0 {
		limit = DefaultMaxDeliver
	}
	cfg.MaxDeliver = -1
	cfg.Metadata = maps.Clone(cfg.Metadata)
	if cfg.Metadata == nil {
		cfg.Metadata = map[string]string{}
	}
	cfg.Metadata[maxDeliverKey] = strconv.Itoa(limit)
	c, err := s.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}

// ConsumeOptions tune [Bus.Consume].
type ConsumeOptions struct {
	// Stage names the consuming stage in dead-letter entries.
	Stage string
	// Workers is how many messages are handled at once (default 1).
	Workers int
	// Logger receives the consumer's warnings; give it the stage's
	// attributes (a logger With("stage", …)).
	Logger *slog.Logger
	// Observer, when set, sees every message.
	Observer Observer
	// Keys names what a message is about, for its dead-letter entry when a
	// handler's error does not say (a PoisonError's keys win).
	Keys func(m *Msg) Keys
	// Release has the entries a handler names with [ReleaseOnAck]
	// deleted once its message is acked for good, in batches and off the
	// handler's path.
	Release bool
	// ReleaseObserver, when set, counts what was released.
	ReleaseObserver ReleaseObserver
}

// pollWait bounds how long one pull waits for messages; it is also how
// quickly a consumer notices it should stop.
const pollWait = time.Second

// maxPullPause bounds the pause between failed pulls. A node failing over
// fails pulls for a few seconds; a longer pause would be idle time after
// it has recovered, which a crash should not cost.
const maxPullPause = 5 * time.Second

// Consume pulls from c and runs h on up to Workers messages at once until
// ctx is done, keeping the ack discipline: Ack after success, InProgress
// while a slow handler runs, NakWithDelay on a transient failure, Term and a
// dead-letter entry for poison input or when the delivery limit is reached.
// When ctx ends no message is pulled any more; handlers still running have
// the bus's shutdown grace ([Options.ShutdownGrace]) to finish, and those
// that do are acked as usual; then the rest are cancelled and their
// messages handed back at once (a nak), for another replica or the next
// start, rather than after their ack wait.
//
// Messages are pulled only for idle workers, never ahead: a prefetched
// message waiting for a busy worker has no heartbeat, would pass its ack
// wait and be handled a second time elsewhere — and its LLM call paid twice.
func (b *Bus) Consume(ctx context.Context, c jetstream.Consumer, h Handler, o ConsumeOptions) error {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// Handlers run under hctx, which outlives ctx by the shutdown grace:
	// it is cancelled once the grace has passed after ctx ended, or when
	// Consume returns.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	stopGrace := context.AfterFunc(ctx, func() {
		if b.shutdownGrace <= 0 {
			hcancel()
			return
		}
		t := time.AfterFunc(b.shutdownGrace, hcancel)
		context.AfterFunc(hctx, func() { t.Stop() })
	})
	defer stopGrace()
	info := c.CachedInfo()
	if o.Stage != "" {
		defer b.TrackLag(o.Stage, info.Stream, info.Name, c)()
	}
	ackWait := info.Config.AckWait
	limit, _ := strconv.Atoi(info.Config.Metadata[maxDeliverKey])
	sem := make(chan struct{}, o.Workers)
	var rel *releaser
	if o.Release {
		rel = newReleaser(b, c, o)
		// Not ctx's: handlers finishing in the shutdown grace ack and
		// release after ctx has ended.
		rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); rel.run(rctx) }()
		// After the handlers: what they acked last is released too.
		defer func() { stop(); <-done }()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	pause := time.Second
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		idle := 1
	fill:
		for idle < o.Workers {
			select {
			case sem <- struct{}{}:
				idle++
			default:
				break fill
			}
		}
		fctx, cancel := context.WithTimeout(ctx, pollWait)
		batch, err := c.Fetch(idle, jetstream.FetchContext(fctx))
		if err == nil {
			for jm := range batch.Messages() {
				idle--
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					b.handle(hctx, jm, h, o, ackWait, limit, rel)
				}()
			}
			err = batch.Error()
		}
		cancel()
		for range idle {
			<-sem
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
			pause = time.Second
		case errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound):
			// Deleted under us (its run completed and another replica
			// cleaned up): a normal end.
			return nil
		default:
			// A lost connection, a leader election: a stage must outlive
			// them.
			o.Logger.Warn("pulling failed; resuming", "consumer", info.Name, "pause", pause, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(pause):
			}
			pause = min(2*pause, maxPullPause)
		}
	}
}

func (b *Bus) handle(ctx context.Context, jm jetstream.Msg, h Handler, o ConsumeOptions, ackWait time.Duration, maxDeliver int, rel *releaser) {
	start := time.Now()
	if o.Observer != nil {
		o.Observer.Begin()
	}
	outcome := OutcomeAborted
	defer func() {
		if o.Observer != nil {
			o.Observer.End(time.Since(start), outcome)
		}
	}()
	meta, err := jm.Metadata()
	if err != nil {
		// Not a JetStream message: nothing to ack.
		o.Logger.Error("message without JetStream metadata", "subject", jm.Subject(), "err", err)
		return
	}
	m := &Msg{Msg: jm, Meta: meta, MaxDeliver: maxDeliver}
	stop := heartbeat(jm, ackWait)
	m.Payload, err = b.Payload(ctx, jm.Data(), jm.Headers())
	hctx, releases := ctx, (*releaseSet)(nil)
	if rel != nil {
		hctx, releases = withReleases(ctx)
	}
	switch {
	case err == nil:
		err = h(hctx, m)
	case PayloadLost(err):
		// Redelivering cannot bring it back; its id still names the
		// sample, so the result counts as an error at once.
		err = Poison(err, MsgIDKeys(jm.Headers().Get(jetstream.MsgIDHeader)))
	}
	stop()
	if err != nil && ctx.Err() != nil {
		// Shutting down, the handler cut short (aborted): handed back
		// now, not after its ack wait. One that finished is acked below,
		// however late.
		_ = jm.Nak()
		return
	}
	switch {
	case err == nil:
		// A plain ack, not a double one: a lost ack only redelivers a
		// message whose effect is idempotent, and waiting for the server's
		// confirmation would cost a round trip per message.
		if err := jm.Ack(); err != nil {
			o.Logger.Warn("ack failed; the message will be redelivered", "subject", jm.Subject(), "err", err)
			outcome = OutcomeRetry
			return
		}
		outcome = OutcomeAcked
		if rel != nil {
			rel.add(meta.Sequence.Stream, releases.take())
		}
	case IsPoison(err) || m.LastDelivery():
		var keys Keys
		var p *PoisonError
		if errors.As(err, &p) {
			keys = p.Keys
		} else if o.Keys != nil && m.Payload != nil {
			keys = o.Keys(m)
		}
		reason := err.Error()
		if !IsPoison(err) {
			reason = fmt.Sprintf("gave up after %d deliveries: %v", meta.NumDelivered, err)
		}
		b.deadLetter(ctx, o, m, keys, reason)
		outcome = OutcomeDead
	default:
		delay := backoff(meta.NumDelivered)
		var t *TransientError
		if errors.As(err, &t) && t.Delay > 0 {
			delay = t.Delay
		}
		o.Logger.Warn("handling failed; retrying", "subject", jm.Subject(),
			"delivery", meta.NumDelivered, "delay", delay, "err", err)
		_ = jm.NakWithDelay(delay)
		outcome = OutcomeRetry
	}
}

// heartbeat tells the server the message is still being worked on, so that a
// slow LLM call does not get it redelivered to another replica. It returns
// the function that stops it; no beat is sent once that has returned.
func heartbeat(m jetstream.Msg, ackWait time.Duration) (stop func()) {
	every := ackWait / 3
	if every <= 0 {
		every = DefaultAckWait / 3
	}
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	var beat func()
	beat = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		_ = m.InProgress()
		t.Reset(every)
	}
	mu.Lock()
	t = time.AfterFunc(every, beat)
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

func backoff(delivered uint64) time.Duration {
	d := 500 * time.Millisecond
	for i := uint64(1); i < delivered && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// deadLetter records m in the dead-letter stream and terminates it. The entry
// is written even while the stage shuts down; if it cannot be written, the
// message is nak'ed, and since the server's delivery count is unlimited it
// comes back to be dead-lettered again rather than vanish.
func (b *Bus) deadLetter(ctx context.Context, o ConsumeOptions, m *Msg, keys Keys, reason string) {
	data := string(m.Payload)
	if len(data) > 4096 {
		data = data[:4096]
	}
	dl := eval.DeadLetter{
		V: eval.Version, Stage: o.Stage, Run: keys.Run, Suite: keys.Suite, Sample: keys.Sample, Variant: keys.Variant, Judge: keys.Judge,
		Subject: m.Subject(), Seq: m.Seq(), Reason: reason, Data: data, At: time.Now().UTC(),
	}
	id := MsgID("dlq", o.Stage, m.Subject(), fmt.Sprint(m.Seq()))
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := b.Publish(pctx, DLQSubject(o.Stage, keys.Run), id, dl); err != nil {
		o.Logger.Error("recording dead letter failed; the message will come back", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	o.Logger.Error("message dead-lettered", "subject", m.Subject(), "run", keys.Run,
		"sample", keys.Sample, "variant", keys.Variant, "judge", keys.Judge, "reason", reason)
	_ = m.Term()
}

// MsgIDKeys names what a message was about from its Nats-Msg-Id (see
// [MsgID] and [RetryMsgID]), for a message whose payload is lost: the run
// is the id's second field and the suite and sample its last two. The
// variant is the field before the suite for a generation
// (infer|run|variant|suite|sample) and a score
// (score|run|scoring|variant|suite|sample), and the candidate for a
// judgment (judge|run|judge-id|candidate|suite|sample); its judge stays
// unnamed, since the id holds the judge's id rather than its name. An id
// of another form names the run at most.
func MsgIDKeys(id string) Keys {
	base, _ := ParseRetryMsgID(id)
	f := strings.Split(base, "|")
	var k Keys
	if len(f) >= 2 {
		k.Run = f[1]
	}
	switch {
	case f[0] == StageInfer && len(f) == 5,
		(f[0] == StageScore || f[0] == StageJudge) && len(f) == 6:
		k.Variant, k.Suite, k.Sample = f[len(f)-3], f[len(f)-2], f[len(f)-1]
	case f[0] == StageIngest && len(f) == 4:
		k.Suite, k.Sample = f[2], f[3]
	}
	return k
}
