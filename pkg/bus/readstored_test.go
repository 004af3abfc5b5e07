package bus_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
)

// consumers names the consumers stream has on the server.
func consumers(t *testing.T, b *bus.Bus, stream string) []string {
	t.Helper()
	st, err := b.JS.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	list := st.ConsumerNames(t.Context())
	for n := range list.Name() {
		names = append(names, n)
	}
	if err := list.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestReadStoredLeavesNoConsumer: a read leaves no consumer on the server,
// whether it read nothing, several batches or stopped on an error. One
// left behind is told of every message stored after the read, and with
// them pending it holds back the purges of a continuous run's folded
// windows for the 5 minutes an ordered consumer is kept idle.
func TestReadStoredLeavesNoConsumer(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	subject := bus.ScoresSubject("r", "v")
	read := func(stop int) (int, error) {
		n := 0
		err := b.ReadStored(ctx, bus.StreamScores, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.RunScores("r")}},
			func(jetstream.Msg, uint64) error {
				n++
				if n == stop {
					return errors.New("stop")
				}
				return nil
			}, nil)
		return n, err
	}
	none := func(when string) {
		t.Helper()
		// The ordered consumer deletes the consumers of earlier batches
		// in the background; the read deletes its last.
		bustest.Eventually(t, 30*time.Second, func() error {
			if names := consumers(t, b, bus.StreamScores); len(names) > 0 {
				return fmt.Errorf("%s, the stream still has consumers %v", when, names)
			}
			return nil
		})
	}
	if n, err := read(-1); err != nil || n != 0 {
		t.Fatalf("read %d messages of none stored (%v)", n, err)
	}
	none("after reading nothing")
	for i := range 2500 {
		if _, err := b.JS.Publish(ctx, subject, fmt.Appendf(nil, `{"i":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := read(-1); err != nil || n != 2500 {
		t.Fatalf("read %d of 2500 messages (%v)", n, err)
	}
	none("after reading three batches")
	if n, err := read(1500); err == nil || n != 1500 {
		t.Fatalf("a read stopped at message 1500 read %d (%v)", n, err)
	}
	none("after a read stopped by an error")
}
