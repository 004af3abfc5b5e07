package aggregate

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// repeats gathers a judge's repeats on one candidate (see
// [eval.Judge.Repeat]), pair by pair: a pair's repeats share the verdict
// they repeat, so the pair, not the verdict, is the unit the intervals
// resample. They are a measure of the judge, never a verdict: no figure of
// the pairs counts them.
type repeats struct {
	pairs  map[[2]string]*pairRepeats
	seen   map[string]struct{}
	failed int
}

// pairRepeats counts one pair's repeats: verdicts compared order by order
// (conf[was][now]), and repeats whose combined verdict was the judgment's.
type pairRepeats struct {
	conf          [3][3]int
	repeats, same int
}

// verdictIndex numbers the verdicts for the confusion counts.
func verdictIndex(w eval.Winner) (int, bool) {
	switch w {
	case eval.WinCandidate:
		return 0, true
	case eval.WinBaseline:
		return 1, true
	case eval.WinTie:
		return 2, true
	}
	return 0, false
}

// addRepeat takes a judge's repeat of a pair: one of the spec's judge as
// it is now, of an original sample (not a robustness copy); one delivered
// again is counted once.
func (c *Collector) addRepeat(j *eval.Judgment) {
	jd, ok := c.spec.Judge(j.Judge)
	if !ok || jd.ID() != j.JudgeID || j.Sample.Perturbation != nil {
		return
	}
	if c.repeats == nil {
		c.repeats = map[[2]string]*repeats{}
	}
	k := [2]string{j.Judge, j.Candidate}
	r := c.repeats[k]
	if r == nil {
		r = &repeats{pairs: map[[2]string]*pairRepeats{}, seen: map[string]struct{}{}}
		c.repeats[k] = r
	}
	id := j.Sample.Suite + "\x00" + j.Sample.ID + "\x00" + strconv.Itoa(j.Repeat) + "\x00" +
		strconv.Itoa(j.CandidateRetry) + "\x00" + strconv.Itoa(j.BaselineRetry) + "\x00" + strconv.Itoa(j.JudgeRetry)
	if _, dup := r.seen[id]; dup {
		return
	}
	r.seen[id] = struct{}{}
	pk := [2]string{j.Sample.Suite, j.Sample.ID}
	p := r.pairs[pk]
	if p == nil {
		p = &pairRepeats{}
		r.pairs[pk] = p
	}
	if j.Error != "" || len(j.Rounds) != len(j.RepeatOf) || len(j.Rounds) == 0 {
		r.failed++
		return
	}
	was := j.RepeatOf[0]
	for i, round := range j.Rounds {
		a, okA := verdictIndex(j.RepeatOf[i])
		b, okB := verdictIndex(round.Winner)
		if okA && okB {
			p.conf[a][b]++
		}
		if j.RepeatOf[i] != was {
			was = eval.WinTie // the orders disagreed: a tie, as the judgment combined them
		}
	}
	p.repeats++
	if was == j.Winner {
		p.same++
	}
}

// repeatTotals are repeat counts summed over pairs.
type repeatTotals struct {
	conf          [3][3]float64
	repeats, same float64
}

func (t *repeatTotals) add(p *pairRepeats) {
	for a := range 3 {
		for b := range 3 {
			t.conf[a][b] += float64(p.conf[a][b])
		}
	}
	t.repeats += float64(p.repeats)
	t.same += float64(p.same)
}

// identical is the share of verdicts compared that are the same, and
// kappa Cohen's kappa between the judgment's and the repeats' (ok false
// when one verdict throughout).
func (t *repeatTotals) identical() (share, n float64) {
	var same float64
	for a := range 3 {
		for b := range 3 {
			n += t.conf[a][b]
			if a == b {
				same += t.conf[a][b]
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	return same / n, n
}

func (t *repeatTotals) kappa() (float64, bool) {
	po, n := t.identical()
	if n == 0 {
		return 0, false
	}
	var pe float64
	for v := range 3 {
		var row, col float64
		for o := range 3 {
			row += t.conf[v][o]
			col += t.conf[o][v]
		}
		pe += row / n * col / n
	}
	if pe >= 1 {
		return 0, false
	}
	return (po - pe) / (1 - pe), true
}

// stabilityResamples bounds the bootstrap of the stability intervals.
const stabilityResamples = 2000

// stability puts the judges' verdict stability in rep: the shares and
// kappa over every verdict compared, with percentile bootstrap intervals
// that resample the pairs (a fixed seed: the same repeats give the same
// intervals).
func (c *Collector) stability(rep *document.Report) {
	rep.Stability = []document.Stability{}
	keys := make([][2]string, 0, len(c.repeats))
	for k := range c.repeats {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	for _, k := range keys {
		r := c.repeats[k]
		pks := make([][2]string, 0, len(r.pairs))
		for pk := range r.pairs {
			pks = append(pks, pk)
		}
		slices.SortFunc(pks, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
		pairs := make([]*pairRepeats, len(pks))
		var all repeatTotals
		for i, pk := range pks {
			pairs[i] = r.pairs[pk]
			all.add(pairs[i])
		}
		share, n := all.identical()
		st := document.Stability{Judge: k[0], Variant: k[1], Pairs: len(pairs), Repeats: int(all.repeats), Failed: r.failed, Rounds: int(n)}
		if n > 0 {
			st.Identical = share
			if kp, ok := all.kappa(); ok {
				st.Kappa = &kp
			}
			shares, kappas := make([]float64, 0, stabilityResamples), make([]float64, 0, stabilityResamples)
			rng := rand.New(rand.NewPCG(uint64(len(pairs)), 0x57ab))
			for range stabilityResamples {
				var t repeatTotals
				for range pairs {
					t.add(pairs[rng.IntN(len(pairs))])
				}
				if s, m := t.identical(); m > 0 {
					shares = append(shares, s)
				}
				if kp, ok := t.kappa(); ok {
					kappas = append(kappas, kp)
				}
			}
			st.IdenticalCI = stats.BootstrapInterval(shares)
			if st.Kappa != nil && len(kappas) > 0 {
				ci := stats.BootstrapInterval(kappas)
				st.KappaCI = &ci
			}
		}
		if all.repeats > 0 {
			st.PairIdentical = all.same / all.repeats
		}
		rep.Stability = append(rep.Stability, st)
	}
}
