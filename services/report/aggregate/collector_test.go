package aggregate

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// TestDedup: a redelivered or republished score, judgment or dead letter
// never counts twice.
func TestDedup(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	s := mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1))
	j := mkJudgment(spec, "qa", "q1", 1, eval.WinCandidate, true)
	dl := &eval.DeadLetter{Stage: "infer", Run: "r1", Suite: "qa", Sample: "q2", Variant: "ft", Subject: "assay.samples.r1.qa", Seq: 2, Reason: "boom"}

	steps := []struct {
		name string
		add  func() bool
		want bool
	}{
		{"score", func() bool { return c.AddScore(s) }, true},
		{"same score again", func() bool { return c.AddScore(s) }, false},
		{"a copy with other values", func() bool {
			x := *s
			x.Metrics, x.Bucket = em(0), eval.BucketWrongAnswer
			return c.AddScore(&x)
		}, false},
		{"same sample, other variant", func() bool { return c.AddScore(mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(0))) }, true},
		{"same id, other suite", func() bool { return c.AddScore(mkScore(spec, "ft", "biz", "q1", 1, eval.BucketOK, nil)) }, true},
		{"another run's score", func() bool {
			x := *mkScore(spec, "ft", "qa", "q3", 3, eval.BucketOK, em(1))
			x.Run = "r2"
			return c.AddScore(&x)
		}, false},
		{"judgment", func() bool { return c.AddJudgment(j) }, true},
		{"same judgment again", func() bool { return c.AddJudgment(j) }, false},
		{"same judgment, rounds redone", func() bool {
			x := *j
			x.Winner = eval.WinBaseline
			return c.AddJudgment(&x)
		}, false},
		{"another run's judgment", func() bool {
			x := *mkJudgment(spec, "qa", "q9", 9, eval.WinTie, true)
			x.Run = "r2"
			return c.AddJudgment(&x)
		}, false},
		{"dead letter", func() bool { return c.AddDeadLetter(dl) }, true},
		{"same dead letter again", func() bool { return c.AddDeadLetter(dl) }, false},
		{"a score after its dead letter", func() bool { return c.AddScore(mkScore(spec, "ft", "qa", "q2", 2, eval.BucketOK, em(1))) }, false},
		{"another run's dead letter", func() bool {
			x := *dl
			x.Run, x.Seq = "r2", 3
			return c.AddDeadLetter(&x)
		}, false},
	}
	for _, st := range steps {
		if got := st.add(); got != st.want {
			t.Errorf("%s: added = %v, want %v", st.name, got, st.want)
		}
	}
	// Scores: ft/qa/q1, base/qa/q1, ft/biz/q1, the dead letter's ft/qa/q2.
	// Judgments: q1, and the dead letter's failed q2 pair.
	if p := c.Progress(); p.Scores != 4 || p.Judgments != 2 {
		t.Errorf("progress %+v", p)
	}
	rep := report(t, c, nil)
	for _, m := range rep.Metrics {
		if m.Suite == "qa" && m.Variant == "ft" && (m.N != 1 || *m.Mean != 1) {
			t.Errorf("the first score must stand: %+v", m)
		}
	}
	if p := rep.Pairwise[0]; p.Wins != 1 || p.N != 1 || p.Errors != 0 || p.GenerationErrors != 1 {
		t.Errorf("pairwise %+v", p)
	}
	if !slices.Contains(rep.Warnings, "messages dead-lettered (counted as errors): infer 1") {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

// TestDeadLetterKey: the subject and sequence of a dead letter are kept
// apart, so that ft's message 25 and ft2's message 5 are two letters.
func TestDeadLetterKey(t *testing.T) {
	c := New(testSpec())
	defer c.Release()
	a := &eval.DeadLetter{Stage: "score", Run: "r1", Suite: "qa", Sample: "q1", Variant: "ft", Subject: "assay.gens.r1.ft", Seq: 25}
	b := &eval.DeadLetter{Stage: "score", Run: "r1", Suite: "qa", Sample: "q2", Variant: "ft2", Subject: "assay.gens.r1.ft2", Seq: 5}
	if !c.AddDeadLetter(a) || !c.AddDeadLetter(b) {
		t.Error("a dead letter was taken for a duplicate of the other")
	}
}

type scoreCells struct {
	variant, suite, sample, bucket, reason string
}

type judgmentCells struct {
	judge, cand, suite, sample, err string
}

// TestDeadLetters: each stage's dead letter stands for the results it
// prevented, as errors, so that the run still completes.
func TestDeadLetters(t *testing.T) {
	spec := testSpec()
	spec.Variants = append(spec.Variants, eval.Variant{Name: "ft2", BaseURL: "http://ft2:8000/v1", Model: "m-ft2"})
	spec.Judges = append(spec.Judges, eval.Judge{Name: "j2", BaseURL: "http://judge:8000/v1", Model: "judge-2", Mode: "pairwise"})
	dl := func(stage, variant, judge string) *eval.DeadLetter {
		return &eval.DeadLetter{V: 1, Stage: stage, Run: "r1", Suite: "qa", Sample: "q1", Variant: variant, Judge: judge,
			Subject: "assay.x", Seq: 1, Reason: "poison"}
	}
	tests := []struct {
		name      string
		dl        *eval.DeadLetter
		scores    []scoreCells
		judgments []judgmentCells
		warning   string
	}{
		{
			name:      "infer, candidate: its score and its pairs",
			dl:        dl("infer", "ft", ""),
			scores:    []scoreCells{{"ft", "qa", "q1", "error", "dead-lettered by infer: poison"}},
			judgments: []judgmentCells{{"j1", "ft", "qa", "q1", "dead-lettered by infer: poison"}, {"j2", "ft", "qa", "q1", "dead-lettered by infer: poison"}},
			warning:   "infer 1",
		},
		{
			name:   "infer, baseline: its score and every candidate's pairs",
			dl:     dl("infer", "base", ""),
			scores: []scoreCells{{"base", "qa", "q1", "error", "dead-lettered by infer: poison"}},
			judgments: []judgmentCells{
				{"j1", "ft", "qa", "q1", "dead-lettered by infer: poison"}, {"j1", "ft2", "qa", "q1", "dead-lettered by infer: poison"},
				{"j2", "ft", "qa", "q1", "dead-lettered by infer: poison"}, {"j2", "ft2", "qa", "q1", "dead-lettered by infer: poison"},
			},
			warning: "infer 1",
		},
		{
			name:    "score: the score only; the generation exists and is judged",
			dl:      dl("score", "ft2", ""),
			scores:  []scoreCells{{"ft2", "qa", "q1", "error", "dead-lettered by score: poison"}},
			warning: "score 1",
		},
		{
			name:      "judge, candidate: that judge's pair",
			dl:        dl("judge", "ft", "j2"),
			judgments: []judgmentCells{{"j2", "ft", "qa", "q1", "dead-lettered by judge: poison"}},
			warning:   "judge 1",
		},
		{
			name:      "judge, baseline: that judge's pairs of every candidate",
			dl:        dl("judge", "base", "j1"),
			judgments: []judgmentCells{{"j1", "ft", "qa", "q1", "dead-lettered by judge: poison"}, {"j1", "ft2", "qa", "q1", "dead-lettered by judge: poison"}},
			warning:   "judge 1",
		},
		{
			name:    "infer without a variant: only counted",
			dl:      dl("infer", "", ""),
			warning: "infer 1",
		},
		{
			name: "no sample (did not decode): only counted",
			dl: func() *eval.DeadLetter {
				d := dl("judge", "ft", "j1")
				d.Sample = ""
				return d
			}(),
			warning: "judge 1",
		},
		{
			name:    "ingest: only counted",
			dl:      dl("ingest", "", ""),
			warning: "ingest 1",
		},
		{
			name:    "a stage the report does not know is still counted",
			dl:      dl("replay", "ft", ""),
			warning: "replay 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(spec)
			defer c.Release()
			if !c.AddDeadLetter(tt.dl) {
				t.Fatal("not added")
			}
			gotS, gotJ := tableRows(t, c)
			sameRows(t, "scores", gotS, tt.scores)
			sameRows(t, "judgments", gotJ, tt.judgments)
			rep := report(t, c, nil)
			want := "messages dead-lettered (counted as errors): " + tt.warning
			if !slices.Contains(rep.Warnings, want) {
				t.Errorf("warnings %q, want %q", rep.Warnings, want)
			}
			// A pair left out because its generation failed is not a
			// judge error: only the judge's own dead letters are.
			judgeErrors := 0
			if tt.dl.Stage == "judge" {
				judgeErrors = len(tt.judgments)
			}
			if c := rep.Counts; c.GenerationErrors != len(tt.scores) || c.JudgeErrors != judgeErrors || c.Errors != len(tt.scores)+judgeErrors {
				t.Errorf("counts %+v, want %d generation and %d judge errors", c, len(tt.scores), judgeErrors)
			}
		})
	}
}

