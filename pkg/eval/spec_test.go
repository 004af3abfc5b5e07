package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// validSpec exercises every section of a run spec; the line numbers in the
// comments are what the error tests below count on.
const validSpec = `run: qwen3-sft-vs-base
baseline: base
variants:
  - name: base
    base_url: http://vllm-base:8000/v1
    model: Qwen/Qwen3-8B
  - name: ft
    base_url: https://vllm-ft:8000/v1
    model: qwen3-8b-sft
    concurrency: 3
    timeout: 90s
    stream: false
decoding: {temperature: 0, seed: 7}
template: {system: "You are a helpful assistant.", thinking: false}
suites:
  - name: business
    role: business
    path: data/business.jsonl
    metrics: [json_schema, em, f1]
  - name: bench
    path: data/bench.jsonl
    metrics: [mc_acc]
judges:
  - name: judge-v1
    base_url: http://judge:8000/v1
    model: Qwen/Qwen3-32B
gate: {win_rate_min: 0.5, refusal_rate_delta_max: 0.02}
`

func mustParse(t *testing.T, src string) *RunSpec {
	t.Helper()
	spec, err := ParseSpec("run.yaml", []byte(src))
	if err != nil {
		t.Fatalf("ParseSpec: %v", err)
	}
	return spec
}

// edit returns validSpec with old replaced by new exactly once, so that a
// test fails loudly when validSpec changes under it.
func edit(t *testing.T, src, old, new string) string {
	t.Helper()
	if strings.Count(src, old) != 1 {
		t.Fatalf("edit: %q occurs %d times in the spec", old, strings.Count(src, old))
	}
	return strings.Replace(src, old, new, 1)
}

func TestParseSpecDefaults(t *testing.T) {
	s := mustParse(t, validSpec)
	if s.Source != "run.yaml" || s.Run != "qwen3-sft-vs-base" || s.Baseline != "base" {
		t.Errorf("source, run, baseline = %q, %q, %q", s.Source, s.Run, s.Baseline)
	}
	base, ft := s.Variants[0], s.Variants[1]
	if base.Concurrency != DefaultConcurrency || base.Timeout.D() != 2*time.Minute || !base.Streaming() {
		t.Errorf("base variant defaults: concurrency %d, timeout %v, streaming %v", base.Concurrency, base.Timeout.D(), base.Streaming())
	}
	if ft.Concurrency != 3 || ft.Timeout.D() != 90*time.Second || ft.Streaming() {
		t.Errorf("ft variant as written: concurrency %d, timeout %v, streaming %v", ft.Concurrency, ft.Timeout.D(), ft.Streaming())
	}
	d := s.Decoding
	if d.Temperature != 0 || d.TopP != 1 || d.MaxTokens != 1024 || d.Seed == nil || *d.Seed != 7 {
		t.Errorf("decoding = %+v", d)
	}
	if s.Template.Thinking == nil || *s.Template.Thinking {
		t.Errorf("template.thinking = %v, want false", s.Template.Thinking)
	}
	if s.Retry != (Retry{MaxAttempts: 5, InitialBackoff: Duration(500 * time.Millisecond), MaxBackoff: Duration(30 * time.Second)}) {
		t.Errorf("retry = %+v", s.Retry)
	}
	if s.Suites[0].Role != RoleBusiness || s.Suites[1].Role != RoleBenchmark {
		t.Errorf("roles = %q, %q; want business, benchmark", s.Suites[0].Role, s.Suites[1].Role)
	}
	if s.Suites[0].File != "" {
		t.Errorf("ParseSpec resolved a path: %q", s.Suites[0].File)
	}
	j := s.Judges[0]
	if j.Mode != "pairwise" || j.Concurrency != 8 || j.Timeout.D() != DefaultTimeout || !j.WantsResponseFormat() {
		t.Errorf("judge defaults = %+v", j)
	}
	if !slices.Equal(j.Dimensions, DefaultDimensions) {
		t.Errorf("judge dimensions = %v, want %v", j.Dimensions, DefaultDimensions)
	}
	if j.Decoding.MaxTokens != 512 || j.Decoding.TopP != 1 {
		t.Errorf("judge decoding = %+v", j.Decoding)
	}
	// The defaults must not alias the package variable.
	j.Dimensions[0] = "changed"
	if DefaultDimensions[0] == "changed" {
		t.Error("judge dimensions alias DefaultDimensions")
	}
	if s.Gate.WinRateMin == nil || *s.Gate.WinRateMin != 0.5 {
		t.Errorf("gate = %+v", s.Gate)
	}
	if got := s.Candidates(); !slices.Equal(got, []string{"ft"}) {
		t.Errorf("Candidates() = %v", got)
	}
	if got := s.GatedVariants(); !slices.Equal(got, []string{"ft"}) {
		t.Errorf("GatedVariants() = %v", got)
	}
	if _, ok := s.Variant("ft"); !ok {
		t.Error(`Variant("ft") not found`)
	}
	if _, ok := s.Suite("nope"); ok {
		t.Error(`Suite("nope") found`)
	}
	if j, ok := s.Judge("judge-v1"); !ok || j.Model != "Qwen/Qwen3-32B" {
		t.Errorf(`Judge("judge-v1") = %+v, %v`, j, ok)
	}
}

