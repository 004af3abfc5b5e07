package bus

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// readerInactive is how long the server keeps a [Bus.ReadStoredOnce]
// consumer its reader could not delete (its process gone mid-read); long
// enough that a reader handling a batch is not cut off.
const readerInactive = time.Minute

// ReadStoredOnce is [Bus.ReadStored] whose consumer is deleted once the
// read ends, rather than left on the server for the inactivity threshold
// of an ordered consumer (5 minutes): a stage that reads a subject again
// and again (late arrivals looking up released records) leaves no
// consumer per read behind.
func (b *Bus) ReadStoredOnce(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig, each func(m jetstream.Msg, seq uint64) error, done func() error) error {
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "assay-read-" + rand.Text()
	}
	if cfg.InactiveThreshold == 0 {
		cfg.InactiveThreshold = readerInactive
	}
	// The ordered consumer names its consumers prefix_1, prefix_2, … as it
	// recreates them (deleting the one before); the last one seen is the
	// one left.
	name := cfg.NamePrefix + "_1"
	err := b.ReadStored(ctx, stream, cfg, func(m jetstream.Msg, seq uint64) error {
		if meta, err := m.Metadata(); err == nil {
			name = meta.Consumer
		}
		return each(m, seq)
	}, done)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cacheTimeout)
	defer cancel()
	// A consumer that could not be deleted is the server's to remove once
	// idle for readerInactive.
	_ = b.JS.DeleteConsumer(dctx, stream, name)
	return err
}
