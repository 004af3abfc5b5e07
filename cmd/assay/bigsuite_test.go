package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// BenchmarkPipelineBigSuite runs one suite of 300,000 samples end to end,
// with the near-duplicate filter on, against two simulated models with no
// latency and no judge: the size at which ingest used to fail (it read
// the dataset within the client's default 5 s). Every sample must be
// ingested and answered exactly once by each model, by the simulator's
// count.
//
// NATS and the report stage are processes of their own, as in
// BenchmarkPipeline; ingest, infer and score run in the benchmark's
// process with the simulator, whose bookkeeping (every prompt's call
// count) is in the process's peak memory.
func BenchmarkPipelineBigSuite(b *testing.B) {
	const n = 300_000
	for range b.N {
		bigSuiteRun(b, n)
	}
}

func bigSuiteRun(b *testing.B, n int) {
	dir := b.TempDir()
	suitePath := filepath.Join(dir, "big.jsonl")
	prompts := make([]string, 0, n)
	writeBigSuite(b, suitePath, n, func(p string) { prompts = append(prompts, p) })

	key := llmsim.Key{}
	if err := addKey(key, suitePath); err != nil {
		b.Fatal(err)
	}
	sim := llmsim.New(llmsim.Options{Seed: 5, Key: key, Personas: []llmsim.Persona{
		{Name: "big-base", Accuracy: 0.6, Refusal: 0.02, Verbosity: 0.2},
		{Name: "big-ft", Accuracy: 0.7, Refusal: 0.02, Verbosity: 0.1},
	}})
	simSrv := httptest.NewServer(sim.Handler())
	defer simSrv.Close()

	pl := pipelineUp(b, dir, fmt.Sprintf(`run: bigsuite
baseline: base
variants:
  - {name: base, base_url: %[1]s/v1, model: big-base, concurrency: 64}
  - {name: ft,   base_url: %[1]s/v1, model: big-ft,   concurrency: 64}
decoding: {temperature: 0, max_tokens: 64}
suites:
  - {name: big, path: big.jsonl, metrics: [em, length]}
`, simSrv.URL), "ingest", "infer", "score")
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	rs, bb := pl.spec, pl.sys.Env.Bus

	peak := watchMemory()
	began := time.Now()
	if err := submit(ctx, bb, rs, openFile); err != nil {
		b.Fatal(err)
	}
	ingested := make(chan time.Duration, 1)
	go func() {
		for ctx.Err() == nil {
			if st, err := bb.Ingest(ctx, rs.Run); err == nil && st.Done {
				ingested <- time.Since(began)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	st, err := waitRun(ctx, bb, rs.Run, nil)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(began)
	heap, rss := peak()

	ist, err := bb.Ingest(ctx, rs.Run)
	if err != nil {
		b.Fatal(err)
	}
	if ss := ist.Suites["big"]; ist.Samples != n || ss.Duplicates != 0 || ss.Malformed != 0 {
		b.Fatalf("ingested %d samples of %d (%+v)", ist.Samples, n, ss)
	}
	if st.State != eval.StateComplete || st.Scores != 2*n {
		b.Fatalf("run %s with %d scores of %d: %s", st.State, st.Scores, 2*n, st.Error)
	}
	if dl := bustest.Stored[eval.DeadLetter](b, bb, bus.StreamDLQ, bus.RunDLQ(rs.Run)); len(dl) > 0 {
		b.Fatalf("%d dead letters, the first %+v", len(dl), dl[0])
	}
	// Every prompt answered once by each model: n calls each, and no
	// prompt twice.
	for _, model := range []string{"big-base", "big-ft"} {
		if c := sim.Calls(model); c != n {
			b.Errorf("%s: %d calls for %d samples", model, c, n)
		}
		twice := 0
		for _, p := range prompts {
			if sim.PromptCalls(model, p) != 1 {
				twice++
			}
		}
		if twice > 0 {
			b.Errorf("%s: %d prompts not answered exactly once", model, twice)
		}
	}
	b.ReportMetric(elapsed.Seconds(), "run-s")
	select {
	case d := <-ingested:
		b.ReportMetric(d.Seconds(), "ingest-s")
	default:
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "samples/s")
	b.ReportMetric(float64(heap)/(1<<20), "stages+sim-peak-live-heap-MB")
	b.ReportMetric(float64(rss)/(1<<20), "stages+sim-peak-rss-MB")
	b.ReportMetric(float64(procPeakRSS(pl.report))/(1<<20), "report-peak-rss-MB")
	b.ReportMetric(float64(procPeakRSS(pl.nats))/(1<<20), "nats-peak-rss-MB")
}

// pipeline is a benchmark's deployment: NATS (`assay up --services none`)
// and the report stage (`assay up --services report`) as processes of
// their own, the other stages in the benchmark's process.
type pipeline struct {
	nats, report *process
	sys          *system
	spec         *eval.RunSpec
}

// pipelineUp writes spec to dir/run.yaml, loads it, and starts a pipeline
// whose in-process stages are services; it stops with the benchmark.
func pipelineUp(b *testing.B, dir, spec string, services ...string) *pipeline {
	b.Helper()
	rs := writeSpec(b, dir, spec)
	natsPort := freePort(b)
	pl := &pipeline{spec: rs}
	pl.nats = start(b, "assay", "up", "--services", "none", "--data", filepath.Join(dir, "nats"),
		"--port", strconv.Itoa(natsPort), "--metrics-addr", "", "--log-level", "warn")
	url := "nats://127.0.0.1:" + strconv.Itoa(natsPort)
	bustest.Eventually(b, 30*time.Second, func() error {
		var err error
		pl.sys, err = startSystem(context.Background(), systemOptions{NATS: url, Client: bus.ClientConfig{NKey: natsembed.SeedFile(filepath.Join(dir, "nats"), bus.IdentityAdmin)}, Services: services})
		return err
	})
	b.Cleanup(func() { _ = pl.sys.Stop() })
	pl.report = start(b, "assay", "up", "--nats", url, "--nats-nkey", natsembed.SeedFile(filepath.Join(dir, "nats"), bus.StageReport), "--services", "report", "--metrics-addr", "", "--log-level", "warn")
	return pl
}

// writeBigSuite writes n distinct questions, each a dozen words drawn at
// random from a vocabulary of made-up words, streaming them to path, and
// hands each prompt to each when it is not nil. Templated questions ("What
// is 3 plus 4?") would measure the near-duplicate filter on its hardest
// input, which has a benchmark of its own.
func writeBigSuite(b *testing.B, path string, n int, each func(prompt string)) {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	words := madeUpWords(rng)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	ws := make([]string, 12)
	for i := range n {
		// 5000^12 questions: two alike among millions are as good as
		// impossible, and a run that met one would not complete with n
		// samples, so nothing is kept to check.
		for j := range ws {
			ws[j] = words[rng.IntN(len(words))]
		}
		p := strings.Join(ws, " ") + "?"
		if each != nil {
			each(p)
		}
		fmt.Fprintf(w, "{\"id\": \"q%d\", \"prompt\": %q, \"reference\": [%q, \"n/a\"]}\n", i, p, strconv.Itoa(i%97))
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		b.Fatal(err)
	}
}

// madeUpWords is a vocabulary of 5000 made-up words of 3 to 9 letters.
func madeUpWords(rng *rand.Rand) []string {
	words := make([]string, 5000)
	for i := range words {
		var w strings.Builder
		for range 3 + rng.IntN(7) {
			w.WriteByte(byte('a' + rng.IntN(26)))
		}
		words[i] = w.String()
	}
	return words
}
