package metric

import (
	"fmt"
	"testing"
)

// The text-metric benchmarks score the English golden pairs repeated to
// 10,000 (item i is pair i mod 270, first reference), the workload the
// Python references were timed on for BENCHMARKS.md. items/s is the figure
// to compare; B/op over 10k and 100k items shows memory per item stays
// flat (a corpus keeps only summed statistics).

func benchPairs(b *testing.B, n int) (outs []string, refs [][]string) {
	b.Helper()
	pairs, _, _ := readReference(&testing.T{}, "en")
	if len(pairs) == 0 {
		b.Fatal("no golden pairs")
	}
	for i := range n {
		p := pairs[i%len(pairs)]
		outs = append(outs, p.Output)
		refs = append(refs, p.Refs[:1])
	}
	return outs, refs
}

func benchItems(b *testing.B, sizes []int, fn func(outs []string, refs [][]string)) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			outs, refs := benchPairs(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				fn(outs, refs)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

var sinkF float64

func BenchmarkSentenceBLEU(b *testing.B) {
	benchItems(b, []int{10_000}, func(outs []string, refs [][]string) {
		for i := range outs {
			sinkF += SentenceBLEU(outs[i], refs[i], Tokenizer13a)
		}
	})
}

func BenchmarkCorpusBLEU(b *testing.B) {
	benchItems(b, []int{10_000, 100_000}, func(outs []string, refs [][]string) {
		var st BLEUStats
		for i := range outs {
			st.Add(BLEUSegment(outs[i], refs[i], Tokenizer13a))
		}
		sinkF += st.Score(false)
	})
}

func BenchmarkSentenceCHRF(b *testing.B) {
	benchItems(b, []int{10_000}, func(outs []string, refs [][]string) {
		for i := range outs {
			sinkF += SentenceCHRF(outs[i], refs[i])
		}
	})
}

func BenchmarkCorpusCHRF(b *testing.B) {
	benchItems(b, []int{10_000, 100_000}, func(outs []string, refs [][]string) {
		var st CHRFStats
		for i := range outs {
			st.Add(CHRFSegment(outs[i], refs[i]))
		}
		sinkF += st.Score()
	})
}

func BenchmarkRougeL(b *testing.B) {
	benchItems(b, []int{10_000}, func(outs []string, refs [][]string) {
		for i := range outs {
			sinkF += RougeL(outs[i], refs[i], RougeOptions{})
		}
	})
}
