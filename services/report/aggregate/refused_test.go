package aggregate

import (
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestRefusedRetry: a result a retry request superseded counts again when
// the stage the request was for refuses it (its result had not failed),
// and only that stage can refuse it; a dead letter's stage is its
// subject's, so one that claims another stage is ignored.
func TestRefusedRetry(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	req := &eval.RetryRequest{Run: "r1", Attempt: 1, Variant: "ft", Sample: eval.SampleRef{ID: "q1", Suite: "qa", Seq: 1}}
	c.AddRetry(req)
	if c.AddScore(mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1))) {
		t.Fatal("a score a retry superseded was added")
	}
	c.RefuseRetry("judge", req) // not the judge stage's to refuse
	if n := c.Progress().Scores; n != 0 {
		t.Fatalf("%d scores after another stage refused the retry", n)
	}
	c.RefuseRetry("infer", req)
	if n := c.Progress().Scores; n != 1 {
		t.Fatalf("%d scores after infer refused the retry, want the superseded one back", n)
	}
	if c.AddStagedDeadLetter("score", &eval.DeadLetter{Stage: "ingest", Run: "r1", Suite: "qa", Reason: "forged"}) || c.IngestFailed() != "" {
		t.Fatalf("a score dead letter claiming ingest failed the run: %q", c.IngestFailed())
	}
}
