package render

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/services/report/document"
)

// exampleClip is how much of a prompt or output the Markdown shows; the
// HTML report has the full text.
const exampleClip = 300

// Markdown writes r as report.md.
func Markdown(w io.Writer, r *document.Report) error {
	if r == nil {
		return errNilReport
	}
	v := newView(r)
	var b strings.Builder

	title := "Assay report"
	if r.Run != "" {
		title += ": " + mdText(r.Run)
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "**Status:** %s · gate **%s** · fingerprint %s\n\n",
		completeness(r), v.Gate, orNone(mdText(r.Fingerprint)))
	fmt.Fprintf(&b, "Baseline: %s · variants: %s", orNone(mdText(r.Baseline)), orNone(mdText(strings.Join(r.Variants, ", "))))
	if v.Generated != "" {
		fmt.Fprintf(&b, " · generated %s", v.Generated)
	}
	b.WriteString("\n\n")

	b.WriteString("## Counts\n\n")
	c, p := r.Counts, r.Progress
	mdTable(&b, []string{"samples", "duplicates", "contaminated", "malformed", "generation errors", "judge errors", "scores", "judgments"},
		[][]string{{itoa(c.Samples), itoa(c.Duplicates), itoa(c.Contaminated), itoa(c.Malformed), itoa(c.GenerationErrors), itoa(c.JudgeErrors),
			fmt.Sprintf("%d/%d", p.Scores, p.ScoresExpected), fmt.Sprintf("%d/%d", p.Judgments, p.JudgmentsExpected)}})

	b.WriteString("## Gate\n\n")
	if v.Policy != "" {
		fmt.Fprintf(&b, "Policy: %s\n\n", mdText(v.Policy))
	}
	if len(r.Gate.Errors) > 0 {
		b.WriteString("**The run could not be evaluated**, so the gate neither passes nor fails:\n\n")
		mdList(&b, r.Gate.Errors)
	}
	mdTableOf(&b, v.Checks)
	if len(v.Undecided) > 0 {
		b.WriteString("**Undecided** at this sample size:\n\n")
		mdList(&b, v.Undecided)
	}
	var rows [][]string

	if len(r.Failures) > 0 {
		b.WriteString("## Failures\n\nNot evaluated, and in no figure of this report: counted here by cause.\n\n")
		rows = nil
		for _, f := range r.Failures {
			rows = append(rows, []string{f.Stage, f.Source, f.Cause, itoa(f.Count), clip(f.Example, 200)})
		}
		mdTable(&b, []string{"stage", "source", "cause", "count", "example"}, rows)
	}

	b.WriteString("## Pairwise judgments\n\n")
	mdTableOf(&b, v.PairwiseT)
	if len(v.Pairwise) > 0 {
		b.WriteString("### Order of presentation and pairs left out\n\n")
		b.WriteString("A flip is a pair whose verdict changed with the order the answers were shown in; " +
			"it is split by the position whose answer won both orders.\n\n")
		mdTableOf(&b, v.Order)
		if hasPairwiseWorst(v.Pairwise) {
			b.WriteString("Worst case: every pair left out (a failed generation or judge call) counted as a loss.\n\n")
		}
	}
	if len(v.BySuite.Rows) > 0 {
		b.WriteString("### Win rate by suite\n\n")
		mdTableOf(&b, v.BySuite)
	}

	if len(r.Agreement) > 0 {
		b.WriteString("## Judge agreement\n\n")
		mdTableOf(&b, agreementTable(r))
	}
	for i := range r.Reviews {
		humanMarkdown(&b, &r.Reviews[i], "##")
	}
	if len(r.Stability) > 0 {
		b.WriteString("## Judge stability\n\nThe same pairs asked again (a judge's repeat, past the cache): each order's verdict compared with the judgment's. Repeats never count in a win rate.\n\n")
		mdTableOf(&b, stabilityTable(r))
	}
	if len(r.Dimensions) > 0 {
		b.WriteString("## Judge dimensions\n\n" + dimensionIntro + "\n\n")
		mdTableOf(&b, dimensionTable(r))
	}
	if len(r.JudgeRefusal) > 0 {
		b.WriteString("## Refusals: judge and detector\n\n" + judgeRefusalIntro + "\n\n")
		mdTableOf(&b, judgeRefusalTable(r))
	}
	if len(r.Ranking) > 0 {
		b.WriteString("## Ranking\n\nBradley–Terry strength: the log odds of being preferred over the baseline, over every pair a judge judged.\n\n")
		mdTableOf(&b, v.Ranking)
	}

	b.WriteString("## Rates\n\n")
	mdTableOf(&b, v.RatesT)
	if len(r.RateDeltas) > 0 {
		b.WriteString("## Rate deltas vs baseline\n\nEach candidate's rate minus the baseline's, paired over the samples both answered.\n\n")
		mdTableOf(&b, v.RateDeltas)
	}

	if len(r.Checkpoints) > 0 {
		b.WriteString("## Checkpoints\n\n")
		mdTableOf(&b, checkpointTable(r))
	}
	if len(r.Windows) > 0 {
		b.WriteString("## Windows\n\nProduction queries by the time they were asked, newest first.\n\n")
		mdTableOf(&b, windowTable(r))
	}
	if len(r.Monitors) > 0 {
		b.WriteString("### Monitors\n\nAlways-valid tests over the windows so far: an alarm may be read after every window.\n\n")
		mdTableOf(&b, monitorTable(r))
	}
	for _, x := range abViews(r) {
		fmt.Fprintf(&b, "## Live experiment %s\n\n%s\n\n", mdText(x.Name), mdText(x.Summary))
		mdTableOf(&b, x.Decisions)
		mdTableOf(&b, x.Compare)
		mdTableOf(&b, x.Arms)
		if len(x.Quantiles.Rows) > 0 {
			b.WriteString("Quantiles of every turn since exposure (DDSketch, within 1%):\n\n")
			mdTableOf(&b, x.Quantiles)
		}
		if len(x.Shadow.Rows) > 0 {
			b.WriteString("Beside the shadow evaluation of the same variants (sampled production queries answered offline):\n\n")
			mdTableOf(&b, x.Shadow)
		}
	}

	b.WriteString("## Metrics\n\n")
	if len(v.Suites) == 0 {
		b.WriteString("None.\n\n")
	}
	for _, s := range v.Suites {
		fmt.Fprintf(&b, "### %s\n\n", mdText(s.Suite))
		rows = nil
		for _, m := range s.Rows {
			rows = append(rows, []string{m.Metric, m.Variant, pairs(m.N, m.Clusters), estimate(m.Mean, m.CI), itoa(m.Errors), worst(m.WorstCase)})
		}
		mdTable(&b, []string{"metric", "variant", "n", "mean [95% CI]", "errors", "worst case"}, rows)
		for _, sg := range s.Signatures {
			fmt.Fprintf(&b, "%s: `%s`\n\n", sg.Metric, sg.Signature)
		}
	}
	if len(r.Sandbox) > 0 {
		b.WriteString("### Code sandbox\n\n" + sandboxIntro + "\n\n")
		mdTableOf(&b, sandboxTable(r))
	}

	b.WriteString("## Deltas vs baseline\n\n")
	mdTableOf(&b, v.DeltasT)
	if len(v.Deltas) > 0 {
		b.WriteString("`*` q < 0.05 (q: p adjusted for the number of deltas). Excluded: pairs where a generation failed, left out; " +
			"worst case: as if each had gone against the candidate.\n\n")
	}

	if len(r.Contamination) > 0 {
		b.WriteString("## Contamination\n\nEach metric with every sample and without the samples found in the training data.\n\n")
		rows = nil
		for _, e := range r.Contamination {
			rows = append(rows, []string{e.Suite, e.Metric, e.Variant, itoa(e.N), num(e.Mean), itoa(e.Clean), optRate(e.CleanMean)})
		}
		mdTable(&b, []string{"suite", "metric", "variant", "n", "mean", "clean n", "clean mean"}, rows)
	}
	if len(r.Templates) > 0 {
		b.WriteString("## Templates\n\nEach variant's most repeated opening and closing (first and last three words) per suite, and a candidate's " +
			"against the baseline's answers to the same samples (McNemar): a fine-tune that learnt a template opens or closes its answers alike.\n\n")
		mdTableOf(&b, v.Templates)
		b.WriteString(v.DistinctIntro + "\n\n")
		mdTableOf(&b, v.Distinct)
	}
	if len(v.CompareLines) > 0 {
		b.WriteString("## Comparisons\n\nThe spec's compare pairs side by side, paired by sample: how often the two answered alike " +
			"(after folding case and white space) and each metric, first minus second; then each judge's verdicts on the first against the second.\n\n")
		for _, l := range v.CompareLines {
			b.WriteString("- " + mdText(l) + "\n")
		}
		b.WriteString("\n")
		mdTableOf(&b, v.Compared)
	}
	if len(r.Robustness) > 0 {
		b.WriteString("## Robustness\n\nEach variant on perturbed copies of the samples against the originals, paired by sample.\n\n")
		mdTableOf(&b, v.Robust)
		if len(v.RobustVs.Rows) > 0 {
			b.WriteString("### Robustness vs baseline\n\nEach candidate's change under the perturbation minus the baseline's " +
				"on the same samples (a difference in differences): below 0 when the candidate is less robust than its base.\n\n")
			mdTableOf(&b, v.RobustVs)
		}
	}
	if len(v.Flips.Rows) > 0 {
		b.WriteString("## Refusal decisions under the copies\n\nHow often a variant's refuse/comply decision on a safety probe changes " +
			"between the original and any of its copies (a borderline question's stability), with each candidate's flip rate minus the baseline's, paired by probe.\n\n")
		mdTableOf(&b, v.Flips)
		if len(v.FlipsVs.Rows) > 0 {
			mdTableOf(&b, v.FlipsVs)
		}
	}

	b.WriteString("## Failure buckets\n\n")
	if len(v.Buckets) == 0 {
		b.WriteString("None.\n\n")
	}
	for _, bk := range v.Buckets {
		fmt.Fprintf(&b, "### %s · %s (%d)\n\n", mdText(bk.Variant), mdText(bk.Bucket), bk.Count)
		for i, e := range bk.Examples {
			mdExample(&b, i+1, e)
		}
	}

	var dropped [][]string
	for _, s := range r.Suites {
		for _, d := range s.Dropped {
			sim := "exact"
			if d.Similarity > 0 {
				sim = num(d.Similarity)
			}
			dropped = append(dropped, []string{s.Name, mdText(d.ID), mdText(d.Twin), sim, mdText(d.Why), mdText(d.Source)})
		}
	}
	if len(dropped) > 0 {
		b.WriteString("## Duplicates\n\nSamples left out as repeating another (kept) sample of their suite.\n\n")
		mdTable(&b, []string{"suite", "dropped", "kept", "similarity", "how they differ", "source"}, dropped)
	}

	b.WriteString("## Suites\n\n")
	rows = nil
	var problems []string
	for _, s := range r.Suites {
		rows = append(rows, []string{s.Name, s.Role, strings.Join(s.Metrics, ", "), itoa(s.Samples), itoa(s.Duplicates), itoa(s.Malformed)})
		for _, p := range s.Problems {
			problems = append(problems, s.Name+": "+p)
		}
	}
	mdTable(&b, []string{"suite", "role", "metrics", "samples", "duplicates", "malformed"}, rows)
	if len(problems) > 0 {
		b.WriteString("Problems:\n\n")
		mdList(&b, problems)
	}

	b.WriteString("## Warnings\n\n")
	mdList(&b, r.Warnings)

	b.WriteString("## Timing\n\n")
	rows = nil
	for _, l := range v.Latency {
		rows = append(rows, []string{l.Variant, itoa(l.E2E.N), percentileMillis(l.E2E), percentileMillis(l.TTFT), percentileMillis(l.ITL), percentileRate(l.TPS)})
	}
	mdTable(&b, []string{"variant", "n", "latency p50 / p95 / p99", "time to first token p50 / p95 / p99", "inter-token latency p50 / p95 / p99", "output tokens/s p50 / p95 / p99"}, rows)

	b.WriteString("## Methods\n\n")
	mdList(&b, v.Methods)

	_, err := io.WriteString(w, b.String())
	return err
}

