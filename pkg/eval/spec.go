package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MetricsVersion versions the semantics of the automatic metrics. It is part
// of the run fingerprint: bump it when a metric's definition changes so that
// old and new scores are never compared silently.
const MetricsVersion = "1"

// Duration is a time.Duration written as "1m30s" in YAML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes d like time.Duration.String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "90s", "1m30s" and the like.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration: write it like 30s or 2m", b)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", b)
	}
	*d = Duration(v)
	return nil
}

// RunSpec is a run: what is evaluated, on what, how, and what passes.
type RunSpec struct {
	Run      string    `yaml:"run" json:"run"`
	Baseline string    `yaml:"baseline" json:"baseline"`
	Variants []Variant `yaml:"variants" json:"variants"`
	Decoding Decoding  `yaml:"decoding" json:"decoding"`
	Template Template  `yaml:"template" json:"template"`
	Retry    Retry     `yaml:"retry" json:"retry"`
	Suites   []Suite   `yaml:"suites" json:"suites"`
	Judges   []Judge   `yaml:"judges" json:"judges"`
	Gate     Gate      `yaml:"gate" json:"gate"`
	// Source is the file the spec was read from, for messages only.
	Source string `yaml:"-" json:"source,omitempty"`
}

// Variant is one model under evaluation behind an OpenAI-compatible endpoint.
type Variant struct {
	Name    string `yaml:"name" json:"name"`
	BaseURL string `yaml:"base_url" json:"base_url"`
	Model   string `yaml:"model" json:"model"`
	// APIKeyEnv names the environment variable holding the API key; the key
	// itself never enters the spec or the bus.
	APIKeyEnv string `yaml:"api_key_env" json:"api_key_env,omitempty"`
	// Concurrency bounds the requests in flight to this endpoint.
	Concurrency int      `yaml:"concurrency" json:"concurrency"`
	Timeout     Duration `yaml:"timeout" json:"timeout"`
	// Stream asks for a streamed answer so that time-to-first-token is
	// measured; nil means true.
	Stream *bool `yaml:"stream" json:"stream,omitempty"`
}

// Streaming reports whether requests to v are streamed.
func (v Variant) Streaming() bool { return v.Stream == nil || *v.Stream }

// Decoding is the one decoding configuration every variant is called with.
type Decoding struct {
	Temperature       float64  `yaml:"temperature" json:"temperature"`
	TopP              float64  `yaml:"top_p" json:"top_p"`
	MaxTokens         int      `yaml:"max_tokens" json:"max_tokens"`
	Seed              *int     `yaml:"seed" json:"seed,omitempty"`
	Stop              []string `yaml:"stop" json:"stop,omitempty"`
	TopK              *int     `yaml:"top_k" json:"top_k,omitempty"`
	MinP              *float64 `yaml:"min_p" json:"min_p,omitempty"`
	RepetitionPenalty *float64 `yaml:"repetition_penalty" json:"repetition_penalty,omitempty"`
	PresencePenalty   *float64 `yaml:"presence_penalty" json:"presence_penalty,omitempty"`
	FrequencyPenalty  *float64 `yaml:"frequency_penalty" json:"frequency_penalty,omitempty"`
}

// Template pins the prompt side: the system prompt and the chat template
// arguments sent to every variant.
type Template struct {
	System string `yaml:"system" json:"system,omitempty"`
	// Thinking sets chat_template_kwargs.enable_thinking (Qwen3 and kin).
	// nil sends nothing.
	Thinking *bool `yaml:"thinking" json:"thinking,omitempty"`
	// ChatTemplate, when set, is sent as the request's chat_template so that
	// every server renders prompts with the same Jinja template.
	ChatTemplate string `yaml:"chat_template" json:"chat_template,omitempty"`
	// Kwargs are further chat_template_kwargs.
	Kwargs map[string]any `yaml:"kwargs" json:"kwargs,omitempty"`
}

// Retry bounds how long a failing endpoint is retried before the sample is
// recorded as an error.
type Retry struct {
	MaxAttempts    int      `yaml:"max_attempts" json:"max_attempts"`
	InitialBackoff Duration `yaml:"initial_backoff" json:"initial_backoff"`
	MaxBackoff     Duration `yaml:"max_backoff" json:"max_backoff"`
}

