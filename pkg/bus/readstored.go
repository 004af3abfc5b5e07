package bus

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// readerInactive is how long the server keeps a [Bus.ReadStored] consumer
// its reader could not delete (its process gone mid-read); long enough
// that a reader handling a batch is not cut off.
const readerInactive = time.Minute

// readerResets is how many times a read tries to recreate its consumer
// before it fails (see [jetstream.OrderedConsumerConfig.MaxResetAttempts]).
const readerResets = 3

// ReadStored hands every message of stream that cfg selects and that is
// stored now to each, with its stream sequence, in stream order, fetching
// at most 1,000 at a time; after each fetched batch it calls done when not
// nil. An error from each or done stops the read and is returned.
//
// The read's consumer is deleted once it ends, rather than left on the
// server for the inactivity threshold of an ordered consumer (5
// minutes): a consumer left behind is told of every message stored after
// the read, and one with messages pending holds back a continuous run's
// purge of its folded windows (see the report stage) for as long as it
// stays; a stage that reads a subject again and again would also leave
// one per read.
func (b *Bus) ReadStored(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig, each func(m jetstream.Msg, seq uint64) error, done func() error) error {
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "assay-read-" + rand.Text()
	}
	if cfg.InactiveThreshold == 0 {
		cfg.InactiveThreshold = readerInactive
	}
	if cfg.MaxResetAttempts == 0 {
		// A fetch recreates the consumer, retrying without end by default:
		// on a connection that is gone the read would never return.
		cfg.MaxResetAttempts = readerResets
	}
	cons, err := b.JS.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stream, err)
	}
	defer func() {
		// The ordered consumer recreates its server consumer for every
		// fetch, deleting the one before; the one it holds now is left. One
		// that cannot be deleted is the server's to remove once idle for
		// readerInactive.
		info := cons.CachedInfo()
		if info == nil {
			return
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheTimeout)
		defer cancel()
		_ = b.JS.DeleteConsumer(dctx, stream, info.Name)
	}()
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stream, err)
	}
	for pending := info.NumPending; pending > 0; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", stream, err)
		}
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
