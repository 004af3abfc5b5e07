package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// BenchmarkScale runs N samples × 2 variants (base, ft) against the
// simulator at zero latency, without a judge and with the pairwise judge in
// both orders, and reports throughput, CPU per sample and the peak resident
// memory of every process, to show how memory grows with N.
//
// Every part is a process of its own, so that each one's memory is its
// own VmHWM:
//
//   - layout=inprocess: one `assay up` with the embedded NATS server and
//     every stage, as a single machine runs assay, and `assay sim`;
//   - layout=deployment: NATS (`assay up --services none`), the stages
//     (`assay up --nats … --services ingest,infer,score,judge`), the report
//     (`assay up --nats … --services report`) and `assay sim`.
//
// The benchmark's own process only writes the suite (streamed to disk),
// submits the run and watches. assay-cpu counts every assay process, the
// NATS server included (the in-process layout cannot tell them apart);
// total-cpu adds the simulator's. assay-peak-rss-MB is the sum of the
// assay processes' peaks, NATS included: in the in-process layout, the
// figure issue 12's bound for the "whole in-process system" is about. A
// run whose process passes [scaleRSSLimit] is stopped and fails with the
// figure.
//
// Select one case with e.g. -bench 'Scale/layout=inprocess/judge=yes/n=100000$'.
// The 1M cases take tens of minutes each: give go test a -timeout of hours.
func BenchmarkScale(b *testing.B) {
	for _, layout := range []string{"inprocess", "deployment"} {
		for _, judge := range []bool{false, true} {
			for _, n := range []int{10_000, 100_000, 1_000_000} {
				name := fmt.Sprintf("layout=%s/judge=%s/n=%d", layout, map[bool]string{false: "no", true: "yes"}[judge], n)
				b.Run(name, func(b *testing.B) {
					for range b.N {
						scaleRun(b, layout, judge, n)
					}
				})
			}
		}
	}
}

// scaleRSSLimit stops a run whose process grows past it: the machine has
// 24 GiB, shared.
const scaleRSSLimit = 12 << 30

