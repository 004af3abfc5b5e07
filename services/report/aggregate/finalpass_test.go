package aggregate

import (
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestExamplesOfSuitesTheSpecDoesNotName: a bucket's examples list the
// spec's suites in its order, then suites it does not name (results
// published for them) by name, whatever order the results came in.
func TestExamplesOfSuitesTheSpecDoesNotName(t *testing.T) {
	spec := testSpec()
	for _, order := range [][]string{{"zz", "qa", "aa"}, {"aa", "zz", "qa"}} {
		c := New(spec)
		for i, suite := range order {
			id := suite + "1"
			mustAdd(t, c, mkScore(spec, "base", suite, id, uint64(i+1), eval.BucketOK, em(1)),
				mkScore(spec, "ft", suite, id, uint64(i+1), eval.BucketWrongAnswer, em(0)))
		}
		rep := report(t, c, nil)
		c.Release()
		var got []string
		for _, b := range rep.Buckets {
			if b.Variant == "ft" && b.Bucket == string(eval.BucketWrongAnswer) {
				for _, ex := range b.Examples {
					got = append(got, ex.Suite)
				}
			}
		}
		if want := []string{"qa", "aa", "zz"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("arrival %v: examples of suites %v, want %v", order, got, want)
		}
	}
}

// TestFailureExampleIsAMessage: the example of a failure class is the
// message of the first failure in key order that has one, not the empty
// reason of an earlier one.
func TestFailureExampleIsAMessage(t *testing.T) {
	spec := testSpec()
	c := New(spec)
	defer c.Release()
	s1 := mkScore(spec, "ft", "qa", "q1", 1, eval.BucketError, nil)
	s1.Reason, s1.Cause = "", "timeout"
	s2 := mkScore(spec, "ft", "qa", "q2", 2, eval.BucketError, nil)
	s2.Reason, s2.Cause = "HTTP 504: upstream timeout", "timeout"
	mustAdd(t, c, s2, s1,
		mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1)),
		mkScore(spec, "base", "qa", "q2", 2, eval.BucketOK, em(1)))
	for _, f := range report(t, c, nil).Failures {
		if f.Stage == "generation" && f.Cause == "timeout" {
			if f.Count != 2 || f.Example != s2.Reason {
				t.Errorf("failure %+v, want 2 with the example %q", f, s2.Reason)
			}
			return
		}
	}
	t.Error("no generation failure counted")
}
