package stats

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Comparison is one judged pair: A against B, with Score A's result (1 a
// win, 0.5 a tie, 0 a loss).
type Comparison struct {
	A, B  string
	Score float64
}

// Strength is one item's Bradley–Terry strength (see [BradleyTerry]).
type Strength struct {
	Item string
	// Strength is the item's log odds of beating the reference: 0 for the
	// reference itself, 1 for an item that would beat it e/(1+e) ≈ 73% of
	// the time.
	Strength float64
	CI       [2]float64 // bootstrap 95% percentile interval
	// Rank is 1 for the strongest item; items of equal strength share a
	// rank, and the next rank skips (1, 2, 2, 4). 0 when Undefined.
	Rank int
	// Undefined says why the item has no finite strength; empty when it
	// has one.
	Undefined string
}

// BradleyTerry ranks items by the Bradley–Terry model (Bradley & Terry
// 1952, "Rank analysis of incomplete block designs"; the ranking of
// Chatbot Arena and Arena-Hard): P(A beats B) = sigmoid(s_A − s_B), with
// the reference's strength fixed at 0. The strengths are maximum-likelihood
// estimates, a logistic regression without intercept of each Score on a
// design with +1 in A's column and −1 in B's (a tie counts as half a win),
// fitted by Newton's method. The intervals are 95% bootstrap percentile
// intervals over reps resamples of the comparisons with replacement, drawn
// from seed, so the same input always gives the same intervals; with reps
// ≤ 0 each interval is the estimate alone.
//
// An item's strength is finite only when it and the reference each took
// points from the other, directly or through other items (Zermelo 1929,
// Ford 1957). Otherwise it is Undefined, with the reason: never compared,
// only ever winning (+∞) or losing (−∞), its group of items never losing or
// never winning against the reference's group, or not linked to the
// reference at all. The other items are estimated as if those items'
// comparisons were absent, which is the limit the likelihood tends to. A
// bootstrap bound is ±Inf when more than 2.5% of the resamples leave the
// item unbounded on that side; resamples that leave it unlinked to the
// reference (or without comparisons) are left out of its interval.
//
// Comparisons of an item with itself, or with a Score outside [0, 1],
// carry no information and are ignored. The result lists the items with a
// strength by rank (then name), then the others by name.
func BradleyTerry(cs []Comparison, reference string, reps int, seed uint64) []Strength {
	names := []string{reference}
	for _, c := range cs {
		names = append(names, c.A, c.B)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	idx := make(map[string]int, len(names))
	for i, n := range names {
		idx[n] = i
	}
	ref := idx[reference]

	// Each valid comparison adds to one pair (i < j), oriented to i.
	var pairs []btPair
	pairOf := map[[2]int]int{}
	var draws []btDraw
	for _, c := range cs {
		if c.A == c.B || !(c.Score >= 0 && c.Score <= 1) {
			continue
		}
		i, j, s := idx[c.A], idx[c.B], c.Score
		if i > j {
			i, j, s = j, i, 1-s
		}
		p, ok := pairOf[[2]int{i, j}]
		if !ok {
			p = len(pairs)
			pairOf[[2]int{i, j}] = p
			pairs = append(pairs, btPair{i: i, j: j})
		}
		pairs[p].n++
		pairs[p].s += s
		draws = append(draws, btDraw{pair: p, s: s})
	}

	est, linked := btSolve(pairs, len(names), ref)
	out := make([]Strength, len(names))
	for i, name := range names {
		out[i] = Strength{Item: name, Strength: est[i]}
		if why := btWhy(pairs, i, est[i], linked[i]); why != "" {
			out[i] = Strength{Item: name, Undefined: why}
			continue
		}
		out[i].CI = [2]float64{est[i], est[i]}
	}

	if reps > 0 && len(draws) > 0 {
		rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
		boot := make([][]float64, len(names))
		re := make([]btPair, len(pairs))
		for range reps {
			for p := range re {
				re[p] = btPair{i: pairs[p].i, j: pairs[p].j}
			}
			for range draws {
				d := draws[rng.IntN(len(draws))]
				re[d.pair].n++
				re[d.pair].s += d.s
			}
			vs, _ := btSolve(re, len(names), ref)
			for i, v := range vs {
				if out[i].Undefined == "" && !math.IsNaN(v) {
					boot[i] = append(boot[i], v)
				}
			}
		}
		for i := range out {
			if out[i].Undefined != "" || i == ref {
				continue
			}
			slices.Sort(boot[i])
			out[i].CI = [2]float64{btPercentile(boot[i], 2.5), btPercentile(boot[i], 97.5)}
		}
	}

	btRank(out)
	return out
}

// btRank sorts the items with a strength by it, strongest first, and ranks
// them; strengths equal but for the rounding of the fit share a rank. Items
// of one rank, and the undefined ones after them, go by name.
func btRank(out []Strength) {
	slices.SortFunc(out, func(a, b Strength) int {
		if c := cmp.Compare(btUndefined(a), btUndefined(b)); c != 0 || a.Undefined != "" {
			return c
		}
		return cmp.Compare(b.Strength, a.Strength)
	})
	top := 0 // the first item of the current rank
	for i := range out {
		if out[i].Undefined != "" {
			break
		}
		if out[top].Strength-out[i].Strength > 1e-9 {
			top = i
		}
		out[i].Rank = top + 1
	}
	slices.SortStableFunc(out, func(a, b Strength) int {
		if c := cmp.Compare(btUndefined(a), btUndefined(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Rank, b.Rank); c != 0 {
			return c
		}
		return cmp.Compare(a.Item, b.Item)
	})
}

// btPair is the comparisons of items i < j: n of them, in which i scored s.
type btPair struct {
	i, j int
	n, s float64
}

// btDraw is one comparison, as the bootstrap resamples it.
type btDraw struct {
	pair int
	s    float64 // the score of the pair's i
}

// btSolve estimates every item's strength against ref: the MLE for the
// items that took points from ref and gave points to it, directly or
// through others (the strongly connected component of ref in the graph
// "took points from"); +Inf for items that ref never took points from, even
// through others, but that took points from ref's side; −Inf the other way
// round; NaN for items linked neither way, or when the fit fails. linked
// marks the items of ref's component, whose strengths are finite unless the
// fit failed.
func btSolve(pairs []btPair, k, ref int) (est []float64, linked []bool) {
	took := make([][]int, k) // took[i]: the items i took points from
	gave := make([][]int, k) // gave[i]: the items that took points from i
	link := func(from, to int) {
		took[from] = append(took[from], to)
		gave[to] = append(gave[to], from)
	}
	for _, p := range pairs {
		if p.n == 0 {
			continue
		}
		if p.s > 0 {
			link(p.i, p.j)
		}
		if p.s < p.n {
			link(p.j, p.i)
		}
	}
	down := btReach(took, ref) // ref took points from them: not stronger than ref without bound
	up := btReach(gave, ref)   // they took points from ref: not weaker without bound
	est, linked = make([]float64, k), make([]bool, k)
	col := make([]int, k) // the item's column in the design, −1 for none
	p := 0
	for i := range est {
		col[i] = -1
		switch {
		case down[i] && up[i]:
			linked[i] = true
			if i != ref {
				col[i] = p
				p++
			}
		case up[i]:
			est[i] = math.Inf(1)
		case down[i]:
			est[i] = math.Inf(-1)
		default:
			est[i] = math.NaN()
		}
	}
	est[ref] = 0
	if p == 0 {
		return est, linked
	}
	var x [][]float64
	var y, w []float64
	for _, pr := range pairs {
		if pr.n == 0 || !(down[pr.i] && up[pr.i] && down[pr.j] && up[pr.j]) {
			continue
		}
		row := make([]float64, p)
		if c := col[pr.i]; c >= 0 {
			row[c] = 1
		}
		if c := col[pr.j]; c >= 0 {
			row[c] = -1
		}
		x = append(x, row)
		y = append(y, pr.s/pr.n)
		w = append(w, pr.n)
	}
	beta, _, ok := lcwinLogitFit(x, y, w)
	for i, c := range col {
		switch {
		case c < 0:
		case ok:
			est[i] = beta[c]
		default:
			est[i] = math.NaN()
		}
	}
	return est, linked
}

// btReach marks the items reachable from start along next.
func btReach(next [][]int, start int) []bool {
	seen := make([]bool, len(next))
	seen[start] = true
	stack := []int{start}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range next[i] {
			if !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	return seen
}

// btWhy says why item i, estimated at v, has no finite strength; "" when
// it has one. linked is whether it is in the reference's component.
func btWhy(pairs []btPair, i int, v float64, linked bool) string {
	var n, s float64
	for _, p := range pairs {
		switch i {
		case p.i:
			n, s = n+p.n, s+p.s
		case p.j:
			n, s = n+p.n, s+p.n-p.s
		}
	}
	switch {
	case n == 0:
		return "never compared"
	case !math.IsInf(v, 0) && !math.IsNaN(v):
		return ""
	case linked:
		return "the fit did not converge"
	case s == n:
		return "only ever wins, so its strength is +∞"
	case s == 0:
		return "only ever loses, so its strength is −∞"
	case math.IsInf(v, 1):
		return "it and the items it took points from never lost to the reference's side, so its strength is +∞"
	case math.IsInf(v, -1):
		return "it and the items that took points from it never beat the reference's side, so its strength is −∞"
	default:
		return "not linked to the reference: neither took points from the other, even through other items"
	}
}

// btPercentile is [Percentile] of sorted values that may hold ±Inf: a
// bound that falls on or next to an infinite value is that infinity. With
// no values the item was never bounded: (−Inf, +Inf).
func btPercentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		if p < 50 {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	r := p / 100 * float64(n-1)
	lo := int(math.Floor(r))
	hi := min(lo+1, n-1)
	switch {
	case math.IsInf(sorted[lo], -1):
		return sorted[lo]
	case r == float64(lo):
		return sorted[lo]
	case math.IsInf(sorted[hi], 1):
		return sorted[hi]
	}
	return Percentile(sorted, p)
}

// btUndefined orders the items with a strength (0) before the others (1).
func btUndefined(s Strength) int {
	if s.Undefined != "" {
		return 1
	}
	return 0
}
