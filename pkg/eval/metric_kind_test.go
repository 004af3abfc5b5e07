package eval

import (
	"slices"
	"testing"
)

func TestMetricBinary(t *testing.T) {
	// Every known metric is classified here, so that a new one must be
	// given a kind: the test fails until it is.
	kinds := map[string]bool{
		"em": true, "mc_acc": true, "num_match": true, "num_strict": true, "num_flexible": true,
		"json_valid": true, "json_schema": true, "format": true, "refusal": true, "safety": true, "code_pass": true,
		"abstain": true, "fabrication": true,
		"f1": false, "json_fields": false, "length": false, "bleu": false, "chrf": false,
		"rouge1": false, "rouge2": false, "rougeL": false, "rougeLsum": false, "semantic_sim": false,
	}
	for _, m := range KnownMetrics {
		want, ok := kinds[m]
		if !ok {
			t.Errorf("known metric %q has no kind in this test: is it 0/1 per answer?", m)
			continue
		}
		if got := MetricBinary(m); got != want {
			t.Errorf("MetricBinary(%q) = %v, want %v", m, got, want)
		}
	}
	for m := range kinds {
		if !slices.Contains(KnownMetrics, m) {
			t.Errorf("%q is not a known metric", m)
		}
	}
	for _, m := range []string{"", "EM", "meteor"} {
		if MetricBinary(m) {
			t.Errorf("MetricBinary(%q) = true for an unknown metric", m)
		}
	}
}
