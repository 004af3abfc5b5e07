package aggregate

import (
	"fmt"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// TestMeanWithoutVariance: a metric that is not 0/1 has no interval over
// one value or over values that are all the same, and a gate check on its
// mean is then inconclusive — a zero-width interval would pass it on no
// evidence. A 0/1 metric keeps Wilson's interval, which is defined there.
func TestMeanWithoutVariance(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			spec := testSpec()
			spec.Gate = eval.Gate{ErrorRateMax: fp(0.2), Metrics: []eval.MetricGate{{Suite: "biz", Metric: "json_fields", Min: fp(0.5)}}}
			c := New(spec)
			defer c.Release()
			for i := range n {
				id, seq := fmt.Sprintf("b%d", i), uint64(i+1)
				for _, v := range []string{"base", "ft"} {
					c.AddScore(mkScore(spec, v, "biz", id, seq, eval.BucketOK, jsonMetrics(1, 0.9)))
				}
			}
			rep := report(t, c, nil)
			m, ok := metricOf(rep, "biz", "json_fields", "ft")
			if !ok || m.N != n || m.CI != nil || m.Undefined == "" {
				t.Fatalf("json_fields for ft: %+v, want n %d, no interval and why", m, n)
			}
			if jv, _ := metricOf(rep, "biz", "json_valid", "ft"); jv.CI == nil || jv.Undefined != "" {
				t.Errorf("json_valid for ft: %+v, want Wilson's interval", jv)
			}
			ch := rep.Gate.Checks[len(rep.Gate.Checks)-1]
			if ch.Name != "biz/json_fields min" || ch.Outcome != document.VerdictInconclusive || ch.CI != nil {
				t.Errorf("check %+v: want inconclusive, with no interval", ch)
			}
		})
	}
}