// Suite is one data set of the run.
type Suite struct {
	Name string `yaml:"name" json:"name"`
	Role Role   `yaml:"role" json:"role"`
	// Path is the dataset file, relative to the spec file.
	Path string `yaml:"path" json:"path"`
	// File is Path resolved against the spec file's directory by
	// [LoadSpec]; it is local to the client and never travels.
	File string `yaml:"-" json:"-"`
	// Object names the dataset in the assay_datasets object store once a
	// client has uploaded it; ingest reads it from there.
	Object  string   `yaml:"-" json:"object,omitempty"`
	Metrics []string `yaml:"metrics" json:"metrics"`
	Fields  Fields   `yaml:"fields" json:"fields"`
}

// Fields maps dataset fields to sample fields with gjson paths.
type Fields struct {
	ID           string `yaml:"id" json:"id,omitempty"`
	Prompt       string `yaml:"prompt" json:"prompt,omitempty"`
	Messages     string `yaml:"messages" json:"messages,omitempty"`
	System       string `yaml:"system" json:"system,omitempty"`
	Reference    string `yaml:"reference" json:"reference,omitempty"`
	Choices      string `yaml:"choices" json:"choices,omitempty"`
	Label        string `yaml:"label" json:"label,omitempty"`
	Schema       string `yaml:"schema" json:"schema,omitempty"`
	Tags         string `yaml:"tags" json:"tags,omitempty"`
	ShouldRefuse string `yaml:"should_refuse" json:"should_refuse,omitempty"`
}

// Judge is an LLM judge. Its id (see [Judge.ID]) changes whenever its model,
// prompt or parameters do, so that verdicts of different judges are never
// mixed.
type Judge struct {
	Name        string   `yaml:"name" json:"name"`
	BaseURL     string   `yaml:"base_url" json:"base_url"`
	Model       string   `yaml:"model" json:"model"`
	APIKeyEnv   string   `yaml:"api_key_env" json:"api_key_env,omitempty"`
	Mode        string   `yaml:"mode" json:"mode"`
	Concurrency int      `yaml:"concurrency" json:"concurrency"`
	Timeout     Duration `yaml:"timeout" json:"timeout"`
	// Prompt replaces the built-in pairwise prompt; see the README for the
	// placeholders it may use.
	Prompt     string   `yaml:"prompt" json:"prompt,omitempty"`
	Dimensions []string `yaml:"dimensions" json:"dimensions"`
	Decoding   Decoding `yaml:"decoding" json:"decoding"`
	// ResponseFormat sends the verdict's JSON schema as response_format;
	// nil means true.
	ResponseFormat *bool `yaml:"response_format" json:"response_format,omitempty"`
}

// ID versions the judge: a short hash of everything that shapes its verdicts.
func (j Judge) ID() string {
	b, _ := json.Marshal(struct {
		Model, Mode, Prompt string
		Dimensions          []string
		Decoding            Decoding
		ResponseFormat      bool
	}{j.Model, j.Mode, j.Prompt, j.Dimensions, j.Decoding, j.WantsResponseFormat()})
	sum := sha256.Sum256(b)
	return j.Name + "@" + hex.EncodeToString(sum[:])[:12]
}

// WantsResponseFormat reports whether the judge requests are sent with the
// verdict schema as response_format.
func (j Judge) WantsResponseFormat() bool { return j.ResponseFormat == nil || *j.ResponseFormat }

// Gate is what a candidate must meet for the run to pass.
type Gate struct {
	// Variants are the candidates the gate applies to; empty means every
	// variant but the baseline.
	Variants []string `yaml:"variants" json:"variants,omitempty"`
	// Judge names the judge whose win rate is gated; empty means the first.
	Judge      string   `yaml:"judge" json:"judge,omitempty"`
	WinRateMin *float64 `yaml:"win_rate_min" json:"win_rate_min,omitempty"`
	// RefusalRateDeltaMax bounds how much more often the candidate may
	// refuse benign prompts than the baseline.
	RefusalRateDeltaMax *float64     `yaml:"refusal_rate_delta_max" json:"refusal_rate_delta_max,omitempty"`
	JSONValidMin        *float64     `yaml:"json_valid_min" json:"json_valid_min,omitempty"`
	ErrorRateMax        *float64     `yaml:"error_rate_max" json:"error_rate_max,omitempty"`
	Metrics             []MetricGate `yaml:"metrics" json:"metrics,omitempty"`
}

// MetricGate bounds one metric of one suite: its mean, its delta against the
// baseline, or both.
type MetricGate struct {
	Suite    string   `yaml:"suite" json:"suite"`
	Metric   string   `yaml:"metric" json:"metric"`
	Min      *float64 `yaml:"min" json:"min,omitempty"`
	DeltaMin *float64 `yaml:"delta_min" json:"delta_min,omitempty"`
}