func TestParseSpecSingleVariantIsBaseline(t *testing.T) {
	s := mustParse(t, `run: r
variants: [{name: only, base_url: "http://h/v1", model: m}]
suites: [{name: s, path: s.jsonl, metrics: [em]}]
`)
	if s.Baseline != "only" {
		t.Errorf("baseline = %q, want the only variant", s.Baseline)
	}
	if c := s.Candidates(); len(c) != 0 {
		t.Errorf("candidates = %v, want none", c)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "2h", want: 2 * time.Hour},
		{in: "0s", want: 0},
		{in: "90", err: true},
		{in: "soon", err: true},
		{in: "-1s", err: true},
		{in: "", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalText([]byte(tc.in))
			if tc.err {
				if err == nil {
					t.Fatalf("UnmarshalText(%q) = %v, want an error", tc.in, d.D())
				}
				return
			}
			if err != nil || d.D() != tc.want {
				t.Fatalf("UnmarshalText(%q) = %v, %v; want %v", tc.in, d.D(), err, tc.want)
			}
			b, _ := d.MarshalText()
			var back Duration
			if err := back.UnmarshalText(b); err != nil || back != d {
				t.Errorf("round trip through %q = %v, %v", b, back.D(), err)
			}
		})
	}
}

func TestParseSpecDurations(t *testing.T) {
	src := edit(t, validSpec, "decoding:", "retry: {max_attempts: 3, initial_backoff: 250ms, max_backoff: 1m30s}\ndecoding:")
	s := mustParse(t, src)
	if s.Retry.MaxAttempts != 3 || s.Retry.InitialBackoff.D() != 250*time.Millisecond || s.Retry.MaxBackoff.D() != 90*time.Second {
		t.Errorf("retry = %+v", s.Retry)
	}
	b, err := json.Marshal(s.Variants[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"timeout":"1m30s"`) {
		t.Errorf("variant JSON %s does not write its timeout as 1m30s", b)
	}
}

// specErr is one expected problem: "run.yaml:<line>: <field>: <msg>".
type specErr struct {
	line  int
	field string
	msg   string // a fragment of the message
}

func (w specErr) String() string { return fmt.Sprintf("run.yaml:%d: %s: %s", w.line, w.field, w.msg) }

// checkSpecErrors asserts that err holds exactly the problems in want, in
// any order, each with its line and field.
func checkSpecErrors(t *testing.T, err error, want ...specErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %v", want)
	}
	var es SpecErrors
	if !errors.As(err, &es) {
		t.Fatalf("error %T %q is not SpecErrors", err, err)
	}
	text := err.Error()
	for _, w := range want {
		prefix := fmt.Sprintf("run.yaml:%d: %s: ", w.line, w.field)
		found := false
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, prefix) && strings.Contains(line, w.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %q in\n%s", w, text)
		}
	}
	if len(es) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(es), len(want), text)
	}
	if !slices.IsSortedFunc(es, func(a, b *SpecError) int { return a.Line - b.Line }) {
		t.Errorf("problems not in line order:\n%s", text)
	}
	var one *SpecError
	if !errors.As(err, &one) || one.File != "run.yaml" {
		t.Errorf("errors.As(*SpecError) = %+v", one)
	}
}

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
		{"judge mode unknown", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    mode: single\n", []specErr{{27, "judges[0].mode", `mode "single" is not supported`}}},
		{"judge dimension invalid", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    dimensions: [correctness, \"good style\"]\n", []specErr{{27, "judges[0].dimensions[1]", `"good style" is not a valid dimension`}}},
		{"judge decoding", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    decoding: {temperature: 5}\n", []specErr{{27, "judges[0].decoding.temperature", "outside 0..2"}}},
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
		{"contamination without train", "gate: {", "contamination: {threshold: 0.4}\ngate: {", []specErr{{27, "contamination.train", "is required"}}},
		{"contamination threshold", "gate: {", "contamination: {train: t.jsonl, threshold: 2}\ngate: {", []specErr{{27, "contamination.threshold", "outside 0..1"}}},
		{"contamination format", "gate: {", "contamination: {train: t.csv}\ngate: {", []specErr{{27, "contamination.train", "neither .jsonl nor .txt"}}},
		{"gate metric unknown", "gate: {", "gate: {metrics: [{suite: business, metric: meteor, min: 0.5}], ", []specErr{{27, "gate.metrics[0].metric", `unknown metric "meteor"`}}},
		{"gate metric not computed by the suite", "gate: {", "gate: {metrics: [{suite: bench, metric: em, min: 0.5}], ", []specErr{{27, "gate.metrics[0].metric", `suite "bench" does not compute "em"`}}},
		{"gate metric without bounds", "gate: {", "gate: {metrics: [{suite: business, metric: em}], ", []specErr{{27, "gate.metrics[0]", "give min, delta_min or both"}}},
		{"gate metric bound NaN", "gate: {", "gate: {metrics: [{suite: business, metric: em, delta_min: .nan}], ", []specErr{{27, "gate.metrics[0].delta_min", "NaN is not a finite number"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := edit(t, validSpec, tc.old, tc.new)
			_, err := ParseSpec("run.yaml", []byte(src))
			checkSpecErrors(t, err, tc.want...)
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

func TestParseSpecDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []specErr
	}{
		{
			name: "unknown field",
			src:  edit(t, validSpec, "    model: qwen3-8b-sft\n", "    modle: qwen3-8b-sft\n"),
			want: []specErr{{9, "variants[1].modle", "unknown field: did you mean model?"}},
		},
		{
			name: "unknown top-level field",
			src:  edit(t, validSpec, "baseline: base\n", "baseline: base\nbasline: base\n"),
			want: []specErr{{3, "basline", "unknown field: did you mean baseline?"}},
		},
		{
			name: "unknown field in a flow mapping",
			src:  edit(t, validSpec, "seed: 7}", "seed: 7, temprature: 0.2}"),
			want: []specErr{{13, "decoding.temprature", "unknown field: did you mean temperature?"}},
		},
		{
			name: "two unknown fields",
			src:  edit(t, edit(t, validSpec, "    role: business\n", "    rol: business\n"), "    model: Qwen/Qwen3-32B\n", "    modle: Qwen/Qwen3-32B\n"),
			want: []specErr{{17, "suites[0].rol", "unknown field: did you mean role?"}, {26, "judges[0].modle", "unknown field: did you mean model or mode?"}},
		},
		{
			name: "wrong type",
			src:  edit(t, validSpec, "concurrency: 3", "concurrency: many"),
			want: []specErr{{10, "variants[1].concurrency", "cannot unmarshal a string `many` into int"}},
		},
		{
			name: "wrong type in a flow mapping",
			src:  edit(t, validSpec, "seed: 7}", "seed: 7, max_tokens: lots}"),
			want: []specErr{{13, "decoding.max_tokens", "`lots`"}},
		},
		{
			name: "a mapping for a string",
			src:  edit(t, validSpec, "run: qwen3-sft-vs-base", "run: {name: x}"),
			want: []specErr{{1, "run", "cannot unmarshal a mapping into string"}},
		},
		{
			// And the gate's win_rate_min does not need a judge: the
			// judges are there, but did not decode.
			name: "a mapping for a list",
			src: edit(t, validSpec, "  - name: judge-v1\n    base_url: http://judge:8000/v1\n    model: Qwen/Qwen3-32B\n",
				"  name: judge-v1\n  base_url: http://judge:8000/v1\n  model: Qwen/Qwen3-32B\n"),
			want: []specErr{{24, "judges", "cannot unmarshal a mapping into []eval.Judge"}},
		},
		{
			name: "a list for a number",
			src:  edit(t, validSpec, "concurrency: 3", "concurrency: [3]"),
			want: []specErr{{10, "variants[1].concurrency", "cannot unmarshal a list into int"}},
		},
		{
			name: "bad duration",
			src:  edit(t, validSpec, "timeout: 90s", "timeout: 90"),
			want: []specErr{{11, "variants[1].timeout", `"90" is not a duration`}},
		},
		{
			name: "duration given a list",
			src:  edit(t, validSpec, "timeout: 90s", "timeout: [90s]"),
			want: []specErr{{11, "variants[1].timeout", "cannot unmarshal a list into a duration"}},
		},
		{
			name: "negative duration",
			src:  edit(t, validSpec, "decoding:", "retry: {max_backoff: -1s}\ndecoding:"),
			want: []specErr{{13, "retry.max_backoff", `"-1s" is negative`}},
		},
		{
			name: "duplicate key",
			src:  validSpec + "run: again\n",
			want: []specErr{{28, "run", `"run" already defined at line 1`}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("run.yaml", []byte(tc.src))
			checkSpecErrors(t, err, tc.want...)
		})
	}
}

// TestLoadSpecOnePass checks that problems of every kind — decoding,
// checking, files — are reported at once, in line order, with what was
// probably meant.
func TestLoadSpecOnePass(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "run.yaml")
	writeFile(t, spec, `run: five
variants:
  - name: base
    base_url: vllm-base:8000/v1
    model: Qwen/Qwen3-8B
    timeout: 90
  - name: ft
    base_url: http://vllm-ft:8000/v1
    modle: qwen3-8b-sft
suites:
  - name: qa
    path: data/qa.jsonl
    metrics: [em, rougel]
baseline: base
`)
	_, err := LoadSpec(spec)
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		spec + `:4: variants[0].base_url: "vllm-base:8000/v1" is not an http(s) URL: write it like http://localhost:8000/v1`,
		spec + `:6: variants[0].timeout: "90" is not a duration: write it like 30s or 2m`,
		spec + `:9: variants[1].modle: unknown field: did you mean model?`,
		spec + `:12: suites[0].path: ` + filepath.Join(dir, "data", "qa.jsonl") + `: no such file: paths are relative to the spec's directory`,
		spec + `:13: suites[0].metrics[1]: unknown metric "rougel": did you mean rougeL?`,
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
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
		{"field nowhere near", "    stream: false\n", "    stream: false\n    colour: red\n", specErr{13, "variants[1].colour", "unknown field: use one of name, base_url, model, api_key_env, concurrency, timeout, stream"}},
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

// TestParseSpecNoFollowOn checks that a value that did not decode is
// reported once: not again by the checks of what it holds, of what holds
// it, or of what refers to it.
func TestParseSpecNoFollowOn(t *testing.T) {
	const minimal = "run: r\nvariants: [{name: a, base_url: \"http://h/v1\", model: m}]\n"
	for _, tc := range []struct {
		name string
		src  string
		want []specErr
	}{
		{
			name: "a bad duration is not also out of range",
			src:  edit(t, continuousSpec, "window: 30m", "window: half an hour"),
			want: []specErr{{9, "continuous.window", `"half an hour" is not a duration`}},
		},
		{
			name: "a misspelt key leaves no field to call missing",
			src:  edit(t, edit(t, validSpec, "  - name: ft\n", "  - nmae: ft\n"), "baseline: base", "baseline: ft"),
			want: []specErr{{7, "variants[1].nmae", "unknown field: did you mean name?"}},
		},
		{
			name: "a name that did not decode is not missing, nor is what refers to it",
			src:  edit(t, edit(t, validSpec, "  - name: ft\n", "  - name: [ft]\n"), "gate: {", "gate: {variants: [ft], "),
			want: []specErr{{7, "variants[1].name", "cannot unmarshal a list into string"}},
		},
		{
			name: "a misspelt list is not missing",
			src:  edit(t, validSpec, "judges:\n", "judgse:\n"),
			want: []specErr{{23, "judgse", "unknown field: did you mean judges?"}},
		},
		{
			name: "metrics that did not decode are neither missing nor lacking what the gate needs",
			src:  edit(t, edit(t, validSpec, "[json_schema, em, f1]", "{em: 1}"), "gate: {", "gate: {metrics: [{suite: business, metric: em, min: 0.5}], "),
			want: []specErr{{19, "suites[0].metrics", "cannot unmarshal a mapping into []string"}},
		},
		{
			name: "the rest of a list keeps its indices",
			src:  edit(t, validSpec, "[json_schema, em, f1]", "[[json_schema], em, meteor]"),
			want: []specErr{
				{19, "suites[0].metrics[0]", "cannot unmarshal a list into string"},
				{19, "suites[0].metrics[2]", `unknown metric "meteor"`},
			},
		},
		{
			name: "an empty entry, left out as yaml.v3 does, keeps the others' indices",
			src:  edit(t, edit(t, validSpec, "[json_schema, em, f1]", "\n      -\n      - meteor"), "  - name: ft\n    base_url: https://vllm-ft:8000/v1\n", "  -\n  - name: ft\n    base_url: vllm-ft/v1\n"),
			want: []specErr{
				{9, "variants[2].base_url", "not an http(s) URL"},
				{22, "suites[0].metrics[1]", `unknown metric "meteor"`},
			},
		},
		{
			name: "the rest of a mapping with a duplicate key is checked",
			src:  edit(t, edit(t, validSpec, "    model: qwen3-8b-sft\n", "    model: qwen3-8b-sft\n    model: other\n"), "concurrency: 3", "concurrency: -4"),
			want: []specErr{
				{10, "variants[1].model", `mapping key "model" already defined at line 9`},
				{11, "variants[1].concurrency", "must be positive"},
			},
		},
		{
			name: "a gate bound that did not decode is not missing",
			src:  edit(t, validSpec, "gate: {", "gate: {metrics: [{suite: business, metric: em, min: high}], "),
			want: []specErr{{27, "gate.metrics[0].min", "cannot unmarshal a string `high` into float64"}},
		},
		{
			name: "a continuous section that did not decode leaves suites optional",
			src:  minimal + "continuous: [support]\n",
			want: []specErr{{3, "continuous", "cannot unmarshal a list into eval.Continuous"}},
		},
		{
			name: "a key with no name",
			src:  "run: r\nvariants:\n  - {name: a, base_url: \"http://h/v1\", model: m, \"\": x}\nsuites: [{name: s, path: s.jsonl, metrics: [em]}]\n",
			want: []specErr{{3, "variants[0]", "has a key with no name"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("run.yaml", []byte(tc.src))
			checkSpecErrors(t, err, tc.want...)
		})
	}
}

// TestParseSpecMerges checks anchors and << merges, which yaml.v3 decodes
// and so must the spec decoder: a key written out wins over a merged one.
func TestParseSpecMerges(t *testing.T) {
	s := mustParse(t, `run: r
baseline: base
variants:
  - &v {name: base, base_url: "http://h/v1", model: m, timeout: 30s}
  - <<: *v
    name: ft
    model: m-ft
  - <<: [{name: x, concurrency: 2}, *v]
    model: m-x
decoding: &d {temperature: 0.5}
judges: [{name: j, base_url: "http://j/v1", model: jm, decoding: *d}]
suites: [{name: s, path: s.jsonl, metrics: &m [em, f1]}, {name: t, path: t.jsonl, metrics: *m}]
`)
	want := []Variant{
		{Name: "base", BaseURL: "http://h/v1", Model: "m", Concurrency: DefaultConcurrency, Timeout: Duration(30 * time.Second)},
		{Name: "ft", BaseURL: "http://h/v1", Model: "m-ft", Concurrency: DefaultConcurrency, Timeout: Duration(30 * time.Second)},
		{Name: "x", BaseURL: "http://h/v1", Model: "m-x", Concurrency: 2, Timeout: Duration(30 * time.Second)},
	}
	if !reflect.DeepEqual(s.Variants, want) {
		t.Errorf("variants\n%+v\nwant\n%+v", s.Variants, want)
	}
	if s.Judges[0].Decoding.Temperature != 0.5 || !slices.Equal(s.Suites[1].Metrics, []string{"em", "f1"}) {
		t.Errorf("aliases not followed: %+v, %+v", s.Judges[0].Decoding, s.Suites[1])
	}

	// A misspelt key merged into two variants is reported once, at its
	// line, and neither variant lacks the field it meant.
	_, err := ParseSpec("run.yaml", []byte(`run: r
baseline: base
variants:
  - &v {name: base, base_url: "http://h/v1", modle: m}
  - {<<: *v, name: ft}
suites: [{name: s, path: s.jsonl, metrics: [em]}]
`))
	checkSpecErrors(t, err, specErr{4, "variants[0].modle", "did you mean model?"})

	_, err = ParseSpec("run.yaml", []byte("run: r\nvariants: [{<<: [a], name: a}]\nsuites: [{name: s, path: s.jsonl, metrics: [em]}]\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "run.yaml:2: variants[0]: << merges a mapping or a list of mappings") {
		t.Errorf("merge of a list of scalars: %v", err)
	}
}

// TestParseSpecAliasBomb checks that a short document that aliases make
// huge is refused, as yaml.v3 refuses it, rather than decoded.
func TestParseSpecAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("run: r\nvariants: [{name: a, base_url: \"http://h/v1\", model: m}]\nsuites:\n  - &s {name: s, path: s.jsonl, metrics: [em")
	b.WriteString(strings.Repeat(", em", 999))
	b.WriteString("]}\n")
	b.WriteString(strings.Repeat("  - *s\n", 1000))
	_, err := ParseSpec("run.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Errorf("error = %.300v", err)
	}
}

func TestParseJudgeOnePass(t *testing.T) {
	_, err := ParseJudge("judge.yaml", []byte("name: bad name\nbase_url: ftp://x\nmodle: m\ntimeout: 5\ndecoding: {temprature: 1, top_p: 2}\n"))
	want := []string{
		`judge.yaml:1: name: "bad name" is not a valid name: use 1-64 letters, digits, '-' or '_'`,
		`judge.yaml:2: base_url: "ftp://x" is not an http(s) URL: write it like http://localhost:8000/v1`,
		`judge.yaml:3: modle: unknown field: did you mean model or mode?`,
		`judge.yaml:4: timeout: "5" is not a duration: write it like 30s or 2m`,
		`judge.yaml:5: decoding.temprature: unknown field: did you mean temperature?`,
		`judge.yaml:5: decoding.top_p: top_p 2 is outside (0, 1]`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseSpecNotASpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want string
	}{
		{"empty file", "", "run.yaml: the run spec is empty"},
		{"only a comment", "# nothing yet\n", "run.yaml: the run spec is empty"},
		{"a list", "- run: r\n", "run.yaml:1: a run spec is a YAML mapping"},
		{"a scalar", "\n\nhello\n", "run.yaml:3: a run spec is a YAML mapping"},
		{"null document", "---\n", "run.yaml: the run spec is empty"},
		{"tilde", "~\n", "run.yaml: the run spec is empty"},
		{"invalid YAML", "run: r\nvariants: [a, b\nsuites: x\n", "run.yaml:"},
		{"bad indentation", "run: r\n  baseline: b\n", "run.yaml:2: mapping values are not allowed"},
		{"tab indentation", "run: r\n\tbaseline: b\n", "run.yaml:2: found a tab character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := ParseSpec("run.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("ParseSpec = %+v, want an error", spec)
			}
			var es SpecErrors
			if !errors.As(err, &es) {
				t.Errorf("error %T is not SpecErrors", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q does not start with %q", err, tc.want)
			}
		})
	}
}

func TestSpecErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    SpecError
		want string
	}{
		{SpecError{File: "run.yaml", Line: 7, Field: "variants[1].base_url", Msg: "bad"}, "run.yaml:7: variants[1].base_url: bad"},
		{SpecError{File: "run.yaml", Msg: "empty"}, "run.yaml: empty"},
		{SpecError{Line: 3, Msg: "x"}, "3: x"},
		{SpecError{Field: "run", Msg: "is required"}, "run: is required"},
		{SpecError{Msg: "plain"}, "plain"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.e.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSpec(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "specs", "run.yaml")
	writeFile(t, spec, validSpec)
	writeFile(t, filepath.Join(dir, "specs", "data", "business.jsonl"), `{"prompt":"hi"}`+"\n")
	writeFile(t, filepath.Join(dir, "specs", "data", "bench.jsonl"), `{"prompt":"hi"}`+"\n")

	t.Run("relative paths resolve against the spec's directory", func(t *testing.T) {
		t.Chdir(t.TempDir()) // somewhere else entirely
		s, err := LoadSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "specs", "data", "business.jsonl"); s.Suites[0].File != want {
			t.Errorf("suites[0].File = %q, want %q", s.Suites[0].File, want)
		}
		if s.Suites[0].Path != "data/business.jsonl" {
			t.Errorf("suites[0].Path changed to %q", s.Suites[0].Path)
		}
		if s.Source != spec {
			t.Errorf("Source = %q", s.Source)
		}
	})
	t.Run("absolute path", func(t *testing.T) {
		abs := filepath.Join(dir, "specs", "data", "bench.jsonl")
		other := filepath.Join(t.TempDir(), "run.yaml")
		writeFile(t, other, edit(t, edit(t, validSpec, "data/bench.jsonl", abs), "data/business.jsonl", abs))
		s, err := LoadSpec(other)
		if err != nil {
			t.Fatal(err)
		}
		if s.Suites[1].File != abs {
			t.Errorf("suites[1].File = %q, want %q", s.Suites[1].File, abs)
		}
	})
	t.Run("missing dataset", func(t *testing.T) {
		bad := filepath.Join(dir, "specs", "missing.yaml")
		writeFile(t, bad, edit(t, validSpec, "data/bench.jsonl", "data/nope.jsonl"))
		_, err := LoadSpec(bad)
		if err == nil {
			t.Fatal("no error for a missing dataset")
		}
		want := bad + ":21: suites[1].path: "
		if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "nope.jsonl") || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("error %q, want it to start with %q and name the file", err, want)
		}
	})
	t.Run("dataset is a directory", func(t *testing.T) {
		bad := filepath.Join(dir, "specs", "dir.yaml")
		writeFile(t, bad, edit(t, validSpec, "data/bench.jsonl", "data"))
		_, err := LoadSpec(bad)
		if err == nil || !strings.Contains(err.Error(), ":21: suites[1].path: ") || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("missing dataset reported with other problems", func(t *testing.T) {
		bad := filepath.Join(dir, "specs", "both.yaml")
		writeFile(t, bad, edit(t, edit(t, validSpec, "data/bench.jsonl", "data/nope.jsonl"), "baseline: base", "baseline: zz"))
		_, err := LoadSpec(bad)
		var es SpecErrors
		if !errors.As(err, &es) || len(es) != 2 {
			t.Fatalf("error = %v, want two problems", err)
		}
	})
	t.Run("missing spec file", func(t *testing.T) {
		_, err := LoadSpec(filepath.Join(dir, "none.yaml"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error = %v, want os.ErrNotExist", err)
		}
	})
}

func TestFingerprint(t *testing.T) {
	base := mustParse(t, validSpec).Fingerprint()
	if len(base) != 16 {
		t.Fatalf("fingerprint %q is not 16 hex digits", base)
	}
	if again := mustParse(t, validSpec).Fingerprint(); again != base {
		t.Fatalf("fingerprint not stable across parses: %s, %s", base, again)
	}
	for _, tc := range []struct {
		name     string
		old, new string
		same     bool
	}{
		{"a variant added", "decoding:", "  - {name: ft2, base_url: http://x/v1, model: m2}\ndecoding:", true},
		{"a variant's endpoint", "http://vllm-base:8000/v1", "http://elsewhere:8000/v1", true},
		{"the run's name", "run: qwen3-sft-vs-base", "run: other", true},
		{"retry", "decoding:", "retry: {max_attempts: 2}\ndecoding:", true},
		{"default written out", "seed: 7}", "seed: 7, top_p: 1, max_tokens: 1024}", true},
		{"gate", "win_rate_min: 0.5", "win_rate_min: 0.6", true},
		{"temperature", "temperature: 0,", "temperature: 0.7,", false},
		{"seed", "seed: 7", "seed: 8", false},
		{"max_tokens", "seed: 7}", "seed: 7, max_tokens: 2048}", false},
		{"top_k", "seed: 7}", "seed: 7, top_k: 20}", false},
		{"system prompt", "You are a helpful assistant.", "You are terse.", false},
		{"thinking", "thinking: false", "thinking: true", false},
		{"chat template", "thinking: false}", "thinking: false, chat_template: x}", false},
		{"template kwargs", "thinking: false}", "thinking: false, kwargs: {a: 1}}", false},
		// Judges carry their own ids and scores their scoring: adding a
		// judge or re-scoring keeps the generations comparable.
		{"judge prompt", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    prompt: Judge harshly.\n", true},
		{"judge model", "Qwen/Qwen3-32B", "Qwen/Qwen3-235B", true},
		{"metrics", "[json_schema, em, f1]", "[json_schema, em]", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := mustParse(t, edit(t, validSpec, tc.old, tc.new)).Fingerprint()
			if tc.same && fp != base {
				t.Errorf("fingerprint changed: %s -> %s", base, fp)
			}
			if !tc.same && fp == base {
				t.Errorf("fingerprint unchanged: %s", fp)
			}
		})
	}
}

func TestScoring(t *testing.T) {
	base := mustParse(t, validSpec).Scoring()
	if again := mustParse(t, validSpec).Scoring(); again != base {
		t.Fatalf("scoring not stable: %s, %s", base, again)
	}
	for _, tc := range []struct {
		name, old, new string
		same           bool
	}{
		{"decoding", "seed: 7", "seed: 8", true},
		{"a variant added", "decoding:", "  - {name: ft2, base_url: http://x/v1, model: m2}\ndecoding:", true},
		{"a judge's prompt", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    prompt: Judge harshly.\n", true},
		{"metrics", "[json_schema, em, f1]", "[json_schema, em]", false},
		{"a suite added", "judges:", "  - {name: reg, path: r.jsonl, metrics: [em]}\njudges:", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := mustParse(t, edit(t, validSpec, tc.old, tc.new)).Scoring()
			if (sc == base) != tc.same {
				t.Errorf("scoring %s, base %s, want same=%v", sc, base, tc.same)
			}
		})
	}
}

// TestFingerprintSurvivesTheBus checks that a spec read from YAML and the
// same spec carried as JSON on the bus have the same fingerprint: ingest
// stamps samples with one and the report compares with the other.
func TestFingerprintSurvivesTheBus(t *testing.T) {
	for _, tc := range []struct{ name, old, new string }{
		{"valid spec", "", ""},
		{"kwargs", "thinking: false}", "thinking: false, kwargs: {a: 1, b: [x, 2.5], c: {d: true}}}"},
		{"big integer kwarg", "thinking: false}", "thinking: false, kwargs: {n: 9007199254740993}}"},
		{"judge with options", "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n    response_format: false\n    decoding: {temperature: 0.1, seed: 3}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := validSpec
			if tc.old != "" {
				src = edit(t, src, tc.old, tc.new)
			}
			s := mustParse(t, src)
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatalf("the spec does not encode as JSON: %v", err)
			}
			var back RunSpec
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Fingerprint() != s.Fingerprint() {
				t.Errorf("fingerprint %s after JSON, %s before", back.Fingerprint(), s.Fingerprint())
			}
			for i := range s.Judges {
				if back.Judges[i].ID() != s.Judges[i].ID() {
					t.Errorf("judge id %s after JSON, %s before", back.Judges[i].ID(), s.Judges[i].ID())
				}
			}
		})
	}
}

func TestJudgeID(t *testing.T) {
	judge := func(t *testing.T, extra string) Judge {
		t.Helper()
		return mustParse(t, edit(t, validSpec, "    model: Qwen/Qwen3-32B\n", "    model: Qwen/Qwen3-32B\n"+extra)).Judges[0]
	}
	base := judge(t, "").ID()
	if !strings.HasPrefix(base, "judge-v1@") || len(base) != len("judge-v1@")+12 {
		t.Fatalf("ID() = %q, want judge-v1@ and 12 hex digits", base)
	}
	if again := judge(t, "").ID(); again != base {
		t.Fatalf("ID not stable: %s, %s", base, again)
	}
	for _, tc := range []struct {
		name  string
		extra string
		same  bool
	}{
		{"defaults written out", "    mode: pairwise\n    dimensions: [correctness, helpfulness, format]\n    response_format: true\n", true},
		{"concurrency and timeout", "    concurrency: 2\n    timeout: 10s\n", true},
		{"api key env", "    api_key_env: JUDGE_KEY\n", true},
		{"prompt", "    prompt: Be strict.\n", false},
		{"dimensions", "    dimensions: [correctness]\n", false},
		{"dimension order", "    dimensions: [helpfulness, correctness, format]\n", false},
		{"temperature", "    decoding: {temperature: 0.5}\n", false},
		{"max tokens", "    decoding: {max_tokens: 100}\n", false},
		{"response format", "    response_format: false\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := judge(t, tc.extra).ID()
			if tc.same != (id == base) {
				t.Errorf("ID %s vs %s: same = %v, want %v", id, base, id == base, tc.same)
			}
		})
	}
	t.Run("model", func(t *testing.T) {
		j := judge(t, "")
		j.Model = "other"
		if j.ID() == base {
			t.Error("ID unchanged by the model")
		}
	})
	t.Run("name", func(t *testing.T) {
		j := judge(t, "")
		j.Name = "judge-v2"
		if id := j.ID(); !strings.HasPrefix(id, "judge-v2@") || id[len("judge-v2@"):] != base[len("judge-v1@"):] {
			t.Errorf("renamed ID = %s, want the same hash as %s", id, base)
		}
	})
}

