package aggregate

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

func fp(v float64) *float64 { return &v }
func bp(v bool) *bool       { return &v }

// testSpec is a run of two variants, base and ft, judged by one judge on
// two suites: qa (em) and biz (json_valid, json_fields).
func testSpec() *eval.RunSpec {
	return &eval.RunSpec{
		Run: "r1", Baseline: "base",
		Variants: []eval.Variant{
			{Name: "base", BaseURL: "http://base:8000/v1", Model: "m-base"},
			{Name: "ft", BaseURL: "http://ft:8000/v1", Model: "m-ft"},
		},
		Decoding: eval.Decoding{TopP: 1, MaxTokens: 256},
		Suites: []eval.Suite{
			{Name: "qa", Role: eval.RoleBenchmark, Metrics: []string{"em"}},
			{Name: "biz", Role: eval.RoleBusiness, Metrics: []string{"json_valid", "json_fields"}},
		},
		Judges: []eval.Judge{{Name: "j1", BaseURL: "http://judge:8000/v1", Model: "judge-m", Mode: "pairwise"}},
		Gate: eval.Gate{
			WinRateMin: fp(0.55), RefusalRateDeltaMax: fp(0.01), JSONValidMin: fp(0.9), ErrorRateMax: fp(0.2),
			Metrics: []eval.MetricGate{
				{Suite: "qa", Metric: "em", Min: fp(0.7), DeltaMin: fp(0.1)},
				{Suite: "biz", Metric: "json_fields", DeltaMin: fp(0.3)},
			},
		},
	}
}

// genSeq is where the fixture keeps a variant's generation of the sample at
// seq in ASSAY_GENS.
func genSeq(variant string, seq uint64) uint64 {
	if variant == "base" {
		return 100 + seq
	}
	return 200 + seq
}

// mkScore is a score of the run's fingerprint, of a benign prompt.
func mkScore(spec *eval.RunSpec, variant, suite, id string, seq uint64, b eval.Bucket, metrics map[string]float64) *eval.Score {
	tokens := 10
	lat := float64(seq * 10)
	if variant != "base" {
		tokens, lat = 20, float64(seq*20)
	}
	return &eval.Score{
		V: 1, Run: spec.Run, Sample: eval.SampleRef{ID: id, Suite: suite, Seq: seq}, Variant: variant, Fingerprint: spec.Fingerprint(),
		Metrics: metrics, Checks: eval.Checks{Benign: true}, Bucket: b, OutputTokens: tokens, LatencyMS: lat, GenSeq: genSeq(variant, seq),
	}
}

func em(v float64) map[string]float64 { return map[string]float64{"em": v} }

func jsonMetrics(valid, fields float64) map[string]float64 {
	return map[string]float64{"json_valid": valid, "json_fields": fields}
}

// mkJudgment is j1's verdict on ft against base.
func mkJudgment(spec *eval.RunSpec, suite, id string, seq uint64, w eval.Winner, consistent bool) *eval.Judgment {
	j := spec.Judges[0]
	first, second := w, w
	if !consistent {
		first, second = eval.WinCandidate, eval.WinBaseline
	}
	return &eval.Judgment{
		V: 1, Run: spec.Run, Sample: eval.SampleRef{ID: id, Suite: suite, Seq: seq}, Judge: j.Name, JudgeID: j.ID(),
		Candidate: "ft", Baseline: "base", Fingerprint: spec.Fingerprint(), Winner: w, Consistent: consistent,
		Rounds: []eval.Round{
			{Order: eval.OrderCandidateFirst, Winner: first, Parse: "json"},
			{Order: eval.OrderBaselineFirst, Winner: second, Parse: "tag"},
		},
	}
}

