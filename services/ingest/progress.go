package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
)

// progressEvery is how many samples ingest publishes between two records
// of its progress. A retry looks up in the stream what was published
// after the last record: at most this many samples, read as headers.
const progressEvery = 2000

// batch is the part of a [bus.Batch] ingest publishes samples through.
type batch interface {
	Publish(subject, msgID string, v any) error
	Wait() error
}

// publisher publishes a run's samples once, however many times its ingest
// is tried: it records how far it got as it goes (a [bus.IngestProgress]),
// and a retry, which reads the suites again in the same order, skips what
// an earlier try published.
type publisher struct {
	bus   *bus.Bus
	run   string
	batch batch
	// record is the progress recorded so far; counts are this try's
	// samples per suite, in reading order.
	record bus.IngestProgress
	counts map[string]int
	// earlier are the ids an earlier try published after its last
	// record, not met yet in this one. While any is left, a record keeps
	// the earlier one's stream sequence, so that the next try finds them
	// too.
	earlier map[string]bool
	// unrecorded counts the samples handled since the last record.
	unrecorded int
	// sent and skipped count this try's messages.
	sent, skipped int
}

// newPublisher reads where an earlier try of the ingest of the run's
// suites stopped.
func newPublisher(ctx context.Context, b *bus.Bus, run string, suites []string, bt batch) (*publisher, error) {
	p := &publisher{bus: b, run: run, batch: bt, counts: map[string]int{}}
	rec, err := b.IngestProgress(ctx, run)
	switch {
	case errors.Is(err, bus.ErrNotFound):
		rec = &bus.IngestProgress{}
	case err != nil:
		return nil, err
	}
	if rec.Published == nil {
		rec.Published = map[string]int{}
	}
	p.record = *rec
	// An earlier try may have published samples it died before
	// recording; a first try finds none.
	if p.earlier, err = b.SamplesSince(ctx, run, suites, rec.Seq); err != nil {
		return nil, err
	}
	return p, nil
}

// resumed reports how much of the run an earlier try published.
func (p *publisher) resumed() (samples, unrecorded int) {
	for _, n := range p.record.Published {
		samples += n
	}
	return samples, len(p.earlier)
}

// publish publishes a sample and its robustness copies, unless an earlier
// try did.
func (p *publisher) publish(ctx context.Context, sm eval.Sample, copies []eval.Sample) error {
	n := p.counts[sm.Suite]
	p.counts[sm.Suite]++
	p.unrecorded++
	if n < p.record.Published[sm.Suite] {
		p.skipped += 1 + len(copies)
	} else {
		subject := bus.SamplesSubject(p.run, sm.Suite)
		for _, m := range append([]eval.Sample{sm}, copies...) {
			id := bus.SampleMsgID(p.run, m.Suite, m.ID)
			if p.earlier[id] {
				delete(p.earlier, id)
				p.skipped++
				continue
			}
			if err := p.batch.Publish(subject, id, m); err != nil {
				return err
			}
			p.sent++
		}
	}
	if p.unrecorded >= progressEvery {
		return p.save(ctx)
	}
	return nil
}

// save waits until every sample published is acknowledged, and records
// how many there are.
func (p *publisher) save(ctx context.Context) error {
	if err := p.batch.Wait(); err != nil {
		return err
	}
	if len(p.earlier) == 0 {
		seq, err := p.bus.SamplesSeq(ctx)
		if err != nil {
			return err
		}
		p.record.Seq = seq
	}
	for suite, n := range p.counts {
		p.record.Published[suite] = max(p.record.Published[suite], n)
	}
	rec := p.record
	rec.Published = maps.Clone(p.record.Published)
	if err := p.bus.PutIngestProgress(ctx, p.run, &rec); err != nil {
		return fmt.Errorf("recording progress: %w", err)
	}
	p.unrecorded = 0
	return nil
}