// specSeeds are the seed corpus of FuzzParseSpec.
var specSeeds = []string{
	validSpec,
	`run: r
variants: [{name: a, base_url: "http://h/v1", model: m}]
suites: [{name: s, path: s.jsonl, metrics: [em]}]
`,
	`run: r
baseline: a
variants:
  - {name: a, base_url: "http://h/v1", model: m, timeout: 1m30s, stream: true}
  - {name: b, base_url: "https://h/v1", model: n, concurrency: 2}
decoding: {temperature: 0.7, top_p: 0.9, top_k: 20, min_p: 0, stop: ["</s>"], repetition_penalty: 1.1}
template: {thinking: true, chat_template: "{{ messages }}", kwargs: {x: [1, 2], y: {z: null}}}
retry: {max_attempts: 2, initial_backoff: 10ms, max_backoff: 1s}
suites: [{name: s, role: regression, path: s.jsonl, metrics: [em, f1], fields: {prompt: q, reference: a}}]
judges: [{name: j, base_url: "http://j/v1", model: jm, dimensions: [x], decoding: {temperature: 0}}]
gate: {variants: [b], judge: j, win_rate_min: 0.5, json_valid_min: 0.9, error_rate_max: 0.1, metrics: [{suite: s, metric: em, min: 0.5, delta_min: -0.1}]}
`,
	"run: [\n",
	"- a\n- b\n",
	"a: &x {b: *x}\n",
	"run: r\nvariants: []\nsuites: {}\n",
	"run: r\nbaseline: x\ndecoding: {temperature: .nan}\n",
	// Valid but for the NaN, which once passed validation and then broke
	// the spec's JSON on the bus.
	"run: r\nvariants: [{name: a, base_url: \"http://h/v1\", model: m}]\nsuites: [{name: s, path: s.jsonl, metrics: [em]}]\ndecoding: {temperature: .nan}\n",
	"run: r\nvariants: [{name: a, base_url: \"http://h/v1\", model: m}]\nsuites: [{name: s, path: s.jsonl, metrics: [em]}]\ntemplate: {kwargs: {a: {1: 2}}}\n",
	// Problems of every kind at once, for the spec decoder.
	"run: r\nbaseline: b\nvariants:\n  - {name: a, base_url: \"h:1/v1\", modle: m, timeout: 90}\n  - {name: [b], concurrency: x}\nsuites:\n  - {name: s, role: Bench, path: s.jsonl, metircs: [em], metrics: [rougel, [f1]]}\ngate: {win_rate_mn: 1, metrics: [{suite: s, metric: rouge}]}\n",
	"run: r\nrun: again\nvariants: {name: a}\nsuites: [~, {name: s, name: t}]\ncontinuous: [x]\n",
	// Anchors and merges.
	"run: r\nvariants:\n  - &v {name: a, base_url: \"http://h/v1\", model: m, timeout: 1s}\n  - {<<: *v, name: b}\n  - {<<: [{concurrency: 2}, *v], name: c}\nsuites: [{name: s, path: s.jsonl, metrics: &m [em]}, {name: t, path: t.jsonl, metrics: *m}]\n",
	"run: r\nvariants: [{<<: [a], name: a}, {<<: ~}, {<<: *x}]\n",
	"run: r\nvariants: [&v {name: a, modle: m}, {<<: *v}, {<<: *v, <<: *v}]\n",
	"run: r\nvariants:\n  - &v {<<: [{concurrency: 1}, *v], name: c}\nsuites: [{name: s, path: s.json, metrics: [em]}]\n",
	"run: r\ndecoding: !!null {temprature: 1}\nvariants: !!map [a]\n\"\": x\n~: y\n? [k]\n: z\n",
}

