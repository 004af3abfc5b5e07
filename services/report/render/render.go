package render

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// errNilReport is returned by every renderer given a nil report.
var errNilReport = errors.New("render: nil report")

// none stands for a value that does not exist, as opposed to a zero.
const none = "—"

// na stands for an estimate over nothing (n = 0): every call failed, or
// nothing has arrived yet. It is never shown as 0.000 [0, 0].
const na = "n/a"

// Gate states shown by every rendering. A gate of an incomplete run is not
// shown as passed or failed: missing judgments could still change it. A
// continuous run never completes; its gate is on what has been evaluated.
const (
	gatePassed     = "PASSED"
	gateFailed     = "FAILED"
	gateError      = "ERROR"
	gateIncomplete = "INCOMPLETE"
	// gateInconclusive: no check failed, but at least one could not be
	// decided at this sample size (its interval straddles the threshold).
	gateInconclusive = "INCONCLUSIVE"
)

// view is the report with its lists in display order; Markdown and HTML
// both render it so they cannot disagree on order.
type view struct {
	R         *document.Report
	Gate      string
	Generated string
	Pairwise  []document.Pairwise
	Rates     []rateRow
	Suites    []suiteMetrics
	Deltas    []document.Delta
	Buckets   []document.Bucket
	Latency   []latencyRow

	// Policy explains the gate's policy, and Undecided what each
	// inconclusive check would need.
	Policy    string
	Undecided []string
	// The tables both renderings show.
	Checks, PairwiseT, Order, BySuite, Ranking    table
	RatesT, RateDeltas, DeltasT, Robust, RobustVs table
	// Flips are the safety suites' refusal decision flips under their
	// robustness copies, and each candidate's against the baseline's.
	Flips, FlipsVs table
	// Compared are the spec's compare pairs: a line each, and their
	// metrics.
	CompareLines []string
	Compared     table
	// Templates are each variant's top openings and closings; Distinct
	// its distinct-1 and distinct-2, which DistinctIntro explains.
	Templates, Distinct table
	DistinctIntro       string
	Methods             []string
}

type rateRow struct {
	Variant string
	document.Rates
}

// latencyRow is a variant's timing: end to end, to the first token,
// between tokens, and output tokens per second.
type latencyRow struct {
	Variant        string
	E2E, TTFT, ITL document.Latency
	TPS            document.Throughput
}

// suiteMetrics are one suite's metric rows, metric by metric, variant by
// variant.
type suiteMetrics struct {
	Suite string
	Rows  []document.Metric
	// Signatures are the sacreBLEU signatures of its BLEU and chrF.
	Signatures []signature
}

type signature struct{ Metric, Signature string }

func newView(r *document.Report) view {
	o := newOrder(r)
	v := view{R: r, Gate: gateStatus(r), Generated: generatedAt(r.Timing.GeneratedAt)}

	// Judges keep the order the aggregator gave them; within a judge,
	// variants follow the report's order.
	judges := map[string]int{}
	for _, p := range r.Pairwise {
		if _, ok := judges[p.Judge]; !ok {
			judges[p.Judge] = len(judges)
		}
	}
	v.Pairwise = slices.Clone(r.Pairwise)
	slices.SortStableFunc(v.Pairwise, func(a, b document.Pairwise) int {
		return cmp.Or(byRank(judges, a.Judge, b.Judge), byRank(o.variant, a.Variant, b.Variant))
	})

	for _, k := range variantKeys(o, r.Rates) {
		v.Rates = append(v.Rates, rateRow{k, r.Rates[k]})
	}
	for _, k := range variantKeys(o, r.Timing.Latency) {
		v.Latency = append(v.Latency, latencyRow{Variant: k, E2E: r.Timing.Latency[k], TTFT: r.Timing.TTFT[k],
			ITL: r.Timing.ITL[k], TPS: r.Timing.OutputTokensPerS[k]})
	}

	metrics := slices.Clone(r.Metrics)
	slices.SortStableFunc(metrics, func(a, b document.Metric) int {
		return o.cmpRow(a.Suite, a.Metric, a.Variant, b.Suite, b.Metric, b.Variant)
	})
	for _, m := range metrics {
		if n := len(v.Suites); n == 0 || v.Suites[n-1].Suite != m.Suite {
			v.Suites = append(v.Suites, suiteMetrics{Suite: m.Suite})
		}
		last := &v.Suites[len(v.Suites)-1]
		last.Rows = append(last.Rows, m)
		if sg := (signature{m.Metric, m.Signature}); m.Signature != "" && !slices.Contains(last.Signatures, sg) {
			last.Signatures = append(last.Signatures, sg)
		}
	}

	v.Deltas = slices.Clone(r.Deltas)
	slices.SortStableFunc(v.Deltas, func(a, b document.Delta) int {
		return o.cmpRow(a.Suite, a.Metric, a.Variant, b.Suite, b.Metric, b.Variant)
	})
	// Within a variant, buckets keep the aggregator's order (largest first).
	v.Buckets = slices.Clone(r.Buckets)
	slices.SortStableFunc(v.Buckets, func(a, b document.Bucket) int {
		return byRank(o.variant, a.Variant, b.Variant)
	})

	v.Policy, v.Undecided = policy(r.Gate.Policy), undecided(r)
	v.Checks = gateTable(r)
	v.PairwiseT, v.Order, v.BySuite = pairwiseTable(v.Pairwise), orderTable(v.Pairwise), bySuiteTable(v.Pairwise)
	v.Ranking = rankingTable(r)
	rds := slices.Clone(r.RateDeltas)
	slices.SortStableFunc(rds, func(a, b document.RateDelta) int { return byRank(o.variant, a.Variant, b.Variant) })
	v.RatesT, v.RateDeltas = ratesTable(r, v.Rates), rateDeltaTable(rds)
	v.DeltasT = deltaTable(v.Deltas)
	v.Robust, v.RobustVs = robustnessTables(r.Robustness)
	v.Flips, v.FlipsVs = flipTables(r.DecisionFlips)
	v.CompareLines, v.Compared = append(comparisonLines(r.Comparisons), comparePairwiseLines(r.ComparePairwise)...), comparisonTable(r.Comparisons)
	v.Templates, v.Distinct, v.DistinctIntro = templateTable(r.Templates), distinctTable(r.Templates), distinctIntro
	v.Methods = methods(r)
	return v
}

