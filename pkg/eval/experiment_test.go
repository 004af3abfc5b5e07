package eval

import (
	"strings"
	"testing"
)

const abSpec = `run: prod-ab
baseline: base
variants:
  - {name: base, base_url: http://127.0.0.1:8090/v1, model: sim-base}
  - {name: ft, base_url: http://127.0.0.1:8090/v1, model: sim-ft}
continuous:
  sources: [support]
  sample_rate: 0.05
ab:
  - name: support-ft
    salt: dec-2026
    unit: user
    arms:
      - {name: control, variant: base, weight: 80}
      - {name: treatment, variant: ft, weight: 20}
    primary: {metric: success}
    guardrails:
      - {metric: ticket, margin: 0.01}
      - {metric: latency_ms, margin: 250}
    min_units: 500
    max_duration: 336h
    window: 1h
`

func TestSpecDeclaresExperiments(t *testing.T) {
	s, err := ParseSpec("ab.yaml", []byte(abSpec))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.AB) != 1 {
		t.Fatalf("experiments: %+v", s.AB)
	}
	e := s.AB[0]
	if e.Name != "support-ft" || e.SaltOf() != "dec-2026" || len(e.Arms) != 2 || e.Arms[1].Weight != 20 || e.Guardrails[1].Margin != 250 ||
		e.MinUnits != 500 || e.MaxDuration.D().Hours() != 336 || e.WindowOf().Hours() != 1 {
		t.Errorf("experiment read as %+v", e)
	}
	for _, c := range []struct{ from, to, want string }{
		{"variant: ft, weight: 20", "variant: fx, weight: 20", `ab.yaml:15: ab[0].arms[1].variant: "fx" is not one of the run's variants (base, ft)`},
		{"{metric: ticket, margin: 0.01}", "{metric: ticket, margin: 0}", "ab.yaml:18: ab[0].guardrails[0].margin: 0 must be a number above 0"},
		{"    min_units: 500\n", "", "ab[0].min_units: 0 must be at least 1"},
		{"continuous:\n  sources: [support]\n  sample_rate: 0.05\n", "suites:\n  - {name: s, path: s.jsonl, metrics: [em]}\n", "ab[0]: a live experiment needs a continuous section"},
		{"primary: {metric: success}", "primary: {metric: happiness}", `ab[0].primary.metric: "happiness" is not one of success, satisfaction`},
		{"max_duration: 336h", "max_duration: 2400h", "ab[0].max_duration: 2400h0m0s is longer than 2160h0m0s"},
		{"  - name: support-ft\n", "  - name: Support FT\n", `ab[0].name: "Support FT" must be 1–64 lower-case letters`},
		{"  - name: support-ft\n", "  - name: launch-2026-12-07\n", `ab[0].name: "launch-2026-12-07" cannot name the intake source its tokens are given under (ab-launch-2026-12-07)`},
		{"sources: [support]", "sources: [ab-support]", `continuous.sources[0]: "ab-support": sources starting with "ab-" are live experiments' tokens`},
		{"{metric: latency_ms, margin: 250}", "{metric: format, margin: 0.02}", "ab[0].format: the metric format needs a format: section"},
		{"    window: 1h\n", "    window: 1h\n    format: {max_chars: 10, min_chars: 20, must_match: ['(']}\n", "ab[0].format.min_chars: min_chars 20 is above max_chars 10"},
		{"    window: 1h\n", "    window: 1h\n    format: {must_match: ['(']}\n", "ab[0].format.must_match[0]: is not a regular expression"},
	} {
		if !strings.Contains(abSpec, c.from) {
			t.Fatalf("%q is not in the spec", c.from)
		}
		_, err := ParseSpec("ab.yaml", []byte(strings.Replace(abSpec, c.from, c.to, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
	withFormat := strings.Replace(abSpec, "    window: 1h\n", "    window: 1h\n    format: {max_chars: 400, language: en}\n", 1)
	if s, err := ParseSpec("ab.yaml", []byte(strings.Replace(withFormat, "{metric: latency_ms, margin: 250}", "{metric: format, margin: 0.02}", 1))); err != nil ||
		s.AB[0].Format == nil || s.AB[0].Format.MaxChars != 400 || s.AB[0].Guardrails[1].Metric != "format" {
		t.Errorf("format checks and a format guardrail: %v", err)
	}
	twice := abSpec + strings.Replace(abSpec[strings.Index(abSpec, "  - name: support-ft"):], "salt: dec-2026", "salt: other", 1)
	if _, err := ParseSpec("ab.yaml", []byte(twice)); err == nil || !strings.Contains(err.Error(), `experiment "support-ft" is listed twice`) {
		t.Errorf("an experiment listed twice: %v", err)
	}
}
