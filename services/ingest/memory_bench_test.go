package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/internal/rss"
)

// BenchmarkIngestMemory ingests one templated suite of 200,000 prompts
// (ASSAY_BENCH_PROMPTS sets another size) into an embedded NATS server,
// the way `assay up` does, and reports the peak of the live heap while the
// suite is read (the server's included: it runs in the process), the
// process's peak RSS (VmHWM) and the samples published. With
// ASSAY_BENCH_HEAPPROFILE=file it writes a heap profile taken just before
// the last sample is published, when everything ingest holds for the
// suite is live: `go tool pprof -top -sample_index=inuse_space file`.
func BenchmarkIngestMemory(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("ASSAY_BENCH_PROMPTS")); err == nil && v > 0 {
		n = v
	}
	data, kept := templatedSuiteJSONL(n)
	b.Run(fmt.Sprintf("prompts=%d", n), func(b *testing.B) {
		s, bs := newIntakeWith(b, IntakeConfig{})
		obj, err := bs.PutDataset(b.Context(), "data/suite.jsonl", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		var published atomic.Int64
		profile := os.Getenv("ASSAY_BENCH_HEAPPROFILE")
		newBatch := s.newBatch
		s.newBatch = func(ctx context.Context) batch {
			return &profilingBatch{batch: newBatch(ctx), n: &published, at: int64(kept), profile: profile, b: b}
		}
		var peak uint64
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			published.Store(0)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			spec := &eval.RunSpec{Run: "mem" + strconv.Itoa(i), Baseline: "base",
				Variants: []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}},
				Suites:   []eval.Suite{{Name: "math", Path: "data/suite.jsonl", Object: obj, Metrics: []string{"em"}}}}
			stop := sampleHeap(&peak)
			b.StartTimer()
			st, err := s.Ingest(b.Context(), spec)
			b.StopTimer()
			stop()
			if err != nil {
				b.Fatal(err)
			}
			if st.Samples != kept {
				b.Fatalf("published %d samples, want %d (%d near-duplicates)", st.Samples, kept, st.Suites["math"].Duplicates)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peak)/float64(n), "peak-heap-B/prompt")
		b.ReportMetric(float64(rss.Peak())/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/prompt")
		b.ReportMetric(float64(published.Load()), "published")
	})
}

// sampleHeap records the largest live heap it sees in *peak, every 5 ms,
// until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapAlloc)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// profilingBatch counts the samples published, and writes a heap profile
// when it reaches at.
type profilingBatch struct {
	batch
	n       *atomic.Int64
	at      int64
	profile string
	b       *testing.B
}

func (c *profilingBatch) Publish(subject, msgID string, v any) error {
	if c.n.Add(1) == c.at && c.profile != "" {
		f, err := os.Create(c.profile)
		if err != nil {
			c.b.Fatal(err)
		}
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			c.b.Fatal(err)
		}
		f.Close()
	}
	return c.batch.Publish(subject, msgID, v)
}

// templatedSuiteJSONL writes a JSONL suite of n prompts made from a few
// templates filled with numbers and names, as large benchmark suites are,
// and returns how many survive near-duplicate removal (every prompt: the
// numbers make each one distinct).
func templatedSuiteJSONL(n int) (data []byte, kept int) {
	r := rand.New(rand.NewPCG(3, uint64(n)))
	names := []string{"Alice", "Bob", "Carol", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kate", "Liam"}
	items := []string{"apples", "pears", "books", "pencils", "stamps", "marbles", "cookies", "lemons"}
	cities := []string{"Paris", "Lyon", "Berlin", "Munich", "Madrid", "Lisbon", "Rome", "Milan", "Vienna", "Prague"}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	var buf bytes.Buffer
	for i := range n {
		var p string
		// i in every prompt: none is a near-duplicate of another.
		switch i % 3 {
		case 0:
			name := pick(names)
			p = fmt.Sprintf("%s has %d %s and buys %d more at the market in %s. How many %s does %s have now? Explain your reasoning step by step.",
				name, i, pick(items), 1+r.IntN(200), pick(cities), pick(items), name)
		case 1:
			p = fmt.Sprintf("A train leaves %s at %d:%02d and travels %d km at an average speed of %d km/h. At what time does it arrive in %s?",
				pick(cities), 1+r.IntN(12), r.IntN(60), i, 1+r.IntN(300), pick(cities))
		default:
			p = fmt.Sprintf("Summarise the following support ticket from %s in one sentence: order #%d arrived %d days late and the %s were damaged.",
				pick(names), i, 1+r.IntN(30), pick(items))
		}
		fmt.Fprintf(&buf, "{\"id\": \"item-%07d\", \"prompt\": %q, \"reference\": \"%d\"}\n", i, p, i)
	}
	return buf.Bytes(), n
}
