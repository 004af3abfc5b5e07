package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReadStored hands every message of stream that cfg selects and that is
// stored now to each, with its stream sequence, in stream order, fetching
// at most 1,000 at a time; after each fetched batch it calls done when not
// nil. An error from each or done stops the read and is returned.
func (b *Bus) ReadStored(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig, each func(m jetstream.Msg, seq uint64) error, done func() error) error {
	cons, err := b.JS.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stream, err)
	}
	for pending := info.NumPending; pending > 0; {
		batch, err := cons.Fetch(int(min(pending, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("reading %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			if err := each(m, meta.Sequence.Stream); err != nil {
				return err
			}
			pending = meta.NumPending
			n++
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("reading %s: %w", stream, err)
		}
		if n == 0 {
			return fmt.Errorf("reading %s: no messages arrived with %d pending", stream, pending)
		}
		if done != nil {
			if err := done(); err != nil {
				return err
			}
		}
	}
	return nil
}
