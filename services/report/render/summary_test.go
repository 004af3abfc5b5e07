package render

import (
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// gatedReport is a complete report of ft against base whose gate has the
// given verdict and checks.
func gatedReport(verdict string, checks ...document.Check) *document.Report {
	return &document.Report{
		Baseline: "base", Variants: []string{"base", "ft"}, Complete: true,
		Rates: map[string]document.Rates{"base": {}, "ft": {}},
		Gate: document.Gate{Verdict: verdict, Policy: "interval", Passed: verdict == document.VerdictPass,
			Checks: append([]document.Check{{Name: "error_rate_max", Variant: "ft", Threshold: 0.02, Bound: "max", Outcome: document.VerdictPass, Passed: true}}, checks...)},
	}
}

// TestSummaryUndecided: the terminal says INCONCLUSIVE, and for each check
// that failed or was not decided its interval against its threshold and,
// when not decided, what its sample detects and what sample would decide
// it; the verdict stays the last line.
func TestSummaryUndecided(t *testing.T) {
	straddles := document.Check{Name: "qa/em delta_min", Variant: "ft", Value: 0.02, Threshold: 0, Bound: "min", CI: &[2]float64{-0.02, 0.06},
		Outcome: document.VerdictInconclusive, MDE: ptr(0.0572), NeededN: 401}
	onThreshold := document.Check{Name: "biz/f1 delta_min", Variant: "ft", Value: 0, Threshold: 0, Bound: "min", CI: &[2]float64{-0.05, 0.05},
		Outcome: document.VerdictInconclusive, MDE: ptr(0.07)}
	failed := document.Check{Name: "refusal_rate_delta_max", Variant: "ft", Value: 0.05, Threshold: 0.01, Bound: "max", CI: &[2]float64{0.03, 0.07},
		Outcome: document.VerdictFail}
	below := document.Check{Name: "win_rate_min", Variant: "ft", Value: 0.4, Threshold: 0.5, Bound: "min", CI: &[2]float64{0.35, 0.45},
		Outcome: document.VerdictFail}
	noInterval := document.Check{Name: "win_rate_min", Variant: "ft", Value: 0.5, Threshold: 0.55, Bound: "min", Outcome: document.VerdictInconclusive}
	for _, c := range []struct {
		name string
		rep  *document.Report
		want string
	}{
		{"inconclusive", gatedReport(document.VerdictInconclusive, straddles, onThreshold), `
qa/em delta_min for ft: 0.020 [-0.020, 0.060] straddles 0.000; detectable at this n: 0.057; about 401 samples would decide it
biz/f1 delta_min for ft: 0.000 [-0.050, 0.050] straddles 0.000; detectable at this n: 0.070; it sits on the threshold: more samples decide it only if the true value is not the threshold
gate: INCONCLUSIVE (qa/em delta_min for ft, biz/f1 delta_min for ft)
`},
		{"failed, with what is undecided too", gatedReport(document.VerdictFail, straddles, failed, below), `
qa/em delta_min for ft: 0.020 [-0.020, 0.060] straddles 0.000; detectable at this n: 0.057; about 401 samples would decide it
refusal_rate_delta_max for ft: 0.050 [0.030, 0.070] is above 0.010
win_rate_min for ft: 0.400 [0.350, 0.450] is below 0.500
gate: FAILED (refusal_rate_delta_max for ft, win_rate_min for ft)
`},
		{"no interval: why", func() *document.Report {
			r := gatedReport(document.VerdictInconclusive, noInterval)
			r.Pairwise = []document.Pairwise{{Judge: "j", Variant: "ft", N: 30, Ties: 30, WinRate: ptr(0.5), Undefined: "every pair has the same verdict: no variance to test against"}}
			return r
		}(), `
win_rate_min for ft: 0.500 has no interval (every pair has the same verdict: no variance to test against), so nothing decides it against 0.550
gate: INCONCLUSIVE (win_rate_min for ft)
`},
		{"passed: nothing to add", gatedReport(document.VerdictPass, document.Check{Name: "win_rate_min", Variant: "ft", Value: 0.7, Threshold: 0.5,
			Bound: "min", CI: &[2]float64{0.6, 0.8}, Outcome: document.VerdictPass, Passed: true}), "\ngate: PASSED\n"},
		{"passed with no quality check: said so", gatedReport(document.VerdictPass),
			"\ngate: PASSED (only the run's error rates were checked: the spec's gate has no quality check)\n"},
		{"passed with no quality check but the judges': said so", gatedReport(document.VerdictPass, document.Check{Name: "judge_error_rate_max", Variant: "ft", Judge: "j2",
			Threshold: 0.02, Bound: "max", Outcome: document.VerdictPass, Passed: true}),
			"\ngate: PASSED (only the run's error rates were checked: the spec's gate has no quality check)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			if err := Summary(&b, c.rep); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); !strings.HasSuffix(got, c.want) {
				t.Errorf("summary:\n%s\nwant it to end with:\n%s", got, c.want)
			}
		})
	}
}