func sameRows[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n%+v\nwant\n%+v", what, got, want)
	}
}

// tableRows reads the Arrow tables back.
func tableRows(t *testing.T, c *Collector) ([]scoreCells, []judgmentCells) {
	t.Helper()
	st, jt := c.Tables()
	defer st.Release()
	defer jt.Release()
	var ss []scoreCells
	for i := range int(st.NumRows()) {
		ss = append(ss, scoreCells{str(st, "variant", i), str(st, "suite", i), str(st, "sample_id", i), str(st, "bucket", i), str(st, "reason", i)})
	}
	var js []judgmentCells
	for i := range int(jt.NumRows()) {
		js = append(js, judgmentCells{str(jt, "judge", i), str(jt, "candidate", i), str(jt, "suite", i), str(jt, "sample_id", i), str(jt, "error", i)})
	}
	return ss, js
}

// cell returns row i of the named column of a table.
func cell(t arrow.Table, name string, i int) (arrow.Array, int) {
	idx := t.Schema().FieldIndices(name)
	if len(idx) != 1 {
		panic("no column " + name)
	}
	for _, chunk := range t.Column(idx[0]).Data().Chunks() {
		if i < chunk.Len() {
			return chunk, i
		}
		i -= chunk.Len()
	}
	panic(fmt.Sprintf("row %d out of range", i))
}

