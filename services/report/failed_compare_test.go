package report

import (
	"fmt"
	"slices"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
)

// TestFailuresOfComparePairs: what assay retry asks a judge again tells a
// compare pair's failed judgment from the baseline pair of the same
// candidate and sample: the compare pair's request names its second
// variant, a baseline pair that did not fail is not asked again whatever
// the compare pair's judgment says, and one that failed is.
func TestFailuresOfComparePairs(t *testing.T) {
	b := bustest.New(t)
	ctx := t.Context()
	spec := testSpec("cmpfail")
	spec.Variants = append(spec.Variants, eval.Variant{Name: "ft2", BaseURL: "http://ft2/v1", Model: "m-ft2"})
	spec.Compare, spec.JudgeCompare = [][]string{{"ft", "ft2"}}, true
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"q1", "q2"} {
		publishSample(t, b, &eval.Sample{V: 1, Run: spec.Run, ID: id, Suite: "qa", Messages: []eval.Message{{Role: "user", Content: id + "?"}}})
	}
	j := spec.Judges[0]
	judgment := func(cand, base, id string, failed bool) {
		t.Helper()
		jd := eval.Judgment{V: 1, Run: spec.Run, Sample: eval.SampleRef{Suite: "qa", ID: id}, Judge: j.Name, JudgeID: j.ID(),
			Candidate: cand, Baseline: base, Winner: eval.WinTie, Consistent: true}
		if failed {
			jd.Winner, jd.Error, jd.Cause = "", "judge failed (candidate_first): HTTP 503", "HTTP 503"
		}
		msgID := bus.MsgID(bus.StageJudge, spec.Run, j.ID(), spec.PairName(cand, base), "qa", id)
		if _, err := b.Publish(ctx, bus.JudgmentsSubject(spec.Run, j.Name), msgID, jd); err != nil {
			t.Fatal(err)
		}
	}
	// q1: the compare pair failed, ft's pair with the baseline did not
	// (published after it); q2: the other way round.
	judgment("ft", "ft2", "q1", true)
	judgment("ft", "base", "q1", false)
	judgment("ft", "base", "q2", true)
	judgment("ft", "ft2", "q2", false)
	judgment("ft2", "base", "q1", false)
	judgment("ft2", "base", "q2", false)
	for _, variant := range []string{"", "ft", "ft2"} {
		reqs, err := Failures(ctx, b, spec, variant)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range reqs {
			got = append(got, fmt.Sprintf("%s %s/%s %s", r.Judge, r.Variant, r.Baseline, r.Sample.ID))
		}
		want := []string{"j1 ft/ft2 q1", "j1 ft/ q2"}
		if variant == "ft2" {
			want = want[:1] // only the pairs ft2 is part of
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("failures of %q: %q, want %q", variant, got, want)
		}
	}
}
