package bus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/natsembed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestOpenIsIdempotent(t *testing.T) {
	s := bustest.Server(t)
	b1 := bustest.Open(t, s)
	b2 := bustest.Open(t, s)
	for _, b := range []*bus.Bus{b1, b2} {
		for name := range bus.StreamSubjects {
			if b.Stream(name) == nil {
				t.Fatalf("stream %s missing", name)
			}
		}
	}
	// The judge's join reads must not be served by a lagging replica.
	st, err := b2.JS.Stream(t.Context(), "KV_"+bus.BucketPairs)
	if err != nil {
		t.Fatal(err)
	}
	if st.CachedInfo().Config.AllowDirect {
		t.Fatal("assay_pairs allows direct gets after a second Open")
	}
}

type payload struct {
	N int `json:"n"`
}

func consumer(t *testing.T, b *bus.Bus, name string, cfg jetstream.ConsumerConfig) jetstream.Consumer {
	t.Helper()
	cfg.Durable = name
	cfg.FilterSubject = bus.RunSamples(name)
	c, err := b.EnsureConsumer(t.Context(), bus.StreamSamples, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// consume runs Consume in the background until the test ends.
func consume(t *testing.T, b *bus.Bus, c jetstream.Consumer, h bus.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.Consume(ctx, c, h, bus.ConsumeOptions{Stage: "test", Workers: 4}); err != nil {
			t.Errorf("consume: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func publish(t *testing.T, b *bus.Bus, run string, n int) {
	t.Helper()
	for i := range n {
		if _, err := b.Publish(t.Context(), bus.SamplesSubject(run, "s"), fmt.Sprintf("%s-%d", run, i), payload{N: i}); err != nil {
			t.Fatal(err)
		}
	}
}

func deadLetters(t *testing.T, b *bus.Bus) []eval.DeadLetter {
	return bustest.Stored[eval.DeadLetter](t, b, bus.StreamDLQ)
}

func TestConsumeAcksHandledMessages(t *testing.T) {
	b := bustest.New(t)
	c := consumer(t, b, "ok", jetstream.ConsumerConfig{})
	var seen sync.Map
	var calls atomic.Int32
	consume(t, b, c, func(_ context.Context, m *bus.Msg) error {
		var p payload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			return err
		}
		seen.Store(p.N, true)
		calls.Add(1)
		return nil
	})
	publish(t, b, "ok", 50)
	bustest.Eventually(t, 10*time.Second, func() error {
		info, err := c.Info(t.Context())
		if err != nil {
			return err
		}
		if info.AckFloor.Stream < 50 || info.NumAckPending != 0 {
			return fmt.Errorf("ack floor %d, pending %d", info.AckFloor.Stream, info.NumAckPending)
		}
		return nil
	})
	if calls.Load() != 50 {
		t.Fatalf("handler ran %d times for 50 messages", calls.Load())
	}
}

func TestConsumeRetriesTransientFailures(t *testing.T) {
	b := bustest.New(t)
	c := consumer(t, b, "flaky", jetstream.ConsumerConfig{})
	var calls atomic.Int32
	consume(t, b, c, func(_ context.Context, m *bus.Msg) error {
		if calls.Add(1) == 1 {
			return bus.Transient(errors.New("HTTP 503"), 20*time.Millisecond)
		}
		if m.Meta.NumDelivered != 2 {
			t.Errorf("second call saw delivery %d", m.Meta.NumDelivered)
		}
		return nil
	})
	publish(t, b, "flaky", 1)
	bustest.Eventually(t, 10*time.Second, func() error {
		if n := calls.Load(); n != 2 {
			return fmt.Errorf("%d calls", n)
		}
		return nil
	})
	if dl := deadLetters(t, b); len(dl) != 0 {
		t.Fatalf("unexpected dead letters: %+v", dl)
	}
}

func TestConsumeDeadLettersPoison(t *testing.T) {
	b := bustest.New(t)
	c := consumer(t, b, "poison", jetstream.ConsumerConfig{})
	var calls atomic.Int32
	consume(t, b, c, func(_ context.Context, m *bus.Msg) error {
		calls.Add(1)
		return bus.Poisonf(bus.Keys{Run: "poison", Suite: "s", Sample: "x", Variant: "ft"}, "does not decode")
	})
	publish(t, b, "poison", 1)
	var dl []eval.DeadLetter
	bustest.Eventually(t, 10*time.Second, func() error {
		if dl = deadLetters(t, b); len(dl) != 1 {
			return fmt.Errorf("%d dead letters", len(dl))
		}
		return nil
	})
	d := dl[0]
	if d.Stage != "test" || d.Run != "poison" || d.Sample != "x" || d.Variant != "ft" || d.Suite != "s" || !strings.Contains(d.Reason, "does not decode") || d.Data != `{"n":0}` {
		t.Fatalf("dead letter = %+v", d)
	}
	time.Sleep(300 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("a terminated message was handled %d times", n)
	}
}

func TestConsumeGivesUpAfterMaxDeliver(t *testing.T) {
	b := bustest.New(t)
	c := consumer(t, b, "stuck", jetstream.ConsumerConfig{MaxDeliver: 3})
	var calls atomic.Int32
	consume(t, b, c, func(_ context.Context, m *bus.Msg) error {
		calls.Add(1)
		return bus.Transient(errors.New("still failing"), time.Millisecond)
	})
	publish(t, b, "stuck", 1)
	bustest.Eventually(t, 10*time.Second, func() error {
		dl := deadLetters(t, b)
		if len(dl) != 1 {
			return fmt.Errorf("%d dead letters", len(dl))
		}
		if !strings.Contains(dl[0].Reason, "gave up after 3 deliveries: still failing") {
			return fmt.Errorf("reason %q", dl[0].Reason)
		}
		return nil
	})
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times with MaxDeliver 3", n)
	}
}

func TestConsumeKeepsSlowMessagesInProgress(t *testing.T) {
	b := bustest.New(t)
	c := consumer(t, b, "slow", jetstream.ConsumerConfig{AckWait: 600 * time.Millisecond})
	var calls atomic.Int32
	consume(t, b, c, func(ctx context.Context, m *bus.Msg) error {
		calls.Add(1)
		time.Sleep(2 * time.Second) // three ack waits: only heartbeats keep it ours
		return nil
	})
	publish(t, b, "slow", 1)
	bustest.Eventually(t, 10*time.Second, func() error {
		info, err := c.Info(t.Context())
		if err != nil {
			return err
		}
		if info.AckFloor.Stream != 1 {
			return fmt.Errorf("not acked yet")
		}
		return nil
	})
	if n := calls.Load(); n != 1 {
		t.Fatalf("a slow message was redelivered: %d calls", n)
	}
}

func TestLargePayloadTravelsByReference(t *testing.T) {
	b := bustest.New(t)
	big := bytes.Repeat([]byte("x"), 9<<20) // over the server's 8 MiB max payload
	data, _ := json.Marshal(map[string]string{"text": string(big)})
	ack, err := b.PublishData(t.Context(), bus.SamplesSubject("big", "s"), "big-1", data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.GetMsg(t.Context(), bus.StreamSamples, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("payload of %d bytes came back as %d bytes", len(data), len(got))
	}
	m, err := b.Stream(bus.StreamSamples).GetMsg(t.Context(), ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(bus.RefHeader) == "" || len(m.Data) != 0 {
		t.Fatal("the stored message carries the payload instead of a reference")
	}
}

func TestBatchPublishesOncePerMsgID(t *testing.T) {
	b := bustest.New(t)
	bt := b.NewBatch(t.Context())
	for i := range 600 {
		// Every message twice: the server keeps one per Nats-Msg-Id.
		for range 2 {
			if err := bt.Publish(bus.SamplesSubject("batch", "s"), fmt.Sprint(i), payload{N: i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := bt.Wait(); err != nil {
		t.Fatal(err)
	}
	info, err := b.Stream(bus.StreamSamples).Info(t.Context(), jetstream.WithSubjectFilter(bus.RunSamples("batch")))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 600 {
		t.Fatalf("stream holds %d messages, want 600", info.State.Msgs)
	}
}

func spec(run string) *eval.RunSpec {
	return &eval.RunSpec{Run: run, Baseline: "base",
		Variants: []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}},
		Suites:   []eval.Suite{{Name: "s", Path: "s.jsonl", Metrics: []string{"em"}, Object: "sha256/1"}}}
}

func TestSubmitRun(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	_, updates, err := b.WatchRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SubmitRun(ctx, spec("r1")); err != nil {
		t.Fatal(err)
	}
	// The same spec again is a no-op.
	if err := b.SubmitRun(ctx, spec("r1")); err != nil {
		t.Fatalf("resubmitting the same spec: %v", err)
	}
	other := spec("r1")
	other.Variants[0].Model = "other"
	if err := b.SubmitRun(ctx, other); !errors.Is(err, bus.ErrRunExists) {
		t.Fatalf("a different spec under the same name: got %v, want ErrRunExists", err)
	}
	got, err := b.Spec(ctx, "r1")
	if err != nil || got.Variants[0].Model != "m" {
		t.Fatalf("stored spec = %+v, %v", got, err)
	}
	// An endpoint that moved and a stricter gate resume the run with the
	// new values.
	moved := spec("r1")
	moved.Variants[0].BaseURL = "http://y/v1"
	minWin := 0.9
	moved.Gate.WinRateMin = &minWin
	if err := b.SubmitRun(ctx, moved); err != nil {
		t.Fatalf("resubmitting with a new endpoint: %v", err)
	}
	got, err = b.Spec(ctx, "r1")
	if err != nil || got.Variants[0].BaseURL != "http://y/v1" || got.Gate.WinRateMin == nil || *got.Gate.WinRateMin != 0.9 {
		t.Fatalf("stored spec after the resubmit = %+v, %v", got, err)
	}
	st, err := b.Status(ctx, "r1")
	if err != nil || st.State != eval.StateRunning {
		t.Fatalf("status = %+v, %v", st, err)
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case u := <-updates:
			if u.Run == "r1" && u.Spec != nil && u.Status != nil {
				return
			}
		case <-timeout:
			t.Fatal("the watch did not see the run")
		}
	}
}

// TestConsumeOutlivesAServerRestart stops the NATS server under a running
// consumer and starts it again on the same store and port: the consumer
// must resume and handle what is published afterwards.
func TestConsumeOutlivesAServerRestart(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv, err := natsembed.Start(natsembed.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b, err := bus.Open(t.Context(), nc, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := consumer(t, b, "restart", jetstream.ConsumerConfig{})
	var seen sync.Map
	consume(t, b, c, func(_ context.Context, m *bus.Msg) error {
		var p payload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			return err
		}
		seen.Store(p.N, true)
		return nil
	})
	publish(t, b, "restart", 5)
	srv.Shutdown()
	time.Sleep(300 * time.Millisecond)
	srv, err = natsembed.Start(natsembed.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	bustest.Eventually(t, 20*time.Second, func() error {
		if !nc.IsConnected() {
			return errors.New("not reconnected")
		}
		_, err := b.Publish(t.Context(), bus.SamplesSubject("restart", "s"), "after", payload{N: 99})
		return err
	})
	bustest.Eventually(t, 30*time.Second, func() error {
		for _, n := range []int{0, 1, 2, 3, 4, 99} {
			if _, ok := seen.Load(n); !ok {
				return fmt.Errorf("message %d not handled", n)
			}
		}
		return nil
	})
}

// TestOpenKeepsReplicas opens the bus on a cluster with three replicas, then
// again as a client would, without saying: nothing may be scaled down.
func TestOpenKeepsReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	c, err := natsembed.StartCluster("assay-open", 3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := bus.Open(ctx, nc, bus.Options{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(ctx, nc, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{bus.StreamGens, "KV_" + bus.BucketRuns, "KV_" + bus.BucketLLMCache, "KV_" + bus.BucketPairs, "OBJ_" + bus.StoreReports} {
		s, err := b.JS.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := s.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("%s has %d replicas after a second Open, want 3", name, r)
		}
	}
}

// TestReplicasHandleEachMessageOnce runs two replicas of a consumer whose
// handlers take longer than the ack wait: messages are pulled only for idle
// workers and kept in progress while handled, so none is handled twice.
func TestReplicasHandleEachMessageOnce(t *testing.T) {
	b := bustest.New(t)
	// The ack wait leaves the heartbeat (every third of it) a second of
	// slack: on two busy cores a timer can be late by hundreds of
	// milliseconds, which is not what this test is about.
	c := consumer(t, b, "slowreplicas", jetstream.ConsumerConfig{AckWait: 1500 * time.Millisecond})
	var mu sync.Mutex
	handled := map[uint64]int{}
	for range 2 {
		consume(t, b, c, func(_ context.Context, m *bus.Msg) error {
			mu.Lock()
			handled[m.Seq()]++
			mu.Unlock()
			time.Sleep(time.Duration(100+m.Seq()%5*600) * time.Millisecond) // up to 2.5 s: past the ack wait
			return nil
		})
	}
	publish(t, b, "slowreplicas", 40)
	bustest.Eventually(t, 30*time.Second, func() error {
		info, err := c.Info(t.Context())
		if err != nil {
			return err
		}
		if info.AckFloor.Stream < 40 {
			return fmt.Errorf("ack floor %d", info.AckFloor.Stream)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for seq, n := range handled {
		if n != 1 {
			t.Errorf("message %d handled %d times", seq, n)
		}
	}
	if len(handled) != 40 {
		t.Errorf("%d messages handled, want 40", len(handled))
	}
}

// TestDeadLetterIsNotLost makes the dead-letter stream unavailable when a
// message exhausts its deliveries: the message must come back and be
// dead-lettered once the stream is there again, not vanish.
func TestDeadLetterIsNotLost(t *testing.T) {
	srv := bustest.Server(t)
	b := bustest.Open(t, srv)
	c := consumer(t, b, "lost", jetstream.ConsumerConfig{MaxDeliver: 2})
	if err := b.JS.DeleteStream(t.Context(), bus.StreamDLQ); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	consume(t, b, c, func(_ context.Context, m *bus.Msg) error {
		calls.Add(1)
		return bus.Transient(errors.New("endpoint down"), 10*time.Millisecond)
	})
	publish(t, b, "lost", 1)
	bustest.Eventually(t, 10*time.Second, func() error {
		if n := calls.Load(); n < 3 {
			return fmt.Errorf("%d calls: the message did not come back after its dead letter failed", n)
		}
		return nil
	})
	bustest.Open(t, srv) // recreates the dead-letter stream
	bustest.Eventually(t, 20*time.Second, func() error {
		if dl := deadLetters(t, b); len(dl) != 1 {
			return fmt.Errorf("%d dead letters", len(dl))
		}
		return nil
	})
}

// TestDeadLetterKeysComeFromTheStage gives up on a message after ordinary
// failures: its dead letter still names the run and sample, from the
// stage's Keys function, so the report can count it.
func TestDeadLetterKeysComeFromTheStage(t *testing.T) {
	b := bustest.New(t)
	c := consumer(t, b, "keys", jetstream.ConsumerConfig{MaxDeliver: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Consume(ctx, c, func(context.Context, *bus.Msg) error {
			return errors.New("sample not readable")
		}, bus.ConsumeOptions{Stage: "test", Keys: func(m *bus.Msg) bus.Keys {
			var p payload
			_ = json.Unmarshal(m.Payload, &p)
			return bus.Keys{Run: "keys", Suite: "s", Sample: fmt.Sprint(p.N), Variant: "ft"}
		}})
	}()
	t.Cleanup(func() { cancel(); <-done })
	publish(t, b, "keys", 1)
	bustest.Eventually(t, 10*time.Second, func() error {
		dl := deadLetters(t, b)
		if len(dl) != 1 {
			return fmt.Errorf("%d dead letters", len(dl))
		}
		if d := dl[0]; d.Run != "keys" || d.Sample != "0" || d.Suite != "s" || d.Variant != "ft" {
			return fmt.Errorf("dead letter keys %+v", d)
		}
		return nil
	})
}

// TestConcurrentOpensAgreeOnDirectGets opens the bus from many processes'
// worth of connections at once on a fresh server: every handle on
// assay_pairs must read without direct gets, which that bucket does not
// answer once one of them turned them off.
func TestConcurrentOpensAgreeOnDirectGets(t *testing.T) {
	for range 3 {
		srv := bustest.Server(t)
		var wg sync.WaitGroup
		buses := make([]*bus.Bus, 12)
		for i := range buses {
			wg.Go(func() {
				nc, err := srv.Connect()
				if err != nil {
					t.Error(err)
					return
				}
				t.Cleanup(nc.Close)
				b, err := bus.Open(t.Context(), nc, bus.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				buses[i] = b
			})
		}
		wg.Wait()
		for i, b := range buses {
			if b == nil {
				continue
			}
			if _, err := b.Pairs.Get(t.Context(), "missing"); !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Fatalf("handle %d: Get = %v, want ErrKeyNotFound", i, err)
			}
		}
	}
}

// TestResubmitKeepsWhatFlowsAdded resubmits a run after a checkpoint, a
// replay judge and a re-scoring: the run's own spec, with a moved endpoint,
// is accepted and keeps all three; a spec that changes results is refused
// with the reason.
func TestResubmitKeepsWhatFlowsAdded(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	base := func() *eval.RunSpec {
		s := spec("r")
		s.Variants = append(s.Variants, eval.Variant{Name: "ft", BaseURL: "http://x/v1", Model: "m-ft"})
		s.Suites = append(s.Suites, eval.Suite{Name: "t", Path: "t.jsonl", Metrics: []string{"f1"}, Object: "sha256/2"})
		s.Judges = []eval.Judge{{Name: "j1", BaseURL: "http://j/v1", Model: "judge"}}
		s.Gate.Variants = []string{"ft"}
		s.Gate.Metrics = []eval.MetricGate{{Suite: "t", Metric: "f1"}}
		return s
	}
	if err := b.SubmitRun(ctx, base()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddVariant(ctx, "r", eval.Variant{Name: "ck1", BaseURL: "http://c/v1", Model: "m-ck1"}, 100, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddJudge(ctx, "r", eval.Judge{Name: "j2", BaseURL: "http://j/v1", Model: "judge-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetMetrics(ctx, "r", []string{"s"}, []string{"em", "f1"}); err != nil {
		t.Fatal(err)
	}

	moved := base()
	moved.Variants[1].BaseURL = "http://moved/v1"
	if err := b.SubmitRun(ctx, moved); err != nil {
		t.Fatalf("resubmitting the run's own spec: %v", err)
	}
	got, err := b.Spec(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	ck, _ := got.Variant("ck1")
	j2, _ := got.Judge("j2")
	s, _ := got.Suite("s")
	ft, _ := got.Variant("ft")
	if ck.Checkpoint == nil || ck.Checkpoint.Step != 100 || !j2.Replay || !s.Rescored || !slices.Equal(s.Metrics, []string{"em", "f1"}) ||
		ft.BaseURL != "http://moved/v1" || !slices.Equal(got.Gate.Variants, []string{"ft", "ck1"}) {
		t.Fatalf("after resubmitting: variants %+v, judges %+v, suites %+v, gate %+v", got.Variants, got.Judges, got.Suites, got.Gate)
	}
	// Naming the added members explicitly is the same run too.
	explicit := base()
	explicit.Variants = append(explicit.Variants, eval.Variant{Name: "ck1", BaseURL: "http://c/v1", Model: "m-ck1"})
	explicit.Judges = append(explicit.Judges, eval.Judge{Name: "j2", BaseURL: "http://j/v1", Model: "judge-2"})
	if err := b.SubmitRun(ctx, explicit); err != nil {
		t.Fatalf("resubmitting with the added members named: %v", err)
	}
	if got, _ := b.Spec(ctx, "r"); got.Variants[2].Checkpoint == nil {
		t.Error("naming the checkpoint variant lost its place in the series")
	}

	for _, tc := range []struct {
		name   string
		change func(*eval.RunSpec)
		want   string
	}{
		{"judge changed", func(s *eval.RunSpec) { s.Judges[0].Model = "judge-x" }, `judge "j1" is new or changed`},
		{"judge dropped", func(s *eval.RunSpec) { s.Judges = nil }, `judge "j1" is missing`},
		{"variant dropped", func(s *eval.RunSpec) { s.Variants = s.Variants[:1]; s.Gate.Variants = nil }, "other variants"},
		{"model changed", func(s *eval.RunSpec) { s.Variants[1].Model = "m-ft2" }, "other variants"},
		{"metrics changed", func(s *eval.RunSpec) { s.Suites[1].Metrics = []string{"em"} }, `other metrics for suite "t"`},
		{"data changed", func(s *eval.RunSpec) { s.Suites[1].Object = "sha256/3" }, `suite "t"`},
		{"read as another format", func(s *eval.RunSpec) { s.Suites[1].Path = "t.csv" }, `another way of reading suite "t"`},
		{"preset changed", func(s *eval.RunSpec) { s.Suites[1].Preset = "mmlu" }, `another way of reading suite "t"`},
		{"fields changed", func(s *eval.RunSpec) { s.Suites[1].Fields.Prompt = "question" }, `another way of reading suite "t"`},
		{"lang changed", func(s *eval.RunSpec) { s.Suites[1].Lang = "zh" }, `other metric options for suite "t"`},
		{"contamination changed", func(s *eval.RunSpec) { s.Contamination = &eval.ContaminationCheck{Train: "t.jsonl"} }, "other contamination settings"},
		{"decoding changed", func(s *eval.RunSpec) { s.Decoding.Temperature = 0.7 }, "decoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.change(s)
			err := b.SubmitRun(ctx, s)
			if !errors.Is(err, bus.ErrRunExists) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrRunExists saying %q", err, tc.want)
			}
		})
	}
}

// TestSetMetricsKeepsTheGateAndProductionSuitesValid: a re-scoring that
// would leave the gate without its metric, score production queries
// against references they lack, or ask for semantic_sim of a run without
// an embeddings endpoint is refused, and the spec stays as it was.
func TestSetMetricsKeepsTheGateAndProductionSuitesValid(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	s := spec("m")
	s.Suites = append(s.Suites, eval.Suite{Name: "prod", Role: eval.RoleProduction, Metrics: []string{"refusal"}, Intake: true})
	s.Gate.Metrics = []eval.MetricGate{{Suite: "s", Metric: "em"}}
	if err := b.SubmitRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetMetrics(ctx, "m", []string{"s"}, []string{"f1"}); !errors.Is(err, bus.ErrConflict) || !strings.Contains(err.Error(), "the gate checks em") {
		t.Errorf("dropping a gated metric: %v", err)
	}
	if _, err := b.SetMetrics(ctx, "m", []string{"prod"}, []string{"refusal", "em"}); err == nil || !strings.Contains(err.Error(), "no reference") {
		t.Errorf("a reference metric on production queries: %v", err)
	}
	if _, err := b.SetMetrics(ctx, "m", []string{"s"}, []string{"em", eval.MetricSemanticSim}); !errors.Is(err, bus.ErrConflict) || !strings.Contains(err.Error(), "no embeddings endpoint") {
		t.Errorf("semantic_sim on a run without an embeddings endpoint: %v", err)
	}
	if got, _ := b.Spec(ctx, "m"); !slices.Equal(got.Suites[0].Metrics, []string{"em"}) || got.Suites[0].Rescored {
		t.Errorf("a refused change changed the spec: %+v", got.Suites)
	}
	if changed, err := b.SetMetrics(ctx, "m", []string{"s"}, []string{"em", "f1"}); err != nil || !changed {
		t.Errorf("a valid re-scoring: %v, %v", changed, err)
	}
}

// TestResubmitWithContamination: the client's own path to the training
// data never travels, so a spec resubmitted as it was is the same run.
func TestResubmitWithContamination(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	mk := func() *eval.RunSpec {
		s := spec("rc")
		s.Contamination = &eval.ContaminationCheck{Train: "train.jsonl", File: "/home/me/train.jsonl", Parts: []eval.DatasetPart{{Path: "train.jsonl", Object: "sha256/1"}}}
		return s
	}
	if err := b.SubmitRun(ctx, mk()); err != nil {
		t.Fatal(err)
	}
	if err := b.SubmitRun(ctx, mk()); err != nil {
		t.Fatalf("resubmitting the same spec: %v", err)
	}
}

// TestResubmitChangesAnExperimentOnlyWhereItMay: a running experiment's
// weights, stopped arms and guardrails may change on a resubmit; its
// salt, arms and primary metric may not, and it may not be dropped.
func TestResubmitChangesAnExperimentOnlyWhereItMay(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	withAB := func() *eval.RunSpec {
		s := spec("live")
		s.Variants = append(s.Variants, eval.Variant{Name: "ft", BaseURL: "http://x/v1", Model: "m2"})
		s.Suites = nil
		s.Continuous = &eval.Continuous{Sources: []string{"support"}, SampleRate: 0.1}
		s.AB = []eval.Experiment{{Name: "exp", Arms: []eval.Arm{{Name: "control", Variant: "base", Weight: 1}, {Name: "treatment", Variant: "ft", Weight: 1}},
			Primary: eval.ABMetric{Metric: "success"}, Guardrails: []eval.ABMetric{{Metric: "ticket", Margin: 0.01}}, MinUnits: 100}}
		return s
	}
	if err := b.SubmitRun(ctx, withAB()); err != nil {
		t.Fatal(err)
	}
	ramped := withAB()
	ramped.AB[0].Arms[1].Weight = 3
	ramped.AB[0].Guardrails[0].Margin = 0.02
	ramped.AB[0].MinUnits = 200
	if err := b.SubmitRun(ctx, ramped); err != nil {
		t.Fatalf("new weights and guardrails: %v", err)
	}
	stopped := *withAB()
	stopped.AB[0].Arms[1].Stopped = true
	stopped.AB = append(stopped.AB, eval.Experiment{Name: "exp2", Arms: stopped.AB[0].Arms[:1:1], Primary: eval.ABMetric{Metric: "ticket"}, MinUnits: 1})
	stopped.AB[1].Arms = append(stopped.AB[1].Arms, eval.Arm{Name: "t", Variant: "ft", Weight: 1})
	if err := b.SubmitRun(ctx, &stopped); err != nil {
		t.Fatalf("a stopped arm and a new experiment: %v", err)
	}
	got, err := b.Spec(ctx, "live")
	if err != nil || len(got.AB) != 2 || !got.AB[0].Arms[1].Stopped {
		t.Fatalf("stored experiments: %+v, %v", got.AB, err)
	}
	for name, c := range map[string]struct {
		change func(*eval.RunSpec)
		want   string
	}{
		"salt":    {func(s *eval.RunSpec) { s.AB[0].Salt = "other" }, `another experiment "exp"`},
		"variant": {func(s *eval.RunSpec) { s.AB[0].Arms[1].Variant = "base" }, `another experiment "exp"`},
		"primary": {func(s *eval.RunSpec) { s.AB[0].Primary.Metric = "ticket"; s.AB[0].Guardrails = nil }, `another experiment "exp"`},
		"format":  {func(s *eval.RunSpec) { s.AB[0].Format = &eval.FormatChecks{MaxChars: 200} }, `another experiment "exp"`},
		"dropped": {func(s *eval.RunSpec) { s.AB = s.AB[:1] }, `experiment "exp2" is missing`},
	} {
		s := stopped
		s.AB = slices.Clone(stopped.AB)
		s.AB[0].Arms = slices.Clone(s.AB[0].Arms)
		c.change(&s)
		if err := b.SubmitRun(ctx, &s); !errors.Is(err, bus.ErrRunExists) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s changed: %v, want an error with %s", name, err, c.want)
		}
	}
}
