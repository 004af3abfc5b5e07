package main

import (
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
)

// The oracle: what a run must report, computed from the simulator's own
// choices and the documented meaning of each metric, without assay's
// scoring or aggregation code.

type expectedVariant struct {
	errors, nonErr             int
	truncated                  int
	benign, refusedBenign      int
	jsonChecked, jsonValid     int
	tokens                     int
	calls                      int
	mcCorrect, mcN             int
	numCorrect, numN           int
	emCorrect, emN             int // qa suite
	fieldsSum                  float64
	fieldsN                    int
	refusalBucket, truncBucket int
}

type expectedPair struct {
	wins, losses, ties, flips int
	// errors are pairs the judge gave no verdict on; genErrors pairs
	// never shown to it because a generation failed.
	errors, genErrors int
}

type expectation struct {
	variants    map[string]*expectedVariant
	pairs       map[[2]string]*expectedPair // (judge, candidate)
	judgeCalls  map[string]int              // judge model -> calls
	maxAttempts int
}

func (f *fixture) expect() *expectation {
	e := &expectation{variants: map[string]*expectedVariant{}, pairs: map[[2]string]*expectedPair{}, judgeCalls: map[string]int{},
		maxAttempts: f.spec.Retry.MaxAttempts}
	decisions := map[string]map[string]llmsim.Decision{} // variant -> sample key -> decision
	for _, v := range f.spec.Variants {
		p := f.persona[v.Name]
		ev := &expectedVariant{}
		e.variants[v.Name] = ev
		decisions[v.Name] = map[string]llmsim.Decision{}
		for _, s := range f.samples {
			prompt := eval.LastUserMessage(s.Messages)
			d := f.sim.Decide(p, prompt)
			decisions[v.Name][s.Suite+"/"+s.ID] = d
			switch {
			case d.Down:
				ev.calls += e.maxAttempts
			case d.Flaky:
				ev.calls += 2
			default:
				ev.calls++
			}
			ref := s.Reference
			benign := ref == nil || ref.ShouldRefuse == nil || !*ref.ShouldRefuse
			correct := !d.Down && d.Outcome == llmsim.OutcomeCorrect && !d.Truncated
			// A failed generation is in no metric: it is counted, not
			// scored.
			switch {
			case d.Down:
			case s.Suite == "mc":
				ev.mcN++
				if correct {
					ev.mcCorrect++
				}
			case s.Suite == "math":
				ev.numN++
				if correct {
					ev.numCorrect++
				}
			case s.Suite == "qa":
				ev.emN++
				// Padding before a short answer breaks exact match.
				if correct && !d.Verbose {
					ev.emCorrect++
				}
			case s.Suite == "business":
				ev.fieldsN++
				if !d.Truncated {
					switch d.Outcome {
					case llmsim.OutcomeCorrect:
						ev.fieldsSum++
					case llmsim.OutcomeWrong:
						// One field of the object is wrong.
						n := len(f.sim.Answer(prompt).JSON.(map[string]any))
						ev.fieldsSum += float64(n-1) / float64(n)
					}
				}
			}
			if d.Down {
				ev.errors++
				continue
			}
			ev.nonErr++
			ev.tokens += llmsim.CountTokens(d.Text)
			if d.Truncated {
				ev.truncated++
				ev.truncBucket++
			}
			if benign {
				ev.benign++
				if d.Outcome == llmsim.OutcomeRefuse {
					ev.refusedBenign++
					if !d.Truncated {
						ev.refusalBucket++
					}
				}
			}
			if s.Suite == "business" {
				ev.jsonChecked++
				if !d.Truncated && d.Outcome != llmsim.OutcomeRefuse && d.Outcome != llmsim.OutcomeBroken {
					ev.jsonValid++
				}
			}
		}
	}
	seen := map[string]map[[3]string]bool{}
	for _, j := range f.spec.Judges {
		if seen[j.Model] == nil {
			seen[j.Model] = map[[3]string]bool{}
		}
		for _, cand := range f.spec.Candidates() {
			ep := &expectedPair{}
			e.pairs[[2]string{j.Name, cand}] = ep
			for _, v := range f.verdicts(j.Name, cand) {
				if v.prompts == nil {
					ep.genErrors++
					continue
				}
				// Judge responses are cached by content: an identical
				// prompt (two candidates answering alike) is paid once.
				for _, k := range v.prompts {
					if !seen[j.Model][k] {
						seen[j.Model][k] = true
						e.judgeCalls[j.Model]++
					}
				}
				switch v.winner {
				case "":
					ep.errors++
					continue
				case "cand":
					ep.wins++
				case "base":
					ep.losses++
				default:
					ep.ties++
				}
				if !v.consistent {
					ep.flips++
				}
			}
		}
	}
	return e
}

// verdict is what the oracle expects of one pair: the judge prompts it
// costs (none when a generation failed) and the combined winner ("" when
// the judge gave no verdict).
type verdict struct {
	key        string
	prompts    [][3]string
	winner     string
	consistent bool
}

// verdicts are a judge's expected verdicts on a candidate, sample by sample.
func (f *fixture) verdicts(judge, cand string) []verdict {
	jp := f.persona[judge]
	pc, pb := f.persona[cand], f.persona[f.spec.Baseline]
	var out []verdict
	for _, s := range f.samples {
		q := eval.LastUserMessage(s.Messages)
		dc, db := f.sim.Decide(pc, q), f.sim.Decide(pb, q)
		v := verdict{key: s.Suite + "/" + s.ID}
		if dc.Down || db.Down {
			out = append(out, v)
			continue
		}
		a, b := strings.TrimSpace(dc.Answer), strings.TrimSpace(db.Answer)
		v.prompts = [][3]string{{q, a, b}, {q, b, a}}
		r1, r2 := f.sim.Judge(jp, q, a, b), f.sim.Judge(jp, q, b, a)
		if r1.Format != "garbage" && r2.Format != "garbage" {
			w1 := map[string]string{"A": "cand", "B": "base", "tie": "tie"}[r1.Winner]
			w2 := map[string]string{"A": "base", "B": "cand", "tie": "tie"}[r2.Winner]
			v.winner, v.consistent = w1, w1 == w2
			if !v.consistent {
				v.winner = "tie"
			}
		}
		out = append(out, v)
	}
	return out
}
