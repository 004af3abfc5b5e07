package aggregate

import (
	"encoding/json"
	"testing"

	"github.com/assay-eval/assay/pkg/eval"
)

// documentedKeys are the keys of report.json the README documents (and the
// few it does not yet name: suites[].contaminated and perturbed,
// metrics[].undefined, rates.*.json_valid_clusters, folded), by where they
// are: "" for the top level.
var documentedKeys = map[string][]string{
	"": {"run", "fingerprint", "baseline", "variants", "complete", "continuous", "counts", "progress", "suites", "metrics", "deltas",
		"rate_deltas", "robustness", "decision_flips", "comparisons", "templates", "contamination", "pairwise", "compare_pairwise", "agreement", "ranking", "rates", "failures", "buckets", "sandbox",
		"gate", "checkpoints", "windows", "monitors", "folded", "timing", "warnings"},
	"counts":    {"samples", "duplicates", "contaminated", "malformed", "errors", "generation_errors", "judge_errors"},
	"progress":  {"scores", "scores_expected", "judgments", "judgments_expected"},
	"suites[]":  {"name", "role", "metrics", "samples", "duplicates", "malformed", "contaminated", "perturbed", "problems", "files", "dropped"},
	"metrics[]": {"suite", "metric", "variant", "n", "mean", "ci", "errors", "worst_case", "clusters", "signature", "undefined"},
	"rates.*": {"refusal", "refusal_n", "refusal_ci", "json_valid", "json_valid_n", "json_valid_ci", "json_valid_clusters",
		"schema_pass", "truncated", "error", "mean_output_tokens"},
	"gate":   {"verdict", "policy", "errors", "passed", "checks", "variants", "verdicts"},
	"timing": {"generated_at", "latency", "ttft", "itl", "output_tokens_per_s"},
}

// TestReportKeysAlwaysPresent: report.json carries every documented key
// even when it measured next to nothing (one sample, no judgment yet, not
// continuous): a CI gate reads a key, never tests for its absence, and
// the lists are lists.
func TestReportKeysAlwaysPresent(t *testing.T) {
	spec := testSpec()
	spec.Suites = spec.Suites[:1]
	c := New(spec)
	defer c.Release()
	c.SetIngest(&eval.IngestStatus{Run: "r1", Done: true, Samples: 1, Suites: map[string]*eval.SuiteStatus{"qa": {Samples: 1}}})
	mustAdd(t, c, mkScore(spec, "base", "qa", "q1", 1, eval.BucketOK, em(1)))
	var doc map[string]any
	if err := json.Unmarshal(encode(t, report(t, c, nil)), &doc); err != nil {
		t.Fatal(err)
	}
	first := func(key string) map[string]any {
		list, _ := doc[key].([]any)
		if len(list) == 0 {
			t.Fatalf("%s: %v, want a row to check the keys of", key, doc[key])
		}
		return list[0].(map[string]any)
	}
	rates, _ := doc["rates"].(map[string]any)
	ft, _ := rates["ft"].(map[string]any)
	objects := map[string]map[string]any{"": doc, "suites[]": first("suites"), "metrics[]": first("metrics"), "rates.*": ft}
	for _, k := range []string{"counts", "progress", "gate", "timing"} {
		objects[k], _ = doc[k].(map[string]any)
	}
	for where, keys := range documentedKeys {
		obj := objects[where]
		if obj == nil {
			t.Errorf("%q: not an object in report.json", where)
			continue
		}
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: no key %q", where, k)
			}
		}
	}
	for _, k := range []string{"variants", "suites", "metrics", "deltas", "rate_deltas", "robustness", "decision_flips", "comparisons", "templates", "contamination", "pairwise",
		"compare_pairwise", "agreement", "ranking", "failures", "buckets", "sandbox", "checkpoints", "windows", "monitors", "warnings"} {
		if _, ok := doc[k].([]any); !ok {
			t.Errorf("%s: %v, want a list (empty when there is nothing)", k, doc[k])
		}
	}
	if doc["folded"] != nil {
		t.Errorf("folded: %v, want null for a run that folded nothing", doc["folded"])
	}
}
