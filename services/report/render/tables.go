package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/assay-eval/assay/services/report/document"
)

// The tables a ship decision rests on: the gate, the paired comparisons,
// the win rates and the ranking. Each is built once, for the Markdown and
// the HTML alike, so the two cannot disagree on a column or a footnote.

// footnotes number the reasons a table's estimates are undefined, each
// reason once, in the order they are first met.
type footnotes struct {
	notes []string
	index map[string]int
}

// mark is the superscript number of reason ("" for no reason), numbering it
// on first use.
func (f *footnotes) mark(reason string) string {
	if reason == "" {
		return ""
	}
	if f.index == nil {
		f.index = map[string]int{}
	}
	k, ok := f.index[reason]
	if !ok {
		f.notes = append(f.notes, reason)
		k = len(f.notes)
		f.index[reason] = k
	}
	return superscript(k)
}

// lines are the footnotes as shown under the table.
func (f *footnotes) lines() []string {
	var out []string
	for i, n := range f.notes {
		out = append(out, superscript(i+1)+" "+n)
	}
	return out
}

func superscript(k int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	d := []rune(digits)
	var b strings.Builder
	for _, c := range itoa(k) {
		b.WriteRune(d[c-'0'])
	}
	return b.String()
}

// tooFew is the mark of an estimate whose sample is too small to tell:
// its MDE exceeds the effect seen.
const tooFew = "too few to tell"

// tooFewNote explains tooFew under a table that shows it.
const tooFewNote = "Too few to tell: the interval has not decided and the MDE exceeds the effect seen, so a real difference of that size would likely go unnoticed at this sample size."

// deltaHead are the columns of a paired comparison, as deltaCells fills
// them.
var deltaHead = []string{"n", "delta [95% CI]", "p", "q", "sig", "test", "MDE"}

// deltaCells shows a paired comparison: its pairs (and clusters), the
// difference with its interval, p (n/a with the reason as a footnote when
// the test is undefined), the q-value with its star, the test and the MDE.
func deltaCells(e document.DeltaEstimate, fn *footnotes) []string {
	delta := signedCI(e.Delta, e.CI)
	p := pvalue(e.PValue)
	switch {
	case e.N == 0:
		// Over no pair: no difference at all, not one of 0, and no q or
		// MDE either; the test did not run.
		p = na + fn.mark(e.Undefined)
		return []string{pairs(e.N, e.Clusters), na, p, na, "", none, na}
	case e.PValue == nil && e.Undefined != "":
		// An undefined test has no interval either, whatever CI holds.
		delta = fmt.Sprintf("%+.3f", e.Delta)
		p += fn.mark(e.Undefined)
	}
	return []string{pairs(e.N, e.Clusters), delta, p, optP(e.QValue), sig(e.QValue), orNone(e.Test), mde(e.MDE, e.Underpowered)}
}

// pairs is a count, with its clusters when the interval is cluster-robust.
func pairs(n, clusters int) string {
	if clusters > 0 {
		return fmt.Sprintf("%d (%d clusters)", n, clusters)
	}
	return itoa(n)
}

// mde is a minimum detectable effect, marked when it exceeds the effect
// seen.
func mde(x *float64, underpowered bool) string {
	switch {
	case x == nil && underpowered:
		return tooFew
	case x == nil:
		return none
	case underpowered:
		return num(*x) + " (" + tooFew + ")"
	}
	return num(*x)
}

// optP is a p- or q-value that may not exist.
func optP(p *float64) string {
	if p == nil {
		return none
	}
	return pvalue(p)
}

// withNotes adds the footnotes and, when a row is too few to tell, what
// that means.
func withNotes(t table, fn *footnotes, underpowered bool) table {
	t.Notes = append(t.Notes, fn.lines()...)
	if underpowered {
		t.Notes = append(t.Notes, tooFewNote)
	}
	return t
}

