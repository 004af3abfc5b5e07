package review

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/render"
	"github.com/assay-eval/assay/services/report/stats"
	"github.com/nats-io/nats.go/jetstream"
)

// The summary's types are the report's (see [document.HumanReview]).
type (
	Summary     = document.HumanReview
	Rate        = document.HumanRate
	WinRate     = document.HumanWinRate
	BucketCheck = document.HumanBucket
	Agreement   = document.HumanAgreement
)

// Summarize sums up q's labels ls.
func Summarize(q *Queue, ls *Labels, bad int) *Summary {
	s := &Summary{Run: q.Meta.Run, Queue: q.Meta.Queue, Items: len(q.Items), Bad: bad}
	inForce := ls.InForce()
	s.Labels = len(inForce)
	s.AfterReveal = ls.AfterReveal
	s.Superseded = len(ls.All) - len(inForce) - ls.AfterReveal
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
			// The item is confirmed when at least half its reviewers
			// confirm its bucket.
			c := checks[it.Bucket]
			if c == nil {
				c = &BucketCheck{Bucket: string(it.Bucket), ErrorType: confirms[it.Bucket]}
				checks[it.Bucket] = c
			}
			c.Reviewed++
			yes := 0
			for _, l := range ls {
				if (c.ErrorType != "" && slices.Contains(l.CandidateErrors, c.ErrorType)) || (it.Bucket == eval.BucketOK && len(l.CandidateErrors) == 0) {
					yes++
				}
			}
			if 2*yes >= len(ls) {
				c.Confirmed++
			}
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
		w.HumanRate = wilsonOf(itemScore[c], items[c])
		s.WinRate = append(s.WinRate, *w)
	}
	for _, bk := range Buckets {
		if c := checks[bk]; c != nil {
			if c.ErrorType != "" || bk == eval.BucketOK {
				c.HumanRate = wilson(c.Confirmed, c.Reviewed)
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
	// Percentile bootstraps over the items (an item two reviewers
	// labelled is one unit), with a fixed seed so that the same labels
	// give the same intervals. A resample in which kappa is undefined (one
	// verdict only) is left out of kappa's.
	const resamples = 2000
	rng := rand.New(rand.NewPCG(uint64(len(pairs)), 0x5eed))
	ks, ps := make([]float64, 0, resamples), make([]float64, 0, resamples)
	var re [][2]eval.Winner
	for range resamples {
		re = re[:0]
		for range items {
			re = append(re, items[rng.IntN(len(items))]...)
		}
		same := 0
		for _, p := range re {
			if p[0] == p[1] {
				same++
			}
		}
		ps = append(ps, float64(same)/float64(len(re)))
		if k, ok := kappa(re); ok {
			ks = append(ks, k)
		}
	}
	ci := stats.BootstrapInterval(ps)
	a.Percent.Lo, a.Percent.Hi = ci[0], ci[1]
	if a.KappaDefined && len(ks) > 0 {
		ci := stats.BootstrapInterval(ks)
		a.KappaLo, a.KappaHi = ci[0], ci[1]
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
// It sums over the verdicts in a fixed order, unlike [stats.Agreement]
// (over a map), so that the same labels give the same kappa to the bit:
// the review summary served and the report's must be equal.
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
// Wilson interval of that share (exact for scores of 0 and 1; for halves,
// as if each were half a success).
func wilsonOf(sum float64, n int) Rate {
	if n == 0 {
		return Rate{}
	}
	p := sum / float64(n)
	ci := stats.Wilson(p, n)
	return Rate{N: n, Value: p, Lo: ci[0], Hi: ci[1]}
}

// WriteSummary writes s as Markdown tables, as the report shows it.
func WriteSummary(w io.Writer, s *Summary) error { return render.HumanReview(w, s) }

// Summaries sums up every review queue of run, in the order they were
// made. A queue that cannot be read (stored in part) is left out and
// named in skipped.
func Summaries(ctx context.Context, b *bus.Bus, run string) (out []Summary, skipped []string, err error) {
	var names []string
	err = b.ReadStored(ctx, bus.StreamLabels, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.LabelsSubject(run) + ".*.meta"}}, func(m jetstream.Msg, _ uint64) error {
		if tok := strings.Split(m.Subject(), "."); len(tok) >= 2 && !slices.Contains(names, tok[len(tok)-2]) {
			names = append(names, tok[len(tok)-2])
		}
		return nil
	}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the review queues of run %s: %w", run, err)
	}
	for _, name := range names {
		q, err := Load(ctx, b, run, name)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			skipped = append(skipped, fmt.Sprintf("%s (%v)", name, err))
			continue
		}
		ls, bad, err := LoadLabels(ctx, b, run, name)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, *Summarize(q, ls, bad))
	}
	return out, skipped, nil
}
