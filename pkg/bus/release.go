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
// is acked for good: the consumer's ack floor has passed it, so it will
// not be delivered again and e can no longer spare a second payment. It
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
// could not be (those stay until their bucket's TTL, or for good in a
// bucket without one).
type ReleaseObserver interface {
	Released(deleted, failed int)
}

// ReleaseMetrics counts releases in assay_<stage>_released_total, by
// outcome (deleted, failed).
type ReleaseMetrics struct{ c *prometheus.CounterVec }

// NewReleaseMetrics registers stage's release counter in reg.
func NewReleaseMetrics(reg prometheus.Registerer, stage string) *ReleaseMetrics {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "assay_" + stage + "_released_total",
		Help: "Settled KV entries the " + stage + " stage deleted, by outcome (deleted; failed: left to the bucket's TTL).",
	}, []string{"outcome"})
	reg.MustRegister(c)
	return &ReleaseMetrics{c: c}
}

// Released counts a batch of releases.
func (m *ReleaseMetrics) Released(deleted, failed int) {
	m.c.WithLabelValues("deleted").Add(float64(deleted))
	m.c.WithLabelValues("failed").Add(float64(failed))
}

// releaseInFlight bounds the deletes sent at once; they are pipelined on
// the connection, one round trip for the lot.
const releaseInFlight = 64

// Release removes entries now, pipelined, and returns how many could not
// be removed. An entry already gone counts as removed.
func (b *Bus) Release(ctx context.Context, entries []Entry) (failed int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, releaseInFlight)
	for _, e := range entries {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := b.purgeUpTo(ctx, e); err != nil {
				mu.Lock()
				failed++
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

// releaser deletes the entries handlers of one consumer asked to release
// ([ReleaseOnAck]) once the consumer's ack floor shows their messages
// acked: an ack that was lost (a leader failing over) redelivers its
// message, which must still find its entries.
type releaser struct {
	b        *Bus
	c        jetstream.Consumer
	observer ReleaseObserver
	logger   *slog.Logger

	mu    sync.Mutex
	acked []ackedMsg
	wake  chan struct{}
}

// ackedMsg is entries to release once the ack floor reaches seq.
type ackedMsg struct {
	seq     uint64
	entries []Entry
}

func newReleaser(b *Bus, c jetstream.Consumer, o ConsumeOptions) *releaser {
	return &releaser{b: b, c: c, observer: o.ReleaseObserver, logger: o.Logger, wake: make(chan struct{}, 1)}
}

// add queues the entries a handler held, whose message at stream
// sequence seq was just acked.
func (r *releaser) add(seq uint64, hs []held) {
	if len(hs) == 0 {
		return
	}
	r.mu.Lock()
	for _, h := range hs {
		r.acked = append(r.acked, ackedMsg{seq: max(seq, h.after), entries: []Entry{h.e}})
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run releases until ctx ends, then once more for what was acked before.
func (r *releaser) run(ctx context.Context) {
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*cacheTimeout)
		defer cancel()
		r.flush(fctx)
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
		r.flush(ctx)
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

// flush removes the entries the ack floor has passed. Every message is
// acked for good when the consumer is gone (deleted once its run
// completed).
func (r *releaser) flush(ctx context.Context) {
	r.mu.Lock()
	if len(r.acked) == 0 {
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	info, err := r.c.Info(ctx)
	all := errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted)
	if err != nil && !all {
		return // tried again at the next flush
	}
	var floor uint64
	if info != nil {
		floor = info.AckFloor.Stream
	}
	r.mu.Lock()
	var settled []Entry
	kept := r.acked[:0]
	for _, m := range r.acked {
		if all || m.seq <= floor {
			settled = append(settled, m.entries...)
		} else {
			kept = append(kept, m)
		}
	}
	clear(r.acked[len(kept):])
	r.acked = kept
	r.mu.Unlock()
	if len(settled) == 0 {
		return
	}
	failed := r.b.Release(ctx, settled)
	if failed > 0 {
		r.logger.Debug("releasing settled entries failed; they stay until their TTL", "failed", failed, "of", len(settled))
	}
	if r.observer != nil {
		r.observer.Released(len(settled)-failed, failed)
	}
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