// gateTable is the gate's checks: each one's outcome, its value with the
// interval that decided it, its threshold as a bound, and what an
// undecided check would need.
func gateTable(r *document.Report) table {
	head := []string{"check", "variant", "result", "value [95% CI]", "threshold", "MDE", "samples to decide"}
	var rows [][]string
	for _, c := range r.Gate.Checks {
		value := num(c.Value)
		switch {
		case c.Error != "" && c.Value == 0:
			value = na
		case c.CI != nil:
			value = withCI(c.Value, *c.CI)
		}
		needed := none
		if c.NeededN > 0 {
			needed = "about " + itoa(c.NeededN)
		}
		rows = append(rows, []string{c.Name + checkJudge(c), c.Variant, checkResult(c), value, threshold(c), mde(c.MDE, false), needed})
	}
	t := newTable(head, rows)
	for i, c := range r.Gate.Checks {
		switch checkOutcome(c) {
		case document.VerdictFail, document.VerdictError:
			t.mark(i, 2, markFail)
		case document.VerdictInconclusive:
			t.mark(i, 2, markWarn)
		}
	}
	return t
}

// threshold is a check's threshold as the bound the value must keep.
func threshold(c document.Check) string {
	switch c.Bound {
	case "min":
		return "≥ " + num(c.Threshold)
	case "max":
		return "≤ " + num(c.Threshold)
	}
	return num(c.Threshold)
}

// undecided says, for each inconclusive check, what would decide it.
func undecided(r *document.Report) []string {
	var out []string
	for _, c := range r.Gate.Checks {
		if checkOutcome(c) != document.VerdictInconclusive {
			continue
		}
		s := checkName(c) + ": its interval straddles the threshold"
		if c.NeededN > 0 {
			s += fmt.Sprintf("; about %d samples would decide it", c.NeededN)
		}
		if c.MDE != nil {
			s += fmt.Sprintf("; the samples so far detect an effect of %s with 80%% power", num(*c.MDE))
		}
		out = append(out, s+".")
	}
	return out
}

// policy explains the gate's policy; "" for a report written before there
// was one.
func policy(p string) string {
	switch p {
	case "interval":
		return "interval (a check passes when its whole 95% interval clears the threshold, fails when none of it does, " +
			"and is inconclusive when the interval straddles the threshold)."
	case "point":
		return "point (each check compares the point estimate with its threshold; the interval is shown but does not decide)."
	case "":
		return ""
	}
	return p + "."
}

// deltaTable is every candidate's paired difference from the baseline.
func deltaTable(deltas []document.Delta) table {
	var fn footnotes
	var rows [][]string
	under := false
	for _, d := range deltas {
		row := append([]string{d.Suite, d.Metric, d.Variant}, deltaCells(d.DeltaEstimate, &fn)...)
		rows = append(rows, append(row, itoa(d.Excluded), worstDelta(d.WorstCase)))
		under = under || d.Underpowered
	}
	head := append(append([]string{"suite", "metric", "variant"}, deltaHead...), "excluded", "worst case")
	return withNotes(newTable(head, rows), &fn, under)
}

// rateDeltaTable is every candidate's side-effect rates against the
// baseline's, paired by sample.
func rateDeltaTable(rds []document.RateDelta) table {
	var fn footnotes
	var rows [][]string
	under := false
	for _, d := range rds {
		rows = append(rows, append([]string{d.Rate, d.Variant, d.Baseline}, deltaCells(d.DeltaEstimate, &fn)...))
		under = under || d.Underpowered
	}
	head := append([]string{"rate", "variant", "vs"}, deltaHead...)
	return withNotes(newTable(head, rows), &fn, under)
}

