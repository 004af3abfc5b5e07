package render

import (
	"encoding/json"
	"html"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/services/report/document"
)

// TestStatisticsShown: both renderings show each statistic a ship decision
// rests on, with the same text.
func TestStatisticsShown(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"gate policy", []string{"Policy: interval (a check passes when its whole 95% interval clears the threshold"}},
		{"check interval and bound", []string{"0.067 [0.052, 0.087]", "≤ 0.050", "≥ 0.550"}},
		{"inconclusive check", []string{"inconclusive", "about 147", "win_rate_min for ft: its interval straddles the threshold; about 147 samples would decide it"}},
		{"q-value", []string{"0.0154"}},
		{"undefined test", []string{"n/a¹", "¹ every pair differs by the same amount: no variance to test against"}},
		{"underpowered", []string{"0.120 (too few to tell)", tooFewNote}},
		{"clusters", []string{"60 (12 clusters)"}},
		{"rate deltas", []string{"Rate deltas vs baseline", "+0.044 [-0.012, +0.101]"}},
		{"rate intervals", []string{"0.067 [0.031, 0.138]", "0.983 [0.911, 0.997]"}},
		{"win rate statistics", []string{"0.601 [0.470, 0.720]", "+0.420", "0.667 [0.530, 0.780]", "0.0241"}},
		{"position bias", []string{"first shown won both"}},
		{"by suite", []string{"Win rate by suite", "0.800 [0.640, 0.960]"}},
		{"difference in differences", []string{"Robustness vs baseline", "-0.133 [-0.245, -0.022]"}},
		{"methods", []string{"Methods", "Benjamini–Hochberg"}},
	}
	for _, rd := range renderers[:2] {
		out := render(t, rd.render, fixture())
		if rd.name == "html" {
			out = html.UnescapeString(out)
		}
		for _, tc := range tests {
			t.Run(rd.name+"/"+tc.name, func(t *testing.T) {
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("%s lacks %q", rd.name, w)
					}
				}
			})
		}
	}
}

// TestSeriesStatisticsShown: kappa intervals, the ranking, window refusal
// deltas and the monitors.
func TestSeriesStatisticsShown(t *testing.T) {
	want := []string{
		"0.651 [0.470, 0.832]", "0.710 [0.551, 0.870]",
		"Ranking", "+0.610 [+0.200, +1.020]", "0 (reference)", "¹ never compared with another variant",
		"+0.050 [-0.020, +0.120]", "+0.083 [no interval¹]", "¹ fewer than 2 pairs: no variance to test against",
		"Monitors", "refusal_delta", "0.00400", "ALARM",
		"Bradley–Terry", "mixture SPRT",
	}
	for _, rd := range renderers[:2] {
		out := render(t, rd.render, seriesFixture())
		if rd.name == "html" {
			out = html.UnescapeString(out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q", rd.name, w)
			}
		}
	}
	if out := render(t, HTML, seriesFixture()); !strings.Contains(out, `<td class="fail">ALARM</td>`) {
		t.Error("HTML does not mark the alarm")
	}
	if out := render(t, Markdown, seriesFixture()); !strings.Contains(out, "| **ALARM** |") {
		t.Error("Markdown does not mark the alarm")
	}
}

// TestStarsOnQ: a delta is starred by its q-value, adjusted for the number
// of deltas, not by its raw p.
func TestStarsOnQ(t *testing.T) {
	tests := []struct {
		name    string
		p, q    *float64
		starred bool
	}{
		{"p and q below 5%", ptr(0.001), ptr(0.004), true},
		{"p below 5%, q not", ptr(0.02), ptr(0.08), false},
		{"no q", ptr(0.02), nil, false},
		{"undefined", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			r.Deltas = []document.Delta{{Suite: "gsm8k", Metric: "num_match", Variant: "ft", Baseline: "base",
				DeltaEstimate: document.DeltaEstimate{N: 60, Delta: 0.1, CI: [2]float64{0.02, 0.18}, PValue: tc.p, QValue: tc.q, Test: "mcnemar"}}}
			row := tableRow(t, render(t, Markdown, r), "| gsm8k | num_match | ft |")
			if got := row[7] == "*"; got != tc.starred {
				t.Errorf("sig cell %q in %q, want starred %v", row[7], row, tc.starred)
			}
		})
	}
}

// tableRow is the cells of the Markdown table row that starts with prefix.
func tableRow(t *testing.T, md, prefix string) []string {
	t.Helper()
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, prefix) {
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells
		}
	}
	t.Fatalf("no row %q in\n%s", prefix, md)
	return nil
}

func TestGateVerdicts(t *testing.T) {
	tests := []struct {
		verdict, md, badge string
	}{
		{document.VerdictPass, "gate **PASSED**", `class="badge passed">PASSED`},
		{document.VerdictFail, "gate **FAILED**", `class="badge failed">FAILED`},
		{document.VerdictInconclusive, "gate **INCONCLUSIVE**", `class="badge inconclusive">INCONCLUSIVE`},
		{document.VerdictError, "gate **ERROR**", `class="badge error">ERROR`},
	}
	for _, tc := range tests {
		t.Run(tc.verdict, func(t *testing.T) {
			r := fixture()
			r.Gate.Verdict = tc.verdict
			if got := render(t, Markdown, r); !strings.Contains(got, tc.md) {
				t.Errorf("markdown lacks %q", tc.md)
			}
			if got := render(t, HTML, r); !strings.Contains(got, tc.badge) {
				t.Errorf("HTML lacks %q", tc.badge)
			}
		})
	}
}

