package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Releasing a KV entry removes the messages of its key from the bucket's
// stream, up to the entry's revision, with a purge filtered by the key's
// subject. A KV Delete or Purge would write a marker in their place, and a
// marker keeps its subject in the server's per-subject index (about 300 B
// of server heap each) for as long as the bucket lives: a key per sample
// would make the server grow with every sample ever handled. (A stream
// message delete would do too, but KV streams deny it, and that cannot be
// undone on an existing bucket.)

// Entry names stored messages: a stream, a subject (or a filter), and the
// last sequence to remove, 0 for all (for a KV entry, the bucket's stream
// KV_<bucket>, $KV.<bucket>.<key> and the entry's revision).
type Entry struct {
	Stream  string
	Subject string
	Seq     uint64
}

// KVEntry names the entry of bucket's key at revision rev.
func KVEntry(bucket, key string, rev uint64) Entry {
	return Entry{Stream: "KV_" + bucket, Subject: "$KV." + bucket + "." + key, Seq: rev}
}

// KVGroup names every entry of bucket whose key starts with prefix and a
// dot, whatever their revisions: keys kept together for one thing (the
// join of a sample) are released in one purge.
func KVGroup(bucket, prefix string) Entry {
	return Entry{Stream: "KV_" + bucket, Subject: "$KV." + bucket + "." + prefix + ".>"}
}

type releaseKey struct{}

// releaseSet is what one handler asked to release once its message is
// acked.
type releaseSet struct {
	mu   sync.Mutex
	held []held
}

// held is an entry to release once the ack floor passes after (and the
// handler's own message).
type held struct {
	e     Entry
	after uint64
}

func withReleases(ctx context.Context) (context.Context, *releaseSet) {
	set := &releaseSet{}
	return context.WithValue(ctx, releaseKey{}, set), set
}

func (s *releaseSet) take() []held {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// ReleaseOnAck asks that e be removed once the message handled under ctx
// is acked for good: the consumer's ack floor has passed it, and
// [releaseGrace] has since its ack, so it will not be delivered again and
// e can no longer spare a second payment. An entry not released (its
// consumer stopped first, its purge failed) stays until its bucket's TTL.
// It
// reports whether ctx is the context of a handler that releases
// ([ConsumeOptions].Release); elsewhere it does nothing.
func ReleaseOnAck(ctx context.Context, e Entry) bool { return ReleaseAfterAck(ctx, e, 0) }

// ReleaseAfterAck is [ReleaseOnAck] that also waits for the consumer's
// message at stream sequence after to be acked: an entry two messages
// meet through (a pair's claim) is released once neither can come back.
func ReleaseAfterAck(ctx context.Context, e Entry, after uint64) bool {
	set, _ := ctx.Value(releaseKey{}).(*releaseSet)
	if set == nil {
		return false
	}
	set.mu.Lock()
	set.held = append(set.held, held{e: e, after: after})
	set.mu.Unlock()
	return true
}

// ReleaseObserver is told how many entries were released and how many
// could not be (those stay until their bucket's TTL: 7 days for the LLM
// cache and assay_pairs), and how many more (or fewer) entries wait for
// their messages to be acked for good.
type ReleaseObserver interface {
	Released(deleted, failed int)
	Held(delta int)
}

// ReleaseMetrics counts releases in assay_<stage>_released_total, by
// outcome (deleted, failed), and the entries waiting in
// assay_<stage>_release_held.
type ReleaseMetrics struct {
	c    *prometheus.CounterVec
	held prometheus.Gauge
}

// NewReleaseMetrics registers stage's release metrics in reg.
func NewReleaseMetrics(reg prometheus.Registerer, stage string) *ReleaseMetrics {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "assay_" + stage + "_released_total",
		Help: "Settled KV entries the " + stage + " stage deleted, by outcome (deleted; failed: left to the bucket's TTL).",
	}, []string{"outcome"})
	held := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "assay_" + stage + "_release_held",
		Help: "KV entries the " + stage + " stage holds until their messages are acked for good and the release grace has passed.",
	})
	reg.MustRegister(c, held)
	return &ReleaseMetrics{c: c, held: held}
}

// Released counts a batch of releases.
func (m *ReleaseMetrics) Released(deleted, failed int) {
	m.c.WithLabelValues("deleted").Add(float64(deleted))
	m.c.WithLabelValues("failed").Add(float64(failed))
}