// robustnessTables are each variant's drop under a perturbation, and each
// candidate's drop against the baseline's on the same samples (a
// difference in differences; empty when no row has one).
func robustnessTables(rs []document.Robustness) (drop, vsBaseline table) {
	var fn, fnVs footnotes
	var rows, vsRows [][]string
	under, underVs := false, false
	for _, d := range rs {
		row := []string{d.Suite, d.Metric, d.Variant, d.Perturbation, num(d.Original), num(d.Perturbed)}
		rows = append(rows, append(row, deltaCells(d.DeltaEstimate, &fn)...))
		under = under || d.Underpowered
		if v := d.VsBaseline; v != nil {
			vsRows = append(vsRows, append([]string{d.Suite, d.Metric, d.Variant, d.Perturbation}, deltaCells(*v, &fnVs)...))
			underVs = underVs || v.Underpowered
		}
	}
	head := append([]string{"suite", "metric", "variant", "perturbation", "original", "perturbed"}, deltaHead...)
	vsHead := append([]string{"suite", "metric", "variant", "perturbation"}, deltaHead...)
	return withNotes(newTable(head, rows), &fn, under), withNotes(newTable(vsHead, vsRows), &fnVs, underVs)
}

// templateTable is each variant's top opening and closing per suite, a
// candidate's against the baseline's on the same samples, and the
// mechanical flag.
func templateTable(ts []document.Template) table {
	var fn footnotes
	var rows [][]string
	under := false
	edge := func(es []document.Edge) string {
		if len(es) == 0 {
			return none
		}
		return fmt.Sprintf("%q %.0f%%", es[0].Text, 100*es[0].Share)
	}
	vs := func(d *document.DeltaEstimate) string {
		if d == nil {
			return none
		}
		under = under || d.Underpowered
		return deltaCells(*d, &fn)[1]
	}
	for _, t := range ts {
		flag := ""
		if t.Mechanical {
			flag = "mechanical: " + t.Why
		}
		rows = append(rows, []string{t.Suite, t.Variant, itoa(t.N), edge(t.Openings), vs(t.OpeningVsBaseline), edge(t.Closings), vs(t.ClosingVsBaseline), flag})
	}
	return withNotes(newTable([]string{"suite", "variant", "answers", "top opening", "vs baseline [95% CI]", "top closing", "vs baseline [95% CI]", "template"}, rows), &fn, under)
}

// distinctIntro says what distinctTable shows.
const distinctIntro = "Distinct-1 and distinct-2 (Li et al. 2016): the distinct words over all the words of a variant's answers, and the distinct " +
	"word pairs over all the pairs; low values say the answers repeat the same wording. A candidate's against the baseline's over the samples " +
	"both answered, with a delete-a-group jackknife interval; ≈ marks an estimate (past 24,576 distinct words or pairs)."

// distinctTable is each variant's distinct-1 and distinct-2 per suite,
// and a candidate's against the baseline's on the samples both answered;
// an estimate (past the sketch's exact count) is marked ≈.
func distinctTable(ts []document.Template) table {
	var fn footnotes
	var rows [][]string
	figure := func(x *float64, exact bool, why string) string {
		switch {
		case x == nil:
			return none + fn.mark(why)
		case !exact:
			return "≈" + num(*x)
		}
		return num(*x)
	}
	vs := func(d document.DistinctDiff) string {
		switch {
		case d.Delta == nil:
			return none + fn.mark(d.Undefined)
		case d.CI == nil:
			return fmt.Sprintf("%+.3f", *d.Delta) + fn.mark(d.Undefined)
		}
		return signedCI(*d.Delta, *d.CI)
	}
	for _, t := range ts {
		d := t.Distinct
		words := none
		if d.N > 0 {
			words = strconv.FormatInt(d.Tokens, 10)
		}
		row := []string{t.Suite, t.Variant, itoa(d.N), words, figure(d.Distinct1, d.Exact, d.Undefined), figure(d.Distinct2, d.Exact, d.Undefined), none, none, none}
		if v := t.DistinctVsBaseline; v != nil {
			row[6], row[7], row[8] = itoa(v.N), vs(v.Distinct1), vs(v.Distinct2)
		}
		rows = append(rows, row)
	}
	return withNotes(newTable([]string{"suite", "variant", "answers", "words", "distinct-1", "distinct-2",
		"paired samples", "distinct-1 vs baseline [95% CI]", "distinct-2 vs baseline [95% CI]"}, rows), &fn, false)
}