func TestCheckResult(t *testing.T) {
	tests := []struct {
		name string
		c    document.Check
		want string
	}{
		{"pass", document.Check{Outcome: "pass", Passed: true}, "pass"},
		{"fail", document.Check{Outcome: "fail"}, "FAIL"},
		{"inconclusive", document.Check{Outcome: "inconclusive"}, "inconclusive"},
		{"error", document.Check{Outcome: "error", Error: "the run is incomplete"}, "ERROR: the run is incomplete"},
		{"error without a cause", document.Check{Outcome: "error"}, "ERROR"},
		{"old pass", document.Check{Passed: true}, "pass"},
		{"old fail", document.Check{}, "FAIL"},
		{"old error", document.Check{Error: "nothing to measure"}, "ERROR: nothing to measure"},
	}
	for _, tc := range tests {
		if got := checkResult(tc.c); got != tc.want {
			t.Errorf("%s: checkResult = %q, want %q", tc.name, got, tc.want)
		}
	}
	r := fixture()
	if got, want := failedChecks(r), []string{"refusal_rate_max for ft"}; !slices.Equal(got, want) {
		t.Errorf("failedChecks = %q, want %q: an inconclusive check has not failed", got, want)
	}
	if got, want := inconclusiveChecks(r), []string{"win_rate_min for ft"}; !slices.Equal(got, want) {
		t.Errorf("inconclusiveChecks = %q, want %q", got, want)
	}
}

// oldReport is a report.json as assay wrote it before the gate decided on
// intervals (the aggregator's golden at commit 9308265): none of the
// statistics' fields are in it.
const oldReport = "testdata/report-before-intervals.json"

// TestOldReport: a report.json without the new fields renders, shows its
// own figures, and does not invent sections or zero intervals for what it
// lacks.
func TestOldReport(t *testing.T) {
	data, err := os.ReadFile(oldReport)
	if err != nil {
		t.Fatal(err)
	}
	var r document.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	for _, rd := range renderers {
		t.Run(rd.name, func(t *testing.T) {
			out := render(t, rd.render, &r)
			if rd.name == "html" {
				out = html.UnescapeString(out)
			}
			for _, bad := range []string{"0.000 [0.000, 0.000]", "+0.000 [+0.000, +0.000]", "Rate deltas", "Ranking", "Monitors", "Policy:", "¹"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s shows %q", rd.name, bad)
				}
			}
			if rd.name == "summary" {
				return
			}
			for _, want := range []string{"0.615 [0.355, 0.823]", "+0.222 [-0.207, +0.569]", "0.625", "ERROR: 1 of 4 pairs", "Methods"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s lacks %q", rd.name, want)
				}
			}
		})
	}
}

// FuzzRenderJSON: whatever a report.json holds, every rendering of it
// succeeds without a panic.
func FuzzRenderJSON(f *testing.F) {
	old, err := os.ReadFile(oldReport)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(old)
	for _, r := range []*document.Report{fixture(), seriesFixture()} {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"gate":{"checks":[{"outcome":"inconclusive","ci":null,"mde":null}]},"ranking":[{}],"monitors":[{}],"rate_deltas":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r document.Report
		if json.Unmarshal(data, &r) != nil {
			return
		}
		for _, rd := range renderers {
			if err := rd.render(io.Discard, &r); err != nil {
				t.Errorf("%s: %v", rd.name, err)
			}
		}
	})
}

// TestUndefinedWinRates: a win rate without an interval, and a
// length-controlled one the model could not fit, say why in a footnote.
func TestUndefinedWinRates(t *testing.T) {
	r := fixture()
	p := &r.Pairwise[0]
	p.N, p.Wins, p.Losses, p.Ties = 3, 3, 0, 0
	p.WinRate, p.CI, p.Undefined = ptr(1), nil, "every pair has the same verdict: no variance to test against"
	p.LengthControlled = &document.LengthControlled{N: 3, Undefined: "every verdict is a win: the rate is 1 and the model has no finite fit"}
	for _, rd := range renderers[:2] {
		out := html.UnescapeString(render(t, rd.render, r))
		for _, want := range []string{"1.000¹", "n/a²", "¹ every pair has the same verdict", "² every verdict is a win"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", rd.name, want)
			}
		}
	}
}

// TestOverNothingIsNA: a rate the run measures but that is over nothing
// (every generation of ft failed) is n/a; one the run does not measure at
// all (json_valid with no JSON metric, schema_pass with no json_schema)
// is —.
func TestOverNothingIsNA(t *testing.T) {
	for _, c := range []struct {
		name     string
		metrics  []string
		rates    []string // refusal, benign prompts, json_valid, JSON answers, schema_pass, truncated, error, tokens
		terminal string   // refusal, json_valid, errors
	}{
		{"no JSON metric", []string{"em"}, []string{na, "0", none, none, none, na, "1.000", na}, "n/a      —           1.000"},
		{"JSON metrics", []string{"json_valid", "json_schema"}, []string{na, "0", na, "0", na, na, "1.000", na}, "n/a      n/a         1.000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &document.Report{Run: "r", Baseline: "base", Variants: []string{"base", "ft"}, Complete: true,
				Suites: []document.Suite{{Name: "qa", Metrics: c.metrics, Samples: 4}},
				Rates:  map[string]document.Rates{"ft": {Error: ptr(1)}}}
			got := ratesTable(r, []rateRow{{"ft", r.Rates["ft"]}}).Rows[0][1:]
			if !slices.Equal(got, c.rates) {
				t.Errorf("rates row %q, want %q", got, c.rates)
			}
			var b strings.Builder
			if err := Summary(&b, r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), c.terminal) {
				t.Errorf("summary:\n%s\nwant a row ending %q", b.String(), c.terminal)
			}
		})
	}
}
