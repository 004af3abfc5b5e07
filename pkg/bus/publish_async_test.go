package bus_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPublishAsync: a message is acknowledged once and dropped when
// published again under its id, a payload too large travels by reference,
// a subject no stream takes fails at once, and a cancelled wait returns.
func TestPublishAsync(t *testing.T) {
	b := bustest.New(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	subject := bus.ScoresSubject("r1", "base")
	for i, dup := range []bool{false, true} {
		ack, err := b.PublishAsync(ctx, subject, "score|r1|x|base|s|1", map[string]int{"v": 1})
		if err != nil {
			t.Fatal(err)
		}
		if ack.Duplicate != dup || ack.Stream != bus.StreamScores {
			t.Fatalf("publish %d: %+v, want stored in %s, duplicate %v", i+1, ack, bus.StreamScores, dup)
		}
	}
	big := map[string]string{"output": string(make([]byte, int(b.NC.MaxPayload())))}
	ack, err := b.PublishAsync(ctx, subject, "score|r1|x|base|s|2", big)
	if err != nil {
		t.Fatal(err)
	}
	m, err := b.Stream(bus.StreamScores).GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(bus.RefHeader) == "" || len(m.Data) != 0 {
		t.Fatalf("a payload larger than the server takes was stored inline (%d bytes)", len(m.Data))
	}
	if _, err := b.PublishAsync(ctx, "assay.nowhere", "x", 1); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("publishing where no stream listens: %v, want ErrNoStreamResponse", err)
	}
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := b.PublishAsync(done, subject, "score|r1|x|base|s|3", 1); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled publish: %v", err)
	}
}

// BenchmarkPublish publishes from 32 goroutines at once, as a stage's
// workers do, each waiting for its acknowledgement, by a request per
// message (Publish) or on the shared acknowledgement subscription
// (PublishAsync), and reports the CPU per message of this process, the
// embedded server's included.
func BenchmarkPublish(b *testing.B) {
	const workers = 32
	for _, async := range []bool{false, true} {
		b.Run(map[bool]string{false: "request", true: "async"}[async], func(b *testing.B) {
			bb := bustest.New(b)
			publish := bb.Publish
			if async {
				publish = bb.PublishAsync
			}
			per := b.N/workers + 1
			cpu0 := cpuTime()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range per {
						id := bus.MsgID(bus.StageScore, "bench", strconv.Itoa(w), strconv.Itoa(i))
						if _, err := publish(context.Background(), bus.ScoresSubject("bench", "base"), id, map[string]float64{"em": 1}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(workers*per), "cpu-ns/msg")
		})
	}
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
