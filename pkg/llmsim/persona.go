package llmsim

import (
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Persona is a simulated model's habits. Rates are probabilities in [0, 1],
// decided per prompt by hashing, never by a random source.
type Persona struct {
	Name string `yaml:"name" json:"name"`
	// Accuracy is the chance of a correct answer to an item with a known
	// answer; TagAccuracy overrides it for items carrying a tag.
	Accuracy    float64            `yaml:"accuracy" json:"accuracy"`
	TagAccuracy map[string]float64 `yaml:"tag_accuracy" json:"tag_accuracy,omitempty"`
	// Refusal is the chance of refusing a benign prompt (over-refusal).
	Refusal float64 `yaml:"refusal" json:"refusal"`
	// SafetyRefusal is the chance of refusing a prompt that should be
	// refused.
	SafetyRefusal float64 `yaml:"safety_refusal" json:"safety_refusal"`
	// JSONBreak is the chance of emitting broken JSON on a JSON task.
	JSONBreak float64 `yaml:"json_break" json:"json_break"`
	// Verbosity is the chance of padding the answer with a preamble.
	Verbosity float64 `yaml:"verbosity" json:"verbosity"`
	// Fabrication is the chance of answering a question that should be
	// declined (unanswerable, or a false premise: should_abstain) with a
	// confident made-up answer; otherwise the persona says it found no
	// record of it.
	Fabrication float64 `yaml:"fabrication" json:"fabrication,omitempty"`
	// OffTopic is the chance of answering about something else than the
	// question (a benign prompt's): the simulated judge recognises such an
	// answer and says so.
	OffTopic float64 `yaml:"off_topic" json:"off_topic,omitempty"`
	// Truncate is the chance of being cut off (finish_reason "length").
	Truncate float64 `yaml:"truncate" json:"truncate"`
	// Think wraps answers in a <think>…</think> trace.
	Think bool `yaml:"think" json:"think"`
	// Flaky is the share of prompts whose first call fails with a 503 or a
	// 429 carrying Retry-After; the retry succeeds.
	Flaky float64 `yaml:"flaky" json:"flaky"`
	// Down is the share of prompts that always fail with a 500.
	Down float64 `yaml:"down" json:"down"`
	// Template is the chance of wrapping an answer (not a refusal) in a
	// fixed opening and closing ("As a helpful assistant, I can tell you:
	// … I hope this helps!"): a fine-tune that learnt a template.
	Template float64 `yaml:"template" json:"template,omitempty"`
	// Like makes the persona answer exactly as the persona it names,
	// except on the share Differ of prompts (drawn by hashing, so a test
	// knows which), where it answers with its own habits: a merged model
	// and the same adapter mounted at run time, or int4 and fp16 weights
	// that part on a few prompts. Transient and permanent failures
	// (Flaky, Down) and Latency stay the persona's own.
	Like   string  `yaml:"like" json:"like,omitempty"`
	Differ float64 `yaml:"differ" json:"differ,omitempty"`
	// DifferOn are prompts (a conversation's last user message, trimmed:
	// [PromptKey]) on which a persona like another answers with its own
	// habits whatever Differ draws: a set a test names.
	DifferOn []string `yaml:"differ_on" json:"differ_on,omitempty"`
	// Latency is added before every answer.
	Latency Duration `yaml:"latency" json:"latency"`

	// Judge makes the persona a pairwise judge.
	Judge bool `yaml:"judge" json:"judge"`
	// PositionBias is the chance that the judge picks the answer shown first
	// whatever its quality.
	PositionBias float64 `yaml:"position_bias" json:"position_bias"`
	// TagFallback is the chance that the judge answers in MT-Bench free text
	// ([[A]]) instead of the JSON contract.
	TagFallback float64 `yaml:"tag_fallback" json:"tag_fallback"`
	// Garbage is the chance that the judge's answer has no verdict at all.
	Garbage float64 `yaml:"garbage" json:"garbage"`
	// Flip is the chance, drawn afresh at every call, that the judge's
	// verdict is the other answer (a tie becomes A): the noise that
	// asking the same question again measures. A verdict in one order
	// is then the same on two calls with chance 1 - 2·Flip·(1-Flip).
	Flip float64 `yaml:"flip" json:"flip"`
}

// Duration reads "200ms" in YAML.
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (like 200ms)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// DefaultPersonas are served when no persona file is given: a base model, a
// fine-tune that is better at extraction but refuses more, a quantised
// base, and a judge.
func DefaultPersonas() []Persona {
	return []Persona{
		{Name: "sim-base", Accuracy: 0.62, Refusal: 0.03, SafetyRefusal: 0.7, JSONBreak: 0.15, Verbosity: 0.2, Truncate: 0.02, Flaky: 0.05},
		{Name: "sim-ft", Accuracy: 0.66, TagAccuracy: map[string]float64{"extraction": 0.92, "math": 0.7},
			Refusal: 0.14, SafetyRefusal: 0.95, JSONBreak: 0.03, Verbosity: 0.05, Truncate: 0.01, Think: true, Flaky: 0.05},
		{Name: "sim-int4", Accuracy: 0.55, Refusal: 0.04, SafetyRefusal: 0.65, JSONBreak: 0.2, Verbosity: 0.2, Truncate: 0.05},
		{Name: "sim-judge", Judge: true, PositionBias: 0.15, TagFallback: 0.2},
	}
}

// LoadPersonas reads a YAML list of personas.
func LoadPersonas(file string) ([]Persona, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading personas: %w", err)
	}
	var ps []Persona
	if err := yaml.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	names := map[string]Persona{}
	for i, p := range ps {
		if p.Name == "" {
			return nil, fmt.Errorf("%s: persona %d: name is required", file, i+1)
		}
		names[p.Name] = p
	}
	for _, p := range ps {
		if p.Like == "" {
			if len(p.DifferOn) > 0 {
				return nil, fmt.Errorf("%s: persona %s: differ_on names prompts to differ on from no persona: add like", file, p.Name)
			}
			continue
		}
		like, ok := names[p.Like]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: persona %s: like %q names no persona of the file", file, p.Name, p.Like)
		case like.Like != "":
			return nil, fmt.Errorf("%s: persona %s: like %q is itself like another: name that one", file, p.Name, p.Like)
		}
	}
	return ps, nil
}
