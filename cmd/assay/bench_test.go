package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// BenchmarkPipeline runs N samples × 2 variants through every stage, with
// pairwise judging in both orders (judge=yes) or without a judge, and
// reports throughput, CPU time per sample and peak memory.
//
// As in a deployment, NATS (`assay up --services none`), the simulated
// endpoints (`assay sim`) and the report stage (`assay up --services
// report`) are processes of their own; ingest, infer, score and judge run in
// the benchmark's process, whose memory is the stages-* figures. The report
// stage keeps every sample's scores (paired statistics need them all), so
// its memory is reported apart. assay-cpu counts the stages and the report;
// total-cpu adds the NATS server's and the simulator's, all on the same 2
// cores.
//
// At 200ms of simulated latency with 64 requests in flight per variant, the
// endpoints bound throughput at concurrency ÷ latency = 320 samples/s;
// ratio-to-limit says how close the pipeline comes.
func BenchmarkPipeline(b *testing.B) {
	for _, c := range []struct {
		n           int
		latency     time.Duration
		concurrency int
		judge       bool
	}{
		{2000, 0, 64, true},
		{10000, 0, 64, true},
		{10000, 0, 64, false},
		{30000, 0, 64, true},
		{3000, 200 * time.Millisecond, 64, true},
		// Long enough (about a minute at the limit) that start-up and
		// the last samples' judging weigh little: the steady share of
		// the endpoints' capacity the pipeline keeps busy.
		{20000, 200 * time.Millisecond, 64, true},
		// The same without the judge, whose endpoint (2 × concurrency
		// slots for two calls a sample) is then not a second limit
		// with no room: what the pipeline makes of the variants'
		// endpoints alone, as a bare client would.
		{20000, 200 * time.Millisecond, 64, false},
	} {
		judge := "yes"
		if !c.judge {
			judge = "no"
		}
		b.Run(fmt.Sprintf("n=%d/latency=%v/concurrency=%d/judge=%s", c.n, c.latency, c.concurrency, judge), func(b *testing.B) {
			for range b.N {
				benchRun(b, c.n, c.latency, c.concurrency, c.judge)
			}
		})
	}
}

