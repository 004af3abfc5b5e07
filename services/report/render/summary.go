package render

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/assay-eval/assay/services/report/document"
)

// maxSummaryProblems is how many skipped records the terminal shows per
// suite; the report lists more.
const maxSummaryProblems = 3

// Summary writes what the terminal shows of a report: when the run could
// not be evaluated, why (first, so that it is the first thing read); a
// short table, one row per variant; what failed, what was skipped and what
// was dropped; and the gate's verdict.
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

	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, v := range newOrder(r).variants {
		row := []string{v, winRate(r, v)}
		for _, c := range cols {
			row = append(row, meanOf(r, c.suite, c.metric, v))
		}
		rates := r.Rates[v]
		row = append(row, rate(rates.Refusal), rate(rates.JSONValid), rate(rates.Error))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	writeFailures(&buf, r)
	writeSkipped(&buf, r)
	buf.WriteString(latestWindow(r))
	switch gateStatus(r) {
	case gatePassed:
		buf.WriteString("gate: PASSED\n")
	case gateFailed:
		buf.WriteString("gate: FAILED")
		if failed := failedChecks(r); len(failed) > 0 {
			buf.WriteString(" (" + strings.Join(failed, ", ") + ")")
		}
		buf.WriteString("\n")
	case gateError:
		buf.WriteString("gate: ERROR (the run could not be evaluated; see above)\n")
	default:
		buf.WriteString("gate: not evaluated (run incomplete)\n")
	}
	_, err := buf.WriteTo(w)
	return err
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