func completeness(r *document.Report) string {
	if r.Continuous {
		return "continuous (judged so far)"
	}
	if r.Complete {
		return "complete"
	}
	p := r.Progress
	return fmt.Sprintf("incomplete (scores %d/%d, judgments %d/%d)", p.Scores, p.ScoresExpected, p.Judgments, p.JudgmentsExpected)
}

func mdExample(b *strings.Builder, i int, e document.Example) {
	fmt.Fprintf(b, "**%d. %s** · suite %s", i, mdText(e.Sample), mdText(e.Suite))
	if e.Regression {
		b.WriteString(" · **regression**")
	}
	b.WriteString("\n\n")
	if e.Reason != "" {
		fmt.Fprintf(b, "Reason: %s\n\n", mdText(e.Reason))
	}
	mdBlock(b, "Prompt", e.Prompt)
	mdBlock(b, "Output", e.Output)
	if e.BaselineOutput != "" {
		mdBlock(b, "Baseline output", e.BaselineOutput)
	}
	if e.SuggestedFix != "" {
		mdBlock(b, "Suggested fix (the judge's)", e.SuggestedFix)
	}
}

// mdBlock shows a clipped text in a fence.
func mdBlock(b *strings.Builder, label, text string) {
	fmt.Fprintf(b, "%s:\n\n```text\n%s\n```\n\n", label, defuse(clip(text, exampleClip)))
}

