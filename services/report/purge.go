package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/services/report/aggregate"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/nats-io/nats.go/jetstream"
)

// purged is how far the messages of a continuous run were purged from
// each of its streams, by stream.
type purged map[string]uint64

// purgeRetry is how long a purge held short by a pending consumer, or
// failed, waits before it is tried again.
const purgeRetry = 2 * time.Second

// purgeFolded removes from the run's scores and judgments the messages
// that only the windows the collector folded needed (see
// [aggregate.Collector.Needed]): a continuous run would otherwise keep
// every one of them for as long as it runs. Only the report reads them,
// and a purge never passes a message a consumer of the run's subjects
// still has pending (see [unconsumed]); complete reports whether both
// streams were purged as far as need, so that a purge held short is tried
// again. Samples and answers are not purged: score and the judge read
// them by sequence, outside any consumer, so a sample of a window still
// kept but not yet scored would be lost with them (the report holds no
// row of it to bound the purge by).
func (s *Service) purgeFolded(ctx context.Context, run string, need aggregate.Needed, done purged) (complete bool, err error) {
	for _, p := range []struct {
		stream, subject string
		before          uint64
	}{
		{bus.StreamScores, bus.RunScores(run), need.Scores},
		{bus.StreamJudgments, bus.RunJudgments(run), need.Judgments},
	} {
		if p.before <= done[p.stream] {
			continue
		}
		st, err := s.bus.JS.Stream(ctx, p.stream)
		if err != nil {
			return false, fmt.Errorf("purging %s: %w", p.stream, err)
		}
		before, err := unconsumed(ctx, st, p.subject, p.before)
		if err != nil {
			return false, fmt.Errorf("purging %s: %w", p.stream, err)
		}
		if before > done[p.stream] {
			if err := st.Purge(ctx, jetstream.WithPurgeSubject(p.subject), jetstream.WithPurgeSequence(before)); err != nil {
				return false, fmt.Errorf("purging %s: %w", p.stream, err)
			}
			done[p.stream] = before
		}
	}
	return done[bus.StreamScores] >= need.Scores && done[bus.StreamJudgments] >= need.Judgments, nil
}

// unconsumed lowers before to the first message of st a consumer that
// reads subject still has pending (delivered and not acknowledged, or not
// yet delivered). A consumer whose filters cannot match subject is left
// out: the purge cannot take what it reads, and counting it would let a
// stuck consumer of one run halt the purges of every other. So is one
// that acknowledges nothing: a reader (an ordered consumer, the report's
// own, a `nats stream view`) that records no progress of its own. An
// ordered consumer recreates itself, deleting the one before in the
// background, and one whose delete was lost stays on the server with its
// first position until it expires: counted, it held purges back for
// minutes.
func unconsumed(ctx context.Context, st jetstream.Stream, subject string, before uint64) (uint64, error) {
	list := st.ListConsumers(ctx)
	for ci := range list.Info() {
		if ci.NumPending == 0 && ci.NumAckPending == 0 {
			continue // it needs nothing more
		}
		if ci.Config.AckPolicy == jetstream.AckNonePolicy {
			continue // a reader: see above
		}
		if !reads(ci.Config, subject) {
			continue
		}
		before = min(before, ci.AckFloor.Stream+1)
	}
	return before, list.Err()
}

// reads reports whether a consumer with cfg may be delivered a message
// published on a subject that subject (which may hold wildcards) matches.
// A consumer without a filter reads the whole stream.
func reads(cfg jetstream.ConsumerConfig, subject string) bool {
	filters := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		filters = append(slices.Clip(filters), cfg.FilterSubject)
	}
	if len(filters) == 0 {
		return true
	}
	return slices.ContainsFunc(filters, func(f string) bool { return subjectsCollide(f, subject) })
}

// subjectsCollide reports whether some literal subject matches both a and
// b, valid NATS subjects that may hold wildcards: a token "*" matches any
// one token, a last token ">" one or more. It is the server's
// SubjectsCollide, kept here so that the report links no server; the
// fuzz test holds the two together.
func subjectsCollide(a, b string) bool {
	ta, tb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; ; i++ {
		if i == len(ta) || i == len(tb) {
			return len(ta) == len(tb)
		}
		x, y := ta[i], tb[i]
		if x == ">" || y == ">" {
			return true
		}
		if x != y && x != "*" && y != "*" {
			return false
		}
	}
}

// resume carries a continuous run's collector on from the run's stored
// report: the windows folded before, whose messages may be purged, are
// taken from it (see [aggregate.Collector.Resume]).
func resume(ctx context.Context, b *bus.Bus, c *aggregate.Collector, run string) error {
	if c.Spec().Continuous == nil {
		return nil
	}
	data, err := bus.ReadObject(ctx, b.Reports, ReportObject(run, "report.json"))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil // none stored yet: nothing was folded
	}
	if err != nil {
		return fmt.Errorf("reading the stored report of %s: %w", run, err)
	}
	var rep document.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		// Not one this stage wrote: its folded windows, if any, are lost.
		c.Note(fmt.Sprintf("the stored report of run %s does not decode (%v): windows folded before it, whose results may be purged, are left out", run, err))
		return nil
	}
	c.Resume(&rep)
	return nil
}
