package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/natsembed"
)

// TestReplacedResultCountsAsError: a score and a judgment whose large
// payloads were replaced in the object store cannot be read; the report
// counts each as an error of the sample its message id names, with a
// warning, instead of failing or waiting for them.
func TestReplacedResultCountsAsError(t *testing.T) {
	srv, err := natsembed.Start(natsembed.Options{Dir: t.TempDir(), MaxPayload: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	b := bustest.Open(t, srv)
	ctx := t.Context()
	spec := testSpec("lost1")
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	s := &eval.Sample{V: 1, Run: spec.Run, ID: "q1", Suite: "qa", Role: eval.RoleBenchmark, Fingerprint: spec.Fingerprint(),
		Messages: []eval.Message{{Role: "user", Content: "2+2?"}}}
	seq := publishSample(t, b, s)
	replaced := func(stream, subject, id string, v any) {
		t.Helper()
		ack, err := b.Publish(ctx, subject, id, v)
		if err != nil {
			t.Fatal(err)
		}
		m, err := b.JS.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := m.GetMsg(ctx, ack.Sequence)
		if err != nil {
			t.Fatal(err)
		}
		ref := raw.Header.Get(bus.RefHeader)
		if ref == "" {
			t.Fatalf("the payload on %s did not travel by reference (%d bytes)", subject, len(raw.Data))
		}
		if _, err := b.Blobs.PutBytes(ctx, ref, []byte(`{"forged": true}`)); err != nil {
			t.Fatal(err)
		}
	}
	replaced(bus.StreamScores, bus.ScoresSubject(spec.Run, "ft"), bus.MsgID(bus.StageScore, spec.Run, spec.Scoring(), "ft", "qa", "q1"),
		&eval.Score{V: 1, Run: spec.Run, Sample: s.Ref(seq), Variant: "ft", Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(),
			Metrics: map[string]float64{"em": 1}, Bucket: eval.BucketOK, Reason: bigOutput})
	replaced(bus.StreamJudgments, bus.JudgmentsSubject(spec.Run, "j1"), bus.MsgID(bus.StageJudge, spec.Run, spec.Judges[0].ID(), "ft", "qa", "q1"),
		&eval.Judgment{V: 1, Run: spec.Run, Sample: s.Ref(seq), Judge: "j1", JudgeID: spec.Judges[0].ID(), Candidate: "ft", Baseline: "base",
			Fingerprint: spec.Fingerprint(), Cause: bigOutput})

	c, err := Collect(ctx, b, spec.Run)
	if err != nil {
		t.Fatalf("collecting a run with replaced results: %v", err)
	}
	defer c.Release()
	if p := c.Progress(); p.Scores != 1 || p.Judgments != 1 {
		t.Fatalf("progress %+v: the replaced score and judgment are not counted", p)
	}
	rep, err := c.Report(ctx, Fetcher(b), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n := slices.IndexFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "could not be read and was counted as an error") }); n < 0 {
		t.Fatalf("no warning about the replaced results: %q", rep.Warnings)
	}
	if rep.Counts.Errors < 2 {
		t.Fatalf("%d errors, want the replaced score and judgment counted", rep.Counts.Errors)
	}
}
