package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Experiment is a live A/B test: units are split between arms by weight,
// each arm served by a variant of the run, and the arms are compared on
// what the units' events say.
type Experiment struct {
	// Name is the experiment's id in subjects and URLs:
	// assay.ab.<name>.events, /v1/ab/<name>/assign.
	Name string `yaml:"name" json:"name"`
	// Salt seeds the assignment hash (default: the name). Two experiments
	// with different salts split the same users independently.
	Salt string `yaml:"salt" json:"salt,omitempty"`
	// Unit says what a unit is (user, session, account), for people: the
	// unit id is whatever the product sends.
	Unit string `yaml:"unit" json:"unit,omitempty"`
	// Arms are the experiment's arms; the first is the control.
	Arms []Arm `yaml:"arms" json:"arms"`
	// Primary is the metric the treatment must improve to ramp.
	Primary ABMetric `yaml:"primary" json:"primary"`
	// Guardrails are metrics the treatment must not worsen by more than
	// their margins.
	Guardrails []ABMetric `yaml:"guardrails" json:"guardrails,omitempty"`
	// MinUnits is how many units each arm needs before a ramp (at least
	// 1); the always-valid intervals are narrowest at twice it.
	MinUnits int64 `yaml:"min_units" json:"min_units,omitempty"`
	// MaxDuration is how long the experiment may run before it is called
	// inconclusive (0: [MaxExperiment]).
	MaxDuration Duration `yaml:"max_duration" json:"max_duration,omitempty"`
	// Window is the length of the report's windows (default 1h).
	Window Duration `yaml:"window" json:"window,omitempty"`
	// Format are checks every served answer should pass (a suite's format
	// checks: length bounds, patterns, JSON keys, a table, a language);
	// the score stage applies them to the answers the turns carry, for the
	// metric format.
	Format *FormatChecks `yaml:"format" json:"format,omitempty"`
}

// Arm is one arm of an experiment.
type Arm struct {
	Name string `yaml:"name" json:"name"`
	// Variant is the run's variant that serves the arm's units.
	Variant string `yaml:"variant" json:"variant"`
	// Weight is the arm's share of new units, relative to the others'; 0
	// takes no new units and keeps the arm's own.
	Weight float64 `yaml:"weight" json:"weight"`
	// Stopped ends the arm (a rollback): it takes no new units, and its
	// units are served the control from then on (their first arm still
	// counts them in the analysis).
	Stopped bool `yaml:"stopped" json:"stopped,omitempty"`
}

// ABMetric is a metric an experiment reads, and for a guardrail the
// worsening it tolerates.
type ABMetric struct {
	Metric string `yaml:"metric" json:"metric"`
	// Margin is a guardrail's tolerated worsening in the metric's units:
	// 0.01 on a rate is one percentage point.
	Margin float64 `yaml:"margin" json:"margin,omitempty"`
}

// ABMetricInfo describes a metric of live traffic: what its per-unit
// numerator and denominator count, and which way is better.
type ABMetricInfo struct {
	Name string
	// Higher is set when a higher value is better.
	Higher bool
	// Of says what the metric is, for people.
	Of string
}

// ABMetrics are the metrics an experiment can read. Each is a ratio of two
// totals per unit — the unit is what is analysed, however many
// conversations it had.
var ABMetrics = []ABMetricInfo{
	{"success", true, "share of conversations the product marked resolved"},
	{"satisfaction", true, "mean satisfaction rating (1–5) of rated conversations"},
	{"ticket", false, "share of conversations that opened a support ticket"},
	{"turns", false, "mean turns of an ended conversation"},
	{"refusal", false, "share of served answers the refusal detector reads as refusals"},
	{"json_valid", true, "share of served answers that parse as JSON, where JSON was asked for"},
	{"format", true, "share of served answers that pass the experiment's format checks"},
	{"length", false, "mean length of a served answer in characters, as the score stage counts them"},
	{"tokens", false, "mean completion tokens of a served answer"},
	{"latency_ms", false, "mean latency of a served answer, in milliseconds"},
	{"ttft_ms", false, "mean time to first token of a served answer, in milliseconds"},
}