// Defaults applied to a spec where it is silent.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 120 * time.Second
	DefaultMaxTokens   = 1024
	DefaultAttempts    = 5
	DefaultBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// DefaultDimensions are the judge's per-dimension scores when a judge names
// none.
var DefaultDimensions = []string{"correctness", "helpfulness", "format"}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether s can be a run, suite, variant or judge name:
// these become NATS subject tokens.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// SpecError is a problem with a run spec, located by file, line and field.
type SpecError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// SpecErrors is every problem found in one spec.
type SpecErrors []*SpecError

func (es SpecErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find each [SpecError].
func (es SpecErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// LoadSpec reads and validates the run spec in file, and checks that every
// suite's dataset exists (paths are relative to the spec's directory).
func LoadSpec(file string) (*RunSpec, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading run spec: %w", err)
	}
	return parseSpec(file, b, func(p string) (string, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%s: no such file: paths are relative to the spec's directory", p)
		}
		if st.IsDir() {
			return "", fmt.Errorf("%s is a directory: name a JSONL file", p)
		}
		return p, nil
	})
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// ParseSpec parses a YAML run spec, applies defaults and validates it. file
// is used in error messages only. Every problem is reported, each with the
// line and field it concerns.
func ParseSpec(file string, data []byte) (*RunSpec, error) {
	return parseSpec(file, data, nil)
}

// parseSpec parses and validates a spec; resolve, when set, checks each
// suite's path and returns the local file it names.
func parseSpec(file string, data []byte, resolve func(string) (string, error)) (*RunSpec, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 {
		return nil, SpecErrors{{File: file, Msg: "the run spec is empty: see the README for an example"}}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, SpecErrors{{File: file, Line: doc.Line, Msg: "a run spec is a YAML mapping (run:, variants:, suites:, …)"}}
	}
	var spec RunSpec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return nil, yamlError(file, err)
	}
	spec.Source = file
	spec.applyDefaults()
	errs := spec.validate(file, doc)
	if resolve != nil {
		c := &checker{file: file, doc: doc}
		for i := range spec.Suites {
			su := &spec.Suites[i]
			if su.Path == "" {
				continue
			}
			f, err := resolve(su.Path)
			if err != nil {
				c.fail(err.Error(), "suites", i, "path")
				continue
			}
			su.File = f
		}
		errs = append(errs, c.errs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &spec, nil
}

// yamlError turns yaml.v3's errors ("line 4: field x not found in type …")
// into SpecErrors with a line and, where it can, a field.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	var lines []string
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	var out SpecErrors
	for _, l := range lines {
		se := &SpecError{File: file, Msg: l}
		if m := yamlLineRE.FindStringSubmatch(l); m != nil {
			se.Line, _ = strconv.Atoi(m[1])
			se.Msg = m[2]
			if f, ok := strings.CutPrefix(se.Msg, "field "); ok {
				if name, _, ok := strings.Cut(f, " not found"); ok {
					se.Field = name
					se.Msg = "unknown field: check its spelling against the README's run spec reference"
				}
			}
			se.Msg = strings.ReplaceAll(se.Msg, "!!str", "a string")
		}
		out = append(out, se)
	}
	return out
}

func (s *RunSpec) applyDefaults() {
	for i := range s.Variants {
		v := &s.Variants[i]
		if v.Concurrency == 0 {
			v.Concurrency = DefaultConcurrency
		}
		if v.Timeout == 0 {
			v.Timeout = Duration(DefaultTimeout)
		}
	}
	s.Decoding.applyDefaults()
	if s.Retry.MaxAttempts == 0 {
		s.Retry.MaxAttempts = DefaultAttempts
	}
	if s.Retry.InitialBackoff == 0 {
		s.Retry.InitialBackoff = Duration(DefaultBackoff)
	}
	if s.Retry.MaxBackoff == 0 {
		s.Retry.MaxBackoff = Duration(DefaultMaxBackoff)
	}
	for i := range s.Suites {
		su := &s.Suites[i]
		if su.Role == "" {
			su.Role = RoleBenchmark
		}
	}
	for i := range s.Judges {
		j := &s.Judges[i]
		if j.Mode == "" {
			j.Mode = "pairwise"
		}
		if j.Concurrency == 0 {
			j.Concurrency = DefaultConcurrency
		}
		if j.Timeout == 0 {
			j.Timeout = Duration(DefaultTimeout)
		}
		if len(j.Dimensions) == 0 {
			j.Dimensions = slices.Clone(DefaultDimensions)
		}
		if j.Decoding.MaxTokens == 0 {
			j.Decoding.MaxTokens = 512
		}
		j.Decoding.applyDefaults()
	}
}

func (d *Decoding) applyDefaults() {
	if d.MaxTokens == 0 {
		d.MaxTokens = DefaultMaxTokens
	}
	if d.TopP == 0 {
		d.TopP = 1
	}
}

// KnownMetrics are the metric names a suite may ask for.
var KnownMetrics = []string{
	"em", "f1", "mc_acc", "num_match", "json_valid", "json_schema",
	"json_fields", "refusal", "safety", "length", "rougeL",
}

type checker struct {
	file string
	doc  *yaml.Node
	errs SpecErrors
}

// at finds the line of a field path such as "variants", 1, "name"; it falls
// back to the nearest enclosing node that exists.
func (c *checker) at(path ...any) int {
	n := c.doc
	line := n.Line
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return line
			}
			n = n.Content[k]
			line = n.Line
		}
	}
	return line
}

