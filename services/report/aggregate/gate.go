package aggregate

import (
	"fmt"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// tolerance absorbs floating-point error at a threshold: a delta of 0.3 −
// 0.2 is 0.09999999999999998, and must still meet delta_min: 0.1.
const tolerance = 1e-9

// DefaultErrorRateMax is the share of failed calls above which a run could
// not be evaluated (gate.error_rate_max when the spec gives none).
const DefaultErrorRateMax = 0.02

// Gate evaluates spec's gate on a report. Its verdict is pass, fail, or
// error when the run could not be evaluated: its suites could not be read,
// it is incomplete, a variant's generations or the gate's judge failed
// more often than gate.error_rate_max allows, or a check has nothing to
// measure. A verdict never comes from failures: they are not in the
// figures the checks read, and too many of them make the verdict error.
func Gate(spec *eval.RunSpec, rep *document.Report) document.Gate {
	g := document.Gate{Checks: []document.Check{}, Errors: []string{}}
	add := func(name, variant string, value, threshold float64, ok bool) {
		g.Checks = append(g.Checks, document.Check{Name: name, Variant: variant, Value: value, Threshold: threshold, Passed: ok})
	}
	// unmeasured adds a check that could not be evaluated, and why.
	unmeasured := func(name, variant string, threshold float64, why string) {
		g.Checks = append(g.Checks, document.Check{Name: name, Variant: variant, Threshold: threshold, Error: why})
	}
	gt := spec.Gate
	maxErr := DefaultErrorRateMax
	if gt.ErrorRateMax != nil {
		maxErr = *gt.ErrorRateMax
	}
	for _, f := range rep.Failures {
		if f.Stage == "ingest" {
			// Nothing was evaluated: no check has anything to measure.
			unmeasured("ingest", "", 0, "ingest failed, so the run cannot be evaluated (what was read before is shown, with no verdict): "+f.Example)
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
		unmeasured("complete", "", float64(p.ScoresExpected+p.JudgmentsExpected),
			fmt.Sprintf("the run is incomplete: %d of %s scores and %d of %s judgments have arrived",
				p.Scores, expectedCount(p.ScoresExpected), p.Judgments, expectedCount(p.JudgmentsExpected)))
	}
	// A suite that gave nothing to evaluate: an empty file, or every record
	// malformed or a duplicate.
	for _, su := range rep.Suites {
		if s, ok := spec.Suite(su.Name); ok && !s.Intake && rep.Complete && su.Samples == 0 {
			unmeasured("samples", "", 0, fmt.Sprintf("suite %s has no sample to evaluate: %d records read, %d malformed, %d duplicates", su.Name, su.RecordsRead(), su.Malformed, su.Duplicates))
		}
	}
	// Records the suites could not use: the run evaluates another set than
	// the one asked for when too many were skipped.
	if read, bad, first := malformed(rep); bad > 0 {
		share := float64(bad) / float64(read)
		if share > maxErr+tolerance {
			g.Checks = append(g.Checks, document.Check{Name: "malformed_rate_max", Value: share, Threshold: maxErr,
				Error: fmt.Sprintf("%d of %d dataset records were malformed and skipped (%.1f%%, more than error_rate_max %g allows); the first: %s", bad, read, 100*share, maxErr, first)})
		} else {
			add("malformed_rate_max", "", share, maxErr, true)
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
			g.Checks = append(g.Checks, document.Check{Name: "error_rate_max", Variant: v, Value: *r, Threshold: maxErr,
				Error: fmt.Sprintf("%s: %.1f%% of generations failed (%s), more than error_rate_max %g allows", v, 100**r, failureCauses(rep, "generation", v), maxErr)})
			continue
		}
		add("error_rate_max", v, *r, maxErr, true)
	}
	for _, v := range spec.GatedVariants() {
		if gt.WinRateMin != nil {
			p, found := pairwiseOf(rep, judge, v)
			switch {
			case !found:
				unmeasured("win_rate_min", v, *gt.WinRateMin, fmt.Sprintf("no judge %q compares %s with the baseline", judge, v))
			case p.Errors > 0 && float64(p.Errors)/float64(p.N+p.Errors) > maxErr+tolerance:
				rate := float64(p.Errors) / float64(p.N+p.Errors)
				g.Checks = append(g.Checks, document.Check{Name: "judge_error_rate_max", Variant: v, Value: rate, Threshold: maxErr,
					Error: fmt.Sprintf("judge %s: %.1f%% of %s's pairs got no verdict (%s), more than error_rate_max %g allows", judge, 100*rate, v, failureCauses(rep, "judge", judge), maxErr)})
			case p.WinRate == nil && p.GenerationErrors > 0:
				unmeasured("win_rate_min", v, *gt.WinRateMin, fmt.Sprintf("judge %s judged no pair of %s: in each, a generation failed", judge, v))
			case p.WinRate == nil:
				unmeasured("win_rate_min", v, *gt.WinRateMin, fmt.Sprintf("judge %s has no verdict on %s yet", judge, v))
			default:
				add("win_rate_min", v, *p.WinRate, *gt.WinRateMin, *p.WinRate >= *gt.WinRateMin-tolerance)
			}
		}
		r, b := rep.Rates[v], rep.Rates[spec.Baseline]
		if gt.RefusalRateDeltaMax != nil {
			if r.Refusal == nil || b.Refusal == nil {
				unmeasured("refusal_rate_delta_max", v, *gt.RefusalRateDeltaMax, fmt.Sprintf("no answered benign prompt of %s or of the baseline to measure refusals on", v))
			} else {
				d := *r.Refusal - *b.Refusal
				add("refusal_rate_delta_max", v, d, *gt.RefusalRateDeltaMax, d <= *gt.RefusalRateDeltaMax+tolerance)
			}
		}
		if gt.JSONValidMin != nil {
			if r.JSONValid == nil {
				unmeasured("json_valid_min", v, *gt.JSONValidMin, fmt.Sprintf("no answer of %s was checked for JSON: no suite asks for a JSON metric, or every such generation failed", v))
			} else {
				add("json_valid_min", v, *r.JSONValid, *gt.JSONValidMin, *r.JSONValid >= *gt.JSONValidMin-tolerance)
			}
		}
		for _, mg := range gt.Metrics {
			name := mg.Suite + "/" + mg.Metric
			if mg.Min != nil {
				m, found := metricOf(rep, mg.Suite, mg.Metric, v)
				switch {
				case !found || m.Mean == nil:
					unmeasured(name+" min", v, *mg.Min, fmt.Sprintf("no scored answer of %s for %s", v, name))
				case overShare(m.Errors, m.N+m.Errors, maxErr):
					// A suite can fail alone (a content filter on the safety
					// suite) while the variant's overall rate stays low.
					unmeasured(name+" min", v, *mg.Min, fmt.Sprintf("%d of %d generations of %s on suite %s failed, more than error_rate_max %g allows: its %s is over the rest only",
						m.Errors, m.N+m.Errors, v, mg.Suite, maxErr, mg.Metric))
				default:
					add(name+" min", v, *m.Mean, *mg.Min, *m.Mean >= *mg.Min-tolerance)
				}
			}
			if mg.DeltaMin != nil {
				d, found := deltaOf(rep, mg.Suite, mg.Metric, v)
				switch {
				case !found:
					unmeasured(name+" delta_min", v, *mg.DeltaMin, fmt.Sprintf("no sample of %s that both %s and the baseline answered", name, v))
				case overShare(d.Excluded, d.N+d.Excluded, maxErr):
					unmeasured(name+" delta_min", v, *mg.DeltaMin, fmt.Sprintf("%d of %d pairs of %s on suite %s were left out because a generation failed, more than error_rate_max %g allows",
						d.Excluded, d.N+d.Excluded, v, mg.Suite, maxErr))
				default:
					add(name+" delta_min", v, d.Delta, *mg.DeltaMin, d.Delta >= *mg.DeltaMin-tolerance)
				}
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

func deltaOf(rep *document.Report, suite, metric, variant string) (document.Delta, bool) {
	for _, d := range rep.Deltas {
		if d.Suite == suite && d.Metric == metric && d.Variant == variant {
			return d, true
		}
	}
	return document.Delta{}, false
}

// variantVerdicts is each gated variant's verdict: error when a check of
// its own, of the run or of the baseline it is compared with could not be
// evaluated, else fail when one of them failed, else pass.
func variantVerdicts(spec *eval.RunSpec, checks []document.Check) map[string]string {
	out := map[string]string{}
	for _, v := range spec.GatedVariants() {
		out[v] = document.VerdictPass
	}
	for _, c := range checks {
		for v := range out {
			if !c.AppliesTo(v, spec.Baseline) {
				continue // another variant's own check
			}
			switch {
			case c.Error != "":
				out[v] = document.VerdictError
			case !c.Passed && out[v] == document.VerdictPass:
				out[v] = document.VerdictFail
			}
		}
	}
	return out
}

// runVerdict is error when any check could not be evaluated, else fail
// when any failed, else pass.
func runVerdict(checks []document.Check) string {
	verdict := document.VerdictPass
	for _, c := range checks {
		switch {
		case c.Error != "":
			return document.VerdictError
		case !c.Passed:
			verdict = document.VerdictFail
		}
	}
	return verdict
}
