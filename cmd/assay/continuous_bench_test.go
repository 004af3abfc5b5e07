package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/services/ingest"
	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/document"
)

// BenchmarkContinuous feeds production queries through the HTTP intake of
// one `assay up` (embedded NATS and every stage) running a continuous run
// of two variants with the pairwise judge, and reports the intake's
// queries/s, CPU per query, and the process's peak RSS with its RSS after
// each tenth of the queries.
//
// Each query carries its own timestamp, so that the queries span
// simulated weeks (ASSAY_BENCH_SPAN, default 4 weeks, in time order) in
// hourly windows, as a production system sending them over the weeks
// would, while the benchmark sends them as fast as the intake takes them.
// 5% are evaluated, as a sampled production run would. The default is
// 100,000 queries; ASSAY_BENCH_QUERIES=10000000 is the 10M run of issue
// 12 (about an hour and a half at the intake's pace on 2 shared cores).
// The benchmark ends when the report counts every sampled query scored
// and judged.
func BenchmarkContinuous(b *testing.B) {
	n, span := 100_000, 4*7*24*time.Hour
	if v := os.Getenv("ASSAY_BENCH_QUERIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("ASSAY_BENCH_QUERIES=%q: write a positive number of queries", v)
		}
	}
	if v := os.Getenv("ASSAY_BENCH_SPAN"); v != "" {
		var err error
		if span, err = time.ParseDuration(v); err != nil || span <= 0 {
			b.Fatalf("ASSAY_BENCH_SPAN=%q: write a positive duration such as 672h", v)
		}
	}
	b.Run(fmt.Sprintf("queries=%d/span=%v", n, span), func(b *testing.B) {
		for range b.N {
			continuousRun(b, n, span)
		}
	})
}

// continuousSampleRate is the share of production queries evaluated.
const continuousSampleRate = 0.05

func continuousRun(b *testing.B, n int, span time.Duration) {
	dir := b.TempDir()
	personasPath := writeBenchPersonas(b, dir)
	ports := freePorts(b, 3)
	simAddr, intakeAddr := "127.0.0.1:"+strconv.Itoa(ports[1]), "127.0.0.1:"+strconv.Itoa(ports[2])
	rs := writeSpec(b, dir, fmt.Sprintf(`run: prod-watch
baseline: base
variants:
  - {name: base, base_url: http://%[1]s/v1, model: s-base, concurrency: 64}
  - {name: ft,   base_url: http://%[1]s/v1, model: s-ft,   concurrency: 64}
decoding: {temperature: 0, max_tokens: 64}
continuous:
  sources: [chat, search]
  sample_rate: %[2]v
  window: 1h
  metrics: [refusal, length]
judges:
  - {name: judge, base_url: http://%[1]s/v1, model: s-judge, concurrency: 128}
`, simAddr, continuousSampleRate))

	sim := start(b, "assay", "sim", "--addr", simAddr, "--personas", personasPath, "--seed", "3")
	sim.name = "sim"
	waitHealthy(b, "http://"+simAddr+"/healthz")
	data := filepath.Join(dir, "nats")
	up := start(b, "assay", "up", "--data", data, "--port", strconv.Itoa(ports[0]), "--metrics-addr", "", "--log-level", "warn",
		"--endpoint-allow", "loopback", "--intake-addr", intakeAddr, "--intake-insecure", "--intake-rate", "-1")
	up.name = "assay-up"
	procs := []*process{up, sim}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute+time.Duration(n)*2*time.Millisecond)
	defer cancel()
	bb := dialBench(b, ctx, "nats://127.0.0.1:"+strconv.Itoa(ports[0]), natsembed.SeedFile(data, bus.IdentityAdmin))
	if err := submit(ctx, bb, rs, openFile); err != nil {
		b.Fatal(err)
	}

	feed := newQueryFeed(n, span)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: intakeProducers}, Timeout: time.Minute}
	url := "http://" + intakeAddr + "/v1/intake/"
	bustest.Eventually(b, 30*time.Second, func() error {
		_, err := client.Get(url)
		return err
	})

	cpu0 := procsCPU(procs)
	var sent, busy atomic.Int64
	watch := watchProcs(cancel, procs, func() int { return int(sent.Load()) }, n)
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, intakeProducers)
	for range intakeProducers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(feed.next.Add(1)) - 1
				if i >= n {
					return
				}
				src, body := feed.query(i)
				retries, err := sendQuery(ctx, client, url+src, body)
				busy.Add(int64(retries))
				if err != nil {
					errs <- fmt.Errorf("query %d: %w", i, err)
					cancel()
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	took := time.Since(began)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}

	want := feed.sampled()
	// Read once a second: the report is a large object to read.
	var rep document.Report
	for tick := time.NewTicker(time.Second); ; {
		raw, err := bus.ReadObject(ctx, bb.Reports, report.ReportObject(rs.Run, "report.json"))
		if err == nil {
			err = json.Unmarshal(raw, &rep)
		}
		if err == nil && rep.Progress.Scores == 2*want && rep.Progress.Judgments == want {
			tick.Stop()
			break
		}
		select {
		case <-ctx.Done():
			b.Fatalf("not all evaluated: progress %+v, want %d scores and %d judgments (%v)", rep.Progress, 2*want, want, err)
		case <-tick.C:
		}
	}
	evaluated := time.Since(began)
	curve := watch()
	if curve.over != "" {
		b.Fatalf("stopped: %s", curve.over)
	}
	cpu := procsCPU(procs)
	perQuery := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	upCPU, simCPU := cpu[0]-cpu0[0], cpu[1]-cpu0[1]
	b.ReportMetric(float64(n)/took.Seconds(), "queries/s")
	b.ReportMetric(float64(n)/evaluated.Seconds(), "evaluated-queries/s")
	b.ReportMetric(perQuery(upCPU), "assay-cpu-ms/query")
	b.ReportMetric(perQuery(upCPU+simCPU), "total-cpu-ms/query")
	b.ReportMetric(float64(procPeakRSS(up))/(1<<20), "assay-up-peak-rss-MB")
	b.ReportMetric(float64(curve.last().rss[0])/(1<<20), "assay-up-end-rss-MB")
	b.ReportMetric(float64(procPeakRSS(sim))/(1<<20), "sim-peak-rss-MB")
	b.Logf("continuous: %d queries over %v (%d windows of 1h), %d sampled and evaluated; intake %.0f queries/s (%d answered busy and sent again), all evaluated after %v; CPU %.3f ms/query assay, %.3f total; peak RSS assay-up %.0f MB, sim %.0f MB; load %s",
		n, span, len(rep.Windows), want, float64(n)/took.Seconds(), busy.Load(), evaluated.Round(time.Second), perQuery(upCPU), perQuery(upCPU+simCPU),
		float64(procPeakRSS(up))/(1<<20), float64(procPeakRSS(sim))/(1<<20), loadAverage())
	b.Logf("RSS (MB) by share of queries sent: %s; once all were evaluated: assay-up %.0f", curve, float64(curve.last().rss[0])/(1<<20))
}