// fixture is a complete run, small enough to check by hand:
//
//	qa q01..q10 (seq 1..10), em
//	  base 1 1 1 1 1 1 0 0 0 0     q09 refused (benign), q10 refused (a probe)
//	  ft   1 1 1 1 1 0 1 1 1 -     q05 truncated, q06 refused (both regressions),
//	                               q10 failed (error: no metric, as the scorer gives it)
//	  pairs: both right 5 (q01-q05), ft only 3 (q07-q09), base only 1 (q06);
//	  q10 excluded (ft failed)
//	biz b1..b4 (seq 11..14), json_valid / json_fields
//	  base 1/1  1/0.5  0/0  1/0.75
//	  ft   1/1  1/1    1/0.5  dead-lettered by score (error, no metrics)
//	judgments of ft (j1): wins q01 q02 q07 q08 q09 b2, losses q04 q06 b4,
//	  ties q03 b1 and the flips q05 b3, error q10.
//
// base b1 was scored under an older fingerprint.
func fixture(t *testing.T) *Collector {
	t.Helper()
	spec := testSpec()
	c := New(spec)
	t.Cleanup(c.Release)
	c.SetIngest(&eval.IngestStatus{V: 1, Run: "r1", Done: true, Samples: 14, Suites: map[string]*eval.SuiteStatus{
		"qa": {Samples: 10, Duplicates: 1, Malformed: 2, Problems: []string{
			"qa.jsonl:4: prompt: is empty", "qa.jsonl:9: not valid JSON at column 3: invalid character 'x' looking for beginning of object key string"}},
		"biz": {Samples: 4},
	}})
	baseEM := []float64{1, 1, 1, 1, 1, 1, 0, 0, 0, 0}
	ftEM := []float64{1, 1, 1, 1, 1, 0, 1, 1, 1, 0} // q10's is not kept: it failed
	for i := range 10 {
		id, seq := fmt.Sprintf("q%02d", i+1), uint64(i+1)
		b := mkScore(spec, "base", "qa", id, seq, eval.BucketOK, em(baseEM[i]))
		if baseEM[i] == 0 {
			b.Bucket, b.Reason = eval.BucketWrongAnswer, `em: does not match "answer `+id+`"`
		}
		f := mkScore(spec, "ft", "qa", id, seq, eval.BucketOK, em(ftEM[i]))
		if ftEM[i] == 0 {
			f.Bucket, f.Reason = eval.BucketWrongAnswer, `em: does not match "answer `+id+`"`
		}
		switch id {
		case "q05":
			f.Checks.Truncated, f.Bucket, f.Reason, f.OutputTokens = true, eval.BucketTruncated, "finish_reason is length", 256
		case "q06":
			f.Checks.Refused, f.Bucket, f.Reason = true, eval.BucketRefusal, "refused a benign prompt"
		case "q09":
			b.Checks.Refused, b.Bucket, b.Reason = true, eval.BucketRefusal, "refused a benign prompt"
		case "q10":
			b.Checks.Refused, b.Checks.Benign, b.Bucket, b.Reason = true, false, eval.BucketRefusal, "refused"
			f.Checks, f.Bucket, f.Reason, f.OutputTokens, f.Cause = eval.Checks{}, eval.BucketError, "calling http://ft:8000/v1/chat/completions: HTTP 500 (after 5 attempts)", 0, "HTTP 500"
			f.Metrics, f.LatencyMS = map[string]float64{}, 0
		}
		mustAdd(t, c, b, f)
	}
	type js struct {
		valid, fields float64
		bucket        eval.Bucket
	}
	base := []js{{1, 1, eval.BucketOK}, {1, 0.5, eval.BucketWrongAnswer}, {0, 0, eval.BucketFormatError}, {1, 0.75, eval.BucketWrongAnswer}}
	ft := []js{{1, 1, eval.BucketOK}, {1, 1, eval.BucketOK}, {1, 0.5, eval.BucketWrongAnswer}}
	for i, x := range base {
		id, seq := fmt.Sprintf("b%d", i+1), uint64(11+i)
		s := mkScore(spec, "base", "biz", id, seq, x.bucket, jsonMetrics(x.valid, x.fields))
		s.Checks.JSONValid = bp(x.valid == 1)
		if x.bucket != eval.BucketOK {
			s.Reason = fmt.Sprintf("json_fields: %.0f%% of fields match", 100*x.fields)
		}
		if id == "b1" {
			s.Fingerprint = "0000old00000fp00"
		}
		mustAdd(t, c, s)
	}
	for i, x := range ft {
		id, seq := fmt.Sprintf("b%d", i+1), uint64(11+i)
		s := mkScore(spec, "ft", "biz", id, seq, x.bucket, jsonMetrics(x.valid, x.fields))
		s.Checks.JSONValid = bp(true)
		if x.bucket != eval.BucketOK {
			s.Reason = fmt.Sprintf("json_fields: %.0f%% of fields match", 100*x.fields)
		}
		mustAdd(t, c, s)
	}
	if !c.AddDeadLetter(&eval.DeadLetter{V: 1, Stage: "score", Run: "r1", Suite: "biz", Sample: "b4", Variant: "ft",
		Subject: "assay.gens.r1.ft", Seq: 214, Reason: "sample at sequence 14 is not b4 of run r1"}) {
		t.Fatal("dead letter not added")
	}
	verdicts := []struct {
		suite, id  string
		seq        uint64
		w          eval.Winner
		consistent bool
	}{
		{"qa", "q01", 1, eval.WinCandidate, true}, {"qa", "q02", 2, eval.WinCandidate, true}, {"qa", "q03", 3, eval.WinTie, true},
		{"qa", "q04", 4, eval.WinBaseline, true}, {"qa", "q05", 5, eval.WinTie, false}, {"qa", "q06", 6, eval.WinBaseline, true},
		{"qa", "q07", 7, eval.WinCandidate, true}, {"qa", "q08", 8, eval.WinCandidate, true}, {"qa", "q09", 9, eval.WinCandidate, true},
		{"biz", "b1", 11, eval.WinTie, true}, {"biz", "b2", 12, eval.WinCandidate, true}, {"biz", "b3", 13, eval.WinTie, false},
		{"biz", "b4", 14, eval.WinBaseline, true},
	}
	for _, v := range verdicts {
		if !c.AddJudgment(mkJudgment(spec, v.suite, v.id, v.seq, v.w, v.consistent)) {
			t.Fatalf("judgment %s not added", v.id)
		}
	}
	failed := mkJudgment(spec, "qa", "q10", 10, "", false)
	failed.Rounds, failed.Error = nil, "candidate generation failed: HTTP 500 after 5 attempts"
	if !c.AddJudgment(failed) {
		t.Fatal("failed judgment not added")
	}
	c.Note("a message on ASSAY_SCORES does not decode and was skipped: unexpected end of JSON input")
	return c
}

