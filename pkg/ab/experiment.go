// Package ab is the live half of assay's third layer: an A/B test of a
// run's variants on real users. It declares experiments, assigns units
// (users, sessions) to arms by a salted hash that a product can call
// in-process or through assay's endpoints, and reads the events a
// product sends about what its users experienced: exposures, served
// turns and outcomes. The statistics are the report stage's.
package ab

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
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
	Primary Metric `yaml:"primary" json:"primary"`
	// Guardrails are metrics the treatment must not worsen by more than
	// their margins.
	Guardrails []Metric `yaml:"guardrails" json:"guardrails,omitempty"`
	// MinUnits is how many units each arm needs before a ramp (at least
	// 1); the always-valid intervals are narrowest at twice it.
	MinUnits int64 `yaml:"min_units" json:"min_units,omitempty"`
	// MaxDuration is how long the experiment may run before it is called
	// inconclusive (0: no limit).
	MaxDuration eval.Duration `yaml:"max_duration" json:"max_duration,omitempty"`
	// Window is the length of the report's windows (default 1h).
	Window eval.Duration `yaml:"window" json:"window,omitempty"`
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

// Metric is a metric an experiment reads, and for a guardrail the
// worsening it tolerates.
type Metric struct {
	Metric string `yaml:"metric" json:"metric"`
	// Margin is a guardrail's tolerated worsening in the metric's units:
	// 0.01 on a rate is one percentage point.
	Margin float64 `yaml:"margin" json:"margin,omitempty"`
}

// MetricInfo describes a metric of live traffic: what its per-unit
// numerator and denominator count, and which way is better.
type MetricInfo struct {
	Name string
	// Higher is set when a higher value is better.
	Higher bool
	// Of says what the metric is, for people.
	Of string
}

// Metrics are the metrics an experiment can read. Each is a ratio of two
// totals per unit — the unit is what is analysed, however many
// conversations it had.
var Metrics = []MetricInfo{
	{"success", true, "share of conversations the product marked resolved"},
	{"satisfaction", true, "mean satisfaction rating (1–5) of rated conversations"},
	{"ticket", false, "share of conversations that opened a support ticket"},
	{"turns", false, "mean turns of an ended conversation"},
	{"refusal", false, "share of served answers the refusal detector reads as refusals"},
	{"json_valid", true, "share of served answers that parse as JSON, where JSON was asked for"},
	{"tokens", false, "mean completion tokens of a served answer"},
	{"latency_ms", false, "mean latency of a served answer, in milliseconds"},
	{"ttft_ms", false, "mean time to first token of a served answer, in milliseconds"},
}

// Info returns what a metric is, and whether it is known.
func Info(metric string) (MetricInfo, bool) {
	for _, m := range Metrics {
		if m.Name == metric {
			return m, true
		}
	}
	return MetricInfo{}, false
}

func metricNames() string {
	names := make([]string, len(Metrics))
	for i, m := range Metrics {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

// DefaultWindow is an experiment's window when it names none.
const DefaultWindow = time.Hour

// WindowOf is the experiment's window length.
func (e Experiment) WindowOf() time.Duration {
	if e.Window > 0 {
		return e.Window.D()
	}
	return DefaultWindow
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

// NameRE is what an experiment's and an arm's names may be: they are
// subject tokens and URL path segments.
var NameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks e on its own; variants is the run's variant names (nil
// skips that check). Every problem is reported, each naming the field.
func (e Experiment) Validate(variants []string) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	where := fmt.Sprintf("ab experiment %q", e.Name)
	if !NameRE.MatchString(e.Name) {
		add("%s: name must be 1–64 lower-case letters, digits, - or _, starting with a letter or digit (it is part of subjects and URLs)", where)
	}
	if len(e.Arms) < 2 {
		add("%s: needs at least 2 arms (the first is the control), has %d", where, len(e.Arms))
	}
	seen := map[string]bool{}
	positive := 0
	for i, a := range e.Arms {
		at := fmt.Sprintf("%s: arms[%d]", where, i)
		switch {
		case !NameRE.MatchString(a.Name):
			add("%s: name %q must be 1–64 lower-case letters, digits, - or _", at, a.Name)
		case seen[a.Name]:
			add("%s: name %q is used by another arm", at, a.Name)
		}
		seen[a.Name] = true
		if a.Variant == "" {
			add("%s: variant is missing: name the run's variant that serves this arm", at)
		} else if variants != nil && !contains(variants, a.Variant) {
			add("%s: variant %q is not one of the run's variants (%s)", at, a.Variant, strings.Join(variants, ", "))
		}
		switch {
		case math.IsNaN(a.Weight) || math.IsInf(a.Weight, 0) || a.Weight < 0:
			add("%s: weight %v must be a number ≥ 0", at, a.Weight)
		case a.Weight > 0 && !a.Stopped:
			positive++
		}
	}
	if len(e.Arms) >= 2 && positive < 2 {
		add("%s: at least 2 arms that are not stopped need a weight above 0, or nothing is compared", where)
	}
	if len(e.Arms) > 0 && (e.Arms[0].Stopped || !(e.Arms[0].Weight > 0)) {
		add("%s: arms[0] is the control, which every arm is compared with: it needs a weight above 0 and cannot be stopped", where)
	}
	if _, ok := Info(e.Primary.Metric); !ok {
		add("%s: primary metric %q is not one of %s", where, e.Primary.Metric, metricNames())
	}
	guarded := map[string]bool{}
	for i, g := range e.Guardrails {
		if guarded[g.Metric] {
			add("%s: guardrails[%d]: %s is guarded twice", where, i, g.Metric)
		}
		guarded[g.Metric] = true
		if _, ok := Info(g.Metric); !ok {
			add("%s: guardrails[%d]: metric %q is not one of %s", where, i, g.Metric, metricNames())
		}
		if !(g.Margin > 0) || math.IsInf(g.Margin, 0) {
			add("%s: guardrails[%d]: margin %v must be a number above 0, the worsening tolerated in the metric's units (0 would ask the treatment to be shown better on it)", where, i, g.Margin)
		}
		if g.Metric == e.Primary.Metric {
			add("%s: guardrails[%d]: %s is the primary metric", where, i, g.Metric)
		}
	}
	if e.Primary.Margin != 0 {
		add("%s: primary: a margin applies to guardrails only; the primary metric must improve", where)
	}
	if e.MinUnits < 1 {
		add("%s: min_units %d must be at least 1: the units each arm needs before a ramp", where, e.MinUnits)
	}
	if e.Window < 0 || e.MaxDuration < 0 {
		add("%s: window and max_duration cannot be negative", where)
	}
	return errors.Join(errs...)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
