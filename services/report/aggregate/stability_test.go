package aggregate

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestRepeatsMeasureStabilityOnly: a judge's repeats give its stability
// (each order's verdict against the judgment's, kappa, the pair's
// verdict), a repeat delivered twice counts once, a failed one is counted
// apart, and none moves the win rate.
func TestRepeatsMeasureStabilityOnly(t *testing.T) {
	spec := testSpec()
	report := func(repeats bool) (string, []byte) {
		c := New(spec)
		t.Cleanup(c.Release)
		// 4 pairs: ft wins s0 and s1, loses s2, ties s3.
		ws := []eval.Winner{eval.WinCandidate, eval.WinCandidate, eval.WinBaseline, eval.WinTie}
		for i, w := range ws {
			addJudgments(t, c, judged(spec, 0, "ft", "qa", "s"+string(rune('0'+i)), w))
		}
		if repeats {
			repeat := func(id string, k int, of eval.Winner, rounds [2]eval.Winner, failed bool) *eval.Judgment {
				j := judged(spec, 0, "ft", "qa", id, rounds[0])
				j.Repeat, j.RepeatOf = k, []eval.Winner{of, of}
				j.Rounds[1].Winner = rounds[1]
				j.Winner = rounds[0]
				if rounds[0] != rounds[1] {
					j.Winner = eval.WinTie
				}
				if failed {
					j.Error, j.Winner = "judge failed", ""
				}
				return j
			}
			for _, j := range []*eval.Judgment{
				// s0 asked twice: the same, then one order flipped.
				repeat("s0", 1, eval.WinCandidate, [2]eval.Winner{eval.WinCandidate, eval.WinCandidate}, false),
				repeat("s0", 2, eval.WinCandidate, [2]eval.Winner{eval.WinCandidate, eval.WinBaseline}, false),
				// delivered again: counted once
				repeat("s0", 2, eval.WinCandidate, [2]eval.Winner{eval.WinCandidate, eval.WinBaseline}, false),
				// s2 asked once, both orders flipped to the candidate.
				repeat("s2", 1, eval.WinBaseline, [2]eval.Winner{eval.WinCandidate, eval.WinCandidate}, false),
				// s3's repeat failed.
				repeat("s3", 1, eval.WinTie, [2]eval.Winner{}, true),
			} {
				if c.AddJudgment(j) {
					t.Fatal("a repeat was added as a judgment")
				}
			}
		}
		rep, err := c.Report(t.Context(), nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		stab, _ := json.Marshal(rep.Stability)
		rep.Stability = nil
		rep.Timing.GeneratedAt = time.Time{}
		all, _ := json.Marshal(rep)
		return string(all), stab
	}
	without, _ := report(false)
	with, stab := report(true)
	if with != without {
		t.Fatal("repeats changed the report beyond its stability")
	}
	var got []struct {
		Judge, Variant                 string
		Pairs, Repeats, Failed, Rounds int
		Identical                      float64
		PairIdentical                  float64 `json:"pair_identical"`
		Kappa                          *float64
	}
	if err := json.Unmarshal(stab, &got); err != nil || len(got) != 1 {
		t.Fatalf("stability %s: %v", stab, err)
	}
	g := got[0]
	// Rounds compared: s0 (c,c) (c,c) + (c,c) (c,b) + s2 (b,c) (b,c):
	// 3 of 6 identical; pairs: s0 twice (same, then tie vs candidate),
	// s2 once (candidate vs baseline): 1 of 3.
	if g.Judge != spec.Judges[0].Name || g.Variant != "ft" || g.Pairs != 3 || g.Repeats != 3 || g.Failed != 1 || g.Rounds != 6 ||
		g.Identical != 0.5 || g.PairIdentical != 1.0/3 || g.Kappa == nil {
		t.Fatalf("stability %s", stab)
	}
}
