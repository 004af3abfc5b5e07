package report

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// FailedGenerations returns what assay retry asks again: the generations
// of run (of variant only, when not "") that failed for good, as retry
// requests without attempt. A (sample, variant) counts by its latest
// attempt: one that a retry answered has not failed. Generations for
// samples the run does not have (someone published them) are left out.
func FailedGenerations(ctx context.Context, b *bus.Bus, spec *eval.RunSpec, variant string) ([]eval.RetryRequest, error) {
	run := spec.Run
	samples := map[[2]string]bool{}
	err := readHeaders(ctx, b, bus.StreamSamples, bus.RunSamples(run), func(subject string, h nats.Header) {
		if suite, id, ok := sampleID(run, subject, h.Get(jetstream.MsgIDHeader)); ok {
			samples[[2]string{suite, id}] = true
		}
	})
	if err != nil {
		return nil, err
	}
	filter := bus.RunGens(run)
	if variant != "" {
		filter = bus.GensSubject(run, variant)
	}
	type latest struct {
		retry  int
		failed bool
		req    eval.RetryRequest
	}
	last := map[[3]string]*latest{}
	var order [][3]string
	err = readBatches(ctx, b, bus.StreamGens, filter, func(batch []message) error {
		for _, m := range batch {
			var g eval.Generation
			if json.Unmarshal(m.data, &g) != nil || g.Run != run || !samples[[2]string{g.Sample.Suite, g.Sample.ID}] {
				continue // not this run's: nothing to ask again
			}
			if _, ok := spec.Variant(g.Variant); !ok {
				continue
			}
			k := [3]string{g.Variant, g.Sample.Suite, g.Sample.ID}
			l := last[k]
			if l == nil {
				l = &latest{retry: -1}
				last[k] = l
				order = append(order, k)
			}
			// Stream order breaks a tie: a redelivered attempt says the same.
			if g.Retry >= l.retry {
				l.retry, l.failed = g.Retry, g.Error != ""
				l.req = eval.RetryRequest{Run: run, Variant: g.Variant, Sample: g.Sample}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the generations of run %s: %w", run, err)
	}
	var out []eval.RetryRequest
	for _, k := range order {
		if l := last[k]; l.failed {
			out = append(out, l.req)
		}
	}
	return out, nil
}
