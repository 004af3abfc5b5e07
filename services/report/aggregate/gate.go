package aggregate

import (
	"fmt"
	"math"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// tolerance absorbs floating-point error at a threshold: a delta of 0.3 −
// 0.2 is 0.09999999999999998, and must still meet delta_min: 0.1.
const tolerance = 1e-9

// DefaultErrorRateMax is the share of failed calls above which a run could
// not be evaluated (gate.error_rate_max when the spec gives none).
const DefaultErrorRateMax = 0.02

// Gate evaluates spec's gate on a report.
//
// Under the interval policy (the default) a check is decided on the 95%
// interval of what it measures ([stats.Decide]): it passes when the whole
// interval lies on the good side of its threshold, fails when the whole
// interval lies on the bad side, and is inconclusive when the interval
// straddles the threshold, so that a candidate no different from its base
// is not passed or failed by the toss of the sample. Under policy point a
// check compares the point estimate with its threshold, as assay did
// before. The checks on counts (error_rate_max, judge_error_rate_max,
// malformed_rate_max) are about the setup, not the model, and stay point
// checks either way.
//
// The gate is an intersection–union test (Berger 1982, Technometrics
// 24:295): a variant passes only when every one of its checks rejects its
// own null hypothesis at the 5% level, so the chance of passing a variant
// that misses any one threshold stays at most 5% however many checks there
// are, and no multiplicity correction is needed.
//
// A variant's verdict, and the run's, is error when any check that bears
// on it could not be evaluated (its suites could not be read, the run is
// incomplete, a variant's generations or the gate's judge failed more
// often than gate.error_rate_max allows, a check has nothing to measure),
// else fail when any failed, else inconclusive when any could not be
// decided, else pass. A verdict never comes from failures: they are not in
// the figures the checks read, and too many of them make the verdict
// error.
func Gate(spec *eval.RunSpec, rep *document.Report) document.Gate {
	gt := spec.Gate
	g := document.Gate{Checks: []document.Check{}, Errors: []string{}, Policy: eval.GatePolicyInterval}
	if !gt.IntervalPolicy() {
		g.Policy = eval.GatePolicyPoint
	}
	b := &checks{g: &g, interval: gt.IntervalPolicy()}
	maxErr := DefaultErrorRateMax
	if gt.ErrorRateMax != nil {
		maxErr = *gt.ErrorRateMax
	}
	for _, f := range rep.Failures {
		if f.Stage == "ingest" {
			// Nothing was evaluated: no check has anything to measure.
			b.unmeasured("ingest", "", "", 0, "ingest failed, so the run cannot be evaluated (what was read before is shown, with no verdict): "+f.Example)
			g.Verdicts, g.Variants = map[string]string{}, map[string]bool{}
			for _, v := range spec.GatedVariants() {
				g.Verdicts[v], g.Variants[v] = document.VerdictError, false
			}
			g.Verdict, g.Errors = document.VerdictError, []string{g.Checks[0].Error}
			return g
		}
	}
	// A continuous run never completes: its gate is on what has been
	// evaluated so far (alerts follow its windows).
	if !rep.Complete && spec.Continuous == nil {
		p := rep.Progress
		b.unmeasured("complete", "", "", float64(p.ScoresExpected+p.JudgmentsExpected),
			fmt.Sprintf("the run is incomplete: %d of %s scores and %d of %s judgments have arrived",
				p.Scores, expectedCount(p.ScoresExpected), p.Judgments, expectedCount(p.JudgmentsExpected)))
	}
	// A suite that gave nothing to evaluate: an empty file, or every record
	// malformed or a duplicate.
	for _, su := range rep.Suites {
		if s, ok := spec.Suite(su.Name); ok && !s.Intake && rep.Complete && su.Samples == 0 {
			b.unmeasured("samples", "", "", 0, fmt.Sprintf("suite %s has no sample to evaluate: %d records read, %d malformed, %d duplicates", su.Name, su.RecordsRead(), su.Malformed, su.Duplicates))
		}
	}
	// Records the suites could not use: the run evaluates another set than
	// the one asked for when too many were skipped.
	if read, bad, first := malformed(rep); bad > 0 {
		share := float64(bad) / float64(read)
		if share > maxErr+tolerance {
			b.over(document.CheckMalformedRateMax, "", share, maxErr,
				fmt.Sprintf("%d of %d dataset records were malformed and skipped (%.1f%%, more than error_rate_max %g allows); the first: %s", bad, read, 100*share, maxErr, first))
		} else {
			b.within(document.CheckMalformedRateMax, "", share, maxErr)
		}
	}
	gj, _ := GateJudge(spec)
	judge := gj.Name
	// The baseline's generations and every gated variant's: each
	// comparison rests on both sides.
	for _, v := range append([]string{spec.Baseline}, spec.GatedVariants()...) {
		r := rep.Rates[v].Error
		if r == nil {
			continue
		}
		if *r > maxErr+tolerance {
			b.over(document.CheckErrorRateMax, v, *r, maxErr,
				fmt.Sprintf("%s: %.1f%% of generations failed (%s), more than error_rate_max %g allows", v, 100**r, failureCauses(rep, "generation", v), maxErr))
			continue
		}
		b.within(document.CheckErrorRateMax, v, *r, maxErr)
	}
	// Every judge's failures on every gated variant's pairs, whether or
	// not a check reads its verdicts: a judge that failed too often
	// leaves the comparison it was asked for unmade.
	for _, j := range spec.Judges {
		jb := b.of(j.Name)
		for _, v := range spec.GatedVariants() {
			p, found := pairwiseOf(rep, j.Name, v)
			if !found || p.N+p.Errors == 0 {
				continue
			}
			rate := float64(p.Errors) / float64(p.N+p.Errors)
			if overShare(p.Errors, p.N+p.Errors, maxErr) {
				jb.over(document.CheckJudgeErrorRateMax, v, rate, maxErr,
					fmt.Sprintf("judge %s: %.1f%% of %s's pairs got no verdict (%s), more than error_rate_max %g allows", j.Name, 100*rate, v, failureCauses(rep, "judge", j.Name), maxErr))
			} else {
				jb.within(document.CheckJudgeErrorRateMax, v, rate, maxErr)
			}
		}
	}
	jb := b.of(judge)
	for _, v := range spec.GatedVariants() {
		if gt.WinRateMin != nil {
			const name = "win_rate_min"
			p, found := pairwiseOf(rep, judge, v)
			switch {
			case !found:
				jb.unmeasured(name, v, boundMin, *gt.WinRateMin, fmt.Sprintf("no judge %q compares %s with the baseline", judge, v))
			case overShare(p.Errors, p.N+p.Errors, maxErr):
				// judge_error_rate_max says so; the win rate over the
				// rest is not the one asked for.
				jb.unmeasured(name, v, boundMin, *gt.WinRateMin, fmt.Sprintf("%d of %d pairs of %s got no verdict from judge %s, more than error_rate_max %g allows: its win rate is over the rest only",
					p.Errors, p.N+p.Errors, v, judge, maxErr))
			case p.WinRate == nil && p.GenerationErrors > 0:
				jb.unmeasured(name, v, boundMin, *gt.WinRateMin, fmt.Sprintf("judge %s judged no pair of %s: in each, a generation failed", judge, v))
			case p.WinRate == nil:
				jb.unmeasured(name, v, boundMin, *gt.WinRateMin, fmt.Sprintf("judge %s has no verdict on %s yet", judge, v))
			default:
				jb.decide(name, v, *gt.WinRateMin, true, estimate{value: *p.WinRate, ci: p.CI, n: p.N, mde: p.MDE, undefined: p.Undefined})
			}
		}
		if gt.RefusalRateDeltaMax != nil {
			const name = "refusal_rate_delta_max"
			rate, read := refusalRate(spec), ""
			if rate == rateJudgeRefusal {
				j, _ := BucketJudge(spec)
				read = " and judge " + j.Name + " read for a refusal"
			}
			switch d, found := rateDeltaOf(rep, rate, v); {
			case !found:
				b.unmeasured(name, v, boundMax, *gt.RefusalRateDeltaMax, fmt.Sprintf("no benign prompt that both %s and the baseline answered%s to measure refusals on", v, read))
			case d.N == 0 && read != "":
				b.unmeasured(name, v, boundMax, *gt.RefusalRateDeltaMax, fmt.Sprintf("no benign prompt that both %s and the baseline answered%s to measure refusals on: in each, a generation failed or the judge did not read an answer", v, read))
			case d.N == 0:
				b.unmeasured(name, v, boundMax, *gt.RefusalRateDeltaMax, fmt.Sprintf("no benign prompt that both %s and the baseline answered to measure refusals on: in each, a generation failed", v))
			default:
				b.decide(name, v, *gt.RefusalRateDeltaMax, false, deltaEstimate(d.DeltaEstimate))
			}
		}
		if gt.JSONValidMin != nil {
			const name = "json_valid_min"
			r := rep.Rates[v]
			switch {
			case r.JSONValid == nil:
				b.unmeasured(name, v, boundMin, *gt.JSONValidMin, fmt.Sprintf("no answer of %s was checked for JSON: no suite asks for a JSON metric, or every such generation failed", v))
			case b.interval && r.JSONValidCI == nil && r.JSONValidN == 0:
				b.unmeasured(name, v, boundMin, *gt.JSONValidMin, fmt.Sprintf("the report does not count the answers of %s checked for JSON, so their rate has no interval", v))
			default:
				ci := r.JSONValidCI
				if ci == nil && r.JSONValidN > 0 && r.JSONValidClusters == 0 {
					w := stats.Wilson(*r.JSONValid, r.JSONValidN)
					ci = &w
				}
				b.decide(name, v, *gt.JSONValidMin, true, estimate{value: *r.JSONValid, ci: ci, n: r.JSONValidN, wilson: r.JSONValidClusters == 0})
			}
		}
		for _, mg := range gt.Metrics {
			// Bounds from below (min, delta_min, margin, superiority) and,
			// for a metric where lower is better, from above (max,
			// delta_max).
			if mg.Min != nil {
				b.metricMean(rep, mg, v, *mg.Min, true, maxErr)
			}
			if mg.Max != nil {
				b.metricMean(rep, mg, v, *mg.Max, false, maxErr)
			}
			if bound, ok := mg.DeltaBound(); ok {
				b.metricDelta(rep, mg, v, bound, true, maxErr)
			}
			if mg.DeltaMax != nil {
				b.metricDelta(rep, mg, v, *mg.DeltaMax, false, maxErr)
			}
		}
	}
	g.Verdicts = variantVerdicts(spec, g.Checks)
	g.Variants = map[string]bool{}
	for v, verdict := range g.Verdicts {
		g.Variants[v] = verdict == document.VerdictPass
	}
	g.Verdict = runVerdict(g.Checks)
	for _, c := range g.Checks {
		if c.Error != "" {
			g.Errors = append(g.Errors, c.Error)
		}
	}
	if len(g.Checks) > 0 && g.Checks[0].Name == "complete" {
		// What an incomplete run cannot measure yet follows from its being
		// incomplete: that is the reason to give.
		g.Errors = g.Errors[:1]
	}
	g.Passed = g.Verdict == document.VerdictPass
	return g
}

// metricMean adds the check that variant v's mean of mg's metric is at
// least (atLeast) or at most threshold: "<suite>/<metric> min" or "max".
func (b *checks) metricMean(rep *document.Report, mg eval.MetricGate, v string, threshold float64, atLeast bool, maxErr float64) {
	name, bound := mg.Suite+"/"+mg.Metric+" min", boundMin
	if !atLeast {
		name, bound = mg.Suite+"/"+mg.Metric+" max", boundMax
	}
	m, found := metricOf(rep, mg.Suite, mg.Metric, v)
	switch {
	case !found || m.Mean == nil:
		b.unmeasured(name, v, bound, threshold, fmt.Sprintf("no scored answer of %s for %s/%s", v, mg.Suite, mg.Metric))
	case overShare(m.Errors, m.N+m.Errors, maxErr):
		// A suite can fail alone (a content filter on the safety suite)
		// while the variant's overall rate stays low.
		b.unmeasured(name, v, bound, threshold, fmt.Sprintf("%d of %d generations of %s on suite %s failed, more than error_rate_max %g allows: its %s is over the rest only",
			m.Errors, m.N+m.Errors, v, mg.Suite, maxErr, mg.Metric))
	default:
		b.decide(name, v, threshold, atLeast, estimate{value: *m.Mean, ci: m.CI, n: m.N, wilson: eval.MetricBinary(mg.Metric) && m.Clusters == 0})
	}
}

// metricDelta adds the check that variant v's delta from the baseline on
// mg's metric is at least (atLeast) or at most threshold:
// "<suite>/<metric> delta_min" or "delta_max".
func (b *checks) metricDelta(rep *document.Report, mg eval.MetricGate, v string, threshold float64, atLeast bool, maxErr float64) {
	name, bound := mg.Suite+"/"+mg.Metric+" delta_min", boundMin
	if !atLeast {
		name, bound = mg.Suite+"/"+mg.Metric+" delta_max", boundMax
	}
	d, found := deltaOf(rep, mg.Suite, mg.Metric, v)
	switch {
	case !found:
		b.unmeasured(name, v, bound, threshold, fmt.Sprintf("no sample of %s/%s that both %s and the baseline answered", mg.Suite, mg.Metric, v))
	case overShare(d.Excluded, d.N+d.Excluded, maxErr):
		b.unmeasured(name, v, bound, threshold, fmt.Sprintf("%d of %d pairs of %s on suite %s were left out because a generation failed, more than error_rate_max %g allows",
			d.Excluded, d.N+d.Excluded, v, mg.Suite, maxErr))
	case d.N == 0:
		b.unmeasured(name, v, bound, threshold, fmt.Sprintf("%d of %d pairs of %s on suite %s were left out because a generation failed: the delta is over nothing",
			d.Excluded, d.N+d.Excluded, v, mg.Suite))
	default:
		b.decide(name, v, threshold, atLeast, deltaEstimate(d.DeltaEstimate))
	}
}

// Bounds of a check, as in [document.Check].Bound.
const (
	boundMin = "min"
	boundMax = "max"
)

// checks builds a gate's checks under its policy.
type checks struct {
	g        *document.Gate
	interval bool
	// judge is the judge every check added reads ([document.Check].Judge),
	// "" for the checks that read none.
	judge string
}

// of is a builder whose checks read judge's verdicts or count its
// failures, adding to the same gate.
func (b *checks) of(judge string) *checks {
	jb := *b
	jb.judge = judge
	return &jb
}

// add appends c, with the builder's judge.
func (b *checks) add(c document.Check) {
	c.Judge = b.judge
	b.g.Checks = append(b.g.Checks, c)
}

// unmeasured adds a check that could not be evaluated, and why.
func (b *checks) unmeasured(name, variant, bound string, threshold float64, why string) {
	b.add(document.Check{Name: name, Variant: variant, Threshold: threshold, Bound: bound,
		Outcome: document.VerdictError, Error: why})
}

// within adds a check on counts (a share of failures or of malformed
// records) that is within its limit.
func (b *checks) within(name, variant string, share, limit float64) {
	b.add(document.Check{Name: name, Variant: variant, Value: share, Threshold: limit, Bound: boundMax,
		Outcome: document.VerdictPass, Passed: true})
}

// over adds a check on counts that is over its limit: the run could not
// be evaluated, which is why.
func (b *checks) over(name, variant string, share, limit float64, why string) {
	b.add(document.Check{Name: name, Variant: variant, Value: share, Threshold: limit, Bound: boundMax,
		Outcome: document.VerdictError, Error: why})
}

// estimate is what a check decides on: a value, its 95% interval (nil or
// undefined when there is none) over n samples or pairs, and the minimum
// detectable effect its statistic gives, if any.
type estimate struct {
	value     float64
	ci        *[2]float64
	n         int
	mde       *float64
	undefined string
	// wilson: ci is the Wilson interval of a proportion over n trials.
	wilson bool
}

// deltaEstimate is what a check on a paired difference decides on.
func deltaEstimate(d document.DeltaEstimate) estimate {
	ci := d.CI
	return estimate{value: d.Delta, ci: &ci, n: d.N, mde: d.MDE, undefined: d.Undefined}
}

// decide adds a check that e's value is at least (atLeast) or at most
// threshold, decided under the gate's policy, with what it would take to
// decide it: the effect its sample detects and the sample that would
// clear the threshold.
func (b *checks) decide(name, variant string, threshold float64, atLeast bool, e estimate) {
	c := document.Check{Name: name, Variant: variant, Value: e.value, Threshold: threshold, Bound: boundMin}
	if !atLeast {
		c.Bound = boundMax
	}
	if e.undefined == "" && e.ci != nil && finite(e.ci[0]) && finite(e.ci[1]) {
		ci := *e.ci
		c.CI = &ci
		half := (ci[1] - ci[0]) / 2
		switch {
		case e.mde != nil && finite(*e.mde):
			mde := *e.mde
			c.MDE = &mde
		case half > 0:
			mde := stats.MDEFromHalfWidth(half)
			c.MDE = &mde
		}
		// The bound that has to clear the threshold is the one on its
		// side: an asymmetric interval (Wilson's) is wider on one side.
		toward := e.value - ci[0]
		if e.value < threshold {
			toward = ci[1] - e.value
		}
		c.NeededN = stats.NToDecide(e.n, toward, math.Abs(e.value-threshold))
		if e.wilson {
			c.NeededN = stats.NWilson(e.value, threshold)
		}
	}
	switch {
	case !b.interval:
		// The point estimate as an interval of width 0: pass or fail, by
		// the same rule and tolerance as an interval.
		c.Outcome = string(stats.Decide([2]float64{e.value, e.value}, threshold, atLeast))
	case c.CI == nil:
		// No interval (an undefined test: too few pairs, no variance):
		// nothing decides the check either way.
		c.Outcome = document.VerdictInconclusive
	default:
		c.Outcome = string(stats.Decide(*c.CI, threshold, atLeast))
	}
	if c.Outcome != document.VerdictInconclusive {
		c.NeededN = 0 // decided: no more samples are needed
	}
	c.Passed = c.Outcome == document.VerdictPass
	b.add(c)
}

// malformed counts the dataset records read and those skipped as
// malformed, over every suite, with the first problem reported.
func malformed(rep *document.Report) (read, bad int, first string) {
	for _, s := range rep.Suites {
		read += s.RecordsRead()
		bad += s.Malformed
		if first == "" && len(s.Problems) > 0 {
			first = s.Problems[0]
		}
	}
	return read, bad, first
}

// overShare reports whether part of whole is more than max.
func overShare(part, whole int, max float64) bool {
	return part > 0 && float64(part)/float64(whole) > max+tolerance
}

func expectedCount(n int) string {
	if n == 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// failureCauses lists a source's failure causes, most frequent first.
func failureCauses(rep *document.Report, stage, source string) string {
	var parts []string
	for _, f := range rep.Failures {
		if f.Stage == stage && f.Source == source {
			parts = append(parts, fmt.Sprintf("%d × %s", f.Count, f.Cause))
		}
	}
	if len(parts) > 3 {
		parts = append(parts[:3], "…")
	}
	return strings.Join(parts, ", ")
}

func pairwiseOf(rep *document.Report, judge, variant string) (document.Pairwise, bool) {
	for _, p := range rep.Pairwise {
		if p.Judge == judge && p.Variant == variant {
			return p, true
		}
	}
	return document.Pairwise{}, false
}

func metricOf(rep *document.Report, suite, metric, variant string) (document.Metric, bool) {
	for _, m := range rep.Metrics {
		if m.Suite == suite && m.Metric == metric && m.Variant == variant {
			return m, true
		}
	}
	return document.Metric{}, false
}

func rateDeltaOf(rep *document.Report, rate, variant string) (document.RateDelta, bool) {
	for _, d := range rep.RateDeltas {
		if d.Rate == rate && d.Variant == variant {
			return d, true
		}
	}
	return document.RateDelta{}, false
}

func deltaOf(rep *document.Report, suite, metric, variant string) (document.Delta, bool) {
	for _, d := range rep.Deltas {
		if d.Suite == suite && d.Metric == metric && d.Variant == variant {
			return d, true
		}
	}
	return document.Delta{}, false
}

// variantVerdicts is each gated variant's verdict over the checks that
// bear on it: its own, the run's and the baseline's it is compared with.
func variantVerdicts(spec *eval.RunSpec, checks []document.Check) map[string]string {
	out := map[string]string{}
	for _, v := range spec.GatedVariants() {
		var own []document.Check
		for _, c := range checks {
			if c.AppliesTo(v, spec.Baseline) {
				own = append(own, c)
			}
		}
		out[v] = runVerdict(own)
	}
	return out
}

// verdictRank orders verdicts from the best: a verdict is the worst of
// its checks' outcomes.
var verdictRank = map[string]int{
	document.VerdictPass:         0,
	document.VerdictInconclusive: 1,
	document.VerdictFail:         2,
	document.VerdictError:        3,
}

// runVerdict is the worst outcome of checks: error when any could not be
// evaluated, else fail when any failed, else inconclusive when any could
// not be decided, else pass.
func runVerdict(checks []document.Check) string {
	verdict := document.VerdictPass
	for _, c := range checks {
		if o := outcome(c); verdictRank[o] > verdictRank[verdict] {
			verdict = o
		}
	}
	return verdict
}

// outcome is a check's outcome, also of a check made before outcomes
// were recorded.
func outcome(c document.Check) string {
	switch {
	case c.Error != "":
		return document.VerdictError
	case c.Passed:
		return document.VerdictPass
	case c.Outcome == document.VerdictInconclusive:
		return document.VerdictInconclusive
	}
	return document.VerdictFail
}
