package eval

import (
	"slices"
	"strings"
	"testing"
)

// TestJudgedPairs: the judges compare each candidate with the baseline,
// then each pair of the compare list of two candidates, as listed; a pair
// naming the baseline is one of its pairs, and one naming no variant of
// the run is none.
func TestJudgedPairs(t *testing.T) {
	spec := &RunSpec{Baseline: "base", Variants: []Variant{{Name: "base"}, {Name: "ft-merged"}, {Name: "ft-lora"}, {Name: "ft-int4"}},
		Compare: [][]string{{"ft-lora", "ft-merged"}, {"base", "ft-int4"}, {"ft-int4", "ghost"}, {"ft-int4", "ft-merged"}}, JudgeCompare: true}
	want := []Pair{{"ft-merged", "base"}, {"ft-lora", "base"}, {"ft-int4", "base"}, {"ft-lora", "ft-merged"}, {"ft-int4", "ft-merged"}}
	if got := spec.JudgedPairs(); !slices.Equal(got, want) {
		t.Errorf("judged pairs %v, want %v", got, want)
	}
	stored := *spec
	stored.JudgeCompare = false // a run stored before compare pairs were judged
	if got := stored.JudgedPairs(); !slices.Equal(got, want[:3]) {
		t.Errorf("judged pairs of a run stored before compare pairs were judged: %v, want %v", got, want[:3])
	}
	for v, want := range map[string][]Pair{
		"base":      want[:3],
		"ft-merged": {{"ft-merged", "base"}, {"ft-lora", "ft-merged"}, {"ft-int4", "ft-merged"}},
		"ft-lora":   {{"ft-lora", "base"}, {"ft-lora", "ft-merged"}},
		"ghost":     nil,
	} {
		if got := spec.PairsOf(v); !slices.Equal(got, want) {
			t.Errorf("pairs of %s: %v, want %v", v, got, want)
		}
	}
	for _, p := range spec.JudgedPairs() {
		name := spec.PairName(p.A, p.B)
		if got := spec.PairNamed(name); got != p {
			t.Errorf("%v is named %q, read back as %v", p, name, got)
		}
		if (p.B == "base") != (name == p.A) {
			t.Errorf("%v is named %q: a baseline pair is named by its candidate, a compare pair by both", p, name)
		}
	}
}

// FuzzPairNamed: a pair's name reads back as the pair for any two variant
// names, and any string (a dead letter's variant, from a message id
// anyone can publish) reads as some pair without panicking: one without
// the separator as a candidate against the baseline.
func FuzzPairNamed(f *testing.F) {
	for _, s := range [][2]string{{"ft-lora", "ft-merged"}, {"a", "base"}, {"a vs b", ""}, {" vs ", "x"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	spec := &RunSpec{Baseline: "base"}
	f.Fuzz(func(t *testing.T, a, b string) {
		if ValidName(a) && ValidName(b) {
			if got := spec.PairNamed(spec.PairName(a, b)); got != (Pair{A: a, B: b}) {
				t.Fatalf("%q, %q read back as %v", a, b, got)
			}
		}
		p := spec.PairNamed(a)
		if !strings.Contains(a, pairSep) && p != (Pair{A: a, B: "base"}) {
			t.Fatalf("%q read as %v", a, p)
		}
	})
}