// comparisonLines say, pair by pair and suite by suite, how often the two
// variants answered alike and on how many samples each 0/1 metric split
// them: "ft-lora vs ft-merged on qa: 3.1% of 320 answers differ; json_valid
// 1 for ft-merged only on 12, for ft-lora only on 0".
func comparisonLines(cs []document.Comparison) []string {
	var out []string
	for _, c := range cs {
		line := fmt.Sprintf("%s vs %s on %s: ", c.A, c.B, c.Suite)
		if c.IdenticalRate != nil {
			line += fmt.Sprintf("%.1f%% of %d answers differ [%.1f%%, %.1f%%]", 100*(1-*c.IdenticalRate), c.Hashed, 100*(1-c.IdenticalCI[1]), 100*(1-c.IdenticalCI[0]))
		} else {
			line += fmt.Sprintf("%d samples both answered (no answer hashes to compare)", c.N)
		}
		if c.Excluded > 0 {
			line += fmt.Sprintf(", %d left out (a generation failed)", c.Excluded)
		}
		for _, m := range c.Metrics {
			if d := m.Discordant; d != nil && (d[0] > 0 || d[1] > 0) {
				line += fmt.Sprintf("; %s 1 for %s only on %d, for %s only on %d", m.Metric, c.A, d[0], c.B, d[1])
			}
		}
		out = append(out, line)
	}
	return out
}

// comparePairwiseLines say, pair by pair of the compare list and judge by
// judge, how the judge found the first against the second: "ft-lora vs
// ft-merged (judge j): wins 12, losses 9, ties 79, win rate 51.5% [43.0%,
// 60.0%]".
func comparePairwiseLines(ps []document.Pairwise) []string {
	var out []string
	for _, p := range ps {
		line := fmt.Sprintf("%s vs %s (judge %s): ", p.Variant, p.Baseline, p.Judge)
		switch {
		case p.WinRate == nil:
			line += "no pair judged"
		case p.CI == nil:
			line += fmt.Sprintf("wins %d, losses %d, ties %d, win rate %.1f%% (no interval: %s)", p.Wins, p.Losses, p.Ties, 100**p.WinRate, p.Undefined)
		default:
			line += fmt.Sprintf("wins %d, losses %d, ties %d, win rate %.1f%% [%.1f%%, %.1f%%]", p.Wins, p.Losses, p.Ties, 100**p.WinRate, 100*p.CI[0], 100*p.CI[1])
		}
		if p.Errors > 0 {
			line += fmt.Sprintf("; %d not judged (the judge failed)", p.Errors)
		}
		if p.GenerationErrors > 0 {
			line += fmt.Sprintf("; %d not judged (a generation failed)", p.GenerationErrors)
		}
		out = append(out, line)
	}
	return out
}

// comparisonTable is each compared pair's metrics, A minus B.
func comparisonTable(cs []document.Comparison) table {
	var fn footnotes
	var rows [][]string
	under := false
	for _, c := range cs {
		for _, m := range c.Metrics {
			rows = append(rows, append([]string{c.Suite, c.A + " − " + c.B, m.Metric, num(m.A), num(m.B), itoa(m.Differ)}, deltaCells(m.DeltaEstimate, &fn)...))
			under = under || m.Underpowered
		}
	}
	return withNotes(newTable(append([]string{"suite", "pair", "metric", "a", "b", "differ"}, deltaHead...), rows), &fn, under)
}

// flipTables are each variant's refusal decision flips on a safety suite's
// probes under their copies, and each candidate's flip rate minus the
// baseline's (empty when no row has one).
func flipTables(fs []document.DecisionFlip) (flips, vsBaseline table) {
	var fnVs footnotes
	var rows, vsRows [][]string
	underVs := false
	for _, f := range fs {
		rate := none
		if f.Rate != nil {
			rate = estimate(f.Rate, f.CI)
		}
		rows = append(rows, []string{f.Suite, f.Variant, itoa(f.N), itoa(f.Flipped), rate, itoa(f.Errors)})
		if v := f.VsBaseline; v != nil {
			vsRows = append(vsRows, append([]string{f.Suite, f.Variant}, deltaCells(*v, &fnVs)...))
			underVs = underVs || v.Underpowered
		}
	}
	flips = newTable([]string{"suite", "variant", "probes", "flipped", "flip rate [95% CI]", "errors"}, rows)
	return flips, withNotes(newTable(append([]string{"suite", "variant"}, deltaHead...), vsRows), &fnVs, underVs)
}

