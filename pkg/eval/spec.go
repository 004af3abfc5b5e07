package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
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
// old and new scores are never compared silently. Version 2: ROUGE, BLEU,
// chrF and EM/F1 reproduce rouge-score, sacreBLEU and the SQuAD script
// exactly (an answer sharing no token with the reference has F1 0).
const MetricsVersion = "2"

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

// UnmarshalYAML reads a duration like [Duration.UnmarshalText]. It exists so
// that a bad duration is reported with its line: yaml.v3 drops the position
// of an error returned by UnmarshalText, but keeps the lines of a
// *yaml.TypeError.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s into a duration: write it like 30s or 2m", n.Line, n.ShortTag())}}
	}
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
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
	// Continuous makes the run evaluate sampled production queries, window
	// by window, for as long as it exists.
	Continuous *Continuous `yaml:"continuous" json:"continuous,omitempty"`
	// Contamination checks the samples against training data.
	Contamination *ContaminationCheck `yaml:"contamination" json:"contamination,omitempty"`
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
	// Checkpoint is set on a variant added to the run by a checkpoint
	// event, in the order checkpoints arrived.
	Checkpoint *Checkpoint `yaml:"-" json:"checkpoint,omitempty"`
}

// Checkpoint says when a variant joined its run.
type Checkpoint struct {
	// Seq is the checkpoint's place in the run's series: 1, 2, …
	Seq int       `json:"seq"`
	At  time.Time `json:"at"`
	// Step is the training step, when the announcement gave one.
	Step int64 `json:"step,omitempty"`
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

// Continuous says which production queries a continuous run evaluates.
type Continuous struct {
	// Sources are the intake sources (assay.intake.<source>) it reads.
	Sources []string `yaml:"sources" json:"sources"`
	// SampleRate is the share of queries evaluated, decided by a hash of
	// the (redacted, normalised) query: the same query is always in or out.
	SampleRate float64 `yaml:"sample_rate" json:"sample_rate"`
	// Window is the length of the report's time windows (default 1h).
	Window Duration `yaml:"window" json:"window"`
	// Metrics are scored on every query; only those that need no
	// reference apply (default refusal, length).
	Metrics []string `yaml:"metrics" json:"metrics"`
	// Since, when set, leaves out queries stored before it.
	Since *time.Time `yaml:"since" json:"since,omitempty"`
}

// DefaultWindow is a continuous run's window when the spec names none, and
// MaxWindow its longest: repeats within a window are remembered for eight
// days.
const (
	DefaultWindow = time.Hour
	MaxWindow     = 7 * 24 * time.Hour
)

// referenceFree are the metrics a production query, which has no
// reference, can be scored with.
var referenceFree = []string{"refusal", "length", "json_valid"}

// ReferenceFree reports whether a metric can score an answer that has no
// reference, as a production query's has not.
func ReferenceFree(metric string) bool { return slices.Contains(referenceFree, metric) }

// WindowOf is the start of the window t falls in.
func (c *Continuous) WindowOf(t time.Time) time.Time {
	return t.UTC().Truncate(c.Window.D())
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
	// Intake marks the suite of an intake source of a continuous run: its
	// samples are production queries, not a dataset.
	Intake bool `yaml:"-" json:"intake,omitempty"`
	// Object names the dataset in the assay_datasets object store once a
	// client has uploaded it; ingest reads it from there.
	Object string `yaml:"-" json:"object,omitempty"`
	// Parts are the files of a suite whose path is a directory, each
	// uploaded on its own, in name order.
	Parts   []DatasetPart `yaml:"-" json:"parts,omitempty"`
	Metrics []string      `yaml:"metrics" json:"metrics"`
	// Lang is the language of the suite's answers for the text metrics:
	// zh makes Chinese characters tokens (ROUGE, BLEU, EM/F1). Empty
	// decides per sample: zh when its reference contains Chinese.
	Lang string `yaml:"lang" json:"lang,omitempty"`
	// Stem Porter-stems English words for ROUGE (rouge-score's
	// use_stemmer).
	Stem bool `yaml:"stem" json:"stem,omitempty"`
	// Format is what the metric format checks.
	Format *FormatChecks `yaml:"format" json:"format,omitempty"`
	// Preset names a common dataset shape (see [DatasetPresets]): its
	// fields and prompt template apply where the suite sets none.
	Preset string `yaml:"preset" json:"preset,omitempty"`
	// PromptTemplate builds the prompt from the record's fields:
	// "{question}\nA. {A}" puts in the values at those gjson paths ("{{"
	// and "}}" are braces).
	PromptTemplate string `yaml:"prompt_template" json:"prompt_template,omitempty"`
	// GenerateTurns has a conversation answered turn by turn: the model
	// answers each user turn in order and its own answers, not recorded
	// ones, feed the next (MT-Bench style). The mt-bench preset sets it.
	GenerateTurns bool `yaml:"generate_turns" json:"generate_turns,omitempty"`
	// NearDuplicates is the similarity from which two samples are near
	// duplicates and the later is dropped (see services/ingest/contam);
	// absent means 0.8, 0 turns the check off.
	NearDuplicates *float64 `yaml:"near_duplicates" json:"near_duplicates,omitempty"`
	// Perturbations ask for robustness copies of every sample, one per
	// kind (see [PerturbationKinds]), linked to their original.
	Perturbations []string `yaml:"perturbations" json:"perturbations,omitempty"`
	Fields        Fields   `yaml:"fields" json:"fields"`
	// Rescored is set when a replay gave the suite other metrics:
	// submitting the run's spec again keeps them.
	Rescored bool `yaml:"-" json:"rescored,omitempty"`
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
	// Test, EntryPoint and Setup are a code item's tests (metric
	// code_pass): HumanEval's test and entry_point, MBPP's test_list (a
	// list of asserts) and test_setup_code.
	Test       string `yaml:"test" json:"test,omitempty"`
	EntryPoint string `yaml:"entry_point" json:"entry_point,omitempty"`
	Setup      string `yaml:"setup" json:"setup,omitempty"`
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
	// Replay is set on a judge added to the run by a replay: submitting
	// the run's spec again keeps it.
	Replay bool `yaml:"-" json:"replay,omitempty"`
}

// ID versions the judge: a short hash of everything that shapes its verdicts.
func (j Judge) ID() string { return j.Name + "@" + j.Hash() }

// Hash identifies what shapes the judge's verdicts — model, mode, prompt,
// dimensions, decoding — whatever the judge is called: two judges with the
// same hash answer the same question the same way, so their responses are
// cached as one.
func (j Judge) Hash() string {
	b, _ := json.Marshal(struct {
		Model, Mode, Prompt string
		Dimensions          []string
		Decoding            Decoding
		ResponseFormat      bool
	}{j.Model, j.Mode, j.Prompt, j.Dimensions, j.Decoding, j.WantsResponseFormat()})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
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
		wantDir := IsDatasetDir(p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("%s: no such file: paths are relative to the spec's directory", p)
		case err != nil:
			return "", fmt.Errorf("%s cannot be read: %v", p, errors.Unwrap(err))
		}
		if st.IsDir() != wantDir {
			if st.IsDir() {
				return "", fmt.Errorf("%s is a directory: end the path with / to read every dataset file in it, or name one file", p)
			}
			return "", fmt.Errorf("%s is a file, but the path ends with /, which names a directory", p)
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
		return nil, yamlError(file, nil, err)
	}
	// "---" alone or "~" is a document holding null: as empty as no text.
	if len(root.Content) == 0 || root.Content[0].ShortTag() == "!!null" {
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
		return nil, yamlError(file, doc, err)
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
		if cc := spec.Contamination; cc != nil && cc.Train != "" {
			f, err := resolve(cc.Train)
			if err != nil {
				c.fail(err.Error(), "contamination", "train")
			} else {
				cc.File = f
			}
		}
		errs = append(errs, c.errs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	spec.addIntakeSuites()
	return &spec, nil
}

// yamlTags are yaml.v3's names for kinds of values, as a reader of the spec
// knows them.
var yamlTags = strings.NewReplacer("!!str", "a string", "!!seq", "a list", "!!map", "a mapping",
	"!!int", "a number", "!!float", "a number", "!!bool", "a boolean", "!!timestamp", "a date")

// yamlError turns yaml.v3's errors ("line 4: field x not found in type …")
// into SpecErrors with a line and, when doc is known, the field's path.
func yamlError(file string, doc *yaml.Node, err error) error {
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
			if doc != nil {
				se.Field = fieldAt(doc, se.Line, se.Msg)
			}
			if f, ok := strings.CutPrefix(se.Msg, "field "); ok {
				if name, _, ok := strings.Cut(f, " not found"); ok {
					if se.Field == "" {
						se.Field = name
					}
					se.Msg = "unknown field: check its spelling against the README's run spec reference"
				}
			}
			se.Msg = yamlTags.Replace(se.Msg)
		}
		out = append(out, se)
	}
	return out
}

// fieldAt names the field, such as variants[1].modle, that a yaml.v3
// message about line concerns. yaml.v3 gives only a line, and flow style
// puts several fields on one: the field whose key or value the message
// quotes is preferred; then, for a mapping or list where something else was
// expected, the outermost one starting on the line; else the innermost
// field on the line.
func fieldAt(doc *yaml.Node, line int, msg string) string {
	quoted := func(s string) bool {
		if s == "" {
			return false
		}
		// yaml.v3 writes a value as `value` (cut to `1234567...` when long),
		// a key as "key" or as the bare word after "field ".
		short := s
		if len(s) > 10 {
			short = s[:7] + "..."
		}
		return strings.Contains(msg, "`"+short+"`") || strings.Contains(msg, strconv.Quote(s)) ||
			strings.HasPrefix(msg, "field "+s+" ")
	}
	var best, collection, last string
	wantKind := yaml.Kind(0)
	switch {
	case strings.Contains(msg, "!!map"):
		wantKind = yaml.MappingNode
	case strings.Contains(msg, "!!seq"):
		wantKind = yaml.SequenceNode
	}
	var walk func(n *yaml.Node, path []any)
	consider := func(key, val *yaml.Node, path []any) {
		if (key == nil || key.Line != line) && val.Line != line {
			return
		}
		name := fieldName(path...)
		last = name
		if best == "" && ((key != nil && quoted(key.Value)) || (val.Kind == yaml.ScalarNode && quoted(val.Value))) {
			best = name
		}
		if collection == "" && wantKind != 0 && val.Kind == wantKind && val.Line == line {
			collection = name
		}
	}
	walk = func(n *yaml.Node, path []any) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := append(slices.Clip(path), n.Content[i].Value)
				consider(n.Content[i], n.Content[i+1], p)
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				p := append(slices.Clip(path), i)
				consider(nil, e, p)
				walk(e, p)
			}
		}
		// Aliases are not followed: their fields were reported where the
		// anchor is.
	}
	walk(doc, nil)
	switch {
	case best != "":
		return best
	case collection != "":
		return collection
	}
	return last
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
		s.Judges[i].applyDefaults()
	}
	if ct := s.Continuous; ct != nil {
		if ct.SampleRate == 0 {
			ct.SampleRate = 1
		}
		if ct.Window == 0 {
			ct.Window = Duration(DefaultWindow)
		}
		if len(ct.Metrics) == 0 {
			ct.Metrics = []string{"refusal", "length"}
		}
	}
}

