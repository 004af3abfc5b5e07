package render

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// maxSummaryProblems is how many skipped records the terminal shows per
// file (per suite, for a report written before ingest counted per file);
// the report lists more.
const maxSummaryProblems = 3

// Summary writes what the terminal shows of a report: when the run could
// not be evaluated, why (first, so that it is the first thing read); a
// short table, one row per variant; what failed, what was skipped and what
// was dropped; and the gate's verdict with, for each check that failed or
// could not be decided, its interval against its threshold and what would
// decide it.
func Summary(w io.Writer, r *document.Report) error {
	if r == nil {
		return errNilReport
	}
	var buf bytes.Buffer
	if gateStatus(r) == gateError && len(r.Gate.Errors) > 0 {
		buf.WriteString("the run could not be evaluated: " + r.Gate.Errors[0] + "\n")
		for _, e := range r.Gate.Errors[1:] {
			buf.WriteString("  and: " + e + "\n")
		}
		buf.WriteString("\n")
	}

	type column struct{ suite, metric string }
	var cols []column
	head := []string{"variant", "win rate [95% CI]"}
	for _, s := range r.Suites {
		if m := s.PrimaryMetric(); m != "" {
			cols = append(cols, column{s.Name, m})
			head = append(head, s.Name+":"+m)
		}
	}
	head = append(head, "refusal", "json_valid", "errors")

	js := measuresJSON(r)
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, v := range newOrder(r).variants {
		row := []string{v, winRate(r, v)}
		for _, c := range cols {
			row = append(row, meanOf(r, c.suite, c.metric, v))
		}
		rates := r.Rates[v]
		row = append(row, optRate(rates.Refusal), applying(js, rates.JSONValid, optRate(rates.JSONValid)), optRate(rates.Error))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	writeFailures(&buf, r)
	writeSkipped(&buf, r)
	writeSandbox(&buf, r)
	buf.WriteString(latestWindow(r))
	// The verdict is the last line: what failed or was not decided comes
	// just before it.
	switch gateStatus(r) {
	case gatePassed:
		if onlyValidityChecks(r) {
			// A pass that says nothing of quality must not read as one.
			buf.WriteString("gate: PASSED (only the run's error rates were checked: the spec's gate has no quality check)\n")
		} else {
			buf.WriteString("gate: PASSED\n")
		}
	case gateFailed:
		writeUndecided(&buf, r)
		writeVerdict(&buf, "FAILED", failedChecks(r))
	case gateInconclusive:
		writeUndecided(&buf, r)
		writeVerdict(&buf, "INCONCLUSIVE", inconclusiveChecks(r))
	case gateError:
		buf.WriteString("gate: ERROR (the run could not be evaluated; see above)\n")
	default:
		buf.WriteString("gate: not evaluated (run incomplete)\n")
	}
	_, err := buf.WriteTo(w)
	return err
}

// onlyValidityChecks reports whether every check of a gate that has
// checks says only whether the run could be evaluated (its error rates,
// its judges' and its malformed records'), none how good a variant is.
func onlyValidityChecks(r *document.Report) bool {
	if len(r.Gate.Checks) == 0 {
		return false
	}
	for _, c := range r.Gate.Checks {
		if !document.IsValidityCheck(c.Name) {
			return false
		}
	}
	return true
}

// writeUndecided writes a line for each check that failed or could not be
// decided, after a blank line: its value and interval against its
// threshold and, for an undecided one, what would decide it.
func writeUndecided(b *bytes.Buffer, r *document.Report) {
	first := true
	for _, c := range r.Gate.Checks {
		o := checkOutcome(c)
		if o != document.VerdictFail && o != document.VerdictInconclusive {
			continue
		}
		if first {
			b.WriteString("\n")
			first = false
		}
		switch o {
		case document.VerdictFail:
			side := "below"
			if c.Bound == "max" {
				side = "above"
			}
			fmt.Fprintf(b, "%s: %s is %s %s\n", checkName(c), checkValue(r, c), side, num(c.Threshold))
		case document.VerdictInconclusive:
			if c.CI == nil {
				fmt.Fprintf(b, "%s: %s, so nothing decides it against %s\n", checkName(c), checkValue(r, c), num(c.Threshold))
				continue
			}
			fmt.Fprintf(b, "%s: %s straddles %s", checkName(c), checkValue(r, c), num(c.Threshold))
			if c.MDE != nil {
				fmt.Fprintf(b, "; detectable at this n: %s", num(*c.MDE))
			}
			if c.NeededN > 0 {
				fmt.Fprintf(b, "; about %d samples would decide it\n", c.NeededN)
			} else {
				b.WriteString("; it sits on the threshold: more samples decide it only if the true value is not the threshold\n")
			}
		}
	}
}

// checkValue is a check's value with its interval, or with why it has
// none.
func checkValue(r *document.Report, c document.Check) string {
	if c.CI != nil {
		return withCI(c.Value, *c.CI)
	}
	if why := undefinedReason(r, c); why != "" {
		return num(c.Value) + " has no interval (" + why + ")"
	}
	return num(c.Value) + " has no interval"
}

// undefinedReason is why the statistic behind a check has no interval, as
// the report gives it: a win rate's, a delta's or a rate delta's.
func undefinedReason(r *document.Report, c document.Check) string {
	switch name := c.Name; {
	case name == "win_rate_min":
		for _, p := range r.Pairwise {
			// The check's own judge (any, in a report written before
			// checks named it).
			if p.Variant == c.Variant && (c.Judge == "" || p.Judge == c.Judge) && p.Undefined != "" {
				return p.Undefined
			}
		}
	case name == "refusal_rate_delta_max":
		for _, d := range r.RateDeltas {
			if d.Rate == "refusal" && d.Variant == c.Variant {
				return d.Undefined
			}
		}
	case strings.HasSuffix(name, " delta_min"), strings.HasSuffix(name, " delta_max"):
		suite, metric, _ := strings.Cut(name[:strings.LastIndexByte(name, ' ')], "/")
		for _, d := range r.Deltas {
			if d.Suite == suite && d.Metric == metric && d.Variant == c.Variant {
				return d.Undefined
			}
		}
	case strings.HasSuffix(name, " min"), strings.HasSuffix(name, " max"):
		suite, metric, _ := strings.Cut(name[:strings.LastIndexByte(name, ' ')], "/")
		for _, m := range r.Metrics {
			if m.Suite == suite && m.Metric == metric && m.Variant == c.Variant {
				return m.Undefined
			}
		}
	}
	return ""
}

// writeVerdict writes the verdict line, naming the checks behind it.
func writeVerdict(b *bytes.Buffer, verdict string, checks []string) {
	b.WriteString("gate: " + verdict)
	if len(checks) > 0 {
		b.WriteString(" (" + strings.Join(checks, ", ") + ")")
	}
	b.WriteString("\n")
}

// writeFailures lists every failure cause with its count, per source.
func writeFailures(b *bytes.Buffer, r *document.Report) {
	if len(r.Failures) == 0 {
		return
	}
	b.WriteString("\nfailures (not evaluated, in no figure above):\n")
	for _, f := range r.Failures {
		switch f.Stage {
		case "generation":
			fmt.Fprintf(b, "  %s: %d × %s\n", f.Source, f.Count, f.Cause)
		case "judge":
			fmt.Fprintf(b, "  judge %s: %d × %s\n", f.Source, f.Count, f.Cause)
		default:
			fmt.Fprintf(b, "  %s: %s\n", f.Stage, f.Example)
		}
	}
}

// writeSkipped summarises the dataset records that were not evaluated:
// malformed ones per suite with the first few reasons, and duplicates.
func writeSkipped(b *bytes.Buffer, r *document.Report) {
	if r.Counts.Malformed > 0 {
		fmt.Fprintf(b, "\nskipped %d malformed dataset records (see report.md, Suites):\n", r.Counts.Malformed)
		for _, s := range r.Suites {
			if s.Malformed == 0 {
				continue
			}
			fmt.Fprintf(b, "  suite %s: %d of %d records\n", s.Name, s.Malformed, s.RecordsRead())
			if len(s.Files) > 0 {
				writeMalformedFiles(b, s.Files)
				continue
			}
			// A status written before ingest counted per file.
			for i, p := range s.Problems {
				if i == maxSummaryProblems {
					fmt.Fprintf(b, "    … %d more\n", s.Malformed-maxSummaryProblems)
					break
				}
				fmt.Fprintf(b, "    %s\n", clip(p, 160))
			}
		}
	}
	if r.Counts.Duplicates > 0 {
		var parts []string
		for _, s := range r.Suites {
			exact, near := 0, 0
			for _, d := range s.Dropped {
				if d.Similarity > 0 {
					near++
				} else {
					exact++
				}
			}
			if exact+near > 0 {
				parts = append(parts, fmt.Sprintf("%s %d exact, %d near", s.Name, exact, near))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(b, "\ndropped %d duplicate samples (%s; see report.md, Duplicates)\n", r.Counts.Duplicates, strings.Join(parts, "; "))
		} else {
			fmt.Fprintf(b, "\ndropped %d duplicate samples (see report.md, Duplicates)\n", r.Counts.Duplicates)
		}
	}
}

// writeMalformedFiles writes a line per file that held malformed records:
// its count, then its first few problems (file:line: why).
func writeMalformedFiles(b *bytes.Buffer, files []eval.MalformedFile) {
	for _, f := range files {
		problems := make([]string, 0, len(f.Problems)+1)
		for _, p := range f.Problems {
			if len(problems) == maxSummaryProblems {
				break
			}
			problems = append(problems, clip(p, 100))
		}
		if more := f.Malformed - len(problems); more > 0 {
			problems = append(problems, fmt.Sprintf("… %d more", more))
		}
		fmt.Fprintf(b, "    %s: %d malformed: %s\n", f.File, f.Malformed, strings.Join(problems, "; "))
	}
}

// winRate is the variant's win rate from the first judge that judged it.
func winRate(r *document.Report, variant string) string {
	if variant == r.Baseline {
		return "baseline"
	}
	for _, p := range r.Pairwise {
		if p.Variant == variant {
			return estimate(p.WinRate, p.CI)
		}
	}
	return none
}

func meanOf(r *document.Report, suite, metric, variant string) string {
	for _, m := range r.Metrics {
		if m.Suite == suite && m.Metric == metric && m.Variant == variant {
			return optRate(m.Mean)
		}
	}
	return none
}
