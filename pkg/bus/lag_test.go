package bus_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLagMetrics: at each scrape a stage's metrics show, for every
// consumer it reads, the messages not yet delivered and those delivered
// and not yet acknowledged; a consumer stops showing when the stage stops
// reading it, and another stage's consumers never show.
func TestLagMetrics(t *testing.T) {
	b := bustest.New(t)
	reg := prometheus.NewRegistry()
	bus.NewLagMetrics(reg, b, "test")
	other := prometheus.NewRegistry()
	bus.NewLagMetrics(other, b, "other")
	names := []string{"assay_test_consumer_pending", "assay_test_consumer_ack_pending"}
	want := func(lines ...string) error {
		text := "# HELP assay_test_consumer_ack_pending Messages the test stage's consumer received and has not yet acknowledged.\n# TYPE assay_test_consumer_ack_pending gauge\n" +
			"# HELP assay_test_consumer_pending Messages the test stage's consumer has yet to receive: its backlog.\n# TYPE assay_test_consumer_pending gauge\n"
		if len(lines) == 0 {
			text = ""
		}
		return testutil.GatherAndCompare(reg, strings.NewReader(text+strings.Join(lines, "\n")+"\n"), names...)
	}

	c := consumer(t, b, "lagging", jetstream.ConsumerConfig{AckWait: 30 * time.Second})
	publish(t, b, "lagging", 5)
	// Read by the stage otherwise than through Consume: tracked by hand.
	untrack := b.TrackLag("test", bus.StreamSamples, "by-hand", c)
	bustest.Eventually(t, 10*time.Second, func() error {
		return want(`assay_test_consumer_ack_pending{consumer="by-hand",stream="ASSAY_SAMPLES"} 0`,
			`assay_test_consumer_pending{consumer="by-hand",stream="ASSAY_SAMPLES"} 5`)
	})
	untrack()

	held, release := make(chan struct{}, 5), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(ctx, c, func(context.Context, *bus.Msg) error {
			held <- struct{}{}
			<-release
			return nil
		}, bus.ConsumeOptions{Stage: "test", Workers: 1})
	}()
	stop := sync.OnceValue(func() error {
		cancel()
		close(release)
		return <-done
	})
	t.Cleanup(func() { stop() })
	<-held
	bustest.Eventually(t, 10*time.Second, func() error {
		return want(`assay_test_consumer_ack_pending{consumer="lagging",stream="ASSAY_SAMPLES"} 1`,
			`assay_test_consumer_pending{consumer="lagging",stream="ASSAY_SAMPLES"} 4`)
	})
	if n := testutil.CollectAndCount(other); n != 0 {
		t.Errorf("another stage's metrics show %d series of this stage's consumer", n)
	}
	release <- struct{}{}
	<-held
	bustest.Eventually(t, 10*time.Second, func() error {
		return want(`assay_test_consumer_ack_pending{consumer="lagging",stream="ASSAY_SAMPLES"} 1`,
			`assay_test_consumer_pending{consumer="lagging",stream="ASSAY_SAMPLES"} 3`)
	})

	// Stopped: the consumer is no longer the stage's.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 10*time.Second, func() error {
		if n := testutil.CollectAndCount(reg, names...); n != 0 {
			return fmt.Errorf("%d series after the consumer stopped", n)
		}
		return nil
	})
}
