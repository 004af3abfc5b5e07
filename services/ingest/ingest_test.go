package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// questions writes a JSONL suite of n distinct questions, each a dozen
// words drawn at random (templated questions would make the near-duplicate
// filter's work the subject), with an exact duplicate of an earlier line
// every dupEvery lines (0: none).
func questions(n, dupEvery int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := make([]string, 2000)
	for i := range words {
		var w strings.Builder
		for range 3 + rng.IntN(6) {
			w.WriteByte(byte('a' + rng.IntN(26)))
		}
		words[i] = w.String()
	}
	var b bytes.Buffer
	var prompts []string
	for i := range n {
		var p string
		if dupEvery > 0 && i > 0 && i%dupEvery == 0 {
			p = prompts[rng.IntN(len(prompts))]
		} else {
			ws := make([]string, 12)
			for j := range ws {
				ws[j] = words[rng.IntN(len(words))]
			}
			p = strings.Join(ws, " ") + "?"
			prompts = append(prompts, p)
		}
		fmt.Fprintf(&b, "{\"id\": \"q%d\", \"prompt\": %q, \"reference\": \"%d\"}\n", i, p, i)
	}
	return b.Bytes()
}

// submitSuite uploads data as the run's one suite, math, and returns the
// run's spec.
func submitSuite(t *testing.T, b *bus.Bus, run, path string, data []byte, perturb ...string) *eval.RunSpec {
	t.Helper()
	obj, err := b.PutDataset(t.Context(), path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return &eval.RunSpec{Run: run, Baseline: "base",
		Variants: []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}},
		Suites:   []eval.Suite{{Name: "math", Path: path, Object: obj, Metrics: []string{"em"}, Perturbations: perturb}}}
}

// storedIDs reads the run's samples in the stream: their message ids, and
// how many messages there are.
func storedIDs(t *testing.T, b *bus.Bus, run string) (ids map[string]bool, total int) {
	t.Helper()
	info, err := b.Stream(bus.StreamSamples).Info(t.Context(), jetstream.WithSubjectFilter(bus.RunSamples(run)))
	if err != nil {
		t.Fatal(err)
	}
	if ids, err = b.SamplesSince(t.Context(), run, []string{"math"}, 0); err != nil {
		t.Fatal(err)
	}
	return ids, int(info.State.Msgs)
}

