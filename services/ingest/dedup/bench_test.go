package dedup

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkIndex adds templated suites of 10k, 100k and 1M prompts (see
// templatedSuite) to an index: the time and the memory per prompt stay
// flat as the suite grows. It reports ns/prompt, the bytes allocated per
// prompt, the bytes the index holds per prompt, the prompts dropped and
// the share of the planted copies found. On a busy machine cpu-ns/prompt
// (the CPU time of the process, all its threads, per prompt) is steadier
// than ns/prompt. texts=file is the index as ingest uses it, keeping its
// full slabs of texts in a file (see [Index.SpillTo]).
func BenchmarkIndex(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		for _, spill := range []bool{false, true} {
			benchmarkIndex(b, n, spill)
		}
	}
}

func benchmarkIndex(b *testing.B, n int, spill bool) {
	prompts, planted := templatedSuite(n)
	copies := 0
	for _, p := range planted {
		if p {
			copies++
		}
	}
	texts := map[bool]string{false: "memory", true: "file"}[spill]
	b.Run(fmt.Sprintf("prompts=%d/texts=%s", n, texts), func(b *testing.B) {
		var (
			x        *Index
			dropped  int
			found    int
			before   runtime.MemStats
			after    runtime.MemStats
			heapUsed uint64
			cpu      float64
		)
		for b.Loop() {
			b.StopTimer()
			if x != nil {
				x.Close()
			}
			x = nil
			runtime.GC()
			runtime.ReadMemStats(&before)
			cpu0 := cpuSeconds()
			b.StartTimer()
			x = NewIndex(DefaultMinSimilarity)
			if spill {
				x.SpillTo(b.TempDir())
			}
			dropped, found = 0, 0
			for i, p := range prompts {
				if _, dup := x.Add(p); dup {
					dropped++
					if planted[i] {
						found++
					}
				}
			}
			b.StopTimer()
			cpu += cpuSeconds() - cpu0
			runtime.ReadMemStats(&after)
			runtime.GC()
			var held runtime.MemStats
			runtime.ReadMemStats(&held)
			heapUsed = held.HeapAlloc - min(held.HeapAlloc, before.HeapAlloc)
			b.StartTimer()
		}
		allocated := after.TotalAlloc - before.TotalAlloc
		runtime.KeepAlive(x)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/prompt")
		b.ReportMetric(cpu*1e9/float64(b.N*n), "cpu-ns/prompt")
		b.ReportMetric(float64(allocated)/float64(n), "B/prompt")
		b.ReportMetric(float64(heapUsed)/float64(n), "held-B/prompt")
		b.ReportMetric(float64(dropped), "dropped")
		b.ReportMetric(float64(found)/float64(copies), "copies-found")
	})
}
