package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

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
		spec + `:4: variants[0].base_url: "vllm-base:8000/v1" is not an http(s) URL with a host: write it like http://localhost:8000/v1`,
		spec + `:6: variants[0].timeout: "90" is not a duration: write it like 30s or 2m`,
		spec + `:9: variants[1].modle: unknown field: did you mean model?`,
		spec + `:12: suites[0].path: ` + filepath.Join(dir, "data", "qa.jsonl") + `: no such file: paths are relative to the spec's directory`,
		spec + `:13: suites[0].metrics[1]: unknown metric "rougel": did you mean rougeL?`,
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseJudge(t *testing.T) {
	j, err := ParseJudge("judge.yaml", []byte("name: judge-v2\nbase_url: http://judge:8000/v1\nmodel: Qwen/Qwen3-32B\nprompt: Judge harshly.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Mode != "pairwise" || j.Concurrency != DefaultConcurrency || !slices.Equal(j.Dimensions, DefaultDimensions) || j.Decoding.MaxTokens != 512 {
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

func TestParseJudgeOnePass(t *testing.T) {
	_, err := ParseJudge("judge.yaml", []byte("name: bad name\nbase_url: ftp://x\nmodle: m\ntimeout: 5\ndecoding: {temprature: 1, top_p: 2}\n"))
	want := []string{
		`judge.yaml:1: name: "bad name" is not a valid name: use 1-64 letters, digits, '-' or '_'`,
		`judge.yaml:2: base_url: "ftp://x" is not an http(s) URL with a host: write it like http://localhost:8000/v1`,
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

// specSeeds are the seed corpus of FuzzParseSpec.
var specSeeds = []string{
	validSpec,
	`run: r
baseline: a
variants: [{name: a, base_url: "http://h/v1", model: m}, {name: b, base_url: "http://h/v1", model: n}, {name: c, base_url: "http://h/v1", model: o}]
suites: [{name: s, path: s.jsonl, metrics: [fabrication, abstain, safety], perturbations: [long_context, instruction_conflict], long_context: {tokens: 300, position: after}}]
compare: [[b, c]]
gate: {metrics: [{suite: s, metric: fabrication, delta_max: 0, max: 0.2}]}
`,
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
	`run: r
variants: [{name: a, base_url: "http://h/v1", model: m}]
suites: [{name: s, path: s.jsonl, metrics: [semantic_sim, em]}]
embeddings: {base_url: "http://e:8000", model: bge, api_key_secret: emb, concurrency: 2, timeout: 30s, dimensions: 256, token_embeddings: true}
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