// intakeProducers is how many queries are sent at once: the intake's
// default --intake-max-concurrent.
const intakeProducers = 16

// queryFeed makes production queries on demand, none held: query i is a
// dozen made-up words, from one of two sources, timestamped i/n of the way
// through span, which ends a minute ago, in a session of three queries.
type queryFeed struct {
	n     int
	t0    time.Time
	span  time.Duration
	words []string
	next  atomic.Int64
}

func newQueryFeed(n int, span time.Duration) *queryFeed {
	return &queryFeed{n: n, span: span, t0: time.Now().Add(-span - time.Minute).Truncate(time.Hour), words: madeUpWords(rand.New(rand.NewPCG(17, 19)))}
}

// text is query i's text: the same every time it is asked for.
func (f *queryFeed) text(i int) string {
	rng := rand.New(rand.NewPCG(uint64(i), 23))
	ws := make([]string, 12)
	for j := range ws {
		ws[j] = f.words[rng.IntN(len(f.words))]
	}
	return strings.Join(ws, " ") + "?"
}

// query is query i's source and intake body.
func (f *queryFeed) query(i int) (source string, body []byte) {
	source = "chat"
	if i%3 == 0 {
		source = "search"
	}
	at := f.t0.Add(time.Duration(float64(f.span) * float64(i) / float64(f.n)))
	body, _ = json.Marshal(eval.IntakeQuery{Query: f.text(i), Timestamp: at, Metadata: map[string]any{"session_id": "s" + strconv.Itoa(i/3), "tenant": "acme"}})
	return source, body
}

// sampled counts the queries the run evaluates, by the intake's own
// sampling. The texts are distinct (12 words of 5000 each), so none is a
// repeat within its window.
func (f *queryFeed) sampled() int {
	k := 0
	for i := range f.n {
		if ingest.Sampled(redacted(f.text(i)), continuousSampleRate) {
			k++
		}
	}
	return k
}

// sendQuery posts one query to the HTTP intake, sending it again while
// the intake answers that it is busy (503 with retry, or 429), and
// returns how many times it did.
func sendQuery(ctx context.Context, client *http.Client, url string, body []byte) (retries int, err error) {
	for backoff := time.Millisecond; ; backoff = min(2*backoff, 100*time.Millisecond) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return retries, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return retries, err
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
			return retries, nil
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			retries++
			select {
			case <-ctx.Done():
				return retries, ctx.Err()
			case <-time.After(backoff):
			}
		default:
			return retries, fmt.Errorf("intake answered %s: %s", resp.Status, reply)
		}
	}
}
