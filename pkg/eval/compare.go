package eval

import "strings"

// Pair is two variants a judge compares: A in the candidate's place, B in
// the baseline's (a [Judgment]'s Candidate and Baseline).
type Pair struct{ A, B string }

// pairSep joins a compare pair's two names in its [RunSpec.PairName]: a
// variant name holds no space ([ValidName]), so no variant is named so.
const pairSep = " vs "

// ComparePairs are the pairs of the compare list the judges compare apart
// from the baseline's pairs: those of two variants of the run, neither of
// them the baseline, each as listed (first in the candidate's place). A
// pair that names the baseline is one of its pairs, judged already. A run
// stored before compare pairs were judged has none ([RunSpec.JudgeCompare]).
func (s *RunSpec) ComparePairs() []Pair {
	if !s.JudgeCompare {
		return nil
	}
	var out []Pair
	for _, p := range s.Compare {
		if len(p) != 2 || p[0] == p[1] || p[0] == s.Baseline || p[1] == s.Baseline {
			continue
		}
		if _, ok := s.Variant(p[0]); !ok {
			continue
		}
		if _, ok := s.Variant(p[1]); ok {
			out = append(out, Pair{A: p[0], B: p[1]})
		}
	}
	return out
}

// JudgedPairs are every pair a judge of the run compares: each candidate
// with the baseline, in the variants' order, then [RunSpec.ComparePairs].
func (s *RunSpec) JudgedPairs() []Pair {
	var out []Pair
	for _, c := range s.Candidates() {
		out = append(out, Pair{A: c, B: s.Baseline})
	}
	return append(out, s.ComparePairs()...)
}

// PairName names the pair of cand against base where one name stands for
// it (a judgment's message id, a result's key): cand itself when base is
// the baseline (or ""), as before compare pairs were judged, and
// "cand vs base" for a pair of the compare list.
func (s *RunSpec) PairName(cand, base string) string {
	if base == "" || base == s.Baseline {
		return cand
	}
	return cand + pairSep + base
}

// PairNamed reads a [RunSpec.PairName]: the candidate and the baseline, or
// the second variant of a compare pair.
func (s *RunSpec) PairNamed(name string) Pair {
	if a, b, ok := strings.Cut(name, pairSep); ok {
		return Pair{A: a, B: b}
	}
	return Pair{A: name, B: s.Baseline}
}

// PairsOf are the judged pairs variant is one side of (see
// [RunSpec.JudgedPairs]).
func (s *RunSpec) PairsOf(variant string) []Pair {
	var out []Pair
	for _, p := range s.JudgedPairs() {
		if p.A == variant || p.B == variant {
			out = append(out, p)
		}
	}
	return out
}
