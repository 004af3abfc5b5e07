package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llm"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/assay-eval/assay/services/infer"
	"github.com/assay-eval/assay/services/ingest"
	"github.com/assay-eval/assay/services/judge"
	"github.com/nats-io/nats.go/jetstream"
)

// TestClusterNodeFailure runs every stage against a three-node cluster
// that is still forming when they start, with replicated streams, and
// kills the node leading the LLM cache in the middle of the run, starting
// it again on its store once another node has taken over. The run must
// complete with the report of an uninterrupted run, and the endpoint must
// have been asked each distinct request once: nothing paid twice. The
// second case also makes some cache writes fail, some for longer than
// the ledger retries, as they did during a failover.
func TestClusterNodeFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster twice")
	}
	const run = "cluster"
	rf := newFixture(t, run, slowPersonas())
	rf.spec = loadClusterSpec(t, rf, run)
	refText := comparable(t, runInProcess(t, rf), rf)
	for _, tc := range []struct {
		name  string
		cache func(llm.Cache) llm.Cache
	}{
		{name: "node killed"},
		{name: "cache writes fail", cache: func(c llm.Cache) llm.Cache { return &failingWrites{Cache: c, puts: map[string]int{}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, run, slowPersonas())
			paid := servePaid(t, f)
			var logs syncBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			defer func() {
				if t.Failed() {
					t.Logf("stage logs (last 16 KB):\n%s", tail(logs.String(), 16<<10))
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()

			c := startTestCluster(t, "assay-chaos")
			started := time.Now()
			var caches []*failingWrites
			var mu sync.Mutex
			stop := startStages(t, c.urls, logger, func(cache llm.Cache) llm.Cache {
				if tc.cache == nil {
					return nil
				}
				w := tc.cache(cache)
				mu.Lock()
				caches = append(caches, w.(*failingWrites))
				mu.Unlock()
				return w
			})
			defer stop()
			if c.formed() {
				t.Log("JetStream had already elected its meta leader when the stages started")
			}
			b := clusterClient(t, ctx, c.urls, logger)
			t.Logf("cluster formed and client ready after %v", time.Since(started))
			// A cluster that has just formed may not answer every request
			// yet: the submission is retried as a user would.
			bustest.Eventually(t, time.Minute, func() error {
				err := submit(ctx, b, f.spec, openFile)
				if err != nil && !bus.Retryable(err) {
					t.Fatal(err)
				}
				return err
			})
			submitted := time.Now()

			total := len(f.spec.Variants) * len(f.samples)
			bustest.Eventually(t, 90*time.Second, func() error {
				if n := generations(t, b, run); n < total/3 {
					return fmt.Errorf("%d of %d generations", n, total)
				}
				return nil
			})
			t.Logf("%d of %d generations %v after submission", generations(t, b, run), total, time.Since(submitted))
			leader := c.leader(t, b, "KV_"+bus.BucketLLMCache)
			c.kill(leader)
			killed := time.Now()
			bustest.Eventually(t, 60*time.Second, func() error {
				if l := c.leaderName(b, "KV_"+bus.BucketLLMCache); l == "" || l == c.opts[leader].Name {
					return errors.New("no new leader of the LLM cache yet")
				}
				return nil
			})
			failover := time.Since(killed)
			c.restart(t, leader)
			t.Logf("killed the cache's leader %s after %d of %d generations; a new leader after %v",
				c.opts[leader].Name, generations(t, b, run), total, failover)

			waitComplete(t, b, run, 2*time.Minute)
			t.Logf("complete %v after the kill", time.Since(killed))
			rep, _, err := saveReport(ctx, b, run, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if got := comparable(t, rep, f); got != refText {
				t.Errorf("the report differs from an uninterrupted run's: %s", diffLines(refText, got))
			}
			paid.check(t)
			if tc.cache != nil {
				var failed, notStored int
				mu.Lock()
				for _, w := range caches {
					a, b := w.counts()
					failed, notStored = failed+a, notStored+b
				}
				mu.Unlock()
				t.Logf("%d cache writes failed, %d keys beyond the ledger's retries", failed, notStored)
				if notStored == 0 {
					t.Error("no cache write failed for longer than the ledger retries: the fault was not injected")
				}
			}
		})
	}
}

// clusterSpec is the harness's run made lighter for a replicated cluster
// on two busy cores: two variants and one judge (%[1]s the endpoint, %[2]s
// the run).
const clusterSpec = `run: %[2]s
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: t-base, concurrency: 8}
  - {name: ft,   base_url: %[1]s, model: t-ft,   concurrency: 8}
decoding: {temperature: 0, max_tokens: 256, seed: 1}
template: {system: "You are a helpful assistant."}
suites:
  - {name: business, role: business,   path: business.jsonl, metrics: [json_valid, json_schema, json_fields]}
  - {name: qa,       role: benchmark,  path: qa.jsonl,       metrics: [em, f1]}
  - {name: mc,       role: benchmark,  path: mc.jsonl,       metrics: [mc_acc]}
  - {name: math,     role: benchmark,  path: math.jsonl,     metrics: [num_match]}
  - {name: safety,   role: regression, path: safety.jsonl,   metrics: [safety, refusal]}
  - {name: writing,  role: regression, path: writing.jsonl,  metrics: [rougeL, length]}
  - {name: extra,    role: regression, path: extra.jsonl,    metrics: [em, f1]}
judges:
  - {name: judge-a, base_url: %[1]s, model: t-judge-a, concurrency: 8}
gate: {win_rate_min: 0.4, error_rate_max: 0.1}
`

// loadClusterSpec writes clusterSpec for run against f's endpoint into
// f's directory and loads it.
func loadClusterSpec(t *testing.T, f *fixture, run string) *eval.RunSpec {
	t.Helper()
	p := filepath.Join(f.dir, "cluster.yaml")
	if err := os.WriteFile(p, fmt.Appendf(nil, clusterSpec, f.url, run), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := eval.LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// paidCalls counts an endpoint's chat requests by their body: the same
// body twice is the same call paid twice.
type paidCalls struct {
	mu    sync.Mutex
	calls map[[32]byte]int
	first map[[32]byte]string
}

// servePaid serves f's simulator through a counter and points f's spec at
// it.
func servePaid(t *testing.T, f *fixture) *paidCalls {
	t.Helper()
	p := &paidCalls{calls: map[[32]byte]int{}, first: map[[32]byte]string{}}
	sim := f.sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			k := sha256.Sum256(body)
			p.mu.Lock()
			p.calls[k]++
			if _, ok := p.first[k]; !ok {
				p.first[k] = tail(string(body), 200)
			}
			p.mu.Unlock()
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/v1"
	f.spec = loadClusterSpec(t, f, f.spec.Run)
	return p
}

// check fails t for every request sent more than once.
func (p *paidCalls) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	twice := 0
	for k, n := range p.calls {
		if n > 1 {
			twice++
			if twice <= 5 {
				t.Errorf("a request was paid %d times: …%s", n, p.first[k])
			}
		}
	}
	if twice > 0 {
		t.Errorf("%d of %d distinct requests were paid more than once", twice, len(p.calls))
	}
	if len(p.calls) == 0 {
		t.Error("the endpoint was never called")
	}
	if twice == 0 {
		t.Logf("%d distinct requests, none paid twice", len(p.calls))
	}
}

// failingWrites is the bus's LLM cache whose first writes of a third of
// the keys fail, between one and nine times: some are stored by the
// ledger's retries, others only when their message comes back.
type failingWrites struct {
	llm.Cache
	mu             sync.Mutex
	puts           map[string]int
	failed, beyond int
}

func (c *failingWrites) Put(ctx context.Context, key string, val []byte) error {
	h := fnv.New32a()
	h.Write([]byte(key))
	sum := h.Sum32()
	if sum%3 == 0 {
		fails := 1 + int(sum/3%9)
		c.mu.Lock()
		c.puts[key]++
		n := c.puts[key]
		if n <= fails {
			c.failed++
			// The client and the ledger try four times each.
			if n == 8 {
				c.beyond++
			}
			c.mu.Unlock()
			return errors.New("nats: timeout (injected: the cache's leader is changing)")
		}
		c.mu.Unlock()
	}
	return c.Cache.Put(ctx, key, val)
}

func (c *failingWrites) counts() (failed, beyond int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed, c.beyond
}

// testCluster is three embedded nodes on loopback with stores in a test
// directory, which can be killed and started again on their stores.
type testCluster struct {
	opts  []natsembed.Options
	mu    sync.Mutex
	nodes []*natsembed.Server
	urls  string
}

// startTestCluster starts the nodes and returns as soon as they listen,
// before they have formed a JetStream cluster.
func startTestCluster(t *testing.T, name string) *testCluster {
	t.Helper()
	const n = 3
	ports := freePorts(t, 2*n)
	var routes, urls []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[n+i]))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	dir := t.TempDir()
	c := &testCluster{urls: strings.Join(urls, ","), nodes: make([]*natsembed.Server, n)}
	for i := range n {
		c.opts = append(c.opts, natsembed.Options{Dir: filepath.Join(dir, fmt.Sprint(i)), Name: fmt.Sprintf("%s-%d", name, i), Port: ports[i],
			Cluster: &natsembed.ClusterOptions{Name: name, Host: "127.0.0.1", Port: ports[n+i], Routes: routes}})
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.nodes {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	for i := range n {
		c.restart(t, i)
	}
	return c
}

// formed reports whether a node leads JetStream's meta group already.
func (c *testCluster) formed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.nodes {
		if s != nil && s.JetStreamIsLeader() {
			return true
		}
	}
	return false
}

func (c *testCluster) kill(i int) {
	c.mu.Lock()
	s := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	s.Shutdown()
}

func (c *testCluster) restart(t *testing.T, i int) {
	t.Helper()
	s, err := natsembed.Start(c.opts[i])
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.nodes[i] = s
	c.mu.Unlock()
}

// leaderName is the name of the node leading stream, or "" while it has
// none or does not answer.
func (c *testCluster) leaderName(b *bus.Bus, stream string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := b.JS.Stream(ctx, stream)
	if err != nil {
		return ""
	}
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// leader is the index of the node leading stream.
func (c *testCluster) leader(t *testing.T, b *bus.Bus, stream string) int {
	t.Helper()
	var idx int
	bustest.Eventually(t, 30*time.Second, func() error {
		name := c.leaderName(b, stream)
		for i, o := range c.opts {
			if o.Name == name {
				idx = i
				return nil
			}
		}
		return fmt.Errorf("%s has no leader yet", stream)
	})
	return idx
}

// startStages starts every stage at once, each with its own connection
// to urls, as `assay up --nats URLs` or separate services do, waiting for
// the cluster to form with replicas 3. cache, when it returns non-nil,
// is the LLM cache of infer and judge given the bus's. The returned
// function stops them and fails t on a stage's error. The stages' context
// has no deadline, as in a service: their requests then time out as the
// client's defaults say, rather than wait for the test's deadline.
func startStages(t *testing.T, urls string, logger *slog.Logger, cache func(llm.Cache) llm.Cache) (stop func()) {
	t.Helper()
	sctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, name := range allServices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := runStage(sctx, name, urls, logger.With("service", name), cache)
			if err != nil && sctx.Err() == nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
				logger.Error("stage stopped", "service", name, "err", err)
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Errorf("a stage stopped: %v", err)
		}
	}
}

func runStage(ctx context.Context, name, urls string, logger *slog.Logger, cache func(llm.Cache) llm.Cache) error {
	nc, err := bus.Connect(ctx, bus.ClientConfig{URL: urls, Name: "assay-" + name, Wait: 2 * time.Minute}, logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := bus.Open(ctx, nc, bus.Options{Replicas: 3, Wait: 2 * time.Minute, Logger: logger})
	if err != nil {
		return err
	}
	env := &stage.Env{Bus: b, Logger: logger, Registry: obs.NewRegistry()}
	c := cache(b.LLMCache())
	switch name {
	case bus.StageIngest:
		return ingest.New(ingest.Config{}, env).Run(ctx)
	case bus.StageInfer:
		return infer.New(infer.Config{Cache: c}, env).Run(ctx)
	case bus.StageJudge:
		return judge.New(judge.Config{Cache: c}, env).Run(ctx)
	}
	return serviceRunner(name, env)(ctx)
}

// clusterClient is the test's own connection, opening the bus with the
// stages' replicas.
func clusterClient(t *testing.T, ctx context.Context, urls string, logger *slog.Logger) *bus.Bus {
	t.Helper()
	nc, err := bus.Connect(ctx, bus.ClientConfig{URL: urls, Name: "test", Wait: 2 * time.Minute}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, err := bus.Open(ctx, nc, bus.Options{Replicas: 3, Wait: 2 * time.Minute, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// generations counts the run's published generations, 0 when the cluster
// does not answer in time.
func generations(t *testing.T, b *bus.Bus, run string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := b.Stream(bus.StreamGens).Info(ctx, jetstream.WithSubjectFilter(bus.RunGens(run)))
	if err != nil {
		return 0
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return int(n)
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