func str(t arrow.Table, name string, i int) string {
	a, k := cell(t, name, i)
	return a.(*array.String).Value(k)
}

// value renders a cell, "null" for a null.
func value(t arrow.Table, name string, i int) string {
	a, k := cell(t, name, i)
	if a.IsNull(k) {
		return "null"
	}
	return a.ValueStr(k)
}

// TestTables: the Arrow tables hold exactly what was added, one row per
// kept arrival, nulls where a check or metric did not apply.
func TestTables(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	s1 := mkScore(spec, "ft", "biz", "b1", 11, eval.BucketFormatError, map[string]float64{"json_valid": 0, "json_fields": 0.25})
	s1.Checks = eval.Checks{Refused: true, Truncated: true, Empty: true, JSONValid: bp(false), Benign: false}
	s1.Reason, s1.OutputTokens, s1.LatencyMS, s1.TTFTMS, s1.ITLMS = "json_valid: the answer is not JSON", 77, 12.5, 3.25, 0.5
	s1.Model, s1.Params = "m-ft", "p0001"
	s1.OutputChars, s1.Sample.Cluster, s1.OutputHash = 42, "passage-7", "ff"
	s2 := mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1))
	s2.Checks.SchemaPass = bp(true)
	mustAdd(t, c, s1, s2)
	if c.AddScore(s2) {
		t.Error("a duplicate was added")
	}
	s3 := mkScore(spec, "ft", "qa", "q1", 1, eval.BucketError, map[string]float64{})
	s3.Reason, s3.Cause, s3.LatencyMS = "calling …: connection refused (after 5 attempts)", "connection refused", 3
	mustAdd(t, c, s3)
	j := mkJudgment(spec, "qa", "q1", 1, eval.WinTie, false)
	j.Rounds[1].Error = "timeout"
	j.Sample.Cluster = "passage-3"
	c.AddJudgment(j)

	st, jt := c.Tables()
	defer st.Release()
	defer jt.Release()
	wantCols := []string{"suite", "sample_id", "sample_seq", "variant", "bucket", "reason", "refused", "benign", "truncated", "empty",
		"json_valid", "schema_pass", "output_tokens", "output_chars", "latency_ms", "ttft_ms", "itl_ms", "gen_seq", "fingerprint", "model", "params", "cause",
		"query_time", "perturbation", "original", "contaminated", "cluster", "ref_chars", "output_hash", "unanswerable", "opening_hash", "closing_hash", "failed_metrics", "metric_em", "metric_json_fields", "metric_json_valid"}
	var cols []string
	for _, f := range st.Schema().Fields() {
		cols = append(cols, f.Name)
	}
	sameRows(t, "score columns", cols, wantCols)
	if st.NumRows() != 3 || jt.NumRows() != 1 {
		t.Fatalf("%d score rows, %d judgment rows", st.NumRows(), jt.NumRows())
	}
	fpr := spec.Fingerprint()
	want := [][]string{
		{"biz", "b1", "11", "ft", "format_error", "json_valid: the answer is not JSON", "true", "false", "true", "true",
			"false", "null", "77", "42", "12.5", "3.25", "0.5", "211", fpr, "m-ft", "p0001", "", "null", "", "", "false", "passage-7", "0", "255", "false", "0", "0", "", "null", "0.25", "0"},
		{"qa", "q1", "1", "base", "ok", "", "false", "true", "false", "false",
			"null", "true", "10", "0", "10", "null", "null", "101", fpr, "", "", "", "null", "", "", "false", "", "0", "0", "false", "0", "0", "", "1", "null", "null"},
		// A failed generation: no metric, and no latency of its own.
		{"qa", "q1", "1", "ft", "error", "calling …: connection refused (after 5 attempts)", "false", "true", "false", "false",
			"null", "null", "20", "0", "null", "null", "null", "201", fpr, "", "", "connection refused", "null", "", "", "false", "", "0", "0", "false", "0", "0", "", "null", "null", "null"},
	}
	for i, w := range want {
		var got []string
		for _, col := range wantCols {
			got = append(got, value(st, col, i))
		}
		sameRows(t, fmt.Sprintf("score row %d", i), got, w)
	}
	var got []string
	for _, col := range []string{"judge", "judge_id", "candidate", "baseline", "suite", "sample_id", "sample_seq", "winner", "consistent", "error",
		"generation_failed", "cause", "round1", "round2", "cluster"} {
		got = append(got, value(jt, col, 0))
	}
	sameRows(t, "judgment row", got, []string{"j1", spec.Judges[0].ID(), "ft", "base", "qa", "q1", "1", "tie", "false", "",
		"false", "", "candidate_first:candidate:json", "baseline_first:error", "passage-3"})

	t.Run("empty", func(t *testing.T) {
		c := New(spec)
		defer c.Release()
		st, jt := c.Tables()
		defer st.Release()
		defer jt.Release()
		if st.NumRows() != 0 || jt.NumRows() != 0 || st.NumCols() != int64(len(wantCols)) {
			t.Errorf("%d/%d rows, %d columns", st.NumRows(), jt.NumRows(), st.NumCols())
		}
	})
}