// TestIngestSuiteLargerThanTheClientTimeout: the client's default timeout
// (5 s) bounded a suite's whole streamed read, and suites that took
// longer to publish failed. Here the default is cut to 20 ms, and a suite
// that takes seconds to publish is ingested whole.
func TestIngestSuiteLargerThanTheClientTimeout(t *testing.T) {
	const n, dupEvery = 8000, 500
	s, b := newIntake(t)
	ctx := t.Context()
	spec := submitSuite(t, b, "big", "data/math.jsonl", questions(n, dupEvery))
	js, err := jetstream.New(b.NC, jetstream.WithDefaultTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if b.Datasets, err = js.ObjectStore(octx, bus.StoreDatasets); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	st, err := s.Ingest(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	dups := (n - 1) / dupEvery
	if ss := st.Suites["math"]; st.Samples != n-dups || ss.Duplicates != dups || ss.Malformed != 0 {
		t.Fatalf("ingested %d samples (%+v), want %d", st.Samples, ss, n-dups)
	}
	ids, total := storedIDs(t, b, "big")
	if total != n-dups || len(ids) != total {
		t.Errorf("the stream holds %d samples, %d distinct; want %d", total, len(ids), n-dups)
	}
	if p, err := b.IngestProgress(ctx, "big"); err != nil || p.Published["math"] != n-dups {
		t.Errorf("progress %+v, %v", p, err)
	}
	t.Logf("%d samples in %v, %.0f× the client's timeout", st.Samples, took.Round(time.Millisecond), took.Seconds()/0.02)
}

// fault is how one try of an ingest fails: once it has published after
// messages (0: never), as a lost connection would — what it sent before
// is stored, unacknowledged — or on its wait-th wait for acknowledgements
// (0: never), as a record of its progress would.
type fault struct{ after, wait int }

// countingBatch counts what it is asked to publish, by message id, and
// fails as its fault says.
type countingBatch struct {
	batch
	fault
	mu        *sync.Mutex
	published map[string]int
	n, waits  int
}

var errInjected = errors.New("injected: connection lost")

func (c *countingBatch) Publish(subject, msgID string, v any) error {
	if c.after > 0 && c.n >= c.after {
		return errInjected
	}
	c.n++
	c.mu.Lock()
	c.published[msgID]++
	c.mu.Unlock()
	return c.batch.Publish(subject, msgID, v)
}

func (c *countingBatch) Wait() error {
	if c.waits++; c.waits == c.wait {
		return errInjected
	}
	return c.batch.Wait()
}

// injectFailures makes the service's tries of an ingest fail as faults
// says, one fault a try, and counts every message any try publishes.
func injectFailures(s *Service, faults ...fault) (published map[string]int, tries func() int) {
	var mu sync.Mutex
	published = map[string]int{}
	try := 0
	newBatch := s.newBatch
	s.newBatch = func(ctx context.Context) batch {
		mu.Lock()
		defer mu.Unlock()
		c := &countingBatch{batch: newBatch(ctx), mu: &mu, published: published}
		if try < len(faults) {
			c.fault = faults[try]
		}
		try++
		return c
	}
	return published, func() int {
		mu.Lock()
		defer mu.Unlock()
		return try
	}
}

// runStage runs the service until the test ends.
func runStage(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestIngestResumes: an ingest that fails part way through is delivered
// again, and the retry publishes what the failed try did not, and nothing
// it did — neither what it recorded nor what it published after its last
// record. Each sample is published once, so it is answered once, whatever
// the stream's duplicate window.
func TestIngestResumes(t *testing.T) {
	// About 4,000 samples and as many robustness copies: progress is
	// recorded after 2,000 samples and at the end.
	const n, dupEvery = 4000, 300
	for _, c := range []struct {
		name   string
		faults []fault // one for each try that fails
	}{
		{"before the first record", []fault{{after: 1500}}},
		{"after a record", []fault{{after: 5000}}},
		{"twice", []fault{{after: 5000}, {after: 600}}},
		{"on the last record", []fault{{wait: 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, b := newIntake(t)
			published, tries := injectFailures(s, c.faults...)
			runStage(t, s)
			spec := submitSuite(t, b, "r", "data/math.jsonl", questions(n, dupEvery), "typos")
			if err := b.SubmitRun(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			var st *eval.IngestStatus
			bustest.Eventually(t, 60*time.Second, func() error {
				var err error
				st, err = b.Ingest(t.Context(), "r")
				return err
			})
			if got, want := tries(), len(c.faults)+1; got != want {
				t.Errorf("%d tries, want %d", got, want)
			}
			ss := st.Suites["math"]
			if kept := n - (n-1)/dupEvery; st.Samples != kept+ss.Perturbed || ss.Perturbed < kept/2 {
				t.Fatalf("ingest status: %d samples, %d of them robustness copies; want %d and their copies", st.Samples, ss.Perturbed, kept)
			}
			ids, total := storedIDs(t, b, "r")
			if total != st.Samples || len(ids) != total {
				t.Errorf("the stream holds %d samples, %d distinct; want %d", total, len(ids), st.Samples)
			}
			twice := 0
			for id, k := range published {
				if k != 1 {
					twice++
					if twice <= 3 {
						t.Errorf("%s published %d times", id, k)
					}
				}
			}
			if len(published) != st.Samples || twice > 0 {
				t.Errorf("%d samples published, %d of them more than once; want %d, each once", len(published), twice, st.Samples)
			}
			if dl := bustest.Stored[eval.DeadLetter](t, b, bus.StreamDLQ, bus.DLQSubject(bus.StageIngest, "r")); len(dl) != 0 {
				t.Errorf("dead letters %+v", dl)
			}
		})
	}
}

// TestIngestFailsForGood: a suite that cannot be read is a dead letter
// naming the run, the suite and the cause, and the run is never marked
// ingested.
func TestIngestFailsForGood(t *testing.T) {
	good := questions(3000, 0)
	var cut bytes.Buffer
	zw := gzip.NewWriter(&cut)
	zw.Write(good)
	zw.Close()
	truncated := cut.Bytes()[:cut.Len()/2]
	for _, c := range []struct {
		name, path string
		data       []byte
		object     string // instead of uploading data
		faults     []fault
		want       string
	}{
		{name: "truncated gzip", path: "data/math.jsonl.gz", data: truncated,
			want: "suite math: reading data/math.jsonl.gz at line "},
		{name: "not a CSV", path: "data/math.csv", data: []byte("prompt,prompt\na,b\n"),
			want: `suite math: data/math.csv:1: the header names "prompt" twice`},
		{name: "dataset missing", path: "data/math.jsonl", object: "sha256/0000",
			want: "suite math: reading data/math.jsonl: fetching dataset sha256/0000: nats: object not found: it was not uploaded"},
		{name: "publishing fails every time", path: "data/math.jsonl", data: good, faults: []fault{{after: 100}, {after: 100}, {after: 100}, {after: 100}, {after: 100}},
			want: "gave up after 5 deliveries: suite math: " + errInjected.Error()},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, b := newIntake(t)
			injectFailures(s, c.faults...)
			runStage(t, s)
			var spec *eval.RunSpec
			if c.object != "" {
				spec = submitSuite(t, b, "r", c.path, []byte("{}"))
				spec.Suites[0].Object = c.object
			} else {
				spec = submitSuite(t, b, "r", c.path, c.data)
			}
			if err := b.SubmitRun(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			var dl []eval.DeadLetter
			bustest.Eventually(t, 60*time.Second, func() error {
				dl = bustest.Stored[eval.DeadLetter](t, b, bus.StreamDLQ, bus.DLQSubject(bus.StageIngest, "r"))
				if len(dl) == 0 {
					return errors.New("no dead letter")
				}
				return nil
			})
			if len(dl) != 1 || dl[0].Run != "r" || dl[0].Suite != "math" || !strings.Contains(dl[0].Reason, c.want) {
				t.Fatalf("dead letters %+v, want one for run r, suite math: %q", dl, c.want)
			}
			t.Logf("reason: %s", dl[0].Reason)
			if st, err := b.Ingest(t.Context(), "r"); !errors.Is(err, bus.ErrNotFound) {
				t.Errorf("ingest status %+v, %v: want none", st, err)
			}
		})
	}
}