// checkLenientDecode checks the spec decoder against yaml.v3 decoding
// data into a T, strict about unknown fields: it finds a problem
// wherever yaml.v3 does, each at a line, and where neither does, both
// decode the same value.
func checkLenientDecode[T any](t *testing.T, data []byte) {
	t.Helper()
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return
	}
	var strict T
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	strictErr := dec.Decode(&strict)
	var lenient T
	d := newSpecDecoder("fuzz.yaml", root.Content[0])
	d.decode(root.Content[0], reflect.ValueOf(&lenient).Elem(), nil)
	for _, e := range d.errs {
		if e.File != "fuzz.yaml" || e.Line < 1 {
			t.Fatalf("problem %q names no file or line", e)
		}
	}
	switch {
	case strictErr != nil && len(d.errs) == 0:
		t.Fatalf("yaml.v3 finds %q, the spec decoder nothing", strictErr)
	case strictErr == nil && len(d.errs) == 0:
		// Compared as YAML: NaN is not DeepEqual to itself.
		want, err1 := yaml.Marshal(strict)
		got, err2 := yaml.Marshal(lenient)
		if err1 != nil || err2 != nil || string(got) != string(want) {
			t.Fatalf("the spec decoder decodes\n%s\nyaml.v3\n%s", got, want)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range specSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLenientDecode[RunSpec](t, data)
		spec, err := ParseSpec("fuzz.yaml", data)
		if err != nil {
			var es SpecErrors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %q is not a non-empty SpecErrors", err, err)
			}
			for _, e := range es {
				if e.File != "fuzz.yaml" {
					t.Fatalf("problem %q does not name the file", e)
				}
			}
			if !slices.IsSortedFunc(es, func(a, b *SpecError) int { return a.Line - b.Line }) {
				t.Fatalf("problems not in line order:\n%v", err)
			}
			return
		}
		if spec == nil {
			t.Fatal("no spec and no error")
		}
		// A spec that parsed passes its own validation ...
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			t.Fatalf("parsed, but not YAML: %v", err)
		}
		c := &checker{file: "fuzz.yaml", doc: root.Content[0]}
		if spec.validate(c); len(c.errs) > 0 {
			t.Fatalf("parsed spec fails validation: %v", c.errs)
		}
		// ... travels on the bus as JSON with its fingerprint intact ...
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatalf("parsed spec does not encode as JSON: %v", err)
		}
		var back RunSpec
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("spec JSON does not decode: %v\n%s", err, b)
		}
		if back.Fingerprint() != spec.Fingerprint() {
			t.Fatalf("fingerprint changed on the bus: %s vs %s\n%s", back.Fingerprint(), spec.Fingerprint(), b)
		}
		// ... and written back as YAML parses to the same spec.
		y, err := yaml.Marshal(spec)
		if err != nil {
			t.Fatalf("parsed spec does not encode as YAML: %v", err)
		}
		again, err := ParseSpec("fuzz.yaml", y)
		if err != nil {
			t.Fatalf("spec written back does not parse: %v\n%s", err, y)
		}
		// Compared as YAML rather than with reflect.DeepEqual: a nil list
		// comes back empty, which means the same.
		if y2, _ := yaml.Marshal(again); string(y2) != string(y) || again.Fingerprint() != spec.Fingerprint() {
			t.Fatalf("spec written back parses differently:\n%s\n%s", y2, y)
		}
	})
}

