package aggregate

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// BenchmarkReport is computing a whole report — every interval, test,
// q-value, MDE, length-controlled and per-suite win rate, the gate — from
// n samples answered by a base and a fine-tune and judged, half of them in
// a suite clustered in groups of 20, a third of the answers wrong with a
// reason of their own, as the report stage does on every
// refresh of a live run. It reports the heap the collector keeps between
// reports (held-MB, after a collection) and the peak of the heap's live
// and unswept objects over filling the collector and computing the
// reports (peak-heap-MB).
func BenchmarkReport(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("samples=%d", n), func(b *testing.B) {
			peak := watchHeap(b)
			spec := testSpec()
			spec.Suites[1].Cluster = "doc"
			c := New(spec)
			defer c.Release()
			fillBench(c, spec, n)
			runtime.GC()
			held := heapObjects()
			now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
			for b.Loop() {
				if _, err := c.Report(context.Background(), nil, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(held)/1e6, "held-MB")
			b.ReportMetric(float64(peak())/1e6, "peak-heap-MB")
		})
	}
}

// fillBench adds n samples' scores (two variants) and judgments to c.
func fillBench(c *Collector, spec *eval.RunSpec, n int) {
	// The samples are named first, as the report stage names the run's
	// samples from ASSAY_SAMPLES before it reads results.
	for i := range n {
		suite := "qa"
		if i%2 == 1 {
			suite = "biz"
		}
		c.AddSample(suite, fmt.Sprintf("q%07d", i))
	}
	for i := range n {
		suite, id, seq := "qa", fmt.Sprintf("q%07d", i), uint64(i+1)
		ms := func(v float64) map[string]float64 { return em(v) }
		if i%2 == 1 {
			suite = "biz"
			ms = func(v float64) map[string]float64 { return jsonMetrics(v, v/2) }
		}
		for _, v := range []string{"base", "ft"} {
			value := float64((i + len(v)) % 3 % 2)
			s := mkScore(spec, v, suite, id, seq, eval.BucketOK, ms(value))
			if value == 0 {
				// A wrong answer's reason is the sample's own, as the
				// score stage's are.
				s.Bucket, s.Reason = eval.BucketWrongAnswer, "em: does not match "+strconv.Quote(id)
			}
			s.Sample.Cluster = fmt.Sprint(i / 20)
			s.OutputChars = 40 + i%50 + 10*len(v)
			s.Checks.Refused = (i+len(v))%17 == 0
			c.AddScore(s)
		}
		c.AddJudgment(mkJudgment(spec, suite, id, seq, []eval.Winner{eval.WinCandidate, eval.WinTie, eval.WinBaseline, eval.WinCandidate}[i%4], i%7 != 0))
	}
}

// heapObjects is the bytes of the heap's objects, live or not yet swept.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchHeap samples the heap every millisecond until the benchmark ends,
// and returns the peak seen so far.
func watchHeap(tb testing.TB) func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			peak.Store(max(peak.Load(), heapObjects()))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	tb.Cleanup(func() { close(stop); wg.Wait() })
	return func() uint64 { return max(peak.Load(), heapObjects()) }
}

// BenchmarkContinuousCollector feeds a continuous run 500 hourly windows of
// 200 queries (two variants and a judge) and reports the heap it keeps per
// query once the first 100 windows are in (growth-B/query): what months of
// production traffic cost the report between two refreshes. The default
// horizon folds every window but the latest 30, whose figures then cost
// the same whatever their number of queries (growth-B/window); horizon=0
// keeps them all.
func BenchmarkContinuousCollector(b *testing.B) {
	const windows, perWindow, settled = 500, 200, 100
	for _, horizon := range []int{DefaultHorizon, 0} {
		b.Run(fmt.Sprintf("horizon=%d", horizon), func(b *testing.B) {
			for b.Loop() {
				spec := continuousSpec()
				c := New(spec, WithHorizon(horizon))
				var at100 uint64
				for w := range windows {
					if w == settled {
						runtime.GC()
						at100 = heapObjects()
					}
					feedWindow(c, spec, w, perWindow)
				}
				runtime.GC()
				end := heapObjects()
				b.ReportMetric(float64(end-min(at100, end))/float64((windows-settled)*perWindow), "growth-B/query")
				b.ReportMetric(float64(end-min(at100, end))/float64(windows-settled), "growth-B/window")
				b.ReportMetric(float64(end)/1e6, "held-MB")
				c.Release()
			}
		})
	}
}
