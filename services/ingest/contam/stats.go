package contam

import (
	"cmp"
	"slices"

	"github.com/assay-eval/assay/services/ingest/dataset"
)

// MaxProblems is how many problems a read keeps; [Stats.Failed] counts
// them all.
const MaxProblems = 100

// Stats say what a read found.
type Stats struct {
	// Files is the number of files read.
	Files int
	// Docs is the number of documents read, Bytes their size in the input.
	Docs  int64
	Bytes int64
	// Failed is the number of lines (or text files) skipped as problems.
	Failed int64
	// Problems are the first [MaxProblems] of them, in input order.
	Problems []dataset.Problem
}

// problem is a [dataset.Problem] with its place in the input, by which the
// workers' problems are put back in order.
type problem struct {
	ord int64
	dataset.Problem
}

// tally counts what one reader of records met; the tallies of the workers
// of a check are summed.
type tally struct {
	docs, bytes, failed int64
	// problems holds the first MaxProblems problems in input order, and
	// up to as many more not yet sorted out.
	problems []problem
}

func (t *tally) doc(size int) {
	t.docs++
	t.bytes += int64(size)
}

func (t *tally) fail(p problem) {
	t.failed++
	t.problems = append(t.problems, p)
	if len(t.problems) > 2*MaxProblems {
		t.problems = firstProblems(t.problems)
	}
}

func firstProblems(ps []problem) []problem {
	slices.SortFunc(ps, func(a, b problem) int { return cmp.Compare(a.ord, b.ord) })
	return ps[:min(len(ps), MaxProblems)]
}

// stats sums tallies up.
func stats(files int, ts ...*tally) Stats {
	st := Stats{Files: files}
	var ps []problem
	for _, t := range ts {
		st.Docs += t.docs
		st.Bytes += t.bytes
		st.Failed += t.failed
		ps = append(ps, t.problems...)
	}
	for _, p := range firstProblems(ps) {
		st.Problems = append(st.Problems, p.Problem)
	}
	return st
}
