package bus

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestAsyncErrorsRateLimited: the same refused operation repeated logs
// one line a minute per subject, the next line counting those left out;
// another subject still logs at once.
func TestAsyncErrorsRateLimited(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&out, nil))
	clock := time.Unix(1_700_000_000, 0)
	limit := newLogLimit(time.Minute)
	limit.now = func() time.Time { return clock }
	h := asyncErrorLogger(logger, limit)
	nc := &nats.Conn{Opts: nats.Options{Name: "assay-infer"}}
	refused := func(subject string) error {
		return fmt.Errorf("%w for publish to %q", nats.ErrPermissionViolation, subject)
	}
	lines := func() []string { return strings.Split(strings.TrimSpace(out.String()), "\n") }

	for range 50 {
		h(nc, nil, refused("assay.gens.r1"))
		clock = clock.Add(time.Second)
	}
	if got := lines(); len(got) != 1 || strings.Contains(got[0], "suppressed") {
		t.Fatalf("50 refusals within a minute logged %d lines, want 1 without a count: %q", len(got), got)
	}
	h(nc, nil, refused("assay.judgments.r1"))
	if got := lines(); len(got) != 2 || !strings.Contains(got[1], "assay.judgments.r1") {
		t.Fatalf("another subject's refusal is not logged at once: %q", got)
	}
	clock = clock.Add(11 * time.Second) // a minute after the first line
	h(nc, nil, refused("assay.gens.r1"))
	got := lines()
	if len(got) != 3 || !strings.Contains(got[2], "suppressed=49") || !strings.Contains(got[2], "assay.gens.r1") {
		t.Fatalf("a minute later: want a line counting the 49 left out, got %q", got)
	}
	if !strings.Contains(got[0], "level=ERROR") {
		t.Fatalf("a refusal is not logged as an error: %q", got[0])
	}
}

// TestLogLimitForgetsOldKeys: past windows are forgotten once many keys
// are remembered, so that errors on ever new subjects do not grow memory.
func TestLogLimitForgetsOldKeys(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	l := newLogLimit(time.Minute)
	l.now = func() time.Time { return clock }
	for i := range maxLogKeys {
		l.allow(fmt.Sprint("k", i))
	}
	clock = clock.Add(2 * time.Minute)
	if ok, _ := l.allow("new"); !ok {
		t.Fatal("a new key was not allowed")
	}
	if n := len(l.seen); n != 1 {
		t.Fatalf("%d keys remembered after the old windows passed, want 1", n)
	}
}
