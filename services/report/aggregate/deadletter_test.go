package aggregate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// eightSamples is a complete run of testSpec over 8 samples (4 per suite):
// every score and judgment arrived, none failed.
func eightSamples(t *testing.T, name bool) *Collector {
	t.Helper()
	spec := testSpec()
	c := New(spec)
	t.Cleanup(c.Release)
	if name {
		c.TrackSamples()
	}
	c.SetIngest(&eval.IngestStatus{Run: spec.Run, Done: true, Samples: 8,
		Suites: map[string]*eval.SuiteStatus{"qa": {Samples: 4}, "biz": {Samples: 4}}})
	seq := uint64(0)
	for _, su := range []string{"qa", "biz"} {
		for _, id := range []string{"s1", "s2", "s3", "s4"} {
			seq++
			if name {
				c.AddSample(su, id)
			}
			metrics := em(1)
			if su == "biz" {
				metrics = map[string]float64{"json_valid": 1, "json_fields": 1}
			}
			mustAdd(t, c, mkScore(spec, "base", su, id, seq, eval.BucketOK, metrics), mkScore(spec, "ft", su, id, seq, eval.BucketOK, metrics))
			if !c.AddJudgment(mkJudgment(spec, su, id, seq, eval.WinTie, true)) {
				t.Fatalf("judgment of %s/%s not added", su, id)
			}
		}
	}
	return c
}

// TestForgedResultsForSamplesTheRunDoesNotHave: a dead letter, score or
// judgment naming a sample the run does not have raises neither progress
// nor errors, and one warning names it with the count.
func TestForgedResultsForSamplesTheRunDoesNotHave(t *testing.T) {
	spec := testSpec()
	ghostScore := mkScore(spec, "ft", "qa", "ghost", 99, eval.BucketError, em(0))
	ghostScore.Reason, ghostScore.Cause = "forged", "forged"
	ghostJudgment := mkJudgment(spec, "qa", "ghost", 99, eval.WinBaseline, true)
	ghostJudgment.Error, ghostJudgment.Cause = "forged", "forged"
	for _, tc := range []struct {
		name    string
		forge   func(c *Collector)
		results int // in the warning
	}{
		{"a score-stage dead letter", func(c *Collector) {
			c.AddDeadLetter(&eval.DeadLetter{Stage: "score", Run: "r1", Suite: "qa", Sample: "ghost", Variant: "ft",
				Subject: "assay.gens.r1.ft", Seq: 999, Reason: "sample not found"})
		}, 1},
		{"an infer dead letter, twice", func(c *Collector) {
			for range 2 {
				c.AddDeadLetter(&eval.DeadLetter{Stage: "infer", Run: "r1", Suite: "qa", Sample: "ghost", Variant: "base",
					Subject: "assay.samples.r1.qa", Seq: 999, Reason: "poison"})
			}
		}, 1},
		{"a judge dead letter", func(c *Collector) {
			c.AddDeadLetter(&eval.DeadLetter{Stage: "judge", Run: "r1", Suite: "qa", Sample: "ghost", Variant: "ft", Judge: "j1",
				Subject: "assay.gens.r1.ft", Seq: 999, Reason: "poison"})
		}, 1},
		{"a score and a judgment", func(c *Collector) {
			c.AddScore(ghostScore)
			c.AddJudgment(ghostJudgment)
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := eightSamples(t, true)
			tc.forge(c)
			want := document.Progress{Scores: 16, ScoresExpected: 16, Judgments: 8, JudgmentsExpected: 8}
			if got := c.Progress(); got != want {
				t.Errorf("progress %+v, want %+v", got, want)
			}
			rep := report(t, c, nil)
			if rep.Counts.Errors != 0 || rep.Counts.GenerationErrors != 0 || rep.Counts.JudgeErrors != 0 {
				t.Errorf("counts %+v, want no errors", rep.Counts)
			}
			var named []string
			for _, w := range rep.Warnings {
				if strings.Contains(w, "ghost") {
					named = append(named, w)
				}
				if strings.Contains(w, "dead-lettered") {
					t.Errorf("warning counts a dead letter the errors do not: %q", w)
				}
			}
			if len(named) != 1 || !strings.HasPrefix(named[0], fmt.Sprintf("%d results ", tc.results)) || !strings.Contains(named[0], "qa/ghost") {
				t.Errorf("warnings naming the sample: %q, want one counting %d", named, tc.results)
			}
			if !rep.Complete {
				t.Error("the run is not complete")
			}
		})
	}
}

// TestResultReadBeforeItsSample: a result held because its sample was not
// named yet counts once the sample is named, and its warning goes.
func TestResultReadBeforeItsSample(t *testing.T) {
	c := eightSamples(t, true)
	spec := c.Spec()
	dl := &eval.DeadLetter{Stage: "infer", Run: "r1", Suite: "qa", Sample: "s5", Variant: "ft",
		Subject: "assay.samples.r1.qa", Seq: 9, Reason: "context too long"}
	c.AddDeadLetter(dl)
	c.AddScore(mkScore(spec, "base", "qa", "s5", 9, eval.BucketOK, em(1)))
	if got := c.Progress(); got.Scores != 16 || got.Judgments != 8 {
		t.Fatalf("held results counted: %+v", got)
	}
	c.SetIngest(&eval.IngestStatus{Run: "r1", Done: true, Samples: 9,
		Suites: map[string]*eval.SuiteStatus{"qa": {Samples: 5}, "biz": {Samples: 4}}})
	c.AddSample("qa", "s5")
	want := document.Progress{Scores: 18, ScoresExpected: 18, Judgments: 9, JudgmentsExpected: 9}
	if got := c.Progress(); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
	rep := report(t, c, nil)
	if rep.Counts.GenerationErrors != 1 {
		t.Errorf("counts %+v, want the dead letter's generation error", rep.Counts)
	}
	for _, w := range rep.Warnings {
		if strings.Contains(w, "does not have") {
			t.Errorf("warning left after the sample was named: %q", w)
		}
	}
}