// addIntakeSuites gives each intake source of a continuous run a suite of
// role production, so that its queries are scored and reported like any
// suite's samples.
func (s *RunSpec) addIntakeSuites() {
	if s.Continuous == nil {
		return
	}
	for _, src := range s.Continuous.Sources {
		if _, ok := s.Suite(src); !ok {
			s.Suites = append(s.Suites, Suite{Name: src, Role: RoleProduction, Metrics: slices.Clone(s.Continuous.Metrics), Intake: true})
		}
	}
}

func (j *Judge) applyDefaults() {
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
	"em", "f1", "mc_acc", "num_match", "num_strict", "num_flexible",
	"json_valid", "json_schema", "json_fields", "format", "refusal", "safety",
	"length", "bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum",
	"code_pass",
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

// The range checks below are written !(in range) so that NaN, which
// compares false with everything, fails them: a NaN would otherwise pass,
// and then break the JSON of every request and of the spec on the bus.

func (c *checker) decoding(d Decoding, path ...any) {
	at := func(field string) []any { return append(slices.Clip(path), field) }
	if !(d.Temperature >= 0 && d.Temperature <= 2) {
		c.fail(fmt.Sprintf("temperature %v is outside 0..2", d.Temperature), at("temperature")...)
	}
	if !(d.TopP > 0 && d.TopP <= 1) {
		c.fail(fmt.Sprintf("top_p %v is outside (0, 1]", d.TopP), at("top_p")...)
	}
	if d.MaxTokens < 1 {
		c.fail("max_tokens must be at least 1", at("max_tokens")...)
	}
	if d.TopK != nil && *d.TopK < -1 {
		c.fail(fmt.Sprintf("top_k %d is below -1: use a positive number, or -1 for no limit", *d.TopK), at("top_k")...)
	}
	if d.MinP != nil && !(*d.MinP >= 0 && *d.MinP <= 1) {
		c.fail(fmt.Sprintf("min_p %v is outside 0..1", *d.MinP), at("min_p")...)
	}
	if p := d.RepetitionPenalty; p != nil && !(*p > 0 && !math.IsInf(*p, 0)) {
		c.fail(fmt.Sprintf("repetition_penalty %v must be positive (1 means none)", *p), at("repetition_penalty")...)
	}
	if p := d.PresencePenalty; p != nil && !(*p >= -2 && *p <= 2) {
		c.fail(fmt.Sprintf("presence_penalty %v is outside -2..2", *p), at("presence_penalty")...)
	}
	if p := d.FrequencyPenalty; p != nil && !(*p >= -2 && *p <= 2) {
		c.fail(fmt.Sprintf("frequency_penalty %v is outside -2..2", *p), at("frequency_penalty")...)
	}
}

// judge checks one judge, at path in the document.
func (c *checker) judge(j Judge, path ...any) {
	at := func(field ...any) []any { return append(slices.Clone(path), field...) }
	c.name(j.Name, at("name")...)
	c.endpoint(j.BaseURL, at("base_url")...)
	if j.Model == "" {
		c.fail("is required: the judge model's name", at("model")...)
	}
	if j.Mode != "pairwise" {
		c.fail(fmt.Sprintf("mode %q is not supported: use pairwise", j.Mode), at("mode")...)
	}
	for k, d := range j.Dimensions {
		if !ValidName(d) {
			c.fail(fmt.Sprintf("%q is not a valid dimension name", d), at("dimensions", k)...)
		}
	}
	c.decoding(j.Decoding, at("decoding")...)
}

// ParseJudge parses one judge in YAML (the fields of a spec's judges[]),
// for adding it to a run that exists (assay replay). Errors name file,
// line and field.
func ParseJudge(file string, data []byte) (*Judge, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, nil, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, SpecErrors{{File: file, Msg: "a judge is a YAML mapping (name:, base_url:, model:, …)"}}
	}
	var j Judge
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&j); err != nil {
		return nil, yamlError(file, root.Content[0], err)
	}
	j.applyDefaults()
	c := &checker{file: file, doc: root.Content[0]}
	c.judge(j)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return &j, nil
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
	case len(s.Variants) == 0:
		// Reported above; a baseline cannot be checked against nothing.
	case s.Baseline == "" && len(s.Variants) > 1:
		c.fail("is required: name the variant the others are compared with", "baseline")
	case s.Baseline == "" && len(s.Variants) == 1:
		s.Baseline = s.Variants[0].Name
	case !seen[s.Baseline]:
		c.fail(fmt.Sprintf("%q is not one of the variants", s.Baseline), "baseline")
	}
	c.decoding(s.Decoding, "decoding")
	// Kwargs go into every request as JSON, and the spec onto the bus: a
	// nested mapping with non-string keys, or a NaN, cannot.
	if _, err := json.Marshal(s.Template.Kwargs); err != nil {
		c.fail(fmt.Sprintf("cannot be sent as JSON (%v): use string keys and plain values", err), "template", "kwargs")
	}
	if s.Retry.MaxAttempts < 1 {
		c.fail("must be at least 1", "retry", "max_attempts")
	}
	if len(s.Suites) == 0 && s.Continuous == nil {
		c.fail("at least one suite is required (or a continuous section)", "suites")
	}
	suites := map[string]bool{}
	suiteMetrics := map[string][]string{}
	for i, su := range s.Suites {
		c.name(su.Name, "suites", i, "name")
		if suites[su.Name] && su.Name != "" {
			c.fail(fmt.Sprintf("suite %q is listed twice", su.Name), "suites", i, "name")
		}
		suites[su.Name] = true
		if _, dup := suiteMetrics[su.Name]; !dup {
			suiteMetrics[su.Name] = su.Metrics
		}
		if !su.Role.Valid() {
			c.fail(fmt.Sprintf("%q is not a role: use business, regression, benchmark or production", su.Role), "suites", i, "role")
		}
		if su.Path == "" {
			c.fail("is required: the dataset file (.jsonl, .json, .csv, .tsv or .parquet)", "suites", i, "path")
		} else if _, err := DatasetFormat(su.Path); err != nil && !IsDatasetDir(su.Path) {
			c.fail(err.Error(), "suites", i, "path")
		}
		if len(su.Metrics) == 0 {
			c.fail("at least one metric is required: "+strings.Join(KnownMetrics, ", "), "suites", i, "metrics")
		}
		for k, m := range su.Metrics {
			if !slices.Contains(KnownMetrics, m) {
				c.fail(fmt.Sprintf("unknown metric %q: use one of %s", m, strings.Join(KnownMetrics, ", ")), "suites", i, "metrics", k)
			}
		}
		if su.Lang != "" && su.Lang != "en" && su.Lang != "zh" {
			c.fail(fmt.Sprintf("%q is not a language of the text metrics: use en or zh, or leave it out to decide per sample", su.Lang), "suites", i, "lang")
		}
		c.format(su.Format, su.Metrics, "suites", i, "format")
		if su.Preset != "" && !slices.Contains(DatasetPresets, su.Preset) {
			c.fail(fmt.Sprintf("unknown preset %q: use one of %s", su.Preset, strings.Join(DatasetPresets, ", ")), "suites", i, "preset")
		}
		if nd := su.NearDuplicates; nd != nil && (math.IsNaN(*nd) || *nd < 0 || *nd > 1) {
			c.fail(fmt.Sprintf("%v is outside 0..1 (0 turns the check off)", *nd), "suites", i, "near_duplicates")
		}
		for k, p := range su.Perturbations {
			if !slices.Contains(PerturbationKinds, p) {
				c.fail(fmt.Sprintf("unknown perturbation %q: use %s", p, strings.Join(PerturbationKinds, ", ")), "suites", i, "perturbations", k)
			}
			if slices.Index(su.Perturbations, p) < k {
				c.fail(fmt.Sprintf("%q is listed twice", p), "suites", i, "perturbations", k)
			}
		}
		if err := CheckPromptTemplate(su.PromptTemplate); err != nil {
			c.fail(err.Error(), "suites", i, "prompt_template")
		}
	}
	if cc := s.Contamination; cc != nil {
		if cc.Train == "" {
			c.fail("is required: the training data (JSONL or .txt, or a directory of them ending in /)", "contamination", "train")
		} else if !IsDatasetDir(cc.Train) && !TrainingFile(cc.Train) {
			c.fail(fmt.Sprintf("%q is neither .jsonl nor .txt (optionally .gz), nor a directory ending in /", cc.Train), "contamination", "train")
		}
		if cc.NGram < 0 {
			c.fail("must not be negative", "contamination", "ngram")
		}
		if math.IsNaN(cc.Threshold) || cc.Threshold < 0 || cc.Threshold > 1 {
			c.fail(fmt.Sprintf("%v is outside 0..1", cc.Threshold), "contamination", "threshold")
		}
	}
	if ct := s.Continuous; ct != nil {
		if len(ct.Sources) == 0 {
			c.fail("at least one intake source is required", "continuous", "sources")
		}
		for i, src := range ct.Sources {
			c.name(src, "continuous", "sources", i)
			if suites[src] {
				c.fail(fmt.Sprintf("%q is also a suite's name", src), "continuous", "sources", i)
			}
		}
		if math.IsNaN(ct.SampleRate) || ct.SampleRate <= 0 || ct.SampleRate > 1 {
			c.fail(fmt.Sprintf("%v is outside (0, 1]", ct.SampleRate), "continuous", "sample_rate")
		}
		switch d := ct.Window.D(); {
		case d < time.Minute:
			c.fail(fmt.Sprintf("%v is shorter than a minute", d), "continuous", "window")
		case d > MaxWindow:
			c.fail(fmt.Sprintf("%v is longer than a week: repeats are remembered for 8 days, so a longer window would count them again", d), "continuous", "window")
		}
		for k, m := range ct.Metrics {
			if !slices.Contains(referenceFree, m) {
				c.fail(fmt.Sprintf("%q needs a reference, which production queries do not have: use %s", m, strings.Join(referenceFree, ", ")), "continuous", "metrics", k)
			}
		}
	}
	judges := map[string]bool{}
	for i, j := range s.Judges {
		if judges[j.Name] && j.Name != "" {
			c.fail(fmt.Sprintf("judge %q is listed twice", j.Name), "judges", i, "name")
		}
		judges[j.Name] = true
		c.judge(j, "judges", i)
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
		v      *float64
		name   string
		lo, hi float64
	}{
		{s.Gate.WinRateMin, "win_rate_min", 0, 1},
		{s.Gate.JSONValidMin, "json_valid_min", 0, 1},
		{s.Gate.ErrorRateMax, "error_rate_max", 0, 1},
		// A difference of two rates.
		{s.Gate.RefusalRateDeltaMax, "refusal_rate_delta_max", -1, 1},
	} {
		if f.v != nil && !(*f.v >= f.lo && *f.v <= f.hi) {
			c.fail(fmt.Sprintf("%v is outside %v..%v", *f.v, f.lo, f.hi), "gate", f.name)
		}
	}
	for i, m := range s.Gate.Metrics {
		switch {
		case !suites[m.Suite]:
			c.fail(fmt.Sprintf("%q is not one of the suites", m.Suite), "gate", "metrics", i, "suite")
		case !slices.Contains(KnownMetrics, m.Metric):
			c.fail(fmt.Sprintf("unknown metric %q", m.Metric), "gate", "metrics", i, "metric")
		case !slices.Contains(suiteMetrics[m.Suite], m.Metric):
			// The gate would find no such metric in the report and fail
			// every run.
			c.fail(fmt.Sprintf("suite %q does not compute %q: add it to the suite's metrics", m.Suite, m.Metric), "gate", "metrics", i, "metric")
		}
		if m.Min == nil && m.DeltaMin == nil {
			c.fail("give min, delta_min or both", "gate", "metrics", i)
		}
		for _, b := range []struct {
			v    *float64
			name string
		}{{m.Min, "min"}, {m.DeltaMin, "delta_min"}} {
			if b.v != nil && (math.IsNaN(*b.v) || math.IsInf(*b.v, 0)) {
				c.fail(fmt.Sprintf("%v is not a finite number", *b.v), "gate", "metrics", i, b.name)
			}
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

// Fingerprint identifies what makes generations comparable: the decoding
// and the template every variant is called with. It is stamped on every
// sample, generation, score and judgment. It does not change when a variant
// is added (a checkpoint), when a judge is added (each judgment carries its
// judge's id) or when the run is re-scored (each score carries its
// [RunSpec.Scoring]).
func (s *RunSpec) Fingerprint() string {
	t := s.Template
	t.Kwargs = jsonNormal(t.Kwargs)
	b, _ := json.Marshal(struct {
		Decoding Decoding
		Template Template
	}{s.Decoding, t})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// Scoring identifies how the run's answers are scored: the metrics each
// suite asks for and their version. Every score carries it; the report uses
// the scores of the run's current scoring, so a re-scored run is never a
// mix of two.
func (s *RunSpec) Scoring() string {
	type suiteScoring struct {
		Name    string
		Metrics []string
		Lang    string        `json:",omitempty"`
		Stem    bool          `json:",omitempty"`
		Format  *FormatChecks `json:",omitempty"`
	}
	suites := make([]suiteScoring, len(s.Suites))
	for i, su := range s.Suites {
		suites[i] = suiteScoring{su.Name, su.Metrics, su.Lang, su.Stem, su.Format}
	}
	b, _ := json.Marshal(struct {
		Suites         []suiteScoring
		MetricsVersion string
	}{suites, MetricsVersion})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

// jsonNormal returns kwargs as they come out of a JSON round trip, so that a
// spec read from YAML and the same spec read from the bus hash alike: YAML
// keeps an integer like 9007199254740993 exact, JSON makes it a float64.
func jsonNormal(kwargs map[string]any) map[string]any {
	if kwargs == nil {
		return nil
	}
	b, err := json.Marshal(kwargs)
	if err != nil {
		return kwargs
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return kwargs
	}
	return out
}
