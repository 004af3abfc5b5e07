package report

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/aggregate"
)

// BenchmarkReadSamples measures what counting results only for a run's
// samples costs the report: reading the ids of 100,000 samples of 1 KiB
// (headers only) into a collector, as a report is built; held-B/sample is
// the heap the read leaves behind (the collector's set of sample keys and
// what the embedded server caches of the stream).
func BenchmarkReadSamples(b *testing.B) {
	const n = 100_000
	bs := bustest.New(b)
	spec := &eval.RunSpec{Run: "big", Baseline: "base", Variants: []eval.Variant{{Name: "base"}},
		Suites: []eval.Suite{{Name: "s", Metrics: []string{"em"}}}}
	prompt := strings.Repeat("x", 1024)
	ctx := b.Context()
	for i := range n {
		id := fmt.Sprint(i)
		s := eval.Sample{V: eval.Version, Run: "big", Suite: "s", ID: id, Messages: []eval.Message{{Role: "user", Content: prompt}}}
		if _, err := bs.Publish(ctx, bus.SamplesSubject("big", "s"), bus.MsgID(bus.StageIngest, "big", "s", id), s); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var held uint64
	for range b.N {
		before := liveHeap()
		c := aggregate.New(spec)
		if err := readSamples(ctx, bs, "big", c); err != nil {
			b.Fatal(err)
		}
		after := liveHeap()
		held = after - min(before, after)
		c.Release()
	}
	b.ReportMetric(float64(n), "samples/op")
	b.ReportMetric(float64(held)/float64(n), "held-B/sample")
}

// liveHeap is the heap's live objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
