package ingest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSeenFor(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		window time.Duration
		now    time.Time
		want   time.Duration
	}{
		{"taken live: the rest of the window and an hour", time.Minute, start.Add(20 * time.Second), 40*time.Second + time.Hour},
		{"taken late: an hour", time.Minute, start.Add(3 * time.Hour), time.Hour},
		{"a long window: the rest of it and one more", 2 * time.Hour, start.Add(30 * time.Minute), 90*time.Minute + 2*time.Hour},
		{"a week: the rest of it and one more (the bucket's 8 days come first)", eval.MaxWindow, start, 2 * eval.MaxWindow},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := seenFor(start, c.window, c.now); got != c.want {
				t.Errorf("seenFor = %v, want %v", got, c.want)
			}
		})
	}
}

// TestContinuousRemembersQueriesForTheirWindow: a query asked twice in a
// window is evaluated once, and its claim in assay_seen expires with its
// window (plus the margin), not after the bucket's 8 days.
func TestContinuousRemembersQueriesForTheirWindow(t *testing.T) {
	s, b := newIntake(t)
	const run = "seen"
	ctx, stop := runContinuous(t, s, b, run, "chat")
	at := time.Now().UTC()
	q := eval.IntakeQuery{Timestamp: at, Messages: []eval.Message{{Role: "user", Content: "how do I reset my password?"}}}
	for i := range 2 {
		if _, err := b.Publish(ctx, bus.QueriesSubject("chat"), fmt.Sprintf("q-%d", i), q); err != nil {
			t.Fatal(err)
		}
	}
	bustest.Eventually(t, 30*time.Second, func() error {
		dup, sampled := testutil.ToFloat64(s.queries.WithLabelValues(run, "duplicate")), testutil.ToFloat64(s.queries.WithLabelValues(run, "sampled"))
		if dup != 1 || sampled != 1 {
			return fmt.Errorf("%v sampled and %v duplicates counted, want 1 and 1", sampled, dup)
		}
		return nil
	})
	if n := len(bustest.Stored[eval.Sample](t, b, bus.StreamSamples, bus.SamplesSubject(run, "chat"))); n != 1 {
		t.Fatalf("%d samples of a query asked twice in its window, want 1", n)
	}

	keys, err := b.Seen.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var claims []string
	for k := range keys.Keys() {
		claims = append(claims, k)
	}
	if len(claims) != 1 {
		t.Fatalf("claims %v, want one", claims)
	}
	kv, err := b.JS.Stream(ctx, "KV_"+bus.BucketSeen)
	if err != nil {
		t.Fatal(err)
	}
	m, err := kv.GetLastMsgForSubject(ctx, "$KV."+bus.BucketSeen+"."+claims[0])
	if err != nil {
		t.Fatal(err)
	}
	ttl, err := time.ParseDuration(m.Header.Get(jetstream.MsgTTLHeader))
	if err != nil {
		t.Fatalf("the claim has no TTL (%q): %v", m.Header.Get(jetstream.MsgTTLHeader), err)
	}
	end := at.Truncate(time.Hour).Add(time.Hour)
	if most := time.Until(end) + time.Hour + time.Minute; ttl < time.Hour || ttl > most {
		t.Fatalf("the claim lives %v, want between an hour and %v (the rest of its window and an hour)", ttl, most)
	}
	stop()
}

// runContinuous submits a continuous run of every query of source, in
// windows of an hour, and runs its consumer until the returned stop is
// called, which fails the test if the consumer failed.
func runContinuous(t *testing.T, s *Service, b *bus.Bus, run, source string) (ctx context.Context, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	spec := &eval.RunSpec{Run: run, Baseline: "base",
		Variants:   []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}},
		Continuous: &eval.Continuous{Sources: []string{source}, SampleRate: 1, Window: eval.Duration(time.Hour), Metrics: []string{"refusal"}},
		Suites:     []eval.Suite{{Name: source, Role: eval.RoleProduction, Metrics: []string{"refusal"}, Intake: true}},
	}
	if err := b.SubmitRun(ctx, spec); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.continuous(ctx) }()
	return ctx, func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
}