func fieldName(path ...any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}

func (c *checker) fail(msg string, path ...any) {
	c.errs = append(c.errs, &SpecError{File: c.file, Line: c.at(path...), Field: fieldName(path...), Msg: msg})
}

func (c *checker) name(v string, path ...any) {
	switch {
	case v == "":
		c.fail("is required", path...)
	case !ValidName(v):
		c.fail(fmt.Sprintf("%q is not a valid name: use 1-64 letters, digits, '-' or '_'", v), path...)
	}
}

func (c *checker) endpoint(u string, path ...any) {
	if u == "" {
		c.fail("is required: the OpenAI-compatible base URL, e.g. http://localhost:8000/v1", path...)
		return
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		c.fail(fmt.Sprintf("%q is not an http(s) URL: write it like http://localhost:8000/v1", u), path...)
	}
}

func (c *checker) decoding(d Decoding, path ...any) {
	if d.Temperature < 0 || d.Temperature > 2 {
		c.fail(fmt.Sprintf("temperature %v is outside 0..2", d.Temperature), append(path, "temperature")...)
	}
	if d.TopP <= 0 || d.TopP > 1 {
		c.fail(fmt.Sprintf("top_p %v is outside (0, 1]", d.TopP), append(path, "top_p")...)
	}
	if d.MaxTokens < 1 {
		c.fail("max_tokens must be at least 1", append(path, "max_tokens")...)
	}
}

