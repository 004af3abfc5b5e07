package bus

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// lagTracker knows the consumers each stage of a process reads, for its
// [LagMetrics].
type lagTracker struct {
	mu      sync.Mutex
	byStage map[string]map[*tracked]struct{}
}

// tracked is one consumer a stage reads: its stream, the name its backlog
// goes by, and the consumer to ask.
type tracked struct {
	stream, name string
	c            jetstream.Consumer
}

// TrackLag puts consumer c of stream, which stage reads, on the stage's
// [LagMetrics] under name until untrack is called. [Bus.Consume] tracks
// the consumers it reads; a stage tracks those it reads otherwise (the
// report's ordered consumers) itself.
func (b *Bus) TrackLag(stage, stream, name string, c jetstream.Consumer) (untrack func()) {
	t := &tracked{stream: stream, name: name, c: c}
	b.lag.mu.Lock()
	defer b.lag.mu.Unlock()
	if b.lag.byStage == nil {
		b.lag.byStage = map[string]map[*tracked]struct{}{}
	}
	if b.lag.byStage[stage] == nil {
		b.lag.byStage[stage] = map[*tracked]struct{}{}
	}
	b.lag.byStage[stage][t] = struct{}{}
	return func() {
		b.lag.mu.Lock()
		defer b.lag.mu.Unlock()
		delete(b.lag.byStage[stage], t)
	}
}

// tracked returns the consumers stage reads, one per stream and name.
func (l *lagTracker) tracked(stage string) []*tracked {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[[2]string]bool{}
	var out []*tracked
	for t := range l.byStage[stage] {
		k := [2]string{t.stream, t.name}
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// lagTimeout bounds how long a scrape waits for the consumers' figures;
// lagAtOnce how many are asked at once.
const (
	lagTimeout = 3 * time.Second
	lagAtOnce  = 8
)

// LagMetrics export a stage's backlog at each scrape, asked of the server
// for every consumer the stage reads:
// assay_<stage>_consumer_pending{stream,consumer}, the messages its
// filter matches that were not yet delivered, and
// assay_<stage>_consumer_ack_pending{stream,consumer}, those delivered and
// not yet acknowledged. A durable consumer goes by its name (a run's have
// the run in it: the series come and go with the runs in progress);
// replicas of a stage report the same consumer alike. A consumer that
// does not answer in time is left out of that scrape.
type LagMetrics struct {
	b                   *Bus
	stage               string
	pending, ackPending *prometheus.Desc
}

// NewLagMetrics registers stage's backlog metrics in reg.
func NewLagMetrics(reg prometheus.Registerer, b *Bus, stage string) *LagMetrics {
	labels := []string{"stream", "consumer"}
	m := &LagMetrics{b: b, stage: stage,
		pending: prometheus.NewDesc("assay_"+stage+"_consumer_pending",
			"Messages the "+stage+" stage's consumer has yet to receive: its backlog.", labels, nil),
		ackPending: prometheus.NewDesc("assay_"+stage+"_consumer_ack_pending",
			"Messages the "+stage+" stage's consumer received and has not yet acknowledged.", labels, nil),
	}
	reg.MustRegister(m)
	return m
}

// Describe implements prometheus.Collector.
func (m *LagMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.pending
	ch <- m.ackPending
}

// Collect implements prometheus.Collector.
func (m *LagMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
	defer cancel()
	sem := make(chan struct{}, lagAtOnce)
	var wg sync.WaitGroup
	for _, t := range m.b.lag.tracked(m.stage) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			info, err := t.c.Info(ctx)
			if err != nil {
				return
			}
			ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(info.NumPending), t.stream, t.name)
			ch <- prometheus.MustNewConstMetric(m.ackPending, prometheus.GaugeValue, float64(info.NumAckPending), t.stream, t.name)
		})
	}
	wg.Wait()
}