// TestRowsKeepClusterAndChars: the rows the statistics are computed from
// carry each sample's cluster and each answer's length in characters, and
// the judgments' rows the cluster; a robustness copy's judgment is left
// out of the judgment rows, as before.
func TestRowsKeepClusterAndChars(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	s1 := mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1))
	s1.Sample.Cluster, s1.OutputChars = "p-1", 250
	s2 := mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1))
	s2.Sample.Cluster, s2.OutputChars = "p-1", 3
	s3 := mkScore(spec, "ft", "qa", "q2", 2, eval.BucketOK, em(0))
	mustAdd(t, c, s1, s2, s3)
	j1 := mkJudgment(spec, "qa", "q1", 1, eval.WinBaseline, true)
	j1.Sample.Cluster = "p-1"
	j2 := mkJudgment(spec, "qa", "q2", 2, eval.WinTie, true)
	j3 := mkJudgment(spec, "qa", "q1~typos", 3, eval.WinTie, true)
	j3.Sample.Cluster, j3.Sample.Perturbation = "p-1", &eval.Perturbation{Kind: "typos", Original: "q1"}
	for _, j := range []*eval.Judgment{j1, j2, j3} {
		c.AddJudgment(j)
	}
	var got []string
	for _, r := range c.rows() {
		got = append(got, fmt.Sprintf("%s/%s:%q:%d", r.variant, r.sample, r.cluster, r.chars))
	}
	sameRows(t, "rows", got, []string{`base/q1:"p-1":250`, `ft/q1:"p-1":3`, `ft/q2:"":0`})
	got = got[:0]
	for _, r := range c.judgmentRows() {
		got = append(got, fmt.Sprintf("%s:%q", r.sample, r.cluster))
	}
	sameRows(t, "judgment rows", got, []string{`q1:"p-1"`, `q2:""`})
}