// TestUndefinedReason: the reason a check has no interval comes from the
// statistic it reads.
func TestUndefinedReason(t *testing.T) {
	r := &document.Report{
		Pairwise:   []document.Pairwise{{Variant: "ft", Undefined: "ties"}},
		Deltas:     []document.Delta{{Suite: "qa", Metric: "em", Variant: "ft", DeltaEstimate: document.DeltaEstimate{Undefined: "no variance"}}},
		RateDeltas: []document.RateDelta{{Rate: "json_valid", Variant: "ft", DeltaEstimate: document.DeltaEstimate{Undefined: "x"}}, {Rate: "refusal", Variant: "ft", DeltaEstimate: document.DeltaEstimate{Undefined: "one pair"}}},
	}
	for _, c := range []struct{ check, variant, want string }{
		{"win_rate_min", "ft", "ties"},
		{"qa/em delta_min", "ft", "no variance"},
		{"refusal_rate_delta_max", "ft", "one pair"},
		{"qa/em delta_min", "ft2", ""},
		{"json_valid_min", "ft", ""},
	} {
		if got := undefinedReason(r, document.Check{Name: c.check, Variant: c.variant}); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.check, c.variant, got, c.want)
		}
	}
}

// TestJudgeErrorCheckNamesItsJudge: a run with two judges has a
// judge_error_rate_max check per judge and variant, and the terminal and
// the gate table tell them apart.
func TestJudgeErrorCheckNamesItsJudge(t *testing.T) {
	over := document.Check{Name: "judge_error_rate_max", Variant: "ft", Judge: "j2", Value: 0.3, Threshold: 0.02, Bound: "max",
		Outcome: document.VerdictError, Error: "judge j2: 30.0% of ft's pairs got no verdict (30 × timeout), more than error_rate_max 0.02 allows"}
	within := document.Check{Name: "judge_error_rate_max", Variant: "ft", Judge: "j1", Threshold: 0.02, Bound: "max", Outcome: document.VerdictPass, Passed: true}
	r := gatedReport(document.VerdictError, within, over)
	r.Gate.Errors = []string{over.Error}
	if got := checkName(over); got != "judge_error_rate_max for ft (judge j2)" {
		t.Errorf("check name %q", got)
	}
	var b strings.Builder
	if err := Summary(&b, r); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasPrefix(got, "the run could not be evaluated: judge j2: 30.0% of ft's pairs got no verdict") {
		t.Errorf("summary:\n%s", got)
	}
	tb := gateTable(r)
	if tb.Rows[1][0] != "judge_error_rate_max (judge j1)" || tb.Rows[2][0] != "judge_error_rate_max (judge j2)" {
		t.Errorf("gate table rows: %q", tb.Rows)
	}
}

