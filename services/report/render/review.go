package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/assay-eval/assay/services/report/document"
)

// humanTables are a human review's tables: the win rate, the buckets
// confirmed, and the agreement of the judges and the reviewers.
func humanTables(h *document.HumanReview) (win, buckets, agree table) {
	var rows [][]string
	for _, r := range h.WinRate {
		rows = append(rows, []string{r.Candidate, itoa(r.Wins), itoa(r.Ties), itoa(r.Losses), num(r.Value), interval(r.Lo, r.Hi)})
	}
	win = newTable([]string{"candidate", "wins", "ties", "losses", "human win rate (ties half)", "95% CI"}, rows)
	rows = nil
	for _, c := range h.Buckets {
		if c.ErrorType == "" && c.Bucket != "ok" {
			rows = append(rows, []string{c.Bucket, itoa(c.Reviewed), "–", "–", "–", "–"})
			continue
		}
		by := c.ErrorType
		if by == "" {
			by = "no error ticked"
		}
		rows = append(rows, []string{c.Bucket, itoa(c.Reviewed), itoa(c.Confirmed), by, num(c.Value), interval(c.Lo, c.Hi)})
	}
	buckets = newTable([]string{"bucket", "reviewed", "confirmed", "by", "share", "95% CI"}, rows)
	rows = nil
	row := func(name string, a document.HumanAgreement) {
		k, ci := "undefined", "–"
		if a.KappaDefined {
			k, ci = num(a.Kappa), interval(a.KappaLo, a.KappaHi)
		}
		lean := "–"
		if a.CandidateMore != nil {
			lean = fmt.Sprintf("%.2f", *a.CandidateMore)
		}
		rows = append(rows, []string{name, itoa(a.N), num(a.Percent.Value), interval(a.Percent.Lo, a.Percent.Hi), k, ci, lean})
	}
	for _, a := range h.Judges {
		row("judge "+a.Judge+" vs reviewers", a)
	}
	if h.Reviewers != nil {
		row("reviewer vs reviewer", *h.Reviewers)
	}
	agree = newTable([]string{"raters", "pairs", "agreement", "95% CI", "Cohen's kappa", "95% CI", "leans to the candidate in disagreements"}, rows)
	return win, buckets, agree
}

func interval(lo, hi float64) string { return "[" + num(lo) + ", " + num(hi) + "]" }

// humanCounts is a human review's first line.
func humanCounts(h *document.HumanReview) string {
	s := fmt.Sprintf("%d of %d items labelled (%d labels in force, %d superseded", h.Labelled, h.Items, h.Labels, h.Superseded)
	if h.AfterReveal > 0 {
		s += fmt.Sprintf(", %d given after the reviewer saw which answers were whose, left out", h.AfterReveal)
	}
	if h.Bad > 0 {
		s += fmt.Sprintf(", %d stored messages that are not labels, left out", h.Bad)
	}
	return s + ")."
}

// humanNote says what the win rate is of.
const humanNote = "Human win rate on the reviewed pairs (drawn per bucket, regressions first: not the run's win rate)."

// humanMarkdown writes a human review as Markdown.
func humanMarkdown(b *strings.Builder, h *document.HumanReview, heading string) {
	fmt.Fprintf(b, "%s Human review: queue %s\n\n%s\n\n", heading, h.Queue, humanCounts(h))
	win, buckets, agree := humanTables(h)
	if len(win.Rows) > 0 {
		b.WriteString(humanNote + "\n\n")
		mdTableOf(b, win)
	}
	if len(buckets.Rows) > 0 {
		mdTableOf(b, buckets)
	}
	if len(agree.Rows) > 0 {
		mdTableOf(b, agree)
	}
	if h.FirstShown != nil {
		fmt.Fprintf(b, "Reviewers picked answer A in %s of %d non-tie labels (95%% CI %s; 0.5 without position bias).\n\n", num(h.FirstShown.Value), h.FirstShown.N, interval(h.FirstShown.Lo, h.FirstShown.Hi))
	}
}

// HumanReview writes a human review's summary as Markdown (assay review
// report).
func HumanReview(w io.Writer, h *document.HumanReview) error {
	var b strings.Builder
	humanMarkdown(&b, h, "##")
	_, err := io.WriteString(w, b.String())
	return err
}