// TestProgressNeverPassesTheSamples: a caller that names no samples still
// never sees progress above 100 %.
func TestProgressNeverPassesTheSamples(t *testing.T) {
	c := eightSamples(t, false)
	c.AddDeadLetter(&eval.DeadLetter{Stage: "score", Run: "r1", Suite: "qa", Sample: "ghost", Variant: "ft",
		Subject: "assay.gens.r1.ft", Seq: 999, Reason: "sample not found"})
	want := document.Progress{Scores: 16, ScoresExpected: 16, Judgments: 8, JudgmentsExpected: 8}
	if got := c.Progress(); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
}

// FuzzForgedDeadLetter: whatever a dead letter names, on a complete
// 8-sample run it never takes progress past 100 %, and it adds errors only
// for a sample the run has.
func FuzzForgedDeadLetter(f *testing.F) {
	f.Add("score", "qa", "ghost", "ft", "")
	f.Add("infer", "biz", "s1", "base", "")
	f.Add("judge", "qa", "s2", "ft", "j1")
	f.Add("ingest", "qa", "", "", "")
	f.Add("infer", "qa", "s1~typo", "", "")
	f.Fuzz(func(t *testing.T, stage, suite, sample, variant, judge string) {
		c := eightSamples(t, true)
		c.AddDeadLetter(&eval.DeadLetter{Stage: stage, Run: "r1", Suite: suite, Sample: sample, Variant: variant, Judge: judge,
			Subject: "assay.x", Seq: 999, Reason: "forged"})
		p := c.Progress()
		if p.Scores > p.ScoresExpected || p.Judgments > p.JudgmentsExpected {
			t.Fatalf("progress %+v", p)
		}
		real := (suite == "qa" || suite == "biz") && (sample == "s1" || sample == "s2" || sample == "s3" || sample == "s4")
		if rep := report(t, c, nil); !real && stage != "ingest" && rep.Counts.Errors != 0 {
			t.Fatalf("counts %+v for a sample the run does not have", rep.Counts)
		}
	})
}

// TestDeadLetterForResultsInHand: a dead letter for a sample whose results
// all arrived stands for nothing, so the warning that counts dead letters
// as errors leaves it out and agrees with counts.errors.
func TestDeadLetterForResultsInHand(t *testing.T) {
	for _, named := range []bool{true, false} {
		c := eightSamples(t, named)
		c.AddDeadLetter(&eval.DeadLetter{Stage: "score", Run: "r1", Suite: "qa", Sample: "s1", Variant: "ft",
			Subject: "assay.gens.r1.ft", Seq: 999, Reason: "forged"})
		rep := report(t, c, nil)
		for _, w := range rep.Warnings {
			if strings.Contains(w, "dead-lettered") {
				t.Errorf("samples named %v: %q with counts %+v", named, w, rep.Counts)
			}
		}
		if rep.Counts.Errors != 0 {
			t.Errorf("samples named %v: counts %+v", named, rep.Counts)
		}
	}
}

// TestHeldWarningIsTheSameInAnyOrder: the warning about results for
// samples the run does not have names three of them, the same three
// whatever order they came in, and follows samples named later.
func TestHeldWarningIsTheSameInAnyOrder(t *testing.T) {
	ghosts := []string{"g1", "g2", "g3", "g4", "g5"}
	warning := func(order []string, named ...string) string {
		c := eightSamples(t, true)
		for _, id := range order {
			c.AddScore(mkScore(c.Spec(), "ft", "qa", id, 50, eval.BucketOK, em(1)))
		}
		for _, id := range named {
			c.AddSample("qa", id)
		}
		var w []string
		for _, x := range report(t, c, nil).Warnings {
			if strings.Contains(x, "does not have") {
				w = append(w, x)
			}
		}
		if len(w) != 1 {
			t.Fatalf("warnings %q, want one", w)
		}
		return w[0]
	}
	forward := warning(ghosts)
	backward := warning([]string{"g5", "g4", "g3", "g2", "g1"})
	if forward != backward || !strings.HasPrefix(forward, "5 results ") || !strings.Contains(forward, "and 2 more)") {
		t.Errorf("warnings differ or miscount:\n%s\n%s", forward, backward)
	}
	// Naming each named sample in turn leaves the others named.
	for _, id := range ghosts {
		w := warning(ghosts, id)
		if !strings.HasPrefix(w, "4 results ") || strings.Contains(w, "qa/"+id+",") || strings.Contains(w, "qa/"+id+")") || !strings.Contains(w, "and 1 more)") {
			t.Errorf("after naming %s: %s", id, w)
		}
	}
}
