package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
)

// TestDuplicateWindows: the streams written for every sample or query
// remember a message id for 30 s, the others for 2 minutes; a window given applies
// to existing streams, and none given leaves them as they are.
func TestDuplicateWindows(t *testing.T) {
	s := bustest.Server(t)
	b := bustest.Open(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	want := map[string]time.Duration{
		bus.StreamSamples: 30 * time.Second, bus.StreamGens: 30 * time.Second, bus.StreamScores: 30 * time.Second,
		bus.StreamJudgments: 30 * time.Second, bus.StreamDLQ: 30 * time.Second, bus.StreamIntake: 30 * time.Second,
		bus.StreamEvents: 2 * time.Minute, bus.StreamLabels: 2 * time.Minute,
	}
	windows := func(b *bus.Bus) map[string]time.Duration {
		t.Helper()
		got := map[string]time.Duration{}
		for name := range bus.StreamSubjects {
			info, err := b.Stream(name).Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got[name] = info.Config.Duplicates
		}
		return got
	}
	check := func(what string, got, want map[string]time.Duration) {
		t.Helper()
		for name, w := range want {
			if got[name] != w {
				t.Errorf("%s: stream %s remembers message ids for %v, want %v", what, name, got[name], w)
			}
		}
	}
	check("new streams", windows(b), want)

	// A deployment from before: every stream at 2 minutes, or as its
	// operator set it. Opening with no window given changes nothing.
	old := map[string]time.Duration{}
	for name := range bus.StreamSubjects {
		cfg := b.Stream(name).CachedInfo().Config
		cfg.Duplicates = 2 * time.Minute
		if name == bus.StreamEvents {
			cfg.Duplicates = 5 * time.Minute
		}
		if _, err := b.JS.UpdateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		old[name] = cfg.Duplicates
	}
	check("reopened with no window given", windows(bustest.Open(t, s)), old)

	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	given, err := bus.Open(ctx, nc, bus.Options{SampleDuplicates: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if name == bus.StreamSamples || name == bus.StreamGens || name == bus.StreamScores || name == bus.StreamJudgments || name == bus.StreamDLQ || name == bus.StreamIntake {
			want[name] = 10 * time.Second
		} else {
			want[name] = old[name]
		}
	}
	check("reopened with a 10s sample window", windows(given), want)

	// Within the window, a message published again is dropped.
	subject := bus.ScoresSubject("r1", "base")
	for i, dup := range []bool{false, true} {
		ack, err := given.PublishData(ctx, subject, "score|r1|x|base|s|1", []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if ack.Duplicate != dup {
			t.Fatalf("publish %d: duplicate %v, want %v", i+1, ack.Duplicate, dup)
		}
	}
}
