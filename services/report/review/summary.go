package review

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/assay-eval/assay/pkg/eval"
)

// Summary is what a queue's labels say, beside the judge.
type Summary struct {
	Run   string `json:"run"`
	Queue string `json:"queue"`
	Items int    `json:"items"`
	// Labelled counts the items with a label in force; Labels the labels
	// in force (an item two reviewers labelled counts twice).
	Labelled int `json:"labelled"`
	Labels   int `json:"labels"`
	// Superseded counts the labels a later label of the same reviewer
	// replaced; Bad the stored messages that are not labels.
	Superseded int `json:"superseded"`
	Bad        int `json:"bad,omitempty"`
	// WinRate is, per candidate, the reviewers' win rate.
	WinRate []WinRate `json:"win_rate"`
	// Buckets says, per bucket, how many items reviewers confirmed.
	Buckets []BucketCheck `json:"buckets"`
	// Judges compares each judge's verdicts with the reviewers'.
	Judges []Agreement `json:"judges"`
	// Reviewers compares reviewers who labelled the same items (the
	// first two of each item, in the order they labelled).
	Reviewers *Agreement `json:"reviewers,omitempty"`
	// FirstShown is the share of non-tie labels that picked answer A
	// (0.5 without position bias), with its interval.
	FirstShown *Rate `json:"first_shown,omitempty"`
}

