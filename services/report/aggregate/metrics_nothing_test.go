package aggregate

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// TestDeltaOverNothing: a candidate whose every generation on a suite
// failed keeps its delta rows, each over no pair (null in report.json,
// never 0 [0, 0]) with every pair excluded and the worst case beside it,
// and the gate's delta check on it could not be evaluated.
func TestDeltaOverNothing(t *testing.T) {
	spec := testSpec()
	spec.Suites = spec.Suites[1:] // biz only
	spec.Gate = eval.Gate{ErrorRateMax: fp(1), Metrics: []eval.MetricGate{{Suite: "biz", Metric: "json_fields", DeltaMin: fp(0)}}}
	c := New(spec)
	defer c.Release()
	const n = 4
	c.SetIngest(&eval.IngestStatus{Run: "r1", Done: true, Samples: n, Suites: map[string]*eval.SuiteStatus{"biz": {Samples: n}}})
	for i := range n {
		id, seq := fmt.Sprintf("b%d", i), uint64(i+1)
		mustAdd(t, c, mkScore(spec, "base", "biz", id, seq, eval.BucketOK, map[string]float64{"json_valid": 1, "json_fields": 1}))
		s := mkScore(spec, "ft", "biz", id, seq, eval.BucketError, map[string]float64{})
		s.Reason, s.Cause = "calling …: HTTP 503 (after 5 attempts)", "HTTP 503"
		mustAdd(t, c, s)
	}
	rep := report(t, c, nil)
	if len(rep.Deltas) != 2 {
		t.Fatalf("deltas %+v: want json_valid's and json_fields', each over nothing", rep.Deltas)
	}
	for _, d := range rep.Deltas {
		if d.N != 0 || d.Excluded != n || d.PValue != nil || d.Undefined == "" || d.WorstCase == nil || d.WorstCase.N != n || d.WorstCase.Delta != -1 {
			t.Errorf("delta %+v (worst case %+v): want n 0, %d excluded, worst case -1 over %d pairs", d, d.WorstCase, n, n)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"delta":null`, `"ci":null`, `"n":0`, `"excluded":4`, `"suite":"biz"`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("report.json row %s: no %s", b, want)
			}
		}
	}
	var checked bool
	for _, ch := range rep.Gate.Checks {
		if ch.Name == "biz/json_fields delta_min" {
			checked = true
			if ch.Error == "" || !strings.Contains(ch.Error, "4 of 4 pairs") {
				t.Errorf("check %+v: want it not evaluated, every pair left out", ch)
			}
		}
	}
	if !checked {
		t.Errorf("no delta_min check in %+v", rep.Gate.Checks)
	}
}
