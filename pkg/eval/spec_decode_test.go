package eval

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

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