// TestTablesManyBatches adds more rows than one record batch holds, around
// a report (which seals the batch being built).
func TestTablesManyBatches(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	n := batchRows + batchRows/2
	for i := range n {
		s := mkScore(spec, "ft", "qa", fmt.Sprintf("q%05d", i), uint64(i+1), eval.BucketOK, em(float64(i%2)))
		if !c.AddScore(s) {
			t.Fatal("not added")
		}
		if i == 100 {
			report(t, c, nil)
		}
	}
	st, jt := c.Tables()
	defer st.Release()
	defer jt.Release()
	if st.NumRows() != int64(n) {
		t.Fatalf("%d rows, want %d", st.NumRows(), n)
	}
	for _, i := range []int{0, 100, 101, batchRows - 1, batchRows, n - 1} {
		if got, want := str(st, "sample_id", i), fmt.Sprintf("q%05d", i); got != want {
			t.Errorf("row %d is %s", i, got)
		}
		if got, want := value(st, "metric_em", i), fmt.Sprint(i%2); got != want {
			t.Errorf("row %d em %s, want %s", i, got, want)
		}
	}
	rep := report(t, c, nil)
	if m := rep.Metrics[0]; m.N != n || *m.Mean != float64(n/2)/float64(n) {
		t.Errorf("metric %+v", m)
	}
}