// ABMetricOf returns what a metric of live traffic is, and whether it is
// known.
func ABMetricOf(metric string) (ABMetricInfo, bool) {
	for _, m := range ABMetrics {
		if m.Name == metric {
			return m, true
		}
	}
	return ABMetricInfo{}, false
}

func abMetricNames() string {
	names := make([]string, len(ABMetrics))
	for i, m := range ABMetrics {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

// DefaultABWindow is an experiment's window when it names none.
const DefaultABWindow = time.Hour

// WindowOf is the experiment's window length.
func (e Experiment) WindowOf() time.Duration {
	if e.Window > 0 {
		return e.Window.D()
	}
	return DefaultABWindow
}

// SaltOf is the experiment's assignment salt.
func (e Experiment) SaltOf() string {
	if e.Salt != "" {
		return e.Salt
	}
	return e.Name
}

// Arm returns the arm named name.
func (e Experiment) Arm(name string) (Arm, bool) {
	for _, a := range e.Arms {
		if a.Name == name {
			return a, true
		}
	}
	return Arm{}, false
}

// ExperimentNameRE is what an experiment's and an arm's names may be: they
// are subject tokens and URL path segments.
var ExperimentNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// abProblem is one thing wrong with an experiment: the field under the
// experiment (a path as the spec checker takes it) and what is wrong.
type abProblem struct {
	path []any
	msg  string
}

// Validate checks e on its own; variants is the run's variant names (nil
// skips that check). Every problem is reported, each naming the field.
func (e Experiment) Validate(variants []string) error {
	var errs []error
	for _, p := range e.problems(variants) {
		errs = append(errs, fmt.Errorf("ab experiment %q: %s: %s", e.Name, fieldName(p.path...), p.msg))
	}
	return errors.Join(errs...)
}

// problems lists what is wrong with e.
func (e Experiment) problems(variants []string) []abProblem {
	var out []abProblem
	add := func(msg string, path ...any) { out = append(out, abProblem{path, msg}) }
	if !ExperimentNameRE.MatchString(e.Name) {
		add(fmt.Sprintf("%q must be 1–64 lower-case letters, digits, - or _, starting with a letter or digit (it is part of subjects and URLs)", e.Name), "name")
	} else if err := CheckSourceName(ABTokenSource(e.Name)); err != nil {
		add(fmt.Sprintf("%q cannot name the intake source its tokens are given under (%s): %v", e.Name, ABTokenSource(e.Name), err), "name")
	}
	if len(e.Arms) < 2 {
		add(fmt.Sprintf("needs at least 2 arms (the first is the control), has %d", len(e.Arms)), "arms")
	}
	seen := map[string]bool{}
	positive := 0
	for i, a := range e.Arms {
		switch {
		case !ExperimentNameRE.MatchString(a.Name):
			add(fmt.Sprintf("%q must be 1–64 lower-case letters, digits, - or _", a.Name), "arms", i, "name")
		case seen[a.Name]:
			add(fmt.Sprintf("%q is used by another arm", a.Name), "arms", i, "name")
		}
		seen[a.Name] = true
		if a.Variant == "" {
			add("is missing: name the run's variant that serves this arm", "arms", i, "variant")
		} else if variants != nil && !slices.Contains(variants, a.Variant) {
			add(fmt.Sprintf("%q is not one of the run's variants (%s)", a.Variant, strings.Join(variants, ", ")), "arms", i, "variant")
		}
		switch {
		case math.IsNaN(a.Weight) || math.IsInf(a.Weight, 0) || a.Weight < 0:
			add(fmt.Sprintf("%v must be a number ≥ 0", a.Weight), "arms", i, "weight")
		case a.Weight > 0 && !a.Stopped:
			positive++
		}
	}
	if len(e.Arms) >= 2 && positive < 2 {
		add("at least 2 arms that are not stopped need a weight above 0, or nothing is compared", "arms")
	}
	if len(e.Arms) > 0 && (e.Arms[0].Stopped || !(e.Arms[0].Weight > 0)) {
		add("the first arm is the control, which every arm is compared with: it needs a weight above 0 and cannot be stopped", "arms", 0)
	}
	if _, ok := ABMetricOf(e.Primary.Metric); !ok {
		add(fmt.Sprintf("%q is not one of %s", e.Primary.Metric, abMetricNames()), "primary", "metric")
	}
	if e.Primary.Margin != 0 {
		add("a margin applies to guardrails only; the primary metric must improve", "primary", "margin")
	}
	guarded := map[string]bool{}
	for i, g := range e.Guardrails {
		if guarded[g.Metric] {
			add(fmt.Sprintf("%s is guarded twice", g.Metric), "guardrails", i, "metric")
		}
		guarded[g.Metric] = true
		if _, ok := ABMetricOf(g.Metric); !ok {
			add(fmt.Sprintf("%q is not one of %s", g.Metric, abMetricNames()), "guardrails", i, "metric")
		}
		if g.Metric == e.Primary.Metric {
			add(fmt.Sprintf("%s is the primary metric", g.Metric), "guardrails", i, "metric")
		}
		if !(g.Margin > 0) || math.IsInf(g.Margin, 0) {
			add(fmt.Sprintf("%v must be a number above 0, the worsening tolerated in the metric's units (0 would ask the treatment to be shown better on it)", g.Margin), "guardrails", i, "margin")
		}
	}
	if e.MinUnits < 1 {
		add(fmt.Sprintf("%d must be at least 1: the units each arm needs before a ramp", e.MinUnits), "min_units")
	}
	if e.Format != nil {
		e.Format.problems(func(msg string, path ...any) { add(msg, append([]any{"format"}, path...)...) })
	} else if e.Primary.Metric == "format" || guarded["format"] {
		add("the metric format needs a format: section saying what every served answer should pass (max_chars, must_match, language, …)", "format")
	}
	switch w := e.Window.D(); {
	case w < 0:
		add("cannot be negative", "window")
	case w > 0 && w < time.Minute:
		add(fmt.Sprintf("%v is shorter than a minute: a look a window, each with its decisions published", w), "window")
	case w > MaxWindow:
		add(fmt.Sprintf("%v is longer than a week", w), "window")
	}
	switch {
	case e.MaxDuration < 0:
		add("cannot be negative", "max_duration")
	case e.MaxDuration.D() > MaxExperiment:
		add(fmt.Sprintf("%v is longer than %v, how long a unit's assignment is kept", e.MaxDuration.D(), MaxExperiment), "max_duration")
	}
	return out
}

// ABTokenSource is the intake source whose tokens admit an experiment's
// requests; intake sources may not start with its prefix.
func ABTokenSource(experiment string) string { return ABSourcePrefix + experiment }

// ABSourcePrefix starts the sources of live experiments' tokens.
const ABSourcePrefix = "ab-"

// MaxExperiment is the longest an experiment may run: how long the bus
// keeps a unit's assignment.
const MaxExperiment = 90 * 24 * time.Hour

// Pick is the arm whose share of [0, 1) holds u, the arms laid out in
// order, each as wide as its share of the weights. Arms of weight 0 get
// no new units.
func (e Experiment) Pick(u float64) Arm {
	var total float64
	for _, a := range e.Arms {
		if a.live() {
			total += a.Weight
		}
	}
	var edge float64
	last := -1
	for i, a := range e.Arms {
		if !a.live() {
			continue
		}
		edge += a.Weight / total
		last = i
		if u < edge {
			return a
		}
	}
	if last < 0 {
		return Arm{}
	}
	return e.Arms[last] // u within rounding of 1
}

// live reports whether a takes new units.
func (a Arm) live() bool { return a.Weight > 0 && !a.Stopped && !math.IsInf(a.Weight, 0) }

// Epoch names the experiment's salt, arms, variants and weights as they
// are: a unit's
// exposure records the epoch it was assigned in, so that the sample-ratio
// check compares each epoch's new units with that epoch's weights.
func (e Experiment) Epoch() string {
	h := sha256.New()
	h.Write([]byte(e.SaltOf()))
	h.Write([]byte{0})
	for _, a := range e.Arms {
		w := a.Weight
		if !a.live() {
			w = 0
		}
		for _, f := range []string{a.Name, a.Variant, strconv.FormatFloat(w, 'g', -1, 64)} {
			h.Write([]byte(f))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}