// Held moves the count of entries waiting.
func (m *ReleaseMetrics) Held(delta int) { m.held.Add(float64(delta)) }

// releaseInFlight bounds the deletes sent at once; they are pipelined on
// the connection, one round trip for the lot.
const releaseInFlight = 64

// Release removes entries now, pipelined, and returns how many could not
// be removed. An entry already gone counts as removed.
func (b *Bus) Release(ctx context.Context, entries []Entry) (failed int) {
	return len(b.release(ctx, entries))
}

// release is [Bus.Release] returning the indexes of the entries that
// could not be removed, in no order.
func (b *Bus) release(ctx context.Context, entries []Entry) (failed []int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, releaseInFlight)
	for i, e := range entries {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := b.purgeUpTo(ctx, e); err != nil {
				mu.Lock()
				failed = append(failed, i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// purgeUpTo removes the messages of e's subject up to and including
// e.Seq (all of them when e.Seq is 0). A later message of the subject (the
// key written again since) stays; a message already gone is no failure.
func (b *Bus) purgeUpTo(ctx context.Context, e Entry) error {
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	req, _ := json.Marshal(struct {
		Filter string `json:"filter"`
		Seq    uint64 `json:"seq,omitempty"`
	}{e.Subject, e.Seq + 1})
	if e.Seq == 0 {
		req, _ = json.Marshal(struct {
			Filter string `json:"filter"`
		}{e.Subject})
	}
	msg, err := b.NC.RequestWithContext(ctx, jsAPI+"STREAM.PURGE."+e.Stream, req)
	if err != nil {
		return err
	}
	var resp struct {
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return err
	}
	if resp.Error != nil {
		return resp.Error
	}
	return nil
}

// releaseEvery is how often a consumer's releaser looks at its ack floor
// while it holds entries: deletes go out in batches, not one per message.
const releaseEvery = 200 * time.Millisecond

// releaseGrace is how long an entry waits after its message was acked,
// besides the ack floor passing it. A replicated consumer's leader moves
// its ack floor before its followers have committed the ack, and a server
// killed with SIGKILL may lose the acks it had not yet written: either
// way a message the floor had passed is delivered again, and it must
// still find its entries (its answer in the cache), or its endpoint call
// is paid twice. Committing an ack takes milliseconds and a server writes
// consumer state within seconds; 10 s covers both with room. The cost is
// memory: the releasers hold rate × grace entries, about 230 B each
// (BenchmarkReleaserHeld; at 5,000 samples/s, 50,000 entries: 12 MB).
const releaseGrace = 10 * time.Second

// releaseTries is how many times an entry's purge is tried before it is
// left to its bucket's TTL (and counted failed); the tries are
// releaseRetry, then twice and four times that apart.
const (
	releaseTries = 4
	releaseRetry = time.Second
)

// releaser deletes the entries handlers of one consumer asked to release
// ([ReleaseOnAck]) once the consumer's ack floor shows their messages
// acked and [releaseGrace] has passed: an ack that was lost (a leader
// failing over) redelivers its message, which must still find its
// entries. What it holds when its consumer stops is left to the buckets'
// TTLs (and counted failed): the messages it waited for are delivered
// again and ask again, or were acked and their entries expire.
type releaser struct {
	b        *Bus
	observer ReleaseObserver
	logger   *slog.Logger
	// floor reads the consumer's ack floor; gone reports that the
	// consumer was deleted (every message of it acked for good).
	floor func(ctx context.Context) (seq uint64, gone bool, err error)
	now   func() time.Time

	mu     sync.Mutex
	acked  []ackedMsg
	counts int // len(acked) as last told to the observer
	wake   chan struct{}
}

// ackedMsg is an entry to release once the ack floor reaches seq and the
// grace has passed since at; a purge that failed is tried again from
// next.
type ackedMsg struct {
	seq   uint64
	at    time.Time
	e     Entry
	tries int
	next  time.Time
}

func newReleaser(b *Bus, c jetstream.Consumer, o ConsumeOptions) *releaser {
	r := &releaser{b: b, observer: o.ReleaseObserver, logger: o.Logger, now: time.Now, wake: make(chan struct{}, 1)}
	r.floor = func(ctx context.Context) (uint64, bool, error) {
		info, err := c.Info(ctx)
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
			return 0, true, nil
		}
		if err != nil {
			return 0, false, err
		}
		return info.AckFloor.Stream, false, nil
	}
	return r
}

// add queues the entries a handler held, whose message at stream
// sequence seq was just acked.
func (r *releaser) add(seq uint64, hs []held) {
	if len(hs) == 0 {
		return
	}
	now := r.now()
	r.mu.Lock()
	for _, h := range hs {
		r.acked = append(r.acked, ackedMsg{seq: max(seq, h.after), at: now, e: h.e})
	}
	r.tell(0, 0)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// tell gives the observer what was released, and how the count of
// entries held moved; r.mu is held.
func (r *releaser) tell(deleted, failed int) {
	if r.observer == nil {
		return
	}
	if deleted+failed > 0 {
		r.observer.Released(deleted, failed)
	}
	if d := len(r.acked) - r.counts; d != 0 {
		r.observer.Held(d)
		r.counts = len(r.acked)
	}
}

// run releases until ctx ends, then once more for what was acked before.
func (r *releaser) run(ctx context.Context) {
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*cacheTimeout)
		defer cancel()
		r.flush(fctx, true)
	}()
	t := time.NewTimer(releaseEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		t.Reset(releaseEvery)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.flush(ctx, false)
		r.mu.Lock()
		more := len(r.acked) > 0
		r.mu.Unlock()
		if more {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	}
}

// flush removes the entries the ack floor has passed whose grace is over.
// A purge that fails is tried again at a later flush, up to releaseTries
// times. The last flush (its consumer stopping) tries what is due once
// more and leaves the rest to the buckets' TTLs.
func (r *releaser) flush(ctx context.Context, last bool) {
	// The ack floor is read only when an entry's grace is over: a
	// consumer that handles little costs the server no request per flush.
	now := r.now()
	r.mu.Lock()
	ripe := last && len(r.acked) > 0
	for _, m := range r.acked {
		if ripe {
			break
		}
		ripe = now.Sub(m.at) >= releaseGrace && !now.Before(m.next)
	}
	r.mu.Unlock()
	if !ripe {
		return
	}
	floor, gone, err := r.floor(ctx)
	if err != nil && !last {
		return // tried again at the next flush
	}
	r.mu.Lock()
	var due []ackedMsg
	kept := r.acked[:0]
	for _, m := range r.acked {
		settled := err == nil && (gone || m.seq <= floor && now.Sub(m.at) >= releaseGrace)
		if settled && (last || !now.Before(m.next)) {
			due = append(due, m)
		} else {
			kept = append(kept, m)
		}
	}
	clear(r.acked[len(kept):])
	r.acked = kept
	r.mu.Unlock()
	entries := make([]Entry, len(due))
	for i, m := range due {
		entries[i] = m.e
	}
	var retry []ackedMsg
	gaveUp := 0
	for _, i := range r.b.release(ctx, entries) {
		m := due[i]
		if m.tries++; m.tries >= releaseTries || last {
			gaveUp++
			continue
		}
		m.next = now.Add(releaseRetry << (m.tries - 1))
		retry = append(retry, m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked = append(r.acked, retry...)
	left := 0
	if last {
		left = len(r.acked)
		r.acked = nil
	}
	if gaveUp > 0 {
		r.logger.Warn("releasing settled entries failed; they stay until their bucket's TTL", "failed", gaveUp, "tries", releaseTries)
	}
	if left > 0 {
		r.logger.Info("consumer stopped with entries to release; they stay until their bucket's TTL", "entries", left)
	}
	r.tell(len(due)-gaveUp-len(retry), gaveUp+left)
}

// KVHolds reports whether bucket holds a key matching filter (wildcards
// allowed): a stage finds whether keys of an older layout are still
// there.
func (b *Bus) KVHolds(ctx context.Context, bucket, filter string) (bool, error) {
	s, err := b.JS.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return false, fmt.Errorf("opening bucket %s: %w", bucket, err)
	}
	_, err = s.GetLastMsgForSubject(ctx, "$KV."+bucket+"."+filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for %s in %s: %w", filter, bucket, err)
	}
	return true, nil
}
