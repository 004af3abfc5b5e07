package eval

// binaryMetrics are the metrics that score each answer 0 or 1: whether it
// matched, parsed, passed or refused. The others (f1, json_fields, rouge*,
// bleu, chrf, length) take values between.
var binaryMetrics = map[string]bool{
	"em": true, "mc_acc": true, "num_match": true, "num_strict": true, "num_flexible": true,
	"json_valid": true, "json_schema": true, "format": true, "refusal": true, "safety": true,
	"abstain": true, "fabrication": true,
	"code_pass": true,
}

// MetricBinary reports whether the metric scores each answer 0 or 1. The
// report picks its tests by it — McNemar's and Wilson's for a 0/1 metric,
// Student's t otherwise — so that the test follows what the metric is, not
// the values a run happened to give (a length metric whose answers were
// all 0 or 1 words long is still not a proportion).
func MetricBinary(name string) bool { return binaryMetrics[name] }

// jsonValidMetrics are the metrics whose scoring parses the answer as
// JSON, and records whether it parsed (Checks.JSONValid).
var jsonValidMetrics = map[string]bool{"json_valid": true, "json_schema": true, "json_fields": true}

// MeasuresJSONValid reports whether scoring the metric checks that the
// answer is JSON, so that a suite asking for it has a json_valid rate:
// without such a metric the rate does not apply, where with one a rate
// over nothing is n/a.
func MeasuresJSONValid(metric string) bool { return jsonValidMetrics[metric] }
