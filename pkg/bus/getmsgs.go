package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// getBatch bounds the messages one batched direct get asks for, and
// getBatchBytes the bytes the server sends for it before it stops early.
const (
	getBatch      = 1024
	getBatchBytes = 8 << 20
)

// getGap is the largest distance between two wanted sequences that one
// batched get spans: the messages between them are read and dropped.
const getGap = 64

// getReplyWait bounds the wait for each reply of a batched get.
const getReplyWait = 30 * time.Second

// The status headers of a direct get's replies (nats.go parses a reply's
// status line into them, but does not export their names).
const (
	statusHeader      = "Status"
	descriptionHeader = "Description"
	// numPendingHeader is on every message of a batch's answer.
	numPendingHeader = "Nats-Num-Pending"
)

// directGetRequest is a batched direct get: the next batch messages of a
// stream from seq on (nats-server 2.11 and later).
type directGetRequest struct {
	Seq      uint64 `json:"seq"`
	Batch    int    `json:"batch"`
	MaxBytes int    `json:"max_bytes,omitempty"`
}

// GetMsgs reads the messages of stream at seqs (ascending, without
// repeats) with their payloads resolved, and calls fn once for each
// sequence, in order: with its data, or with an error wrapping
// [ErrNotFound] when the message is gone, or another error for one whose
// payload could not be fetched. Nearby sequences are read with one
// batched direct get each (one round trip for up to [getBatch] messages)
// rather than a round trip each: what the report's exports read, every
// text of a run, takes seconds one by one. A stream that does not allow
// direct gets is read one message at a time. The error returned is one
// that stopped the reading (the context, NATS); fn has then not been
// called for the sequences left.
func (b *Bus) GetMsgs(ctx context.Context, stream string, seqs []uint64, fn func(seq uint64, data []byte, err error)) error {
	s := b.streams[stream]
	if s == nil {
		return fmt.Errorf("stream %s is not part of the topology", stream)
	}
	single := func(seqs []uint64) error {
		for _, seq := range seqs {
			data, err := b.GetMsg(ctx, stream, seq)
			if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, jetstream.ErrObjectNotFound) {
				return err
			}
			fn(seq, data, err)
		}
		return nil
	}
	if !s.CachedInfo().Config.AllowDirect || !batchGets(b.NC.ConnectedServerVersion()) {
		return single(seqs)
	}
	for len(seqs) > 0 {
		// A span: wanted sequences each within getGap of the one before.
		n := 1
		for n < len(seqs) && n < getBatch && seqs[n]-seqs[n-1] <= getGap {
			n++
		}
		rest, err := b.getSpan(ctx, stream, seqs[:n], fn)
		if errors.Is(err, errNoBatch) {
			// A server that answers a batch with one message (older than
			// 2.11, behind a newer one): the rest one at a time.
			return single(append(rest, seqs[n:]...))
		}
		if err != nil {
			return err
		}
		seqs = seqs[n:]
	}
	return nil
}

// errNoBatch is a direct get answered without a batch's headers.
var errNoBatch = errors.New("the server does not answer batched direct gets")

// batchGets reports whether a server of version v answers batched direct
// gets (nats-server 2.11 and later).
func batchGets(v string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 2 || major == 2 && minor >= 11
}

// getSpan reads want, sequences close together, with as few batched gets
// as it takes: each asks for as many messages as are still wanted from
// the first of them on, and messages between the wanted ones (another
// run's, say) are dropped.
func (b *Bus) getSpan(ctx context.Context, stream string, want []uint64, fn func(seq uint64, data []byte, err error)) (rest []uint64, err error) {
	sub, err := b.NC.SubscribeSync(b.NC.NewInbox())
	if err != nil {
		return want, fmt.Errorf("reading %s: %w", stream, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	subject := jsAPI + "DIRECT.GET." + stream
	gone := func(seq uint64) {
		fn(seq, nil, fmt.Errorf("reading %s message %d: %w", stream, seq, ErrNotFound))
	}
	for len(want) > 0 {
		from := want[0]
		req, _ := json.Marshal(directGetRequest{Seq: from, Batch: min(len(want), getBatch), MaxBytes: getBatchBytes})
		if err := b.NC.PublishRequest(subject, sub.Subject, req); err != nil {
			return want, fmt.Errorf("reading %s from %d: %w", stream, from, err)
		}
		// The replies run to the end of the batch (a status 204) even
		// once every wanted message has come: a deleted one is made up
		// for by one after the span.
		var last uint64
		for {
			rctx, cancel := context.WithTimeout(ctx, getReplyWait)
			m, err := sub.NextMsgWithContext(rctx)
			cancel()
			if err != nil {
				return want, fmt.Errorf("reading %s from %d: %w", stream, from, err)
			}
			if status := m.Header.Get(statusHeader); status != "" {
				switch status {
				case "204": // end of the batch
				case "404": // nothing from want[0] on
					for _, seq := range want {
						gone(seq)
					}
					return nil, nil
				default:
					return want, fmt.Errorf("reading %s from %d: status %s %s", stream, from, status, m.Header.Get(descriptionHeader))
				}
				break
			}
			if m.Header.Get(numPendingHeader) == "" {
				// A single get's answer: the server ignored the batch.
				return want, errNoBatch
			}
			seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
			if err != nil || seq <= last || seq < from {
				return want, fmt.Errorf("reading %s from %d: a reply without a sequence in order (%q)", stream, from, m.Header.Get(jetstream.SequenceHeader))
			}
			last = seq
			// The messages come in order: a wanted one passed over is
			// gone (deleted, purged).
			for len(want) > 0 && want[0] < seq {
				gone(want[0])
				want = want[1:]
			}
			if len(want) > 0 && want[0] == seq {
				data, err := b.Payload(ctx, m.Data, m.Header)
				if ctx.Err() != nil {
					return want, ctx.Err()
				}
				if err != nil {
					err = fmt.Errorf("reading %s message %d: %w", stream, seq, err)
				}
				fn(seq, data, err)
				want = want[1:]
			}
		}
		if last == 0 {
			// An empty batch: the stream holds nothing more.
			for _, seq := range want {
				gone(seq)
			}
			return nil, nil
		}
	}
	return nil, nil
}
