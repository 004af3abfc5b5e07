package bus_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkDuplicateWindowHeap publishes scores with distinct message ids
// at the rate of a zero-latency run (2,500 samples/s × 6 messages) for 90
// s into an embedded server, under the old 2-minute window and the
// per-sample streams' 30 s, and reports the process's live heap after a
// GC, the server's included (it runs in this process): the ids a window
// holds are most of the difference.
func BenchmarkDuplicateWindowHeap(b *testing.B) {
	const rate, publishFor = 15_000, 90 * time.Second
	for _, window := range []time.Duration{2 * time.Minute, bus.DefaultSampleDuplicates} {
		b.Run(fmt.Sprintf("window=%v", window), func(b *testing.B) {
			for range b.N {
				s := bustest.Server(b)
				nc, err := s.Connect()
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				ctx := context.Background()
				bb, err := bus.Open(ctx, nc, bus.Options{SampleDuplicates: window})
				if err != nil {
					b.Fatal(err)
				}
				js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
				if err != nil {
					b.Fatal(err)
				}
				before := liveHeap()
				tick := time.NewTicker(10 * time.Millisecond)
				start, sent := time.Now(), 0
				for time.Since(start) < publishFor {
					<-tick.C
					for due := int(time.Since(start).Seconds() * rate); sent < due; sent++ {
						id := bus.MsgID(bus.StageScore, "bench", "x", "base", "s", strconv.Itoa(sent))
						msg := &nats.Msg{Subject: bus.ScoresSubject("bench", "base"), Data: []byte(`{"v":1}`)}
						for {
							_, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(id))
							if err == nil {
								break
							}
							if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
								b.Fatal(err)
							}
							<-js.PublishAsyncComplete() // the server is behind: let it catch up
						}
					}
				}
				tick.Stop()
				select {
				case <-js.PublishAsyncComplete():
				case <-time.After(time.Minute):
					b.Fatal("publishes not acknowledged")
				}
				elapsed := time.Since(start)
				info, err := bb.Stream(bus.StreamScores).Info(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if info.State.Msgs != uint64(sent) {
					b.Fatalf("stored %d of %d", info.State.Msgs, sent)
				}
				b.ReportMetric(float64(sent)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64(liveHeap()-before)/(1<<20), "heap-growth-MB")
			}
		})
	}
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