func scaleRun(b *testing.B, layout string, judge bool, n int) {
	dir := b.TempDir()
	suitePath := filepath.Join(dir, "scale.jsonl")
	writeBigSuite(b, suitePath, n, nil)
	personasPath := writeBenchPersonas(b, dir)
	ports := freePorts(b, 2)
	simAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	judges := ""
	if judge {
		judges = fmt.Sprintf("judges:\n  - {name: judge, base_url: http://%s/v1, model: s-judge, concurrency: 128}\n", simAddr)
	}
	rs := writeSpec(b, dir, fmt.Sprintf(`run: scale
baseline: base
variants:
  - {name: base, base_url: http://%[1]s/v1, model: s-base, concurrency: 64}
  - {name: ft,   base_url: http://%[1]s/v1, model: s-ft,   concurrency: 64}
decoding: {temperature: 0, max_tokens: 64}
suites:
  - {name: scale, path: scale.jsonl, metrics: [em, f1, refusal, length]}
%[2]s`, simAddr, judges))

	sim := start(b, "assay", "sim", "--addr", simAddr, "--personas", personasPath, "--suite", suitePath, "--seed", "3")
	waitHealthy(b, "http://"+simAddr+"/healthz")
	data := filepath.Join(dir, "nats")
	url := "nats://127.0.0.1:" + strconv.Itoa(ports[0])
	// The stages call the simulator on loopback, which a server refuses
	// unless allowed.
	quiet := []string{"--metrics-addr", "", "--log-level", "warn", "--endpoint-allow", "loopback"}
	var procs []*process // the assay processes
	switch layout {
	case "inprocess":
		procs = append(procs, start(b, "assay", append([]string{"up", "--data", data, "--port", strconv.Itoa(ports[0])}, quiet...)...))
		procs[0].name = "assay-up"
	case "deployment":
		nats := start(b, "assay", append([]string{"up", "--services", "none", "--data", data, "--port", strconv.Itoa(ports[0])}, quiet...)...)
		nats.name = "nats"
		// The stages wait for the server to have made the nkeys.
		bustest.Eventually(b, 30*time.Second, func() error {
			_, err := os.Stat(natsembed.SeedFile(data, bus.StageReport))
			return err
		})
		stages := start(b, "assay", append([]string{"up", "--nats", url, "--nats-nkey", natsembed.SeedFile(data, bus.IdentityAdmin),
			"--services", "ingest,infer,score,judge"}, quiet...)...)
		stages.name = "stages"
		report := start(b, "assay", append([]string{"up", "--nats", url, "--nats-nkey", natsembed.SeedFile(data, bus.StageReport),
			"--services", "report"}, quiet...)...)
		report.name = "report"
		procs = append(procs, nats, stages, report)
	}
	sim.name = "sim"
	all := append(slices.Clone(procs), sim)

	// 100 samples/s at least: a 1M run with the judge on 2 busy cores
	// takes over two hours.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute+time.Duration(n)*10*time.Millisecond)
	defer cancel()
	bb := dialBench(b, ctx, url, natsembed.SeedFile(data, bus.IdentityAdmin))

	cpu0 := procsCPU(all)
	began := time.Now()
	if err := submit(ctx, bb, rs, openFile); err != nil {
		b.Fatal(err)
	}
	watch := watchProcs(cancel, all, func() int {
		if st, err := bb.Status(ctx, rs.Run); err == nil {
			return st.Scores
		}
		return 0
	}, 2*n)
	st, err := waitRun(ctx, bb, rs.Run, nil)
	elapsed := time.Since(began)
	curve := watch()
	if over := curve.over; over != "" {
		b.Fatalf("stopped: %s (at %d of %d scores, after %v)", over, curve.last().done, 2*n, elapsed.Round(time.Second))
	}
	if err != nil {
		b.Fatal(err)
	}
	cpu := procsCPU(all)
	for i := range cpu {
		cpu[i] -= cpu0[i]
	}
	wantJudgments := 0
	if judge {
		wantJudgments = n
	}
	if st.State != eval.StateComplete || st.Scores != 2*n || st.Judgments != wantJudgments {
		b.Fatalf("run %s with %d scores of %d and %d judgments of %d: %s", st.State, st.Scores, 2*n, st.Judgments, wantJudgments, st.Error)
	}

	var assayCPU, totalCPU time.Duration
	var assayRSS uint64
	var peaks []string
	for i, p := range all {
		totalCPU += cpu[i]
		rss := procPeakRSS(p)
		if p != sim {
			assayCPU += cpu[i]
			assayRSS += rss
		}
		b.ReportMetric(float64(rss)/(1<<20), p.name+"-peak-rss-MB")
		peaks = append(peaks, fmt.Sprintf("%s %.0f MB", p.name, float64(rss)/(1<<20)))
	}
	rate := float64(n) / elapsed.Seconds()
	perSample := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	b.ReportMetric(rate, "samples/s")
	b.ReportMetric(perSample(assayCPU), "assay-cpu-ms/sample")
	b.ReportMetric(perSample(totalCPU), "total-cpu-ms/sample")
	b.ReportMetric(float64(assayRSS)/(1<<20), "assay-peak-rss-MB")
	b.Logf("scale layout=%s judge=%v n=%d: %.0f samples/s in %v; CPU %.3f ms/sample assay, %.3f total; peak RSS %s; assay sum %.0f MB; load %s",
		layout, judge, n, rate, elapsed.Round(time.Second), perSample(assayCPU), perSample(totalCPU), strings.Join(peaks, ", "), float64(assayRSS)/(1<<20), loadAverage())
	b.Logf("RSS (MB) by share of scores done: %s", curve)
}

