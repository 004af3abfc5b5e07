package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
