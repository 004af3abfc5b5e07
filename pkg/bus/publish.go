package bus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// RefHeader marks a message whose payload was too large to travel on the
// bus and was put in the assay_blobs object store under the header's value.
const RefHeader = "Assay-Ref"

// headroom leaves room for headers and protocol overhead below the server's
// max payload.
const headroom = 64 << 10

// Publish marshals v to JSON and publishes it to subject with Nats-Msg-Id
// msgID, so that a republished message is stored once. A payload too large
// for the server goes to the object store and travels by reference.
func (b *Bus) Publish(ctx context.Context, subject, msgID string, v any) (*jetstream.PubAck, error) {
	return b.PublishWith(ctx, subject, msgID, v, nil)
}

// PublishWith is [Bus.Publish] with headers of the caller's on the message.
func (b *Bus) PublishWith(ctx context.Context, subject, msgID string, v any, h map[string]string) (*jetstream.PubAck, error) {
	data, err := encode(subject, v)
	if err != nil {
		return nil, err
	}
	return b.publishData(ctx, subject, msgID, data, h)
}

// encode is the payload of v, a message for subject.
func encode(subject string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding message for %s: %w", subject, err)
	}
	return data, nil
}

// PublishData publishes raw bytes like Publish.
func (b *Bus) PublishData(ctx context.Context, subject, msgID string, data []byte) (*jetstream.PubAck, error) {
	return b.publishData(ctx, subject, msgID, data, nil)
}

func (b *Bus) publishData(ctx context.Context, subject, msgID string, data []byte, h map[string]string) (*jetstream.PubAck, error) {
	msg, err := b.message(ctx, subject, data)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		msg.Header.Set(k, v)
	}
	ack, err := b.JS.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID))
	if err != nil {
		return nil, fmt.Errorf("publishing to %s: %w", subject, err)
	}
	return ack, nil
}

// ackTimeout bounds the wait for the acknowledgement of a [Bus.PublishAsync],
// as JetStream's default request timeout bounds a [Bus.Publish].
const ackTimeout = 5 * time.Second

// PublishAsync publishes like [Bus.Publish], and like it returns once the
// server has acknowledged the message, but without a request of its own:
// acknowledgements come back on the connection's one subscription for
// them, together, which costs about a quarter less CPU per message
// (BenchmarkPublish) when many handlers publish at once. Unlike Publish it
// does not try again while a stream has no leader (no responders): the
// error is returned, and the caller's message redelivered.
func (b *Bus) PublishAsync(ctx context.Context, subject, msgID string, v any) (*jetstream.PubAck, error) {
	data, err := encode(subject, v)
	if err != nil {
		return nil, err
	}
	msg, err := b.message(ctx, subject, data)
	if err != nil {
		return nil, err
	}
	f, err := b.asyncJS.PublishMsgAsync(msg, jetstream.WithMsgID(msgID))
	if err != nil {
		return nil, fmt.Errorf("publishing to %s: %w", subject, err)
	}
	select {
	case ack := <-f.Ok():
		return ack, nil
	case err := <-f.Err():
		return nil, fmt.Errorf("publishing to %s: %w", subject, err)
	case <-ctx.Done():
		// The acknowledgement may still come: a message published again
		// under msgID is dropped by the server.
		return nil, fmt.Errorf("publishing to %s: %w", subject, ctx.Err())
	}
}

// message builds the message for data, moving a payload too large for the
// server into the object store.
func (b *Bus) message(ctx context.Context, subject string, data []byte) (*nats.Msg, error) {
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if b.maxPayload > 0 && len(data) > b.maxPayload-headroom {
		sum := sha256.Sum256(data)
		name := "msg/" + hex.EncodeToString(sum[:])
		// The name is the content: a republished payload is there
		// already (see putContent), and a reader checks it (Payload).
		if err := putContent(ctx, b.Blobs, jetstream.ObjectMeta{Name: name}, sum[:], bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("storing large payload for %s: %w", subject, err)
		}
		msg.Data = nil
		msg.Header.Set(RefHeader, name)
	}
	return msg, nil
}

// Batch publishes many messages without waiting for each acknowledgement,
// keeping a bounded window in flight. Ingest uses it for a suite's samples.
type Batch struct {
	b      *Bus
	ctx    context.Context
	window []jetstream.PubAckFuture
	max    int
	err    error
}

// NewBatch starts a batch with up to 256 messages in flight.
func (b *Bus) NewBatch(ctx context.Context) *Batch { return &Batch{b: b, ctx: ctx, max: 256} }

// Publish queues v for subject; it blocks while the window is full.
func (bt *Batch) Publish(subject, msgID string, v any) error {
	if bt.err != nil {
		return bt.err
	}
	data, err := encode(subject, v)
	if err != nil {
		return err
	}
	msg, err := bt.b.message(bt.ctx, subject, data)
	if err != nil {
		return err
	}
	if len(bt.window) >= bt.max {
		if err := bt.await(bt.window[0]); err != nil {
			return err
		}
		bt.window = bt.window[1:]
	}
	f, err := bt.b.JS.PublishMsgAsync(msg, jetstream.WithMsgID(msgID))
	if err != nil {
		bt.err = fmt.Errorf("publishing to %s: %w", subject, err)
		return bt.err
	}
	bt.window = append(bt.window, f)
	return nil
}

func (bt *Batch) await(f jetstream.PubAckFuture) error {
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		bt.err = fmt.Errorf("publishing to %s: %w", f.Msg().Subject, err)
		return bt.err
	case <-bt.ctx.Done():
		bt.err = bt.ctx.Err()
		return bt.err
	}
}

// Wait waits until every queued message is acknowledged.
func (bt *Batch) Wait() error {
	for _, f := range bt.window {
		if err := bt.await(f); err != nil {
			return err
		}
	}
	bt.window = nil
	return bt.err
}

// Payload returns a message's data, fetching it from the object store when
// it travelled by reference; a payload whose content is not what its name
// says is refused with [ErrIntegrity].
func (b *Bus) Payload(ctx context.Context, data []byte, h nats.Header) ([]byte, error) {
	ref := h.Get(RefHeader)
	if ref == "" {
		return data, nil
	}
	out, err := ReadObject(ctx, b.Blobs, ref)
	if err != nil {
		return nil, fmt.Errorf("fetching large payload %s: %w", ref, err)
	}
	return out, nil
}

// GetMsg reads one message of a stream by sequence, with its payload
// resolved.
func (b *Bus) GetMsg(ctx context.Context, stream string, seq uint64) ([]byte, error) {
	s := b.streams[stream]
	if s == nil {
		return nil, fmt.Errorf("stream %s is not part of the topology", stream)
	}
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("reading %s message %d: %w", stream, seq, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s message %d: %w", stream, seq, err)
	}
	return b.Payload(ctx, m.Data, m.Header)
}

// MsgID builds a Nats-Msg-Id from a stage and the keys of a message.
func MsgID(stage string, keys ...string) string {
	id := stage
	for _, k := range keys {
		id += "|" + k
	}
	return id
}