func benchRun(b *testing.B, n int, latency time.Duration, concurrency int, judge bool) {
	dir := b.TempDir()
	var suite strings.Builder
	for i := range n {
		prompt := fmt.Sprintf("Question %d: what is %d plus %d? Answer with a short phrase only.", i, i, i+1)
		fmt.Fprintf(&suite, "{\"id\": \"q%d\", \"prompt\": %q, \"reference\": [%q, \"n/a\"]}\n", i, prompt, strconv.Itoa(2*i+1))
	}
	suitePath := filepath.Join(dir, "bench.jsonl")
	personas := fmt.Sprintf(`- {name: b-base, accuracy: 0.6, refusal: 0.03, verbosity: 0.2, latency: %[1]s}
- {name: b-ft, accuracy: 0.7, refusal: 0.06, verbosity: 0.1, latency: %[1]s}
- {name: b-judge, judge: true, position_bias: 0.1, latency: %[1]s}
`, latency)
	personasPath := filepath.Join(dir, "personas.yaml")
	for p, data := range map[string]string{suitePath: suite.String(), personasPath: personas} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ports := freePorts(b, 2)
	natsPort, simPort := ports[0], ports[1]
	nats := start(b, "assay", "up", "--services", "none", "--data", filepath.Join(dir, "nats"),
		"--port", strconv.Itoa(natsPort), "--metrics-addr", "", "--log-level", "warn")
	simAddr := "127.0.0.1:" + strconv.Itoa(simPort)
	sim := start(b, "assay", "sim", "--addr", simAddr, "--personas", personasPath, "--suite", suitePath, "--seed", "3")
	waitHealthy(b, "http://"+simAddr+"/healthz")

	spec := fmt.Sprintf(`run: bench
baseline: base
variants:
  - {name: base, base_url: http://%[1]s/v1, model: b-base, concurrency: %[2]d}
  - {name: ft,   base_url: http://%[1]s/v1, model: b-ft,   concurrency: %[2]d}
decoding: {temperature: 0, max_tokens: 64}
suites:
  - {name: bench, path: bench.jsonl, metrics: [em, f1, refusal, length]}
`, simAddr, concurrency)
	judged := 0
	if judge {
		spec += fmt.Sprintf(`judges:
  - {name: judge, base_url: http://%s/v1, model: b-judge, concurrency: %d}
`, simAddr, 2*concurrency)
		judged = n
	}
	specPath := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		b.Fatal(err)
	}
	rs, err := eval.LoadSpec(specPath)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	url := "nats://127.0.0.1:" + strconv.Itoa(natsPort)
	var sys *system
	bustest.Eventually(b, 30*time.Second, func() error {
		sys, err = startSystem(ctx, systemOptions{NATS: url, Client: bus.ClientConfig{NKey: natsembed.SeedFile(filepath.Join(dir, "nats"), bus.IdentityAdmin)}, Services: []string{"ingest", "infer", "score", "judge"}})
		return err
	})
	defer sys.Stop()
	report := start(b, "assay", "up", "--nats", url, "--nats-nkey", natsembed.SeedFile(filepath.Join(dir, "nats"), bus.StageReport), "--services", "report", "--metrics-addr", "", "--log-level", "info")

	peak := watchMemory()
	cpu0, report0, nats0, sim0 := cpuTime(), procCPU(report), procCPU(nats), procCPU(sim)
	began := time.Now()
	if err := submit(ctx, sys.Env.Bus, rs, openFile); err != nil {
		b.Fatal(err)
	}
	// ASSAY_BENCH_PROGRESS=1 prints the run's counts every few seconds,
	// timed from the submission: where a run's time goes (start-up, the
	// steady rate, the report's final pass).
	var progress io.Writer
	if os.Getenv("ASSAY_BENCH_PROGRESS") != "" {
		progress = &elapsedWriter{w: os.Stderr, since: began}
	}
	st, err := waitRun(ctx, sys.Env.Bus, rs.Run, progress)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(began)
	if progress != nil {
		// The report's own account of its final pass.
		for line := range strings.Lines(report.out.String()) {
			if strings.Contains(line, `"run over"`) {
				fmt.Fprint(progress, line)
			}
		}
	}

	cpu := cpuTime() - cpu0 + procCPU(report) - report0
	others := procCPU(nats) - nats0 + procCPU(sim) - sim0
	heap, rss := peak()
	if st.Scores != 2*n || st.Judgments != judged {
		b.Fatalf("incomplete: %+v", st)
	}
	rate := float64(n) / elapsed.Seconds()
	b.ReportMetric(rate, "samples/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "assay-cpu-ms/sample")
	b.ReportMetric(float64((cpu+others).Microseconds())/1000/float64(n), "total-cpu-ms/sample")
	b.ReportMetric(float64(heap)/(1<<20), "stages-peak-live-heap-MB")
	b.ReportMetric(float64(rss)/(1<<20), "stages-peak-rss-MB")
	b.ReportMetric(float64(procPeakRSS(report))/(1<<20), "report-peak-rss-MB")
	b.ReportMetric(float64(procPeakRSS(nats))/(1<<20), "nats-peak-rss-MB")
	if latency > 0 {
		limit := float64(concurrency) / latency.Seconds()
		b.ReportMetric(rate/limit, "ratio-to-limit")
	}
}

// elapsedWriter prefixes each write with the time since since.
type elapsedWriter struct {
	w     io.Writer
	since time.Time
}

func (e *elapsedWriter) Write(p []byte) (int, error) {
	if _, err := fmt.Fprintf(e.w, "%8.2fs %s", time.Since(e.since).Seconds(), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func waitHealthy(t testing.TB, url string) {
	t.Helper()
	bustest.Eventually(t, 3*time.Minute, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is a child's user and system CPU time so far, from /proc.
func procCPU(p *process) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz
}

// procPeakRSS is a child's peak resident memory (VmHWM), from /proc.
func procPeakRSS(p *process) uint64 { return procMemory(p, "VmHWM:") }

// procRSS is a child's resident memory now (VmRSS), from /proc.
func procRSS(p *process) uint64 { return procMemory(p, "VmRSS:") }

// procMemory reads one of a child's memory fields, in kB, from
// /proc/<pid>/status; 0 once it has exited.
func procMemory(p *process, field string) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// watchMemory samples the live Go heap and the resident set every 10ms until the
// returned function is called, which returns their peaks.
func watchMemory() func() (heap, rss uint64) {
	stop := make(chan struct{})
	var mu sync.Mutex
	var peakHeap, peakRSS uint64
	// Live heap as of the last GC: what is retained, not garbage awaiting
	// collection (which follows the allocation rate, not N).
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
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

// residentSet reads this process's resident memory from /proc.
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