// TestSummarySkippedPerFile: the terminal gives a line per file that held
// malformed records, with its count and first three problems, so that a
// directory suite names b.jsonl too; a report written before ingest
// counted per file still lists the suite's first three.
func TestSummarySkippedPerFile(t *testing.T) {
	suite := document.Suite{Name: "arith", Samples: 13, Malformed: 6, Problems: []string{
		"a.jsonl:2: prompt: is empty", "a.jsonl:4: prompt: is empty", "a.jsonl:7: prompt: is empty", "a.jsonl:9: prompt: is empty",
		"b.jsonl:1: prompt: is empty", "b.jsonl:5: prompt: is empty"}}
	perFile := suite
	perFile.Files = []eval.MalformedFile{
		{File: "a.jsonl", Malformed: 4, Problems: []string{"a.jsonl:2: prompt: is empty", "a.jsonl:4: prompt: is empty", "a.jsonl:7: prompt: is empty"}},
		{File: "b.jsonl", Malformed: 2, Problems: []string{"b.jsonl:1: prompt: is empty", "b.jsonl:5: prompt: is empty"}},
	}
	for _, c := range []struct {
		name  string
		suite document.Suite
		want  string
	}{
		{"per file", perFile, `
skipped 6 malformed dataset records (see report.md, Suites):
  suite arith: 6 of 19 records
    a.jsonl: 4 malformed: a.jsonl:2: prompt: is empty; a.jsonl:4: prompt: is empty; a.jsonl:7: prompt: is empty; … 1 more
    b.jsonl: 2 malformed: b.jsonl:1: prompt: is empty; b.jsonl:5: prompt: is empty
`},
		{"a report from before", suite, `
skipped 6 malformed dataset records (see report.md, Suites):
  suite arith: 6 of 19 records
    a.jsonl:2: prompt: is empty
    a.jsonl:4: prompt: is empty
    a.jsonl:7: prompt: is empty
    … 3 more
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := gatedReport(document.VerdictPass)
			r.Suites, r.Counts.Malformed = []document.Suite{c.suite}, 6
			var b strings.Builder
			if err := Summary(&b, r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), c.want) {
				t.Errorf("summary:\n%s\nwant:\n%s", b.String(), c.want)
			}
		})
	}
}

// TestSummaryDroppedDuplicates: the terminal counts the duplicates dropped,
// exact and near per suite, and points to where they are listed.
func TestSummaryDroppedDuplicates(t *testing.T) {
	for _, c := range []struct {
		name   string
		suites []document.Suite
		count  int
		want   string
	}{
		{"per suite", []document.Suite{
			{Name: "arith", Samples: 9, Duplicates: 1, Dropped: []eval.DroppedDuplicate{{ID: "a7", Twin: "a2"}}},
			{Name: "qa", Samples: 9, Duplicates: 2, Dropped: []eval.DroppedDuplicate{{ID: "q3", Twin: "q1"}, {ID: "q5", Twin: "q4", Similarity: 0.93, Why: "a typo"}}},
			{Name: "clean", Samples: 9},
		}, 3, "\ndropped 3 duplicate samples (arith 1 exact, 0 near; qa 1 exact, 1 near; see report.md, Duplicates)\n"},
		{"a report without the list", []document.Suite{{Name: "arith", Samples: 9, Duplicates: 1}}, 1,
			"\ndropped 1 duplicate samples (see report.md, Duplicates)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := gatedReport(document.VerdictPass)
			r.Suites, r.Counts.Duplicates = c.suites, c.count
			var b strings.Builder
			if err := Summary(&b, r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), c.want) {
				t.Errorf("summary:\n%s\nwant:\n%s", b.String(), c.want)
			}
		})
	}
	r := gatedReport(document.VerdictPass)
	var b strings.Builder
	if err := Summary(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "duplicate") {
		t.Errorf("no duplicate, but the summary says:\n%s", b.String())
	}
}