// zwsp is a zero-width space: invisible, but it splits a run of backticks.
const zwsp = "\u200b"

// defuse breaks every run of three backticks so a model output cannot close
// the fence around it and have the rest read as Markdown. The text still
// looks the same.
func defuse(s string) string {
	for strings.Contains(s, "```") {
		s = strings.ReplaceAll(s, "```", "``"+zwsp+"`")
	}
	return s
}

// clip cuts s to n characters (runes, so Chinese text is not split inside
// a character) and drops trailing newlines, which would only widen fences.
func clip(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + " …[clipped]"
	}
	return s
}

// mdText makes a value safe inline and in a table cell: one line, no pipes
// that would split a cell, no raw HTML. A "<" that cannot open a tag (as in
// "<0.001") stays as it is, so the raw file reads well too.
func mdText(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`).Replace(s)
	return mdTag.ReplaceAllString(s, "&lt;$1")
}

var mdTag = regexp.MustCompile(`<([A-Za-z/!?])`)

func mdTable(b *strings.Builder, head []string, rows [][]string) {
	mdTableOf(b, table{Head: head, Rows: rows})
}

// mdTableOf writes t with its marked cells in bold and its notes under it.
func mdTableOf(b *strings.Builder, t table) {
	if len(t.Rows) == 0 {
		b.WriteString("None.\n\n")
		return
	}
	mdRow(b, t.Head, nil)
	b.WriteString("|" + strings.Repeat(" --- |", len(t.Head)) + "\n")
	for i, r := range t.Rows {
		mdRow(b, r, func(j int) bool { return t.Marks[cell{i, j}] != "" })
	}
	b.WriteString("\n")
	for _, n := range t.Notes {
		b.WriteString(mdText(n) + "\n\n")
	}
}

// mdRow writes a row, in bold the cells strong reports (nil: none).
func mdRow(b *strings.Builder, cells []string, strong func(int) bool) {
	b.WriteString("|")
	for j, c := range cells {
		c = mdText(c)
		if strong != nil && strong(j) && c != "" {
			c = "**" + c + "**"
		}
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n")
}

func mdList(b *strings.Builder, items []string) {
	if len(items) == 0 {
		b.WriteString("None.\n\n")
		return
	}
	for _, it := range items {
		b.WriteString("- " + mdText(it) + "\n")
	}
	b.WriteString("\n")
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func hasPairwiseWorst(ps []document.Pairwise) bool {
	for _, p := range ps {
		if p.WorstCase != nil {
			return true
		}
	}
	return false
}