func TestParseJudge(t *testing.T) {
	j, err := ParseJudge("judge.yaml", []byte("name: judge-v2\nbase_url: http://judge:8000/v1\nmodel: Qwen/Qwen3-32B\nprompt: Judge harshly.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Mode != "pairwise" || j.Concurrency != DefaultConcurrency || len(j.Dimensions) != 3 || j.Decoding.MaxTokens != 512 {
		t.Errorf("defaults not applied: %+v", j)
	}
	for _, tc := range []struct{ src, want string }{
		{"name: bad name\nbase_url: http://x/v1\nmodel: m\n", `judge.yaml:1: name: "bad name" is not a valid name`},
		{"name: j\nbase_url: ftp://x\nmodel: m\n", `judge.yaml:2: base_url: "ftp://x" is not an http(s) URL`},
		{"name: j\nbase_url: http://x/v1\n", "judge.yaml:1: model: is required"},
		{"name: j\nbase_url: http://x/v1\nmodel: m\nmodle: x\n", "judge.yaml:4: modle: unknown field: did you mean mode?"},
		{"name: j\nbase_url: http://x/v1\nmodel: m\nmode: pairwize\n", `judge.yaml:4: mode: mode "pairwize" is not supported: did you mean pairwise?`},
		{"- a\n- b\n", "judge.yaml: a judge is a YAML mapping"},
	} {
		_, err := ParseJudge("judge.yaml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

func FuzzParseJudge(f *testing.F) {
	for _, s := range []string{
		"name: judge-v2\nbase_url: http://judge:8000/v1\nmodel: Qwen/Qwen3-32B\nprompt: Judge harshly.\n",
		"name: j\nbase_url: http://x/v1\nmodel: m\ndimensions: [correctness, style]\ndecoding: {temperature: 0.2, max_tokens: 64}\nresponse_format: false\n",
		"name: j\nbase_url: ftp://x\nmodel: m\n",
		"- a\n- b\n",
		"",
		"name: [\n",
		"name: bad name\nbase_url: ftp://x\nmodle: m\ntimeout: 5\ndecoding: {temprature: 1, top_p: 2}\nmode: pairwize\n",
		"&j {name: j, <<: {model: m}, decoding: {<<: *j}}\n",
		"&j {name: j, <<: [*j]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLenientDecode[Judge](t, data)
		j, err := ParseJudge("judge.yaml", data)
		if err != nil {
			var es SpecErrors
			if !errors.As(err, &es) || len(es) == 0 || es[0].File != "judge.yaml" {
				t.Fatalf("error %T %q is not a SpecErrors naming the file", err, err)
			}
			return
		}
		if !ValidName(j.Name) || j.Model == "" || j.Concurrency < 1 {
			t.Fatalf("accepted an invalid judge: %+v", j)
		}
		// It travels in the run's spec as JSON, keeping its id.
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatalf("judge does not encode: %v", err)
		}
		var back Judge
		if err := json.Unmarshal(b, &back); err != nil || back.ID() != j.ID() {
			t.Fatalf("judge id changed on the bus (%v): %s vs %s", err, back.ID(), j.ID())
		}
	})
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
		{"rate zero", "sample_rate: 0.25", "sample_rate: -1", specErr{8, "continuous.sample_rate", "outside (0, 1]"}},
		{"rate above one", "sample_rate: 0.25", "sample_rate: 1.5", specErr{8, "continuous.sample_rate", "outside (0, 1]"}},
		{"window too short", "window: 30m", "window: 10s", specErr{9, "continuous.window", "shorter than a minute"}},
		{"window too long", "window: 30m", "window: 720h", specErr{9, "continuous.window", "longer than a week"}},
		{"metric needs a reference", "  window: 30m\n", "  window: 30m\n  metrics: [refusal, em]\n", specErr{10, "continuous.metrics[1]", `"em" needs a reference`}},
		{"metric unknown", "  window: 30m\n", "  window: 30m\n  metrics: [refusl]\n", specErr{10, "continuous.metrics[0]", `unknown metric "refusl": did you mean refusal?`}},
		{"source is a suite", "  window: 30m\n", "  window: 30m\nsuites:\n  - {name: search, path: s.jsonl, metrics: [f1]}\n", specErr{7, "continuous.sources[1]", `"search" is also a suite's name`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("run.yaml", []byte(edit(t, continuousSpec, tc.old, tc.new)))
			checkSpecErrors(t, err, tc.want)
		})
	}
}
