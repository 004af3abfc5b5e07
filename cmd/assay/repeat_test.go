package main

import (
	"testing"

	"github.com/assay-eval/assay/services/report"
)

// TestJudgeRepeatsMeasureStability: a judge whose verdicts flip at a known
// rate from one call to the next (the simulator's noise), asked again
// three times about every pair: the report's verdict stability is the rate
// the noise gives, 1 - 2f(1-f), within its interval, and the repeats
// count in no verdict (the judgments counted are the pairs').
func TestJudgeRepeatsMeasureStability(t *testing.T) {
	const flip = 0.2
	ps := testPersonas()
	for i := range ps {
		if ps[i].Name == "t-judge-a" {
			ps[i].Flip = flip
		}
	}
	f := newFixture(t, "rep", ps)
	f.spec.Judges[0].Repeat, f.spec.Judges[0].RepeatShare = 3, 1
	ctx, b, st := runFixture(t, f)
	if st.Judgments != st.JudgmentsExpected {
		t.Fatalf("judgments %d of %d: repeats counted as judgments?", st.Judgments, st.JudgmentsExpected)
	}
	rep, _, err := report.Build(ctx, b, f.spec.Run, []string{"json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stability) != 2 { // judge-a on ft and on int4; judge-b has no repeat
		t.Fatalf("stability rows %+v", rep.Stability)
	}
	want := 1 - 2*flip*(1-flip)
	for _, s := range rep.Stability {
		if s.Judge != "judge-a" || s.Pairs == 0 || s.Repeats+s.Failed != 3*s.Pairs || s.Rounds != 2*s.Repeats {
			t.Fatalf("stability %+v", s)
		}
		t.Logf("%s: %d pairs asked again, identical %.3f [%.3f, %.3f] (noise gives %.3f), kappa %v", s.Variant, s.Pairs, s.Identical, s.IdenticalCI[0], s.IdenticalCI[1], want, *s.Kappa)
		if s.IdenticalCI[0] > want || s.IdenticalCI[1] < want {
			t.Errorf("%s: identical %.3f [%.3f, %.3f] over %d verdicts; the noise gives %.3f", s.Variant, s.Identical, s.IdenticalCI[0], s.IdenticalCI[1], s.Rounds, want)
		}
	}
}