// TestProgress follows a run from nothing to complete.
func TestProgress(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	p := func(s, se, j, je int) document.Progress {
		return document.Progress{Scores: s, ScoresExpected: se, Judgments: j, JudgmentsExpected: je}
	}
	check := func(step string, want document.Progress, complete bool) {
		t.Helper()
		if got := c.Progress(); got != want {
			t.Errorf("%s: progress %+v, want %+v", step, got, want)
		}
		if got := c.Complete(); got != complete {
			t.Errorf("%s: complete = %v, want %v", step, got, complete)
		}
		if rep := report(t, c, nil); rep.Complete != complete || rep.Progress != want {
			t.Errorf("%s: report complete %v progress %+v", step, rep.Complete, rep.Progress)
		}
	}
	check("before ingest", p(0, 0, 0, 0), false)
	c.SetIngest(&eval.IngestStatus{Run: "r1", Samples: 2})
	check("ingest under way", p(0, 0, 0, 0), false)
	c.SetIngest(&eval.IngestStatus{Run: "r1", Done: true, Samples: 2, Suites: map[string]*eval.SuiteStatus{"qa": {Samples: 1}, "biz": {Samples: 1}}})
	// 2 samples × 2 variants scores; 2 samples × 1 candidate × 1 judge judgments.
	check("ingested", p(0, 4, 0, 2), false)

	mustAdd(t, c, mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1)))
	check("a score", p(1, 4, 0, 2), false)

	// What the spec does not ask for does not count.
	stray := mkScore(spec, "ft-next", "qa", "q1", 1, eval.BucketOK, em(1))
	elsewhere := mkScore(spec, "ft", "other-suite", "q1", 1, eval.BucketOK, em(1))
	oldJudge := mkJudgment(spec, "qa", "q1", 1, eval.WinTie, true)
	oldJudge.JudgeID = "j1@0123456789ab"
	otherCand := mkJudgment(spec, "qa", "q1", 1, eval.WinTie, true)
	otherCand.Candidate = "ft-next"
	mustAdd(t, c, stray, elsewhere)
	c.AddJudgment(oldJudge)
	c.AddJudgment(otherCand)
	check("results the spec does not ask for", p(1, 4, 0, 2), false)

	mustAdd(t, c, mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1)), mkScore(spec, "base", "biz", "b1", 2, eval.BucketOK, nil))
	c.AddDeadLetter(&eval.DeadLetter{Stage: "infer", Run: "r1", Suite: "biz", Sample: "b1", Variant: "ft", Subject: "assay.samples.r1.biz", Seq: 2, Reason: "context too long"})
	// The dead letter stands for ft's b1 score and its pair.
	check("every score, one judgment", p(4, 4, 1, 2), false)

	c.AddJudgment(mkJudgment(spec, "qa", "q1", 1, eval.WinTie, true))
	check("complete", p(4, 4, 2, 2), true)

	// A checkpoint adds a variant: more is expected again.
	next := testSpec()
	next.Variants = append(next.Variants, eval.Variant{Name: "ft-next", BaseURL: "http://next:8000/v1", Model: "m-next"})
	c.SetSpec(next)
	// ft-next's q1 score and q1 pair arrived early and count now.
	check("a variant added", p(5, 6, 3, 4), false)

	t.Run("one variant: no judgments expected", func(t *testing.T) {
		spec := testSpec()
		spec.Variants = spec.Variants[:1]
		c := New(spec)
		defer c.Release()
		c.SetIngest(&eval.IngestStatus{Run: "r1", Done: true, Samples: 1})
		mustAdd(t, c, mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1)))
		if got := c.Progress(); got != p(1, 1, 0, 0) || !c.Complete() {
			t.Errorf("progress %+v, complete %v", got, c.Complete())
		}
	})
	t.Run("nothing to evaluate", func(t *testing.T) {
		c := New(testSpec())
		defer c.Release()
		c.SetIngest(&eval.IngestStatus{Run: "r1", Done: true})
		if !c.Complete() {
			t.Error("an empty ingested run is complete")
		}
	})
}

// TestForeignFingerprint: results made under another spec are kept but
// never compared silently.
func TestForeignFingerprint(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	a := mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1))
	a.Fingerprint = "aaaa"
	b := mkScore(spec, "ft", "qa", "q1", 1, eval.BucketOK, em(1))
	b.Fingerprint = "bbbb"
	b2 := mkScore(spec, "ft", "qa", "q2", 2, eval.BucketOK, em(1))
	b2.Fingerprint = "bbbb"
	unstamped := mkScore(spec, "base", "qa", "q2", 2, eval.BucketOK, em(1))
	unstamped.Fingerprint = ""
	mustAdd(t, c, a, b, b2, unstamped, mkScore(spec, "base", "qa", "q3", 3, eval.BucketOK, em(1)))
	j := mkJudgment(spec, "qa", "q1", 1, eval.WinTie, true)
	j.Fingerprint = "bbbb"
	c.AddJudgment(j)
	rep := report(t, c, nil)
	want := []string{
		"1 scores were made under fingerprint aaaa, not this run's " + spec.Fingerprint() + ": their decoding or template differ",
		"2 scores and 1 judgments were made under fingerprint bbbb, not this run's " + spec.Fingerprint() + ": their decoding or template differ",
	}
	if !slices.Equal(rep.Warnings, want) {
		t.Errorf("warnings:\n%s", strings.Join(rep.Warnings, "\n"))
	}
}

