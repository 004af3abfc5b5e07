package dedup

import (
	"bytes"
	"fmt"
	"strings"
)

// op is one difference between two texts' tokens that a near-duplicate may
// have.
type op uint8

const (
	same  op = iota
	typo     // a word with a slip of the hand, or a confused Chinese character
	merge    // two words of the first text written as one in the second
	split    // one word of the first text written as two in the second
	start    // no move: the DP's start
	opCount
)

// maxShift bounds how far the alignment of two texts may drift apart
// (merged and split words): a band of the DP, so that comparing two texts
// costs time linear in their length.
const maxShift = 4

// matcher aligns two token sequences; its scratch is reused.
type matcher struct {
	cost []uint16
	from []op
	ops  []diff
}

// diff is one difference found, for the explanation.
type diff struct {
	op   op
	a, b string
}

const inf = 1<<16 - 1

// align finds the fewest differences (at most budget) that turn a into b,
// where each difference is an [op] other than same. It reports the count
// and, in m.ops, the differences in order; ok is false when more than
// budget are needed.
func (m *matcher) align(a, b []token, budget int) (n int, ok bool) {
	m.ops = m.ops[:0]
	// Equal heads and tails need no DP.
	for len(a) > 0 && len(b) > 0 && equal(a[0], b[0]) {
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && equal(a[len(a)-1], b[len(b)-1]) {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	if len(a) == 0 && len(b) == 0 {
		return 0, true
	}
	w := min(budget, maxShift)
	if d := len(b) - len(a); d > w || -d > w || budget == 0 {
		return 0, false
	}
	// cost[i][k] is the fewest differences aligning a[:i] with b[:j],
	// j = i + k - w.
	width := 2*w + 1
	cells := (len(a) + 1) * width
	if cap(m.cost) < cells {
		m.cost, m.from = make([]uint16, cells), make([]op, cells)
	}
	cost, from := m.cost[:cells], m.from[:cells]
	for i := range cost {
		cost[i] = inf
	}
	at := func(i, j int) int { return i*width + j - i + w }
	cost[at(0, 0)], from[at(0, 0)] = 0, start
	relax := func(i, j int, c uint16, o op) {
		if j < 0 || j > len(b) || j-i > w || i-j > w || c > uint16(budget) {
			return
		}
		if k := at(i, j); c < cost[k] {
			cost[k], from[k] = c, o
		}
	}
	for i := 0; i <= len(a); i++ {
		best := uint16(inf)
		for j := max(0, i-w); j <= min(len(b), i+w); j++ {
			c := cost[at(i, j)]
			if c == inf {
				continue
			}
			best = min(best, c)
			if i < len(a) && j < len(b) {
				switch {
				case equal(a[i], b[j]):
					relax(i+1, j+1, c, same)
				case wordTypo(a[i], b[j]) || hanTypo(a[i], b[j]):
					relax(i+1, j+1, c+1, typo)
				}
				if i+1 < len(a) && merged(a[i], a[i+1], b[j]) {
					relax(i+2, j+1, c+1, merge)
				}
				if j+1 < len(b) && merged(b[j], b[j+1], a[i]) {
					relax(i+1, j+2, c+1, split)
				}
			}
		}
		if best == inf && !rowReached(cost[min(i+1, len(a))*width:][:width]) {
			return 0, false // every alignment of a[:i] costs more than the budget
		}
	}
	end := cost[at(len(a), len(b))]
	if end == inf {
		return 0, false
	}
	// Walk back for the explanation.
	for i, j := len(a), len(b); i > 0 || j > 0; {
		o := from[at(i, j)]
		var di, dj int
		switch o {
		case same, typo:
			di, dj = 1, 1
		case merge:
			di, dj = 2, 1
		case split:
			di, dj = 1, 2
		}
		if o != same {
			m.ops = append(m.ops, diff{o, joined(a[i-di : i]), joined(b[j-dj : j])})
		}
		i, j = i-di, j-dj
	}
	for l, r := 0, len(m.ops)-1; l < r; l, r = l+1, r-1 {
		m.ops[l], m.ops[r] = m.ops[r], m.ops[l]
	}
	return int(end), true
}

func rowReached(row []uint16) bool {
	for _, c := range row {
		if c != inf {
			return true
		}
	}
	return false
}

func equal(a, b token) bool { return a.kind == b.kind && bytes.Equal(a.b, b.b) }

func joined(ts []token) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 && t.kind == word && ts[i-1].kind == word {
			b.WriteByte(' ')
		}
		b.Write(t.b)
	}
	return b.String()
}

// explain says in a few words how two near-duplicates differ.
func explain(ops []diff) string {
	if len(ops) == 0 {
		return "the same text but for case, width, spacing or punctuation"
	}
	var b strings.Builder
	for i, d := range ops {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more", len(ops)-3)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		switch d.op {
		case typo:
			fmt.Fprintf(&b, "typo %q for %q", d.b, d.a)
		case merge, split:
			fmt.Fprintf(&b, "spacing %q for %q", d.b, d.a)
		}
	}
	return b.String()
}