// order ranks variants, suites and metrics as the report lists them.
type order struct {
	variants []string
	variant  map[string]int
	suite    map[string]int
	metric   map[string]int // keyed by metricKey
}

func newOrder(r *document.Report) order {
	o := order{variant: map[string]int{}, suite: map[string]int{}, metric: map[string]int{}}
	vs := r.Variants
	if r.Baseline != "" && !slices.Contains(vs, r.Baseline) {
		vs = append([]string{r.Baseline}, vs...)
	}
	for _, v := range vs {
		if _, ok := o.variant[v]; !ok {
			o.variant[v] = len(o.variants)
			o.variants = append(o.variants, v)
		}
	}
	for _, s := range r.Suites {
		if _, ok := o.suite[s.Name]; !ok {
			o.suite[s.Name] = len(o.suite)
		}
		for i, m := range s.Metrics {
			o.metric[metricKey(s.Name, m)] = i
		}
	}
	return o
}

func metricKey(suite, metric string) string { return suite + "\x00" + metric }

// cmpRow orders (suite, metric, variant) rows.
func (o order) cmpRow(s1, m1, v1, s2, m2, v2 string) int {
	return cmp.Or(
		byRank(o.suite, s1, s2),
		byRank(o.metric, metricKey(s1, m1), metricKey(s2, m2)),
		byRank(o.variant, v1, v2),
	)
}

// variantKeys returns a map's keys, variants in report order first.
func variantKeys[V any](o order, m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int { return byRank(o.variant, a, b) })
	return ks
}

// byRank orders names by rank, and names without one after them by name,
// so data the report's lists do not mention still shows, in a fixed place.
func byRank(rank map[string]int, a, b string) int {
	ra, oka := rank[a]
	rb, okb := rank[b]
	switch {
	case oka && okb:
		if c := cmp.Compare(ra, rb); c != 0 {
			return c
		}
	case oka:
		return -1
	case okb:
		return 1
	}
	return cmp.Compare(a, b)
}

func gateStatus(r *document.Report) string {
	switch r.Gate.Verdict {
	case document.VerdictPass:
		return gatePassed
	case document.VerdictFail:
		return gateFailed
	case document.VerdictError:
		return gateError
	case document.VerdictInconclusive:
		return gateInconclusive
	}
	// A report written before verdicts were.
	switch {
	case !r.Complete && !r.Continuous:
		return gateIncomplete
	case r.Gate.Passed:
		return gatePassed
	default:
		return gateFailed
	}
}

// failedChecks names the gate checks that failed (not those that could not
// be evaluated or decided), for one-line verdicts.
func failedChecks(r *document.Report) []string {
	return checkNames(r, document.VerdictFail)
}

// inconclusiveChecks names the gate checks whose interval straddles their
// threshold.
func inconclusiveChecks(r *document.Report) []string {
	return checkNames(r, document.VerdictInconclusive)
}

func checkNames(r *document.Report, outcome string) []string {
	var names []string
	for _, c := range r.Gate.Checks {
		if checkOutcome(c) == outcome {
			names = append(names, checkName(c))
		}
	}
	return names
}

// checkName is a check as a sentence names it: "win_rate_min for ft",
// "judge_error_rate_max for ft (judge j2)".
func checkName(c document.Check) string {
	name := c.Name
	if c.Variant != "" {
		name += " for " + c.Variant
	}
	return name + checkJudge(c)
}

