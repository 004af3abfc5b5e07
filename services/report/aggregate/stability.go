package aggregate

import (
	"slices"
	"strconv"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// repeats gathers a judge's repeats on one candidate (see
// [eval.Judge.Repeat]): the judgment's verdict and the repeat's, round by
// round, and pair by pair. They are a measure of the judge, never a
// verdict: no figure of the pairs counts them.
type repeats struct {
	pairs         map[[2]string]struct{}
	keys          map[[3]string]struct{}
	failed        int
	was, now      []string
	pairSame, all int
}

// addRepeat takes a judge's repeat of a pair. One seen before (a message
// delivered again) is counted once.
func (c *Collector) addRepeat(j *eval.Judgment) {
	if c.repeats == nil {
		c.repeats = map[[2]string]*repeats{}
	}
	k := [2]string{j.Judge, j.Candidate}
	r := c.repeats[k]
	if r == nil {
		r = &repeats{pairs: map[[2]string]struct{}{}, keys: map[[3]string]struct{}{}}
		c.repeats[k] = r
	}
	key := [3]string{j.Sample.Suite, j.Sample.ID, strconv.Itoa(j.Repeat)}
	if _, dup := r.keys[key]; dup {
		return
	}
	r.keys[key] = struct{}{}
	r.pairs[[2]string{j.Sample.Suite, j.Sample.ID}] = struct{}{}
	if j.Error != "" || len(j.Rounds) != len(j.RepeatOf) || len(j.Rounds) == 0 {
		r.failed++
		return
	}
	for i, round := range j.Rounds {
		r.was, r.now = append(r.was, string(j.RepeatOf[i])), append(r.now, string(round.Winner))
	}
	was := j.RepeatOf[0]
	for _, w := range j.RepeatOf[1:] {
		if w != was {
			was = eval.WinTie // the orders disagreed: a tie, as the judgment combined them
		}
	}
	r.all++
	if was == j.Winner {
		r.pairSame++
	}
}

// stability puts the judges' verdict stability in rep.
func (c *Collector) stability(rep *document.Report) {
	rep.Stability = []document.Stability{}
	keys := make([][2]string, 0, len(c.repeats))
	for k := range c.repeats {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		if a[1] < b[1] {
			return -1
		}
		if a[1] > b[1] {
			return 1
		}
		return 0
	})
	for _, k := range keys {
		r := c.repeats[k]
		st := document.Stability{Judge: k[0], Variant: k[1], Pairs: len(r.pairs), Repeats: r.all, Failed: r.failed, Rounds: len(r.was)}
		if len(r.was) > 0 {
			same := 0
			for i := range r.was {
				if r.was[i] == r.now[i] {
					same++
				}
			}
			st.Identical = float64(same) / float64(len(r.was))
			st.IdenticalCI = stats.Wilson(st.Identical, len(r.was))
			if kappa, ci, ok := stats.KappaCI(r.was, r.now); ok {
				st.Kappa, st.KappaCI = &kappa, &ci
			}
		}
		if r.all > 0 {
			st.PairIdentical = float64(r.pairSame) / float64(r.all)
		}
		rep.Stability = append(rep.Stability, st)
	}
}
