package aggregate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// BenchmarkReport is computing a whole report — every interval, test,
// q-value, MDE, length-controlled and per-suite win rate, the gate — from
// n samples answered by a base and a fine-tune and judged, half of them in
// a suite clustered in groups of 10, as the report stage does on every
// refresh of a live run.
func BenchmarkReport(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("samples=%d", n), func(b *testing.B) {
			spec := testSpec()
			spec.Suites[1].Cluster = "doc"
			c := New(spec)
			defer c.Release()
			for i := range n {
				suite, id, seq := "qa", fmt.Sprintf("q%07d", i), uint64(i+1)
				ms := func(v float64) map[string]float64 { return em(v) }
				if i%2 == 1 {
					suite = "biz"
					ms = func(v float64) map[string]float64 { return jsonMetrics(v, v/2) }
				}
				for _, v := range []string{"base", "ft"} {
					s := mkScore(spec, v, suite, id, seq, eval.BucketOK, ms(float64((i+len(v))%3%2)))
					s.Sample.Cluster = fmt.Sprint(i / 20)
					s.OutputChars = 40 + i%50 + 10*len(v)
					s.Checks.Refused = (i+len(v))%17 == 0
					c.AddScore(s)
				}
				c.AddJudgment(mkJudgment(spec, suite, id, seq, []eval.Winner{eval.WinCandidate, eval.WinTie, eval.WinBaseline, eval.WinCandidate}[i%4], i%7 != 0))
			}
			now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
			for b.Loop() {
				if _, err := c.Report(context.Background(), nil, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
