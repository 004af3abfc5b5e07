package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/aggregate"
)

// BenchmarkReadSamples measures what counting results only for a run's
// samples costs the report: reading the ids of 100,000 samples of 1 KiB
// (headers only) into a collector, as a report is built.
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
	for range b.N {
		c := aggregate.New(spec)
		if err := readSamples(ctx, bs, "big", c); err != nil {
			b.Fatal(err)
		}
		c.Release()
	}
	b.ReportMetric(float64(n), "samples/op")
}