// pairwiseTable is each judge's win rate of each candidate, raw and at
// equal lengths, with the decisive share, the sign test and the MDE.
func pairwiseTable(ps []document.Pairwise) table {
	var fn footnotes
	var rows [][]string
	under := false
	for _, p := range ps {
		win := estimate(p.WinRate, p.CI)
		if p.WinRate != nil && p.CI == nil {
			win += fn.mark(p.Undefined)
		}
		lc, slope := none, none
		if l := p.LengthControlled; l != nil {
			lc = estimate(l.WinRate, l.CI)
			if l.WinRate == nil || l.CI == nil {
				lc += fn.mark(l.Undefined)
			}
			if l.WinRate != nil {
				slope = fmt.Sprintf("%+.3f", l.Slope)
			}
		}
		rows = append(rows, []string{p.Judge, p.Variant, p.Baseline, pairs(p.N, p.Clusters), itoa(p.Wins), itoa(p.Losses), itoa(p.Ties),
			win, lc, slope, estimate(p.Decisive, p.DecisiveCI), optP(p.SignP), mde(p.MDE, p.Underpowered)})
		under = under || p.Underpowered
	}
	head := []string{"judge", "variant", "vs", "n", "wins", "losses", "ties", "win rate [95% CI]",
		"length-controlled [95% CI]", "length slope", "decisive [95% CI]", "sign test p", "MDE"}
	return withNotes(newTable(head, rows), &fn, under)
}

// orderTable is each judge's position bias (the flips split by the
// position that won both orders) and the pairs it never judged.
func orderTable(ps []document.Pairwise) table {
	var rows [][]string
	for _, p := range ps {
		first, second := itoa(p.FirstShown), itoa(p.SecondShown)
		flip := optRate(p.FlipRate)
		if p.FirstShown == 0 && p.SecondShown == 0 && p.FlipRate != nil && *p.FlipRate > 0 {
			// A report written before flips were split.
			first, second = none, none
		}
		if p.Single {
			// Each answer graded alone: no order to flip with.
			flip, first, second = none, none, none
		}
		rows = append(rows, []string{p.Judge, p.Variant, flip, first, second,
			itoa(p.Errors), itoa(p.GenerationErrors), worst(p.WorstCase)})
	}
	return newTable([]string{"judge", "variant", "flip rate", "first shown won both", "second shown won both",
		"judge errors", "generation errors", "worst case"}, rows)
}

// bySuiteTable is each judge's win rate per suite; empty when no judge
// has one.
func bySuiteTable(ps []document.Pairwise) table {
	var rows [][]string
	for _, p := range ps {
		for _, s := range p.BySuite {
			rows = append(rows, []string{p.Judge, p.Variant, s.Suite, itoa(s.N), itoa(s.Wins), itoa(s.Losses), itoa(s.Ties),
				estimate(s.WinRate, s.CI)})
		}
	}
	return newTable([]string{"judge", "variant", "suite", "n", "wins", "losses", "ties", "win rate [95% CI]"}, rows)
}

// rankingTable is the Bradley–Terry ranking, in the report's order.
func rankingTable(r *document.Report) table {
	var fn footnotes
	var rows [][]string
	for _, s := range r.Ranking {
		rank, strength := itoa(s.Rank), na
		if s.Strength != nil && s.CI != nil {
			strength = signedCI(*s.Strength, *s.CI)
		}
		switch {
		case s.Undefined != "":
			rank, strength = none, na+fn.mark(s.Undefined)
		case s.Variant == r.Baseline:
			strength = "0 (reference)"
		}
		rows = append(rows, []string{s.Judge, rank, s.Variant, strength})
	}
	return withNotes(newTable([]string{"judge", "rank", "variant", "strength [95% CI]"}, rows), &fn, false)
}