func TestNotes(t *testing.T) {
	c := New(testSpec())
	defer c.Release()
	for i := range 150 {
		c.Note(fmt.Sprintf("note %d", i))
	}
	rep := report(t, c, nil)
	if len(rep.Warnings) != 100 || rep.Warnings[99] != "note 99" {
		t.Errorf("%d warnings, last %q", len(rep.Warnings), rep.Warnings[len(rep.Warnings)-1])
	}
}

// TestIngestFailureEndsTheRun dead-letters the run's created event: the run
// can never receive a result, so it is over at once, never complete, and
// its gate's verdict is error.
func TestIngestFailureEndsTheRun(t *testing.T) {
	c := New(testSpec())
	defer c.Release()
	if c.Complete() {
		t.Fatal("complete before anything arrived")
	}
	c.AddDeadLetter(&eval.DeadLetter{Stage: "ingest", Run: "r1", Subject: "assay.events.run.r1.created", Seq: 3, Reason: "suite s has no uploaded dataset"})
	if c.Complete() || !c.Over() || c.IngestFailed() != "suite s has no uploaded dataset" {
		t.Fatalf("a run whose ingest failed must be over, not complete: complete %v, over %v, %q", c.Complete(), c.Over(), c.IngestFailed())
	}
	rep, err := c.Report(t.Context(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Gate.Passed || !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "no uploaded dataset") }) {
		t.Fatalf("gate %+v, warnings %q", rep.Gate, rep.Warnings)
	}
	if rep.Complete || rep.Gate.Verdict != document.VerdictError || len(rep.Gate.Errors) != 1 ||
		rep.Gate.Errors[0] != "ingest failed, so the run cannot be evaluated (what was read before is shown, with no verdict): suite s has no uploaded dataset" {
		t.Errorf("complete %v, gate %+v", rep.Complete, rep.Gate)
	}

	// A dead letter that names the suite: the report names it too.
	c = New(testSpec())
	defer c.Release()
	c.AddDeadLetter(&eval.DeadLetter{Stage: "ingest", Run: "r1", Suite: "qa", Subject: "assay.events.run.r1.created", Seq: 4, Reason: "reading qa.jsonl: unexpected EOF"})
	rep, err = c.Report(t.Context(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Failures; len(f) != 1 || f[0].Stage != "ingest" || f[0].Source != "qa" || f[0].Example != "suite qa: reading qa.jsonl: unexpected EOF" {
		t.Errorf("failures %+v", f)
	}
}

// TestDuplicatesOfNumberedSamples: once the run's samples are named, a
// result's arrival is a bit by sample number rather than a key, and a
// result delivered again still counts once, whether its first delivery
// came before the samples were named (by key) or after (by bit).
func TestDuplicatesOfNumberedSamples(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	early := mkScore(spec, "ft", "qa", "q0", 1, eval.BucketOK, em(1))
	if !c.AddScore(early) {
		t.Fatal("a first score refused")
	}
	const n = 300
	for i := range n {
		c.AddSample("qa", fmt.Sprintf("q%d", i))
	}
	add := func() (scores, judgments int) {
		for i := range n {
			for _, v := range []string{"base", "ft"} {
				if c.AddScore(mkScore(spec, v, "qa", fmt.Sprintf("q%d", i), uint64(i+1), eval.BucketOK, em(1))) {
					scores++
				}
			}
			if c.AddJudgment(mkJudgment(spec, "qa", fmt.Sprintf("q%d", i), uint64(i+1), eval.WinTie, true)) {
				judgments++
			}
		}
		return scores, judgments
	}
	if s, j := add(); s != 2*n-1 || j != n {
		t.Fatalf("first deliveries: %d scores and %d judgments added, want %d and %d", s, j, 2*n-1, n)
	}
	if s, j := add(); s != 0 || j != 0 {
		t.Fatalf("second deliveries: %d scores and %d judgments added again", s, j)
	}
	if len(c.seen) != 1 {
		t.Errorf("%d keys kept, want only the score that came before the samples were named", len(c.seen))
	}
	if p := c.Progress(); p.Scores != 2*n || p.Judgments != n {
		t.Errorf("progress %+v, want %d scores and %d judgments", p, 2*n, n)
	}
}

// TestSampleNumbersOutliveFolding: a continuous run beside a dataset
// suite forgets the samples of the windows it folds; a sample named after
// that gets a number of its own, not one a live sample holds, and a
// result for a sample named before the fold still has its bit.
func TestSampleNumbersOutliveFolding(t *testing.T) {
	spec := continuousSpec()
	spec.Judges = nil
	spec.Suites = append(spec.Suites, eval.Suite{Name: "qa", Role: eval.RoleBenchmark, Metrics: []string{"em"}})
	c := New(spec, WithHorizon(1))
	defer c.Release()
	c.TrackSamples()
	for i := range 100 {
		c.AddSample("chat", fmt.Sprintf("w0q%d", i))
	}
	c.AddSample("qa", "a")
	c.AddSample("chat", "w1q0")
	mustAdd(t, c, mkScore(spec, "base", "qa", "a", 2, eval.BucketOK, em(1)))
	for w, ids := range [][]string{{"w0q0", "w0q1"}, {"w1q0"}} {
		for _, id := range ids {
			for _, v := range []string{"base", "ft"} {
				s := mkScore(spec, v, "chat", id, uint64(10+w), eval.BucketOK, map[string]float64{"refusal": 0})
				s.Sample.At = windowZero.Add(time.Duration(w)*time.Hour + time.Minute)
				mustAdd(t, c, s) // window 1's first score folds window 0
			}
		}
	}
	c.AddSample("qa", "b")
	if !c.AddScore(mkScore(spec, "base", "qa", "b", 4, eval.BucketOK, em(1))) {
		t.Error("the score of a sample named after the fold was taken for a duplicate")
	}
	// The first result of a slot after the fold, for a sample numbered
	// above what is still named.
	if !c.AddScore(mkScore(spec, "ft", "qa", "a", 2, eval.BucketOK, em(1))) {
		t.Error("ft's score of a was refused")
	}
	if c.AddScore(mkScore(spec, "base", "qa", "a", 2, eval.BucketOK, em(1))) {
		t.Error("base's score of a counted twice")
	}
}

// TestReportOfAReadThatFailsOnce: a spilled segment that cannot be read
// while the report indexes the run's samples, but can be a moment later,
// makes the report fail as a failed read does, not a panic.
func TestReportOfAReadThatFailsOnce(t *testing.T) {
	spec := testSpec()
	c := New(spec, WithSpill(t.TempDir(), 1))
	defer c.Release()
	for i := range 20 {
		mustAdd(t, c, mkScore(spec, "base", "qa", fmt.Sprintf("q%02d", i), uint64(i+1), eval.BucketOK, em(1)))
	}
	if _, err := c.Report(t.Context(), nil, windowZero); err != nil { // spills
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(c.spill.dir, "*.arrow"))
	if len(segs) == 0 {
		t.Fatal("nothing spilled")
	}
	for _, s := range segs {
		if err := os.Rename(s, s+".away"); err != nil {
			t.Fatal(err)
		}
	}
	x := c.sampleIndex()
	for _, s := range segs {
		if err := os.Rename(s+".away", s); err != nil {
			t.Fatal(err)
		}
	}
	if c.readErr == nil {
		t.Fatal("the index read no error")
	}
	c.readErr = nil
	n := 0
	c.eachScore(x, func(*row) { n++ })
	if c.readErr == nil {
		t.Errorf("rows the index does not have (%d read) gave no error", n)
	}
}
