package judge

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// TestComparePairJoin: the two generations of a compare pair [a, b] meet
// in either order, the baseline's not there yet: the later arrival claims
// the pair, a in the candidate's place whichever came first. A
// redelivery of the message that claimed it claims it again (judged
// again from the cache, published under the same id); the other's does
// not. The baseline, arriving last, claims its own pairs only; a
// candidate outside the compare list joins the baseline alone.
func TestComparePairJoin(t *testing.T) {
	for _, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		t.Run(order[0]+"-first", func(t *testing.T) {
			b := bustest.New(t)
			s := New(Config{}, &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()})
			spec := &eval.RunSpec{Run: "cmp", Baseline: "base",
				Variants: []eval.Variant{{Name: "base"}, {Name: "a"}, {Name: "b"}, {Name: "c"}},
				Compare:  [][]string{{"a", "b"}}, JudgeCompare: true}
			seq := map[string]uint64{"a": 11, "b": 12, "base": 13, "c": 14}
			ref := eval.SampleRef{ID: "0", Suite: "qa", Seq: 3}
			arrive := func(v string) []string {
				t.Helper()
				pairs, err := s.arrive(t.Context(), spec, eval.Judge{Name: "good"}, &eval.Generation{V: 1, Run: "cmp", Variant: v, Sample: ref}, seq[v])
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, p := range pairs {
					if p.sample != ref || p.candSeq != seq[p.candidate] || p.baselineSeq != seq[p.baseline] {
						t.Errorf("pair %s/%s: sample %+v, sequences %d/%d; want %+v, %d/%d", p.candidate, p.baseline, p.sample, p.candSeq, p.baselineSeq,
							ref, seq[p.candidate], seq[p.baseline])
					}
					out = append(out, p.candidate+"/"+p.baseline)
				}
				slices.Sort(out)
				return out
			}
			check := func(what string, got []string, want ...string) {
				t.Helper()
				if !slices.Equal(got, want) {
					t.Errorf("%s claimed %v, want %v", what, got, want)
				}
			}
			first, second := order[0], order[1]
			check(first+", first", arrive(first))
			check(second+", its partner there", arrive(second), "a/b")
			check(second+" redelivered", arrive(second), "a/b")
			check(first+" redelivered", arrive(first))
			check("base, last", arrive("base"), "a/base", "b/base")
			check(second+" redelivered after base", arrive(second), "a/b")
			check("c, outside the compare list", arrive("c"), "c/base")
		})
	}
}

// TestComparePairKeys: a compare pair's claims and judgment ids are its
// own, never a baseline pair's, while a baseline pair keeps the keys and
// ids it had before compare pairs were judged (a run in flight across
// the upgrade finds its claims, and its judgments are not published
// again).
func TestComparePairKeys(t *testing.T) {
	spec := &eval.RunSpec{Run: "cmp", Baseline: "base", Variants: []eval.Variant{{Name: "base"}, {Name: "a"}, {Name: "b"}}, Compare: [][]string{{"a", "b"}}, JudgeCompare: true}
	ref := eval.SampleRef{Suite: "qa", ID: "7"}
	prefix := sampleKeys("cmp", "good", "qa", "7")
	for _, tc := range []struct {
		p          eval.Pair
		cand, base int
		want       string
	}{
		{eval.Pair{A: "a", B: "base"}, 0, 0, prefix + ".c." + keyHash("a")},
		{eval.Pair{A: "a", B: "base"}, 1, 2, prefix + ".c." + keyHash("a", "retry", "1", "2")},
	} {
		if got := claimKey("cmp", "good", "qa", "7", tc.p, "base", tc.cand, tc.base); got != tc.want {
			t.Errorf("claim of %+v (retries %d, %d): %s, want %s", tc.p, tc.cand, tc.base, got, tc.want)
		}
	}
	keys := map[string]string{}
	for _, p := range []eval.Pair{{A: "a", B: "base"}, {A: "b", B: "base"}, {A: "a", B: "b"}, {A: "b", B: "a"}} {
		for _, r := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 2}} {
			k := claimKey("cmp", "good", "qa", "7", p, "base", r[0], r[1])
			if other, dup := keys[k]; dup {
				t.Errorf("pairs %s and %+v%v share claim %s", other, p, r, k)
			}
			keys[k] = strings.Join([]string{p.A, p.B}, "/")
		}
	}
	if id := judgmentID(spec, "good@1", "a", "base", ref); id != bus.MsgID(bus.StageJudge, "cmp", "good@1", "a", "qa", "7") {
		t.Errorf("a baseline pair's judgment id is %s", id)
	}
	id := judgmentID(spec, "good@1", "a", "b", ref)
	if id == judgmentID(spec, "good@1", "a", "base", ref) || id == judgmentID(spec, "good@1", "b", "a", ref) {
		t.Errorf("a compare pair's judgment id %s is another pair's", id)
	}
	// A compare pair's candidate field cannot be a variant's, whatever the
	// sample ids hold.
	if k := bus.MsgIDKeys(id); k.Variant == "a" || k.Variant == "b" || k.Sample != "7" {
		t.Errorf("the id %s reads as %+v", id, k)
	}
}
