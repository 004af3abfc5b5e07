package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
)

// TestForgedSample publishes, during a real run, a generation, a score and
// a dead letter for samples the run does not have. Progress never passes
// what is expected, the report counts no error for them (no dead letter
// is said to be counted), and one warning counts them as left out. A dead
// letter the score identity publishes claiming to be ingest's is ignored
// and counted in a warning: the run does not end in error.
func TestForgedSample(t *testing.T) {
	f := newFixture(t, "forged", retryPersonas())
	spec := loadRetrySpec(t, f, "forged", f.url)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sys, err := startSystem(ctx, systemOptions{Data: t.TempDir(), Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop() })
	b := sys.Env.Bus

	// Every status the report stage stores is checked.
	watch, err := b.Runs.Watch(ctx, bus.StatusKey("forged"))
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	var mu sync.Mutex
	var over []string
	go func() {
		for e := range watch.Updates() {
			if e == nil {
				continue
			}
			st := string(e.Value())
			var s eval.RunStatus
			if err := json.Unmarshal(e.Value(), &s); err == nil && (s.Scores > s.ScoresExpected && s.ScoresExpected > 0 || s.Judgments > s.JudgmentsExpected && s.JudgmentsExpected > 0) {
				mu.Lock()
				over = append(over, st)
				mu.Unlock()
			}
		}
	}()

	if err := submit(ctx, b, spec, openFile); err != nil {
		t.Fatal(err)
	}
	ghost := func(id string) eval.SampleRef { return eval.SampleRef{ID: id, Suite: "qa", Seq: 1} }
	forged := []struct {
		subject, id string
		v           any
	}{
		{bus.GensSubject("forged", "ft"), "forged-gen", eval.Generation{V: eval.Version, Run: "forged", Sample: ghost("ghost-1"), Variant: "ft",
			Model: "t-ft", Fingerprint: spec.Fingerprint(), Error: "HTTP 500", Cause: "HTTP 500", At: time.Now()}},
		{bus.ScoresSubject("forged", "ft"), "forged-score", eval.Score{V: eval.Version, Run: "forged", Sample: ghost("ghost-2"), Variant: "ft",
			Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(), Bucket: eval.BucketError, Cause: "HTTP 500", Metrics: map[string]float64{}}},
		{bus.DLQSubject(bus.StageInfer, "forged"), "forged-dlq", eval.DeadLetter{V: eval.Version, Stage: bus.StageInfer, Run: "forged", Suite: "qa",
			Sample: "ghost-3", Variant: "ft", Subject: bus.SamplesSubject("forged", "qa"), Seq: 99999, Reason: "forged", At: time.Now()}},
	}
	for _, m := range forged {
		if _, err := b.Publish(ctx, m.subject, m.id, m.v); err != nil {
			t.Fatal(err)
		}
	}
	// The score identity may publish dead letters only as score: one
	// whose body claims ingest must not fail the run's ingest.
	score := connectAs(t, ctx, sys.URL, sys.Server.SeedFile(bus.StageScore))
	if _, err := score.Publish(ctx, bus.DLQSubject(bus.StageScore, "forged"), "forged-ingest-dlq", eval.DeadLetter{V: eval.Version, Stage: bus.StageIngest,
		Run: "forged", Suite: "qa", Reason: "forged by score", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if st := waitComplete(t, b, "forged", 90*time.Second); st.State != eval.StateComplete {
		t.Errorf("the run ended in state %s: %s", st.State, st.Error)
	}
	rep := readReport(t, writeReport(t, sys, "forged", "json"))

	mu.Lock()
	if len(over) > 0 {
		t.Errorf("progress passed what was expected: %v", over)
	}
	mu.Unlock()
	if rep.Counts.Errors != 0 || rep.Counts.GenerationErrors != 0 {
		t.Errorf("counts: %+v: the forged results were counted as errors", rep.Counts)
	}
	var ignored []string
	misfiled := false
	for _, w := range rep.Warnings {
		if strings.Contains(w, "dead-lettered (counted as errors)") {
			t.Errorf("a warning counts a dead letter as an error while counts.errors is %d: %s", rep.Counts.Errors, w)
		}
		if strings.Contains(w, "1 dead letters published by stage score claim to be stage ingest's and were ignored") {
			misfiled = true
		}
		if strings.Contains(w, "name samples run forged does not have") {
			ignored = append(ignored, w)
		}
	}
	if !misfiled {
		t.Errorf("no warning counts the dead letter score published as ingest's: %q", rep.Warnings)
	}
	// The forged score, the forged dead letter, and the dead letter the
	// score stage wrote for the forged generation.
	if len(ignored) != 1 || !strings.HasPrefix(ignored[0], "3 results") || !strings.Contains(ignored[0], "qa/ghost-2") || !strings.Contains(ignored[0], "qa/ghost-3") {
		t.Errorf("want one warning counting 3 results left out, got %q (all warnings: %q)", ignored, rep.Warnings)
	}
}
