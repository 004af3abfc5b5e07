package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is a delivered message with its payload resolved.
type Msg struct {
	jetstream.Msg
	// Payload is the message data, fetched from the object store when it
	// travelled by reference.
	Payload []byte
	Meta    *jetstream.MsgMetadata
	// MaxDeliver of the consumer, so a handler can tell its last chance.
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
// is how long the messages of a killed process stay with it.
const (
	DefaultAckWait    = 10 * time.Second
	DefaultMaxDeliver = 10
)

// EnsureConsumer creates or updates a durable pull consumer on stream with
// explicit acks and bounded redelivery.
func (b *Bus) EnsureConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	s := b.streams[stream]
	if s == nil {
		return nil, fmt.Errorf("stream %s is not part of the topology", stream)
	}
	cfg.AckPolicy = jetstream.AckExplicitPolicy
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = DefaultMaxDeliver
	}
	c, err := s.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}

// ConsumeOptions tune [Bus.Consume].
type ConsumeOptions struct {
	// Stage names the consuming stage in dead-letter entries and logs.
	Stage string
	// Workers is how many messages are handled at once (default 1).
	Workers int
	Logger  *slog.Logger
	// Observer, when set, sees every message.
	Observer Observer
}

// Consume pulls from c and runs h on up to Workers messages at once until
// ctx is done, keeping the ack discipline: Ack after success, InProgress
// while a slow handler runs, NakWithDelay on a transient failure, Term and a
// dead-letter entry for poison input or when MaxDeliver is exhausted.
// Handlers still running when ctx ends are left unacked and redelivered.
func (b *Bus) Consume(ctx context.Context, c jetstream.Consumer, h Handler, o ConsumeOptions) error {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	info := c.CachedInfo()
	ackWait, maxDeliver := info.Config.AckWait, info.Config.MaxDeliver
	sem := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	// A broken iterator (a lost connection, missed heartbeats) is replaced
	// after a pause: a stage must outlive a NATS restart.
	for pause := time.Second; ; pause = min(2*pause, 30*time.Second) {
		err := b.pull(ctx, c, h, o, sem, &wg, ackWait, maxDeliver)
		// A consumer deleted under us (its run completed, and another
		// replica cleaned up) is a normal end.
		if err == nil || errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) || ctx.Err() != nil {
			return nil
		}
		o.Logger.Warn("consuming failed; resuming", "stage", o.Stage, "consumer", info.Name, "pause", pause, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
	}
}

// pull runs one message iterator until ctx ends (nil) or it fails.
func (b *Bus) pull(ctx context.Context, c jetstream.Consumer, h Handler, o ConsumeOptions, sem chan struct{}, wg *sync.WaitGroup, ackWait time.Duration, maxDeliver int) error {
	it, err := c.Messages(jetstream.PullMaxMessages(o.Workers))
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		jm, err := it.Next()
		if err != nil {
			<-sem
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			b.handle(ctx, jm, h, o, ackWait, maxDeliver)
		}()
	}
}

func (b *Bus) handle(ctx context.Context, jm jetstream.Msg, h Handler, o ConsumeOptions, ackWait time.Duration, maxDeliver int) {
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
		o.Logger.Error("message without JetStream metadata", "stage", o.Stage, "subject", jm.Subject(), "err", err)
		return
	}
	m := &Msg{Msg: jm, Meta: meta, MaxDeliver: maxDeliver}
	m.Payload, err = b.Payload(ctx, jm.Data(), jm.Headers())
	if err == nil {
		hb := b.heartbeat(jm, ackWait)
		err = h(ctx, m)
		hb.Stop()
	}
	if ctx.Err() != nil {
		return // shutting down: leave it for redelivery
	}
	switch {
	case err == nil:
		// A plain ack, not a double one: a lost ack only redelivers a
		// message whose effect is idempotent, and waiting for the server's
		// confirmation would cost a round trip per message.
		if err := jm.Ack(); err != nil {
			o.Logger.Warn("ack failed; the message will be redelivered", "stage", o.Stage, "subject", jm.Subject(), "err", err)
			outcome = OutcomeRetry
			return
		}
		outcome = OutcomeAcked
	case IsPoison(err) || m.LastDelivery():
		var keys Keys
		var p *PoisonError
		if errors.As(err, &p) {
			keys = p.Keys
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
		o.Logger.Warn("handling failed; retrying", "stage", o.Stage, "subject", jm.Subject(),
			"delivery", meta.NumDelivered, "delay", delay, "err", err)
		_ = jm.NakWithDelay(delay)
		outcome = OutcomeRetry
	}
}

// heartbeat tells the server the message is still being worked on, so that a
// slow LLM call does not get it redelivered to another replica.
func (b *Bus) heartbeat(m jetstream.Msg, ackWait time.Duration) *time.Timer {
	every := ackWait / 3
	if every <= 0 {
		every = 10 * time.Second
	}
	var t *time.Timer
	var mu sync.Mutex
	stopped := false
	var beat func()
	beat = func() {
		_ = m.InProgress()
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			t.Reset(every)
		}
	}
	mu.Lock()
	t = time.AfterFunc(every, beat)
	mu.Unlock()
	return t
}

func backoff(delivered uint64) time.Duration {
	d := 500 * time.Millisecond
	for i := uint64(1); i < delivered && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

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
	if _, err := b.Publish(ctx, DLQSubject(o.Stage), id, dl); err != nil {
		// Without the dead-letter entry the message must not disappear.
		o.Logger.Error("recording dead letter failed; will retry", "stage", o.Stage, "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	o.Logger.Error("message dead-lettered", "stage", o.Stage, "subject", m.Subject(), "run", keys.Run,
		"sample", keys.Sample, "variant", keys.Variant, "judge", keys.Judge, "reason", reason)
	_ = m.Term()
}