// Rate is a share with its 95% interval.
type Rate struct {
	N     int     `json:"n"`
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// WinRate is the reviewers' verdicts on one candidate: wins, ties and
// losses against the baseline (labels), and the win rate over the items
// (a tie counts half; an item's labels are averaged) with its 95% Wilson
// interval. The items are drawn per bucket, regressions first: this is
// the win rate on the reviewed pairs, not the run's.
type WinRate struct {
	Candidate string `json:"candidate"`
	Wins      int    `json:"wins"`
	Ties      int    `json:"ties"`
	Losses    int    `json:"losses"`
	Rate
}

// BucketCheck is how many of a bucket's reviewed items reviewers confirmed
// (ticked the error type the bucket names for the candidate's answer; for
// ok: ticked none for it).
type BucketCheck struct {
	Bucket    eval.Bucket `json:"bucket"`
	Reviewed  int         `json:"reviewed"`
	Confirmed int         `json:"confirmed"`
	// ErrorType is what confirms the bucket ("" for ok: no error).
	ErrorType string `json:"error_type,omitempty"`
	Rate
}

// Agreement compares two raters' verdicts (candidate, baseline, tie) on
// the same items: the share that agree and Cohen's kappa, each with a 95%
// bootstrap interval over the items.
type Agreement struct {
	Judge   string  `json:"judge,omitempty"`
	N       int     `json:"n"`
	Percent Rate    `json:"percent"`
	Kappa   float64 `json:"kappa"`
	KappaLo float64 `json:"kappa_lo"`
	KappaHi float64 `json:"kappa_hi"`
	// KappaDefined is false when both raters gave one verdict only.
	KappaDefined bool `json:"kappa_defined"`
	// CandidateMore is the share of disagreements where the judge (or the
	// first reviewer) favoured the candidate over the other rater: 0.5
	// when its leanings are balanced.
	CandidateMore *float64 `json:"candidate_more,omitempty"`
}

// Summarize sums up q's labels ls.
func Summarize(q *Queue, ls *Labels, bad int) *Summary {
	s := &Summary{Run: q.Meta.Run, Queue: q.Meta.Queue, Items: len(q.Items), Bad: bad}
	inForce := ls.InForce()
	s.Labels = len(inForce)
	s.Superseded = len(ls.All) - len(inForce)
	byItem := map[string][]*Label{}
	for _, l := range inForce {
		if q.Item(l.Item) != nil {
			byItem[l.Item] = append(byItem[l.Item], l)
		}
	}
	s.Labelled = len(byItem)

	wins := map[string]*WinRate{}
	// itemScore sums, per candidate, each item's mean score.
	itemScore, items := map[string]float64{}, map[string]int{}
	var cands []string
	checks := map[eval.Bucket]*BucketCheck{}
	var aShown, nonTie int
	for _, it := range q.Items {
		if ls := byItem[it.ID]; len(ls) > 0 {
			var sum float64
			for _, l := range ls {
				sum += map[eval.Winner]float64{eval.WinCandidate: 1, eval.WinTie: 0.5}[l.Preferred]
			}
			itemScore[it.Candidate] += sum / float64(len(ls))
			items[it.Candidate]++
		}
		for _, l := range byItem[it.ID] {
			w := wins[it.Candidate]
			if w == nil {
				w = &WinRate{Candidate: it.Candidate}
				wins[it.Candidate] = w
				cands = append(cands, it.Candidate)
			}
			switch l.Preferred {
			case eval.WinCandidate:
				w.Wins++
			case eval.WinBaseline:
				w.Losses++
			default:
				w.Ties++
			}
			c := checks[it.Bucket]
			if c == nil {
				c = &BucketCheck{Bucket: it.Bucket, ErrorType: confirms[it.Bucket]}
				checks[it.Bucket] = c
			}
			c.Reviewed++
			if (c.ErrorType != "" && slices.Contains(l.CandidateErrors, c.ErrorType)) || (it.Bucket == eval.BucketOK && len(l.CandidateErrors) == 0) {
				c.Confirmed++
			}
			if l.Choice != ChoiceTie {
				nonTie++
				if l.Choice == ChoiceA {
					aShown++
				}
			}
		}
	}
	slices.Sort(cands)
	for _, c := range cands {
		w := wins[c]
		w.Rate = wilsonOf(itemScore[c], items[c])
		s.WinRate = append(s.WinRate, *w)
	}
	for _, bk := range Buckets {
		if c := checks[bk]; c != nil {
			if c.ErrorType != "" || bk == eval.BucketOK {
				c.Rate = wilson(c.Confirmed, c.Reviewed)
			}
			s.Buckets = append(s.Buckets, *c)
		}
	}
	if nonTie > 0 {
		r := wilson(aShown, nonTie)
		s.FirstShown = &r
	}

	// The judge against the reviewers: every label in force of an item
	// the judge gave a verdict on is one pair of ratings.
	byJudge := map[string][][][2]eval.Winner{}
	var judges []string
	for _, it := range q.Items {
		if it.Judge == "" || it.JudgeWinner == "" || len(byItem[it.ID]) == 0 {
			continue
		}
		var item [][2]eval.Winner
		for _, l := range byItem[it.ID] {
			item = append(item, [2]eval.Winner{it.JudgeWinner, l.Preferred})
		}
		if byJudge[it.Judge] == nil {
			judges = append(judges, it.Judge)
		}
		byJudge[it.Judge] = append(byJudge[it.Judge], item)
	}
	slices.Sort(judges)
	for _, j := range judges {
		a := agreement(byJudge[j], true)
		a.Judge = j
		s.Judges = append(s.Judges, a)
	}
	var pairs [][][2]eval.Winner
	for _, it := range q.Items {
		if ls := byItem[it.ID]; len(ls) >= 2 {
			pairs = append(pairs, [][2]eval.Winner{{ls[0].Preferred, ls[1].Preferred}})
		}
	}
	if len(pairs) > 0 {
		a := agreement(pairs, false)
		s.Reviewers = &a
	}
	return s
}

// verdicts are the categories the agreement counts.
var verdicts = []eval.Winner{eval.WinCandidate, eval.WinBaseline, eval.WinTie}

// agreement compares the first rating of each pair with the second; the
// pairs come grouped by item, the unit the bootstrap resamples (an item
// two reviewers labelled is one unit). lean says whether to measure which
// way the first rater leans in disagreements.
func agreement(items [][][2]eval.Winner, lean bool) Agreement {
	var pairs [][2]eval.Winner
	for _, it := range items {
		pairs = append(pairs, it...)
	}
	a := Agreement{N: len(pairs)}
	agree := 0
	for _, p := range pairs {
		if p[0] == p[1] {
			agree++
		}
	}
	a.Percent = wilson(agree, len(pairs))
	a.Kappa, a.KappaDefined = kappa(pairs)
	more, dis := 0, 0
	for _, p := range pairs {
		if p[0] != p[1] {
			dis++
			if rank(p[0]) > rank(p[1]) {
				more++
			}
		}
	}
	if lean && dis > 0 {
		v := float64(more) / float64(dis)
		a.CandidateMore = &v
	}
	if !a.KappaDefined {
		return a
	}
	// A percentile bootstrap over the items, with a fixed seed so that
	// the same labels give the same interval. A resample in which kappa
	// is undefined (one verdict only) is left out.
	const resamples = 2000
	rng := rand.New(rand.NewPCG(uint64(len(pairs)), 0x5eed))
	ks := make([]float64, 0, resamples)
	var re [][2]eval.Winner
	for range resamples {
		re = re[:0]
		for range items {
			re = append(re, items[rng.IntN(len(items))]...)
		}
		if k, ok := kappa(re); ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	if len(ks) > 0 {
		at := func(p float64) float64 { return ks[int(math.Round(p*float64(len(ks)-1)))] }
		a.KappaLo, a.KappaHi = at(0.025), at(0.975)
	}
	return a
}

// rank orders verdicts by how much they favour the candidate.
func rank(w eval.Winner) int {
	switch w {
	case eval.WinCandidate:
		return 2
	case eval.WinTie:
		return 1
	}
	return 0
}

// kappa is Cohen's kappa of the pairs' two ratings; ok is false when the
// agreement expected by chance is 1 (both raters gave one verdict only).
func kappa(pairs [][2]eval.Winner) (k float64, ok bool) {
	n := float64(len(pairs))
	if n == 0 {
		return 0, false
	}
	var po, pe float64
	for _, p := range pairs {
		if p[0] == p[1] {
			po++
		}
	}
	po /= n
	for _, v := range verdicts {
		var x, y float64
		for _, p := range pairs {
			if p[0] == v {
				x++
			}
			if p[1] == v {
				y++
			}
		}
		pe += (x / n) * (y / n)
	}
	if pe >= 1 {
		return 0, false
	}
	return (po - pe) / (1 - pe), true
}

// wilson is k of n with its 95% Wilson score interval.
func wilson(k, n int) Rate { return wilsonOf(float64(k), n) }

// wilsonOf is the mean of n scores in [0, 1] whose sum is sum, with the
// Wilson interval of a share of sum in n (exact for scores of 0 and 1;
// for halves, as if each were half a success).
func wilsonOf(sum float64, n int) Rate {
	if n == 0 {
		return Rate{}
	}
	const z = 1.959963984540054
	p, nf := sum/float64(n), float64(n)
	d := 1 + z*z/nf
	c := (p + z*z/(2*nf)) / d
	h := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / d
	return Rate{N: n, Value: p, Lo: max(0, c-h), Hi: min(1, c+h)}
}

// WriteSummary writes s as Markdown tables.
func WriteSummary(w io.Writer, s *Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Human review: queue %s of run %s\n\n", s.Queue, s.Run)
	fmt.Fprintf(&b, "%d of %d items labelled (%d labels in force, %d superseded", s.Labelled, s.Items, s.Labels, s.Superseded)
	if s.Bad > 0 {
		fmt.Fprintf(&b, ", %d stored messages that are not labels, left out", s.Bad)
	}
	b.WriteString(").\n\n")
	if len(s.WinRate) > 0 {
		b.WriteString("Human win rate on the reviewed pairs (drawn per bucket, regressions first: not the run's win rate).\n\n")
		b.WriteString("| candidate | wins | ties | losses | human win rate (ties half) | 95% CI |\n|---|---:|---:|---:|---:|---|\n")
		for _, r := range s.WinRate {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %.3f | [%.3f, %.3f] |\n", r.Candidate, r.Wins, r.Ties, r.Losses, r.Value, r.Lo, r.Hi)
		}
		b.WriteString("\n")
	}
	if len(s.Buckets) > 0 {
		b.WriteString("| bucket | reviewed | confirmed | by | share | 95% CI |\n|---|---:|---:|---|---:|---|\n")
		for _, c := range s.Buckets {
			if c.ErrorType == "" && c.Bucket != eval.BucketOK {
				fmt.Fprintf(&b, "| %s | %d | – | – | – | – |\n", c.Bucket, c.Reviewed)
				continue
			}
			by := c.ErrorType
			if by == "" {
				by = "no error ticked"
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %.3f | [%.3f, %.3f] |\n", c.Bucket, c.Reviewed, c.Confirmed, by, c.Value, c.Lo, c.Hi)
		}
		b.WriteString("\n")
	}
	if len(s.Judges) > 0 || s.Reviewers != nil {
		b.WriteString("| raters | pairs | agreement | 95% CI | Cohen's kappa | 95% CI | leans to the candidate in disagreements |\n|---|---:|---:|---|---:|---|---:|\n")
		row := func(name string, a Agreement) {
			k, ci := "undefined", "–"
			if a.KappaDefined {
				k, ci = fmt.Sprintf("%.3f", a.Kappa), fmt.Sprintf("[%.3f, %.3f]", a.KappaLo, a.KappaHi)
			}
			lean := "–"
			if a.CandidateMore != nil {
				lean = fmt.Sprintf("%.2f", *a.CandidateMore)
			}
			fmt.Fprintf(&b, "| %s | %d | %.3f | [%.3f, %.3f] | %s | %s | %s |\n", name, a.N, a.Percent.Value, a.Percent.Lo, a.Percent.Hi, k, ci, lean)
		}
		for _, a := range s.Judges {
			row("judge "+a.Judge+" vs reviewers", a)
		}
		if s.Reviewers != nil {
			row("reviewer vs reviewer", *s.Reviewers)
		}
		b.WriteString("\n")
	}
	if s.FirstShown != nil {
		fmt.Fprintf(&b, "Reviewers picked answer A in %.3f of %d non-tie labels (95%% CI [%.3f, %.3f]; 0.5 without position bias).\n", s.FirstShown.Value, s.FirstShown.N, s.FirstShown.Lo, s.FirstShown.Hi)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
