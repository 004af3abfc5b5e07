package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// BenchmarkPipeline runs N samples × 2 variants through every stage in this
// process (embedded NATS, the simulator behind HTTP, pairwise judging in
// both orders) and reports samples/s, CPU time per sample and peak memory.
// The simulator runs in the same process, so its CPU is counted too.
//
// At 200ms of simulated latency with 64 requests in flight per variant, the
// endpoints bound throughput at concurrency ÷ latency = 320 samples/s;
// ratio-to-limit says how close the pipeline comes.
func BenchmarkPipeline(b *testing.B) {
	for _, c := range []struct {
		n           int
		latency     time.Duration
		concurrency int
	}{
		{2000, 0, 64},
		{10000, 0, 64},
		{3000, 200 * time.Millisecond, 64},
	} {
		b.Run(fmt.Sprintf("n=%d/latency=%v/concurrency=%d", c.n, c.latency, c.concurrency), func(b *testing.B) {
			for range b.N {
				benchRun(b, c.n, c.latency, c.concurrency)
			}
		})
	}
}

func benchRun(b *testing.B, n int, latency time.Duration, concurrency int) {
	dir := b.TempDir()
	var suite strings.Builder
	var samples []eval.Sample
	for i := range n {
		prompt := fmt.Sprintf("Question %d: what is %d plus %d? Answer with a short phrase only.", i, i, i+1)
		ref := strconv.Itoa(2*i + 1)
		fmt.Fprintf(&suite, "{\"id\": \"q%d\", \"prompt\": %q, \"reference\": [%q, \"n/a\"]}\n", i, prompt, ref)
		samples = append(samples, eval.Sample{Messages: []eval.Message{{Role: "user", Content: prompt}},
			Reference: &eval.Reference{Answers: []string{ref, "n/a"}}})
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.jsonl"), []byte(suite.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	lat := llmsim.Duration(latency)
	sim := llmsim.New(llmsim.Options{Seed: 3, Key: llmsim.KeyFromSamples(samples), Personas: []llmsim.Persona{
		{Name: "b-base", Accuracy: 0.6, Refusal: 0.03, Verbosity: 0.2, Latency: lat},
		{Name: "b-ft", Accuracy: 0.7, Refusal: 0.06, Verbosity: 0.1, Latency: lat},
		{Name: "b-judge", Judge: true, PositionBias: 0.1, Latency: lat},
	}})
	hs := httptest.NewServer(sim.Handler())
	defer hs.Close()
	spec := fmt.Sprintf(`run: bench
baseline: base
variants:
  - {name: base, base_url: %[1]s/v1, model: b-base, concurrency: %[2]d}
  - {name: ft,   base_url: %[1]s/v1, model: b-ft,   concurrency: %[2]d}
decoding: {temperature: 0, max_tokens: 64}
suites:
  - {name: bench, path: bench.jsonl, metrics: [em, f1, refusal, length]}
judges:
  - {name: judge, base_url: %[1]s/v1, model: b-judge, concurrency: %[3]d}
`, hs.URL, concurrency, 2*concurrency)
	p := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		b.Fatal(err)
	}
	rs, err := eval.LoadSpec(p)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sys, err := startSystem(ctx, systemOptions{Data: filepath.Join(dir, "nats"), Port: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Stop()
	peak := watchMemory()
	cpu0 := cpuTime()
	start := time.Now()
	if err := submit(ctx, sys.Env.Bus, rs, openFile); err != nil {
		b.Fatal(err)
	}
	st, err := waitRun(ctx, sys.Env.Bus, rs.Run, nil)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	heap, rss := peak()
	if st.Scores != 2*n || st.Judgments != n {
		b.Fatalf("incomplete: %+v", st)
	}
	rate := float64(n) / elapsed.Seconds()
	b.ReportMetric(rate, "samples/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/sample")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	if latency > 0 {
		limit := float64(concurrency) / latency.Seconds()
		b.ReportMetric(rate/limit, "ratio-to-limit")
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// watchMemory samples the Go heap and the resident set every 10ms until the
// returned function is called, which returns their peaks.
func watchMemory() func() (heap, rss uint64) {
	stop := make(chan struct{})
	var mu sync.Mutex
	var peakHeap, peakRSS uint64
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		h := sample[0].Value.Uint64()
		r := residentSet()
		mu.Lock()
		peakHeap, peakRSS = max(peakHeap, h), max(peakRSS, r)
		mu.Unlock()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() (uint64, uint64) {
		close(stop)
		<-done
		read()
		mu.Lock()
		defer mu.Unlock()
		return peakHeap, peakRSS
	}
}

// residentSet reads the process's resident memory from /proc (0 elsewhere).
func residentSet() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