func mustAdd(t *testing.T, c *Collector, ss ...*eval.Score) {
	t.Helper()
	for _, s := range ss {
		if !c.AddScore(s) {
			t.Fatalf("score %s/%s/%s not added", s.Variant, s.Sample.Suite, s.Sample.ID)
		}
	}
}

// fakeFetcher serves the fixture's prompts and answers and records what
// was asked.
type fakeFetcher struct {
	calls []string
	err   error
	long  string // served as every ft answer when set
}

func (f *fakeFetcher) Sample(_ context.Context, seq uint64) (*eval.Sample, error) {
	f.calls = append(f.calls, fmt.Sprintf("sample %d", seq))
	if f.err != nil {
		return nil, f.err
	}
	id := fmt.Sprintf("q%02d", seq)
	if seq > 10 {
		id = fmt.Sprintf("b%d", seq-10)
	}
	return &eval.Sample{ID: id, Messages: []eval.Message{
		{Role: "system", Content: "Answer briefly."},
		{Role: "user", Content: "an earlier turn"},
		{Role: "assistant", Content: "ok"},
		{Role: "user", Content: "  Question " + id + "?  "},
	}}, nil
}

func (f *fakeFetcher) Generation(_ context.Context, seq uint64) (*eval.Generation, error) {
	f.calls = append(f.calls, fmt.Sprintf("gen %d", seq))
	if f.err != nil {
		return nil, f.err
	}
	variant, s := "base", seq-100
	if seq > 200 {
		variant, s = "ft", seq-200
	}
	if variant == "ft" && f.long != "" {
		return &eval.Generation{Output: f.long}, nil
	}
	if variant == "ft" && s == 10 {
		return &eval.Generation{Error: "HTTP 500"}, nil
	}
	return &eval.Generation{Variant: variant, Output: fmt.Sprintf("%s answer %d", variant, s)}, nil
}

// near fails unless got is within 1e-9 of want.
func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 || math.IsNaN(got) {
		t.Errorf("%s = %.15g, want %.15g", what, got, want)
	}
}

func nearCI(t *testing.T, what string, got, want [2]float64) {
	t.Helper()
	near(t, what+" lo", got[0], want[0])
	near(t, what+" hi", got[1], want[1])
}