func (s *RunSpec) validate(file string, doc *yaml.Node) SpecErrors {
	c := &checker{file: file, doc: doc}
	c.name(s.Run, "run")
	if len(s.Variants) == 0 {
		c.fail("at least one variant is required", "variants")
	}
	seen := map[string]bool{}
	for i, v := range s.Variants {
		c.name(v.Name, "variants", i, "name")
		if seen[v.Name] && v.Name != "" {
			c.fail(fmt.Sprintf("variant %q is listed twice", v.Name), "variants", i, "name")
		}
		seen[v.Name] = true
		c.endpoint(v.BaseURL, "variants", i, "base_url")
		if v.Model == "" {
			c.fail("is required: the model name the endpoint serves", "variants", i, "model")
		}
		if v.Concurrency < 0 {
			c.fail("must be positive", "variants", i, "concurrency")
		}
	}
	switch {
	case s.Baseline == "" && len(s.Variants) > 1:
		c.fail("is required: name the variant the others are compared with", "baseline")
	case s.Baseline == "" && len(s.Variants) == 1:
		s.Baseline = s.Variants[0].Name
	case !seen[s.Baseline]:
		c.fail(fmt.Sprintf("%q is not one of the variants", s.Baseline), "baseline")
	}
	c.decoding(s.Decoding, "decoding")
	if s.Retry.MaxAttempts < 1 {
		c.fail("must be at least 1", "retry", "max_attempts")
	}
	if len(s.Suites) == 0 {
		c.fail("at least one suite is required", "suites")
	}
	suites := map[string]bool{}
	for i, su := range s.Suites {
		c.name(su.Name, "suites", i, "name")
		if suites[su.Name] && su.Name != "" {
			c.fail(fmt.Sprintf("suite %q is listed twice", su.Name), "suites", i, "name")
		}
		suites[su.Name] = true
		if !su.Role.Valid() {
			c.fail(fmt.Sprintf("%q is not a role: use business, regression, benchmark or production", su.Role), "suites", i, "role")
		}
		if su.Path == "" {
			c.fail("is required: the dataset file (JSONL)", "suites", i, "path")
		}
		if len(su.Metrics) == 0 {
			c.fail("at least one metric is required: "+strings.Join(KnownMetrics, ", "), "suites", i, "metrics")
		}
		for k, m := range su.Metrics {
			if !slices.Contains(KnownMetrics, m) {
				c.fail(fmt.Sprintf("unknown metric %q: use one of %s", m, strings.Join(KnownMetrics, ", ")), "suites", i, "metrics", k)
			}
		}
	}
	judges := map[string]bool{}
	for i, j := range s.Judges {
		c.name(j.Name, "judges", i, "name")
		if judges[j.Name] && j.Name != "" {
			c.fail(fmt.Sprintf("judge %q is listed twice", j.Name), "judges", i, "name")
		}
		judges[j.Name] = true
		c.endpoint(j.BaseURL, "judges", i, "base_url")
		if j.Model == "" {
			c.fail("is required: the judge model's name", "judges", i, "model")
		}
		if j.Mode != "pairwise" {
			c.fail(fmt.Sprintf("mode %q is not supported: use pairwise", j.Mode), "judges", i, "mode")
		}
		for k, d := range j.Dimensions {
			if !ValidName(d) {
				c.fail(fmt.Sprintf("%q is not a valid dimension name", d), "judges", i, "dimensions", k)
			}
		}
		c.decoding(j.Decoding, "judges", i, "decoding")
	}
	for i, v := range s.Gate.Variants {
		if !seen[v] {
			c.fail(fmt.Sprintf("%q is not one of the variants", v), "gate", "variants", i)
		} else if v == s.Baseline {
			c.fail("the baseline is not gated against itself", "gate", "variants", i)
		}
	}
	if s.Gate.Judge != "" && !judges[s.Gate.Judge] {
		c.fail(fmt.Sprintf("%q is not one of the judges", s.Gate.Judge), "gate", "judge")
	}
	if s.Gate.WinRateMin != nil && len(s.Judges) == 0 {
		c.fail("needs a judge: add one under judges", "gate", "win_rate_min")
	}
	for _, f := range []struct {
		v    *float64
		name string
	}{{s.Gate.WinRateMin, "win_rate_min"}, {s.Gate.JSONValidMin, "json_valid_min"}, {s.Gate.ErrorRateMax, "error_rate_max"}} {
		if f.v != nil && (*f.v < 0 || *f.v > 1) {
			c.fail(fmt.Sprintf("%v is outside 0..1", *f.v), "gate", f.name)
		}
	}
	for i, m := range s.Gate.Metrics {
		if !suites[m.Suite] {
			c.fail(fmt.Sprintf("%q is not one of the suites", m.Suite), "gate", "metrics", i, "suite")
		}
		if !slices.Contains(KnownMetrics, m.Metric) {
			c.fail(fmt.Sprintf("unknown metric %q", m.Metric), "gate", "metrics", i, "metric")
		}
		if m.Min == nil && m.DeltaMin == nil {
			c.fail("give min, delta_min or both", "gate", "metrics", i)
		}
	}
	return c.errs
}

// Variant returns the named variant.
func (s *RunSpec) Variant(name string) (Variant, bool) {
	for _, v := range s.Variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// Suite returns the named suite.
func (s *RunSpec) Suite(name string) (Suite, bool) {
	for _, su := range s.Suites {
		if su.Name == name {
			return su, true
		}
	}
	return Suite{}, false
}

// Judge returns the named judge.
func (s *RunSpec) Judge(name string) (Judge, bool) {
	for _, j := range s.Judges {
		if j.Name == name {
			return j, true
		}
	}
	return Judge{}, false
}

// Candidates are the variants compared against the baseline.
func (s *RunSpec) Candidates() []string {
	var out []string
	for _, v := range s.Variants {
		if v.Name != s.Baseline {
			out = append(out, v.Name)
		}
	}
	return out
}

// GatedVariants are the candidates the gate applies to.
func (s *RunSpec) GatedVariants() []string {
	if len(s.Gate.Variants) > 0 {
		return s.Gate.Variants
	}
	return s.Candidates()
}

// Fingerprint identifies what makes results comparable: decoding, template,
// judges (their ids), the metrics asked of each suite and their version. It
// does not change when a variant is added.
func (s *RunSpec) Fingerprint() string {
	judges := make([]string, len(s.Judges))
	for i, j := range s.Judges {
		judges[i] = j.ID()
	}
	metrics := make([]string, len(s.Suites))
	for i, su := range s.Suites {
		metrics[i] = su.Name + ":" + strings.Join(su.Metrics, ",")
	}
	b, _ := json.Marshal(struct {
		Decoding       Decoding
		Template       Template
		Judges         []string
		Metrics        []string
		MetricsVersion string
	}{s.Decoding, s.Template, judges, metrics, MetricsVersion})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}
