package aggregate

import (
	"math"
	"slices"
)

// gramSketch counts the distinct values among the 64-bit hashes it is
// given, in bounded memory: the k minimum values (Bar-Yossef et al. 2002)
// with the unbiased estimator of Beyer et al. (2007), k/θ, θ the (k+1)-th
// smallest value as a share of the hash space, whose relative standard
// error is about 1/√(k−1). It is exact while it has seen at most 1.5·k
// distinct values, and its figures do not depend on the order the values
// came in. Sketches of parts of a corpus merge into the sketch of the
// whole ([unionKMV]).
//
// The values are kept in an open-addressing table rather than sorted, so
// that a value seen before — most words of an answer — is found in a probe
// or two: the table holds between k and 1.5·k values below theta (2·k
// slots), and when it fills, the k smallest are kept and theta lowered to
// the next (the QuickSelect theta sketch of Apache DataSketches).
type gramSketch struct {
	k     int
	table []uint64 // 0: an empty slot (a value of 0 is counted as 1)
	count int
	// theta: every value dropped is at least theta; exact while none
	// has been.
	theta uint64
	exact bool
}

func newGramSketch(k int) *gramSketch { return &gramSketch{k: k, exact: true} }

// add counts h.
func (s *gramSketch) add(h uint64) {
	if h == 0 {
		h = 1
	}
	if !s.exact && h >= s.theta {
		return
	}
	if s.table == nil {
		s.table = make([]uint64, 16)
	}
	if !s.insert(h) {
		return
	}
	s.count++
	if 4*s.count <= 3*len(s.table) {
		return
	}
	if len(s.table) < 2*s.k {
		s.rehash(2*len(s.table), nil)
		return
	}
	// Full: keep the k smallest.
	vals := s.values()
	slices.Sort(vals)
	s.theta, s.exact = vals[s.k], false
	s.rehash(len(s.table), vals[:s.k])
}

// insert puts h in the table; false when it is there already.
func (s *gramSketch) insert(h uint64) bool {
	mask := uint64(len(s.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.table[i] {
		case h:
			return false
		case 0:
			s.table[i] = h
			return true
		}
	}
}

// rehash makes a table of size slots holding vals (nil: the table's own).
func (s *gramSketch) rehash(size int, vals []uint64) {
	if vals == nil {
		vals = s.values()
	}
	s.table, s.count = make([]uint64, size), len(vals)
	for _, v := range vals {
		s.insert(v)
	}
}

// values are the values the table holds, in no order.
func (s *gramSketch) values() []uint64 {
	out := make([]uint64, 0, s.count)
	for _, v := range s.table {
		if v != 0 {
			out = append(out, v)
		}
	}
	return out
}

// bytes is the memory the sketch holds.
func (s *gramSketch) bytes() int { return 8 * len(s.table) }

// kmv is the sketch in its normal form: every value seen, ascending, when
// exact; otherwise the k smallest and theta the next. It is the same
// whatever order the values came in.
func (s *gramSketch) kmv() kmv {
	if s == nil {
		return kmv{exact: true}
	}
	vals := s.values()
	slices.Sort(vals)
	if s.exact {
		return kmv{vals: vals, exact: true}
	}
	if len(vals) > s.k {
		return kmv{vals: vals[:s.k], theta: vals[s.k]}
	}
	return kmv{vals: vals, theta: s.theta}
}

// estimate is the number of distinct values counted.
func (s *gramSketch) estimate() float64 { return s.kmv().estimate() }

// kmv is a set of distinct values: all of them (exact), or those below
// theta (every value below theta that was seen is there).
type kmv struct {
	vals  []uint64
	theta uint64
	exact bool
}

// estimate is the number of distinct values: exact, or the count below
// theta over theta's share of the hash space.
func (m kmv) estimate() float64 {
	if m.exact {
		return float64(len(m.vals))
	}
	return float64(len(m.vals)) / (float64(m.theta) / (1 << 64))
}

// relErr is the estimate's relative standard error, 0 when it is exact.
func (m kmv) relErr() float64 {
	if m.exact || len(m.vals) < 2 {
		return 0
	}
	return 1 / math.Sqrt(float64(len(m.vals)-1))
}

// unionKMV is the set of everything the parts counted. It keeps every
// value below the smallest of their thetas, each of which is among the
// smallest of the union (the theta sketch's union, Dasgupta et al. 2016):
// often more than any one part holds, and then an estimate with a smaller
// error than theirs. Exact when every part is.
func unionKMV(parts ...kmv) kmv {
	u := kmv{exact: true}
	n := 0
	for _, p := range parts {
		n += len(p.vals)
		if !p.exact && (u.exact || p.theta < u.theta) {
			u.theta, u.exact = p.theta, false
		}
	}
	u.vals = make([]uint64, 0, n)
	for _, p := range parts {
		for _, v := range p.vals {
			if u.exact || v < u.theta {
				u.vals = append(u.vals, v)
			}
		}
	}
	slices.Sort(u.vals)
	u.vals = slices.Compact(u.vals)
	return u
}

// gramHash is a word's 64-bit hash (FNV-1a): the seed of its unigram's and
// bigrams' values (see unigram, bigram).
func gramHash(w string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(w); i++ {
		h ^= uint64(w[i])
		h *= 1099511628211
	}
	return h
}

// unigram is the sketch value of a word of hash h ([gramHash]), bigram
// that of the word pair (a, b): mixed (splitmix64's finaliser) so that
// they spread evenly over the hash space, as the sketch's estimate needs,
// and a pair's order counts.
func unigram(h uint64) uint64 { return mix64(h ^ 0x243f6a8885a308d3) }

func bigram(a, b uint64) uint64 { return mix64(mix64(a^0x13198a2e03707344) ^ b) }

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