// ratesTable is each variant's side-effect rates, refusal and JSON
// validity with their intervals and how many answers they are over.
func ratesTable(r *document.Report, rates []rateRow) table {
	js, schemas := measuresJSON(r), measuresSchemas(r)
	// The judge's reading of refusals shows where a judge read any.
	judged := false
	for _, x := range rates {
		judged = judged || x.JudgeRefusal != nil
	}
	var rows [][]string
	for _, x := range rates {
		row := []string{x.Variant, estimate(x.Refusal, x.RefusalCI), over(x.RefusalN, x.Refusal)}
		if judged {
			row = append(row, estimate(x.JudgeRefusal, x.JudgeRefusalCI), fmt.Sprintf("%d (%d unread)", x.JudgeRefusalN, x.JudgeRefusalUnread))
		}
		rows = append(rows, append(row, applying(js, x.JSONValid, estimate(x.JSONValid, x.JSONValidCI)), applying(js, x.JSONValid, over(x.JSONValidN, x.JSONValid)),
			applying(schemas, x.SchemaPass, optRate(x.SchemaPass)), optRate(x.Truncated), optRate(x.Error), tokens(x.MeanOutputTokens)))
	}
	head := []string{"variant", "refusal [95% CI]", "benign prompts"}
	if judged {
		head = append(head, "judge's refusal [95% CI]", "read by the judge")
	}
	return newTable(append(head, "json_valid [95% CI]", "JSON answers", "schema_pass", "truncated", "error", "mean output tokens"), rows)
}

// over is the count a rate is over; none for a report written before
// counts were.
func over(n int, x *float64) string {
	if n == 0 && x != nil {
		return none
	}
	return itoa(n)
}

// methods say in a line each what the report's numbers are.
func methods(r *document.Report) []string {
	lines := []string{
		"Intervals are 95%: a 0/1 metric's mean and a rate by Wilson's score interval, other means by Student's t; " +
			"cluster-robust (CR1, t on clusters − 1 degrees of freedom) where a suite groups its samples.",
		"Deltas are paired by sample: McNemar's mid-p test with Newcombe's interval for 0/1 metrics, Student's paired t otherwise; " +
			"p is n/a when the test is undefined (too few pairs, or no variance).",
		"q is the Benjamini–Hochberg adjusted p over the report's family of tests (its deltas; its rate deltas; its robustness rows); a star marks q < 0.05.",
		"MDE is the smallest difference (for a win rate, distance from ½) the samples detect with 80% power at the 5% level; " +
			"too few to tell when it exceeds the effect seen and the interval has not decided.",
		"Win rate is the mean per-pair score (win 1, tie ½, loss 0) with a t interval; decisive is wins / (wins + losses) with " +
			"Wilson's interval and the exact sign test; length-controlled is AlpacaEval 2's logistic model at equal lengths.",
	}
	if len(r.Agreement) > 0 {
		lines = append(lines, "Kappa intervals are asymptotic (Fleiss, Cohen & Everitt 1969); weighted kappa is linear over loss < tie < win.")
	}
	if len(r.Ranking) > 0 {
		lines = append(lines, "Ranking is by Bradley–Terry strength (log odds of being preferred over the baseline) with a bootstrap interval.")
	}
	if slices.ContainsFunc(r.Templates, func(t document.Template) bool { return t.DistinctVsBaseline != nil }) {
		lines = append(lines, "Distinct-1/2 differences: a delete-a-group jackknife over 20 groups of samples (Kott 2001), Student's t on groups − 1 "+
			"degrees of freedom; past the sketches' exact counts the interval is widened by their error.")
	}
	if len(r.Monitors) > 0 {
		lines = append(lines, "Monitors' p-values are always valid (mixture SPRT): they may be read after every window without raising false alarms.")
	}
	if p := policy(r.Gate.Policy); p != "" {
		lines = append(lines, "Gate policy: "+p)
	} else {
		lines = append(lines, "Gate: each check compares its value with its threshold.")
	}
	return lines
}