// checkJudge names the judge of a check on a judge's failures: a run with
// two judges has one such check per judge and variant.
func checkJudge(c document.Check) string {
	if c.Name != document.CheckJudgeErrorRateMax || c.Judge == "" {
		return ""
	}
	return " (judge " + c.Judge + ")"
}

// checkOutcome is a check's outcome: pass, fail, inconclusive or error. A
// report written before outcomes were has only Passed and Error.
func checkOutcome(c document.Check) string {
	switch {
	case c.Error != "" || c.Outcome == document.VerdictError:
		return document.VerdictError
	case c.Outcome != "":
		return c.Outcome
	case c.Passed:
		return document.VerdictPass
	}
	return document.VerdictFail
}

// checkResult is a gate check's outcome as the tables show it.
func checkResult(c document.Check) string {
	switch o := checkOutcome(c); o {
	case document.VerdictError:
		if c.Error == "" {
			return "ERROR"
		}
		return "ERROR: " + c.Error
	case document.VerdictFail:
		return "FAIL"
	default:
		return o
	}
}

// estimate formats a mean with its interval, or n/a when there is none.
func estimate(x *float64, ci *[2]float64) string {
	switch {
	case x == nil:
		return na
	case ci == nil:
		return num(*x)
	}
	return withCI(*x, *ci)
}

// worst formats a worst-case estimate, or none when nothing failed.
func worst(e *document.Estimate) string {
	if e == nil {
		return none
	}
	return withCI(e.Mean, e.CI)
}

// worstDelta formats a worst-case difference, or none when nothing failed.
func worstDelta(e *document.DeltaEstimate) string {
	if e == nil {
		return none
	}
	return signedCI(e.Delta, e.CI)
}

// optRate formats a rate that is null when it measured nothing.
func optRate(p *float64) string {
	if p == nil {
		return na
	}
	return num(*p)
}

func generatedAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// num formats a rate or a mean.
func num(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

// withCI formats an estimate and its 95% interval: 0.620 [0.540, 0.700].
func withCI(x float64, ci [2]float64) string {
	return fmt.Sprintf("%.3f [%.3f, %.3f]", x, ci[0], ci[1])
}

// signedCI formats a difference, whose sign is the point.
func signedCI(x float64, ci [2]float64) string {
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f]", x, ci[0], ci[1])
}

// measuresJSON reports whether a suite of the run asks for a metric that
// checks answers for JSON ([eval.MeasuresJSONValid]): without one,
// json_valid does not apply (—), where with one a json_valid over nothing
// is n/a.
func measuresJSON(r *document.Report) bool {
	return slices.ContainsFunc(r.Suites, func(s document.Suite) bool {
		return slices.ContainsFunc(s.Metrics, eval.MeasuresJSONValid)
	})
}

// measuresSchemas reports whether a suite of the run asks for json_schema,
// the only metric schema_pass counts.
func measuresSchemas(r *document.Report) bool {
	return slices.ContainsFunc(r.Suites, func(s document.Suite) bool { return slices.Contains(s.Metrics, "json_schema") })
}

// applying is s, a figure formatted with n/a for an estimate over
// nothing, or none when the figure is null because the run does not
// measure it at all.
func applying(measured bool, x *float64, s string) string {
	if x == nil && !measured {
		return none
	}
	return s
}

// tokens formats a mean token count: a thousandth of a token means nothing.
func tokens(p *float64) string {
	if p == nil {
		return na
	}
	return strconv.FormatFloat(*p, 'f', 1, 64)
}

func millis(ms float64) string { return strconv.FormatFloat(ms, 'f', 0, 64) + " ms" }

// percentileMillis formats a latency's p50/p95/p99, or n/a when nothing
// was measured.
func percentileMillis(l document.Latency) string {
	if l.N == 0 {
		return na
	}
	return fmt.Sprintf("%s / %s / %s", millis(l.P50), millis(l.P95), millis(l.P99))
}

// percentileRate formats tokens per second at p50/p95/p99.
func percentileRate(t document.Throughput) string {
	if t.N == 0 {
		return na
	}
	return fmt.Sprintf("%.1f / %.1f / %.1f", t.P50, t.P95, t.P99)
}

// pvalue shows three significant digits; below 0.001 the digits are noise
// from the approximation, so only the bound is shown.
// A null p-value is an undefined test: too few pairs, or no variance.
func pvalue(p *float64) string {
	switch {
	case p == nil:
		return "n/a"
	case *p < 0.001:
		return "<0.001"
	}
	return fmt.Sprintf("%#.3g", *p)
}

// sig marks a q-value below 5%: stars are on q, since a report tests many
// deltas at once (a report written before q-values has none, so no stars).
func sig(p *float64) string {
	if p != nil && *p < 0.05 {
		return "*"
	}
	return ""
}
