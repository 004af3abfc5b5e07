package judge

import (
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// TestOlderAttemptKeepsNewerRecord: b's generation asked again by assay
// retry (attempt 1) reaches the judge before its first attempt is
// handled — the judge lags, or attempt 0 is redelivered — while a
// partner's generation is not stored yet. Attempt 0, arriving second,
// leaves attempt 1's record in place: the partner, arriving last, pairs
// with attempt 1, whose pair would otherwise never be judged (the report
// drops the judgment of the older attempt it superseded, so the run
// would wait for it forever).
func TestOlderAttemptKeepsNewerRecord(t *testing.T) {
	spec := &eval.RunSpec{Run: "att", Baseline: "base",
		Variants: []eval.Variant{{Name: "base"}, {Name: "a"}, {Name: "b"}},
		Compare:  [][]string{{"a", "b"}}, JudgeCompare: true}
	type arrival struct {
		v     string
		retry int
		seq   uint64
		want  []string // the pairs claimed, "cand/base (cand's seq, base's seq)"
	}
	for _, tc := range []struct {
		name     string
		arrivals []arrival
	}{
		{"compare partner last", []arrival{
			{v: "base", seq: 10},
			{v: "b", retry: 1, seq: 30, want: []string{"b/base (30, 10)"}},
			{v: "b", seq: 20, want: []string{"b/base (20, 10)"}},
			{v: "a", seq: 40, want: []string{"a/b (40, 30)", "a/base (40, 10)"}},
		}},
		{"baseline last", []arrival{
			{v: "a", seq: 11},
			{v: "b", retry: 1, seq: 31, want: []string{"a/b (11, 31)"}},
			{v: "b", seq: 21, want: []string{"a/b (11, 21)"}},
			{v: "base", seq: 41, want: []string{"a/base (11, 41)", "b/base (31, 41)"}},
		}},
		{"attempts in order", []arrival{
			{v: "base", seq: 12},
			{v: "b", seq: 22, want: []string{"b/base (22, 12)"}},
			{v: "b", retry: 1, seq: 32, want: []string{"b/base (32, 12)"}},
			{v: "a", seq: 42, want: []string{"a/b (42, 32)", "a/base (42, 12)"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bustest.New(t)
			s := New(Config{}, &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
			ref := eval.SampleRef{ID: "0", Suite: "qa", Seq: 3}
			for _, a := range tc.arrivals {
				g := &eval.Generation{V: 1, Run: "att", Variant: a.v, Retry: a.retry, Sample: ref}
				pairs, err := s.arrive(t.Context(), spec, eval.Judge{Name: "good"}, g, a.seq)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, p := range pairs {
					got = append(got, fmt.Sprintf("%s/%s (%d, %d)", p.candidate, p.baseline, p.candSeq, p.baselineSeq))
				}
				slices.Sort(got)
				if !slices.Equal(got, a.want) {
					t.Errorf("%s attempt %d at %d claimed %v, want %v", a.v, a.retry, a.seq, got, a.want)
				}
			}
		})
	}
}
