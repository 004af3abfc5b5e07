package eval

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSpecValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  string // replaced in validSpec by new
		new  string
		want []specErr
	}{
		{"run missing", "run: qwen3-sft-vs-base\n", "", []specErr{{1, "run", "is required"}}},
		{"run with spaces", "run: qwen3-sft-vs-base", "run: my run", []specErr{{1, "run", `"my run" is not a valid name`}}},
		{"run with a dot", "run: qwen3-sft-vs-base", "run: a.b", []specErr{{1, "run", `"a.b" is not a valid name`}}},
		{"run too long", "run: qwen3-sft-vs-base", "run: " + strings.Repeat("x", 65), []specErr{{1, "run", "not a valid name"}}},
		{"variant name with a dot", "  - name: ft\n", "  - name: ft.v2\n", []specErr{{7, "variants[1].name", `"ft.v2" is not a valid name`}}},
		{"variant name missing", "  - name: ft\n    base_url", "  - base_url", []specErr{{7, "variants[1].name", "is required"}}},
		{"variant listed twice", "  - name: ft\n", "  - name: base\n", []specErr{{7, "variants[1].name", `"base" is listed twice`}}},
		{"base_url missing", "    base_url: https://vllm-ft:8000/v1\n", "", []specErr{{7, "variants[1].base_url", "is required"}}},
		{"base_url not http", "https://vllm-ft:8000/v1", "ftp://vllm-ft/v1", []specErr{{8, "variants[1].base_url", "not an http(s) URL"}}},
		{"base_url without host", "https://vllm-ft:8000/v1", "http:///v1", []specErr{{8, "variants[1].base_url", "not an http(s) URL"}}},
		{"base_url unparsable", "https://vllm-ft:8000/v1", `"http://[::1"`, []specErr{{8, "variants[1].base_url", "not an http(s) URL"}}},
		{"model missing", "    model: qwen3-8b-sft\n", "", []specErr{{7, "variants[1].model", "is required"}}},
		{"concurrency negative", "concurrency: 3", "concurrency: -1", []specErr{{10, "variants[1].concurrency", "must be positive"}}},
		{"baseline missing", "baseline: base\n", "", []specErr{{1, "baseline", "is required"}}},
		{"baseline not a variant", "baseline: base", "baseline: ft2", []specErr{{2, "baseline", `"ft2" is not one of the variants`}}},
		{"temperature too high", "temperature: 0,", "temperature: 2.5,", []specErr{{13, "decoding.temperature", "outside 0..2"}}},
		{"temperature NaN", "temperature: 0,", "temperature: .nan,", []specErr{{13, "decoding.temperature", "outside 0..2"}}},
		{"top_p above 1", "seed: 7}", "seed: 7, top_p: 1.5}", []specErr{{13, "decoding.top_p", "outside (0, 1]"}}},
		{"top_p negative", "seed: 7}", "seed: 7, top_p: -0.5}", []specErr{{13, "decoding.top_p", "outside (0, 1]"}}},
		{"max_tokens negative", "seed: 7}", "seed: 7, max_tokens: -1}", []specErr{{13, "decoding.max_tokens", "at least 1"}}},
		{"min_p above 1", "seed: 7}", "seed: 7, min_p: 1.5}", []specErr{{13, "decoding.min_p", "outside 0..1"}}},
		{"top_k below -1", "seed: 7}", "seed: 7, top_k: -2}", []specErr{{13, "decoding.top_k", "-1"}}},
		{"repetition_penalty zero", "seed: 7}", "seed: 7, repetition_penalty: 0}", []specErr{{13, "decoding.repetition_penalty", "positive"}}},
		{"presence_penalty out of range", "seed: 7}", "seed: 7, presence_penalty: 3}", []specErr{{13, "decoding.presence_penalty", "outside -2..2"}}},
		{"frequency_penalty infinite", "seed: 7}", "seed: 7, frequency_penalty: -.inf}", []specErr{{13, "decoding.frequency_penalty", "outside -2..2"}}},
		{"kwargs not JSON", "thinking: false}", "thinking: false, kwargs: {a: {1: 2}}}", []specErr{{14, "template.kwargs", "JSON"}}},
		{"max_attempts negative", "decoding:", "retry: {max_attempts: -1}\ndecoding:", []specErr{{13, "retry.max_attempts", "at least 1"}}},
		{"suite name with spaces", "  - name: bench\n", "  - name: my bench\n", []specErr{{20, "suites[1].name", `"my bench" is not a valid name`}}},
		{"suite listed twice", "  - name: bench\n", "  - name: business\n", []specErr{{20, "suites[1].name", `"business" is listed twice`}}},
		{"suite role unknown", "    path: data/bench.jsonl\n", "    role: bench\n    path: data/bench.jsonl\n", []specErr{{21, "suites[1].role", `"bench" is not a role`}}},
		{"suite path missing", "    path: data/bench.jsonl\n", "", []specErr{{20, "suites[1].path", "is required"}}},
		{"suite metrics missing", "    metrics: [mc_acc]\n", "", []specErr{{20, "suites[1].metrics", "at least one metric"}}},
		{"suite metric unknown", "[json_schema, em, f1]", "[json_schema, exact, f1]", []specErr{{19, "suites[0].metrics[1]", `unknown metric "exact"`}}},
		{"judge name invalid", "  - name: judge-v1", "  - name: judge v1", []specErr{{24, "judges[0].name", "not a valid name"}}},
		{"judge base_url missing", "    base_url: http://judge:8000/v1\n", "", []specErr{{24, "judges[0].base_url", "is required"}}},
		{"judge model missing", "    model: Qwen/Qwen3-32B\n", "", []specErr{{24, "judges[0].model", "is required"}}},
		{"judge mode unknown", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    mode: listwise\n", []specErr{{27, "judges[0].mode", `mode "listwise" is not supported`}}},
		{"judge dimension invalid", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    dimensions: [correctness, \"good style\"]\n", []specErr{{27, "judges[0].dimensions[1]", `"good style" is not a valid dimension`}}},
		{"judge decoding", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    decoding: {temperature: 5}\n", []specErr{{27, "judges[0].decoding.temperature", "outside 0..2"}}},
		{"judge repeat in single mode", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    mode: single\n    repeat: 2\n", []specErr{{28, "judges[0].repeat", "is for a pairwise judge"}}},
		{"judge repeat too many", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    repeat: 11\n", []specErr{{27, "judges[0].repeat", "outside 0..10"}}},
		{"judge repeat share out of range", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    repeat: 1\n    repeat_share: 1.5\n", []specErr{{28, "judges[0].repeat_share", "outside 0..1"}}},
		{"judge repeat share alone", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    repeat_share: 0.5\n", []specErr{{27, "judges[0].repeat_share", "needs repeat"}}},
		{"gate unknown variant", "gate: {", "gate: {variants: [ft, ft3], ", []specErr{{27, "gate.variants[1]", `"ft3" is not one of the variants`}}},
		{"gate on the baseline", "gate: {", "gate: {variants: [base], ", []specErr{{27, "gate.variants[0]", "not gated against itself"}}},
		{"gate unknown judge", "gate: {", "gate: {judge: judge-v2, ", []specErr{{27, "gate.judge", `"judge-v2" is not one of the judges`}}},
		{"gate win rate out of range", "win_rate_min: 0.5", "win_rate_min: 1.5", []specErr{{27, "gate.win_rate_min", "outside 0..1"}}},
		{"gate refusal delta out of range", "refusal_rate_delta_max: 0.02", "refusal_rate_delta_max: 2", []specErr{{27, "gate.refusal_rate_delta_max", "outside -1..1"}}},
		{"gate json_valid_min NaN", "gate: {", "gate: {json_valid_min: .nan, ", []specErr{{27, "gate.json_valid_min", "outside 0..1"}}},
		{"gate error_rate_max negative", "gate: {", "gate: {error_rate_max: -0.1, ", []specErr{{27, "gate.error_rate_max", "outside 0..1"}}},
		{"gate metric unknown suite", "gate: {", "gate: {metrics: [{suite: regress, metric: em, min: 0.5}], ", []specErr{{27, "gate.metrics[0].suite", `"regress" is not one of the suites`}}},
		{"suite lang unknown", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    lang: fr\n", []specErr{{20, "suites[0].lang", `"fr" is not a language of the text metrics`}}},
		{"format without the metric", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    format: {max_chars: 10}\n", []specErr{{20, "suites[0].format", "add format to the suite's metrics"}}},
		{"format metric without checks", "metrics: [json_schema, em, f1]", "metrics: [json_schema, em, format]", []specErr{{16, "suites[0].format", "the metric format needs a format: section"}}},
		{"format regex invalid", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, format]\n    format: {must_match: [\"a(\"]}\n", []specErr{{20, "suites[0].format.must_match[0]", "is not a regular expression"}}},
		{"format bounds crossed", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, format]\n    format: {min_chars: 10, max_chars: 5}\n", []specErr{{20, "suites[0].format.min_chars", "min_chars 10 is above max_chars 5"}}},
		{"format language unknown", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, format]\n    format: {language: fr}\n", []specErr{{20, "suites[0].format.language", `"fr" is not a language`}}},
		{"preset unknown", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    preset: squad\n", []specErr{{20, "suites[0].preset", `unknown preset "squad"`}}},
		{"prompt template unclosed", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    prompt_template: \"Q: {question\"\n", []specErr{{20, "suites[0].prompt_template", "the { at byte 3 is not closed"}}},
		{"prompt template without fields", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    prompt_template: \"Say {{hi}}\"\n", []specErr{{20, "suites[0].prompt_template", "names no field"}}},
		{"dataset format unknown", "path: data/business.jsonl", "path: data/business.xlsx", []specErr{{18, "suites[0].path", `unknown dataset format ".xlsx"`}}},
		{"perturbation unknown", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    perturbations: [typos, shouting]\n", []specErr{{20, "suites[0].perturbations[1]", `unknown perturbation "shouting"`}}},
		{"compare an unknown variant", "gate: {", "compare: [[ft, ft-int4]]\ngate: {", []specErr{{27, "compare[0][1]", `"ft-int4" is not one of the variants`}}},
		{"compare with itself", "gate: {", "compare: [[ft, ft]]\ngate: {", []specErr{{27, "compare[0]", "compares ft with itself"}}},
		{"compare twice", "gate: {", "compare: [[ft, base], [base, ft]]\ngate: {", []specErr{{27, "compare[1]", "[base, ft] is listed twice"}}},
		{"compare three", "gate: {", "compare: [[ft, base, ft]]\ngate: {", []specErr{{27, "compare[0]", "has 3 names"}}},
		{"long_context without its copies", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    long_context: {tokens: 4000}\n", []specErr{{20, "suites[0].long_context", "perturbations does not list long_context"}}},
		{"long_context too long", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    perturbations: [long_context]\n    long_context: {tokens: 500000, position: middle}\n", []specErr{
			{21, "suites[0].long_context.tokens", "500000 is outside 1..128000"}, {21, "suites[0].long_context.position", `"middle" is not a position`}}},
		{"instruction_conflict turn by turn", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    generate_turns: true\n    perturbations: [instruction_conflict]\n", []specErr{{21, "suites[0].perturbations[0]", "instruction_conflict adds a recorded earlier turn"}}},
		{"contamination without train", "gate: {", "contamination: {threshold: 0.4}\ngate: {", []specErr{{27, "contamination.train", "is required"}}},
		{"contamination threshold", "gate: {", "contamination: {train: t.jsonl, threshold: 2}\ngate: {", []specErr{{27, "contamination.threshold", "outside 0..1"}}},
		{"contamination format", "gate: {", "contamination: {train: t.csv}\ngate: {", []specErr{{27, "contamination.train", "neither .jsonl nor .txt"}}},
		{"gate metric unknown", "gate: {", "gate: {metrics: [{suite: business, metric: meteor, min: 0.5}], ", []specErr{{27, "gate.metrics[0].metric", `unknown metric "meteor"`}}},
		{"gate metric not computed by the suite", "gate: {", "gate: {metrics: [{suite: bench, metric: em, min: 0.5}], ", []specErr{{27, "gate.metrics[0].metric", `suite "bench" does not compute "em"`}}},
		{"gate metric without bounds", "gate: {", "gate: {metrics: [{suite: business, metric: em}], ", []specErr{{27, "gate.metrics[0]", "give min, delta_min, margin or superiority"}}},
		{"fabrication gated with delta_min", "gate: {", "gate: {metrics: [{suite: business, metric: fabrication, delta_min: 0}], ", []specErr{
			{27, "gate.metrics[0].metric", `suite "business" does not compute "fabrication"`},
			{27, "gate.metrics[0].delta_min", "fabrication is better the lower it is: bound it with max or delta_max"}}},
		{"max infinite", "gate: {", "gate: {metrics: [{suite: business, metric: f1, max: .inf}], ", []specErr{
			{27, "gate.metrics[0].max", "f1 is better the higher it is"}, {27, "gate.metrics[0].max", "+Inf is not a finite number"}}},
		{"em bounded from above", "gate: {", "gate: {metrics: [{suite: business, metric: em, delta_max: 0}], ", []specErr{{27, "gate.metrics[0].delta_max", "em is better the higher it is: bound it with min"}}},
		{"gate policy unknown", "gate: {", "gate: {policy: bayes, ", []specErr{{27, "gate.policy", `"bayes" is not a gate policy: use interval (decide each check on its 95% interval; the default) or point`}}},
		{"gate margin negative", "gate: {", "gate: {metrics: [{suite: business, metric: em, margin: -0.02}], ", []specErr{{27, "gate.metrics[0].margin", "-0.02 is negative: a margin is how much worse than the baseline the candidate may be, written as a positive number (margin: 0.02)"}}},
		{"gate margin with delta_min", "gate: {", "gate: {metrics: [{suite: business, metric: em, margin: 0.02, delta_min: -0.01}], ", []specErr{{27, "gate.metrics[0].margin", "margin 0.02 and delta_min -0.01 both bound the delta (margin: 0.02 is delta_min: -0.02): keep one of them"}}},
		{"gate margin infinite", "gate: {", "gate: {metrics: [{suite: business, metric: em, margin: .inf}], ", []specErr{{27, "gate.metrics[0].margin", "+Inf is not a finite number"}}},
		{"cluster blank", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    cluster: \"  \"\n", []specErr{{20, "suites[0].cluster", "is blank: name the record's field that groups samples"}}},
		{"cluster with spaces around", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    cluster: \" meta.passage \"\n", []specErr{{20, "suites[0].cluster", `" meta.passage " has leading or trailing spaces, which would be part of the field's name: write "meta.passage"`}}},
		{"cluster with a line break", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    cluster: \"meta\\npassage\"\n", []specErr{{20, "suites[0].cluster", "holds a control character"}}},
		{"cluster ending in a separator", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    cluster: meta.\n", []specErr{{20, "suites[0].cluster", `"meta." ends with '.': name the field after it`}}},
		{"cluster ending in a pipe", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    cluster: 'meta|'\n", []specErr{{20, "suites[0].cluster", `"meta|" ends with '|'`}}},
		{"gate metric bound NaN", "gate: {", "gate: {metrics: [{suite: business, metric: em, delta_min: .nan}], ", []specErr{{27, "gate.metrics[0].delta_min", "NaN is not a finite number"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := edit(t, validSpec, tc.old, tc.new)
			_, err := ParseSpec("run.yaml", []byte(src))
			checkSpecErrors(t, err, tc.want...)
		})
	}
}

// TestParseSpecGateDecisions: the policy, a margin, superiority and a
// cluster path as a spec writes them.
func TestParseSpecGateDecisions(t *testing.T) {
	for _, c := range []struct {
		name, old, new string
		check          func(*RunSpec) bool
	}{
		{"policy point", "gate: {", "gate: {policy: point, ", func(s *RunSpec) bool { return s.Gate.Policy == GatePolicyPoint && !s.Gate.IntervalPolicy() }},
		{"policy interval", "gate: {", "gate: {policy: interval, ", func(s *RunSpec) bool { return s.Gate.IntervalPolicy() }},
		{"no policy is interval", "gate: {", "gate: {", func(s *RunSpec) bool { return s.Gate.Policy == "" && s.Gate.IntervalPolicy() }},
		{"margin", "gate: {", "gate: {metrics: [{suite: business, metric: em, margin: 0.02}], ", func(s *RunSpec) bool {
			b, ok := s.Gate.Metrics[0].DeltaBound()
			return ok && b == -0.02
		}},
		{"superiority alone", "gate: {", "gate: {metrics: [{suite: business, metric: em, superiority: true}], ", func(s *RunSpec) bool {
			b, ok := s.Gate.Metrics[0].DeltaBound()
			return ok && b == 0 && s.Gate.Metrics[0].Superiority
		}},
		{"superiority with a margin", "gate: {", "gate: {metrics: [{suite: business, metric: em, margin: 0.02, superiority: true}], ", func(s *RunSpec) bool {
			b, ok := s.Gate.Metrics[0].DeltaBound()
			return ok && b == 0
		}},
		{"superiority with delta_min", "gate: {", "gate: {metrics: [{suite: business, metric: em, delta_min: 0.05, superiority: true}], ", func(s *RunSpec) bool {
			b, ok := s.Gate.Metrics[0].DeltaBound()
			return ok && b == 0.05
		}},
		{"cluster", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    cluster: meta.passage_id\n", func(s *RunSpec) bool { return s.Suites[0].Cluster == "meta.passage_id" }},
		{"cluster with an escaped dot at its end", "    metrics: [json_schema, em, f1]\n", "    metrics: [json_schema, em, f1]\n    cluster: 'doc\\.'\n", func(s *RunSpec) bool { return s.Suites[0].Cluster == `doc\.` }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if s := mustParse(t, edit(t, validSpec, c.old, c.new)); !c.check(s) {
				t.Errorf("gate %+v, suites %+v", s.Gate, s.Suites)
			}
		})
	}
}

func TestParseSpecWinRateNeedsJudge(t *testing.T) {
	src := validSpec[:strings.Index(validSpec, "judges:")] + "gate: {win_rate_min: 0.5}\n"
	_, err := ParseSpec("run.yaml", []byte(src))
	checkSpecErrors(t, err, specErr{23, "gate.win_rate_min", "needs a judge"})
}

func TestParseSpecMissingSections(t *testing.T) {
	_, err := ParseSpec("run.yaml", []byte("run: r\nbaseline: base\n"))
	checkSpecErrors(t, err,
		specErr{1, "variants", "at least one variant"},
		specErr{1, "suites", "at least one suite"},
	)
}

// TestParseSpecAllProblems checks that every problem is reported at once,
// each at its own line.
func TestParseSpecAllProblems(t *testing.T) {
	src := `run: bad.run
baseline: nope
variants:
  - name: base
    base_url: http://vllm-base:8000/v1
    model: m
  - name: ft
    base_url: localhost:8000
    model: ""
    concurrency: -2
decoding: {temperature: 3, top_p: 2}
suites:
  - name: s
    role: prod
    path: s.jsonl
    metrics: [em, blue]
gate:
  variants: [ft, x]
  metrics:
    - {suite: t, metric: em, min: 0.1}
`
	_, err := ParseSpec("run.yaml", []byte(src))
	checkSpecErrors(t, err,
		specErr{1, "run", "not a valid name"},
		specErr{2, "baseline", `"nope" is not one of the variants`},
		specErr{8, "variants[1].base_url", "not an http(s) URL"},
		specErr{9, "variants[1].model", "is required"},
		specErr{10, "variants[1].concurrency", "must be positive"},
		specErr{11, "decoding.temperature", "outside 0..2"},
		specErr{11, "decoding.top_p", "outside (0, 1]"},
		specErr{14, "suites[0].role", `"prod" is not a role`},
		specErr{16, "suites[0].metrics[1]", `unknown metric "blue"`},
		specErr{18, "gate.variants[1]", `"x" is not one of the variants`},
		specErr{20, "gate.metrics[0].suite", `"t" is not one of the suites`},
	)
}

func TestParseSpecDidYouMean(t *testing.T) {
	const (
		metrics = "    metrics: [json_schema, em, f1]\n"
		judge   = "    model: Qwen/Qwen3-32B\n"
	)
	for _, tc := range []struct {
		name string
		old  string // replaced in validSpec by new
		new  string
		want specErr
	}{
		{"top-level field", "judges:\n", "judge:\n", specErr{23, "judge", "unknown field: did you mean judges?"}},
		{"variant field", "    model: qwen3-8b-sft\n", "    modle: qwen3-8b-sft\n", specErr{9, "variants[1].modle", "unknown field: did you mean model?"}},
		{"suite field", metrics, "    metircs: [json_schema, em, f1]\n", specErr{19, "suites[0].metircs", "unknown field: did you mean metrics?"}},
		{"gate field", "win_rate_min: 0.5", "win_rate_mn: 0.5", specErr{27, "gate.win_rate_mn", "unknown field: did you mean win_rate_min?"}},
		{"judge field", judge, judge + "    dimensons: [style]\n", specErr{27, "judges[0].dimensons", "unknown field: did you mean dimensions?"}},
		{"format check", metrics, "    metrics: [json_schema, format]\n    format: {max_char: 10}\n", specErr{20, "suites[0].format.max_char", "unknown field: did you mean max_chars?"}},
		{"dataset field", "    metrics: [mc_acc]\n", "    metrics: [mc_acc]\n    fields: {promt: question}\n", specErr{23, "suites[1].fields.promt", "unknown field: did you mean prompt?"}},
		{"field a mapping sets already", "    model: qwen3-8b-sft\n", "    model: qwen3-8b-sft\n    modl: x\n", specErr{10, "variants[1].modl", "unknown field: did you mean model?"}},
		{"field nowhere near", "    stream: false\n", "    stream: false\n    colour: red\n", specErr{13, "variants[1].colour", "unknown field: use one of name, base_url, model, api_key_env, api_key_secret, concurrency, timeout, stream"}},
		{"role", "    role: business\n", "    role: Business\n", specErr{17, "suites[0].role", `"Business" is not a role: did you mean business?`}},
		{"role nowhere near", "    role: business\n", "    role: owner\n", specErr{17, "suites[0].role", `"owner" is not a role: use business, regression, benchmark or production`}},
		{"metric", "[json_schema, em, f1]", "[json_schema, em, rougel]", specErr{19, "suites[0].metrics[2]", `unknown metric "rougel": did you mean rougeL?`}},
		{"metric transposed", "[json_schema, em, f1]", "[json_schema, em, blue]", specErr{19, "suites[0].metrics[2]", `unknown metric "blue": did you mean bleu?`}},
		{"metric nowhere near", "[json_schema, em, f1]", "[json_schema, em, meteor]", specErr{19, "suites[0].metrics[2]", `unknown metric "meteor": use one of em, f1, mc_acc, num_match, `}},
		{"preset", metrics, metrics + "    preset: mmlu-pro\n", specErr{20, "suites[0].preset", `unknown preset "mmlu-pro": did you mean mmlu?`}},
		{"preset spelt with _", metrics, metrics + "    preset: mt_bench\n", specErr{20, "suites[0].preset", `unknown preset "mt_bench": did you mean mt-bench?`}},
		{"perturbation", metrics, metrics + "    perturbations: [typo]\n", specErr{20, "suites[0].perturbations[0]", `unknown perturbation "typo": did you mean typos?`}},
		{"lang", metrics, metrics + "    lang: ZH\n", specErr{20, "suites[0].lang", `"ZH" is not a language of the text metrics: did you mean zh?`}},
		{"judge mode", judge, judge + "    mode: pairwize\n", specErr{27, "judges[0].mode", `mode "pairwize" is not supported: did you mean pairwise?`}},
		{"gate judge", "gate: {", "gate: {judge: judge-v2, ", specErr{27, "gate.judge", `"judge-v2" is not one of the judges: did you mean judge-v1?`}},
		{"gate variant", "gate: {", "gate: {variants: [ft2], ", specErr{27, "gate.variants[0]", `"ft2" is not one of the variants: did you mean ft?`}},
		{"gate policy", "gate: {", "gate: {policy: intervals, ", specErr{27, "gate.policy", `"intervals" is not a gate policy: did you mean interval?`}},
		{"gate variant nowhere near", "gate: {", "gate: {variants: [candidate], ", specErr{27, "gate.variants[0]", `"candidate" is not one of the variants: use one of base, ft`}},
		{"baseline", "baseline: base", "baseline: bsae", specErr{2, "baseline", `"bsae" is not one of the variants: did you mean base?`}},
		{"gate suite", "gate: {", "gate: {metrics: [{suite: businss, metric: em, min: 0.5}], ", specErr{27, "gate.metrics[0].suite", `"businss" is not one of the suites: did you mean business?`}},
		{"gate metric of the suite", "gate: {", "gate: {metrics: [{suite: business, metric: f2, min: 0.5}], ", specErr{27, "gate.metrics[0].metric", `unknown metric "f2": did you mean f1?`}},
		{"gate metric of any suite", "gate: {", "gate: {metrics: [{suite: business, metric: rouge, min: 0.5}], ", specErr{27, "gate.metrics[0].metric", `unknown metric "rouge": did you mean rouge1, rouge2 or rougeL?`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("run.yaml", []byte(edit(t, validSpec, tc.old, tc.new)))
			checkSpecErrors(t, err, tc.want)
		})
	}
}

// continuousSpec is a continuous run; the line numbers matter below.
const continuousSpec = `run: prod-watch
baseline: base
variants:
  - {name: base, base_url: http://b:8000/v1, model: m}
  - {name: ft, base_url: http://f:8000/v1, model: m-ft}
continuous:
  sources: [support-chat, search]
  sample_rate: 0.25
  window: 30m
`

func TestParseSpecContinuous(t *testing.T) {
	spec := mustParse(t, continuousSpec)
	ct := spec.Continuous
	if ct == nil || ct.SampleRate != 0.25 || ct.Window.D() != 30*time.Minute || !slices.Equal(ct.Metrics, []string{"refusal", "length"}) {
		t.Fatalf("continuous = %+v", ct)
	}
	// Each source becomes an intake suite of production queries.
	var names []string
	for _, s := range spec.Suites {
		if !s.Intake || s.Role != RoleProduction || !slices.Equal(s.Metrics, ct.Metrics) {
			t.Errorf("suite %+v is not an intake suite", s)
		}
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"support-chat", "search"}) {
		t.Errorf("suites %v", names)
	}
	at := time.Date(2026, 11, 27, 10, 47, 3, 0, time.FixedZone("CST", 8*3600))
	if got, want := ct.WindowOf(at), time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("WindowOf(%v) = %v, want %v", at, got, want)
	}

	// A cluster path reaches every intake suite.
	for _, s := range mustParse(t, strings.Replace(continuousSpec, "  window: 30m\n", "  window: 30m\n  cluster: account_id\n", 1)).Suites {
		if s.Cluster != "account_id" {
			t.Errorf("intake suite %s clusters by %q, want account_id", s.Name, s.Cluster)
		}
	}

	if h := mustParse(t, strings.Replace(continuousSpec, "  window: 30m\n", "  window: 30m\n  horizon: 48\n", 1)).Continuous.Horizon; h != 48 {
		t.Errorf("horizon: 48 gave %d", h)
	}
	defaults := mustParse(t, strings.Replace(continuousSpec, "  sample_rate: 0.25\n  window: 30m\n", "", 1)).Continuous
	if defaults.SampleRate != 1 || defaults.Window.D() != DefaultWindow {
		t.Errorf("defaults: %+v", defaults)
	}

	for _, tc := range []struct {
		name, old, new string
		want           specErr
	}{
		{"no sources", "sources: [support-chat, search]", "sources: []", specErr{7, "continuous.sources", "at least one intake source"}},
		{"bad source", "support-chat,", "support.chat,", specErr{7, "continuous.sources[0]", "not a valid name"}},
		{"source shaped like personal data", "support-chat,", "tel-4155550100,", specErr{7, "continuous.sources[0]", "may be a phone, card or ID number"}},
		{"rate zero", "sample_rate: 0.25", "sample_rate: -1", specErr{8, "continuous.sample_rate", "outside (0, 1]"}},
		{"rate above one", "sample_rate: 0.25", "sample_rate: 1.5", specErr{8, "continuous.sample_rate", "outside (0, 1]"}},
		{"window too short", "window: 30m", "window: 10s", specErr{9, "continuous.window", "shorter than a minute"}},
		{"window too long", "window: 30m", "window: 720h", specErr{9, "continuous.window", "longer than a week"}},
		{"horizon negative", "  window: 30m\n", "  window: 30m\n  horizon: -2\n", specErr{10, "continuous.horizon", "-2 is negative"}},
		{"metric needs a reference", "  window: 30m\n", "  window: 30m\n  metrics: [refusal, em]\n", specErr{10, "continuous.metrics[1]", `"em" needs a reference`}},
		{"metric unknown", "  window: 30m\n", "  window: 30m\n  metrics: [refusl]\n", specErr{10, "continuous.metrics[0]", `unknown metric "refusl": did you mean refusal?`}},
		{"cluster ending in a separator", "  window: 30m\n", "  window: 30m\n  cluster: tenant.\n", specErr{10, "continuous.cluster", `"tenant." ends with '.'`}},
		{"source is a suite", "  window: 30m\n", "  window: 30m\nsuites:\n  - {name: search, path: s.jsonl, metrics: [f1]}\n", specErr{7, "continuous.sources[1]", `"search" is also a suite's name`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("run.yaml", []byte(edit(t, continuousSpec, tc.old, tc.new)))
			checkSpecErrors(t, err, tc.want)
		})
	}
}

// FuzzClusterPath: a cluster path is accepted only when gjson can take it
// as written: not blank, no spaces around it, on one line, not ending in a
// bare separator.
func FuzzClusterPath(f *testing.F) {
	for _, p := range []string{"", "meta.passage_id", " a", "a.", `a\.`, `a\\.`, "a|", "a\nb", "\t", "doc.#(id==1).x"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := checkClusterPath(p)
		if err != nil {
			if p == "" {
				t.Fatalf("no cluster is no error: %v", err)
			}
			return
		}
		if p == "" {
			return
		}
		last := p[len(p)-1]
		if strings.TrimSpace(p) != p || strings.ContainsAny(p, "\n\r\t") || ((last == '.' || last == '|') && !strings.HasSuffix(p, `\`+string(last))) {
			t.Fatalf("%q accepted", p)
		}
	})
}
