package render

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/assay-eval/assay/services/report/document"
)

// Summary writes a short table for the terminal, one row per variant, and
// the gate's verdict.
func Summary(w io.Writer, r *document.Report) error {
	if r == nil {
		return errNilReport
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
	head = append(head, "refusal", "json_valid")

	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, v := range newOrder(r).variants {
		row := []string{v, winRate(r, v)}
		for _, c := range cols {
			row = append(row, meanOf(r, c.suite, c.metric, v))
		}
		rates := r.Rates[v]
		row = append(row, rate(rates.Refusal), rate(rates.JSONValid))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

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
	default:
		buf.WriteString("gate: not evaluated (run incomplete)\n")
	}
	_, err := buf.WriteTo(w)
	return err
}

// winRate is the variant's win rate from the first judge that judged it.
func winRate(r *document.Report, variant string) string {
	if variant == r.Baseline {
		return "baseline"
	}
	for _, p := range r.Pairwise {
		if p.Variant == variant {
			return withCI(p.WinRate, p.CI)
		}
	}
	return none
}

func meanOf(r *document.Report, suite, metric, variant string) string {
	for _, m := range r.Metrics {
		if m.Suite == suite && m.Metric == metric && m.Variant == variant {
			return num(m.Mean)
		}
	}
	return none
}