// writeBenchPersonas writes the simulator's personas for the scale
// benchmarks to dir and returns the file's path: s-base and s-ft answer,
// s-judge judges, all at once.
func writeBenchPersonas(b *testing.B, dir string) string {
	b.Helper()
	path := filepath.Join(dir, "personas.yaml")
	if err := os.WriteFile(path, []byte(`- {name: s-base, accuracy: 0.6, refusal: 0.03, verbosity: 0.2}
- {name: s-ft, accuracy: 0.7, refusal: 0.06, verbosity: 0.1}
- {name: s-judge, judge: true, position_bias: 0.1}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// writeSpec writes spec to dir/run.yaml and loads it.
func writeSpec(b *testing.B, dir, spec string) *eval.RunSpec {
	b.Helper()
	specPath := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		b.Fatal(err)
	}
	rs, err := eval.LoadSpec(specPath)
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

// dialBench connects to the NATS server at url as the identity whose seed
// is in nkey, once the server answers; the connection ends with b.
func dialBench(b *testing.B, ctx context.Context, url, nkey string) *bus.Bus {
	b.Helper()
	var bb *bus.Bus
	bustest.Eventually(b, 60*time.Second, func() error {
		nc, err := bus.Connect(ctx, bus.ClientConfig{URL: url, NKey: nkey, Name: "bench"}, discardLogger())
		if err != nil {
			return err
		}
		if bb, err = bus.Open(ctx, nc, bus.Options{}); err != nil {
			nc.Close()
		}
		return err
	})
	b.Cleanup(func() { bb.NC.Close() })
	return bb
}

func procsCPU(ps []*process) []time.Duration {
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		out[i] = procCPU(p)
	}
	return out
}

// rssPoint is the resident memory of every watched process at one time.
type rssPoint struct {
	at   time.Duration
	done int
	rss  []uint64
}

// rssCurve is what watchProcs saw: a point a second, the processes'
// names, and why it stopped the run, if it did.
type rssCurve struct {
	names  []string
	points []rssPoint
	total  int // the progress of a complete run
	over   string
}

func (c *rssCurve) last() rssPoint {
	if len(c.points) == 0 {
		return rssPoint{}
	}
	return c.points[len(c.points)-1]
}

// String gives the processes' RSS (MB) at each tenth of the progress: the
// first point at or past 10%, 20%, … 100%.
func (c *rssCurve) String() string {
	var s strings.Builder
	next := 1
	for _, p := range c.points {
		if p.done*10 < next*c.total {
			continue
		}
		fmt.Fprintf(&s, "; %d%% %v:", next*10, p.at.Round(time.Second))
		for i, r := range p.rss {
			fmt.Fprintf(&s, " %s %.0f", c.names[i], float64(r)/(1<<20))
		}
		for next*c.total <= p.done*10 {
			next++
		}
	}
	// A peak between two tenths (ingest reading a suite, the report's
	// last pass) shows only here.
	for i, name := range c.names {
		var top rssPoint
		for _, p := range c.points {
			if p.rss[i] > top.rss0(i) {
				top = p
			}
		}
		if top.rss != nil {
			fmt.Fprintf(&s, "; largest %s %.0f at %d%% (%v)", name, float64(top.rss[i])/(1<<20), top.done*100/max(c.total, 1), top.at.Round(time.Second))
		}
	}
	return strings.TrimPrefix(s.String(), "; ")
}

// rss0 is the i-th process's RSS, 0 for a point not taken.
func (p rssPoint) rss0(i int) uint64 {
	if p.rss == nil {
		return 0
	}
	return p.rss[i]
}

// watchProcs samples the processes' resident memory and the progress
// (done, of total) every second until the returned function is called. A
// process past scaleRSSLimit calls cancel.
func watchProcs(cancel context.CancelFunc, ps []*process, done func() int, total int) func() *rssCurve {
	c := &rssCurve{total: total}
	for _, p := range ps {
		c.names = append(c.names, p.name)
	}
	var mu sync.Mutex
	began := time.Now()
	sample := func() {
		pt := rssPoint{at: time.Since(began), done: done()}
		for _, p := range ps {
			r := procRSS(p)
			pt.rss = append(pt.rss, r)
			if r > scaleRSSLimit {
				mu.Lock()
				if c.over == "" {
					c.over = fmt.Sprintf("%s at %.1f GB of RSS, past the benchmark's limit of %d GB", p.name, float64(r)/(1<<30), scaleRSSLimit>>30)
				}
				mu.Unlock()
				cancel()
			}
		}
		mu.Lock()
		c.points = append(c.points, pt)
		mu.Unlock()
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() *rssCurve {
		close(stop)
		<-stopped
		sample()
		mu.Lock()
		defer mu.Unlock()
		return c
	}
}

// loadAverage is the machine's load over the last 1, 5 and 15 minutes, to
// go with a figure measured on shared cores.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
