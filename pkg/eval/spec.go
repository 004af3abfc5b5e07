package eval

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

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
	// Compare sets pairs of variants side by side, neither of which need
	// be the baseline ([ft-lora, ft-merged], [ft-int4, ft]): the report
	// gives how often the two answered alike and each metric's paired
	// difference, first minus second.
	Compare [][]string `yaml:"compare" json:"compare,omitempty"`
	// JudgeCompare says that the judges judge the compare list's pairs as
	// they judge each candidate against the baseline. SubmitRun sets it on
	// a new run; a run stored before compare pairs were judged lacks it,
	// and neither its judges nor its reports expect such judgments (it
	// would otherwise never complete).
	JudgeCompare bool `yaml:"-" json:"judge_compare,omitempty"`
	// Continuous makes the run evaluate sampled production queries, window
	// by window, for as long as it exists.
	Continuous *Continuous `yaml:"continuous" json:"continuous,omitempty"`
	// Contamination checks the samples against training data.
	Contamination *ContaminationCheck `yaml:"contamination" json:"contamination,omitempty"`
	// Embeddings is the endpoint the metric semantic_sim calls.
	Embeddings *Embeddings `yaml:"embeddings" json:"embeddings,omitempty"`
	// AB are live A/B experiments between the run's variants, on the
	// users a product serves; they need a continuous section.
	AB []Experiment `yaml:"ab" json:"ab,omitempty"`
	// Source is the file the spec was read from, for messages only.
	Source string `yaml:"-" json:"source,omitempty"`
}

// Variant is one model under evaluation behind an OpenAI-compatible endpoint.
type Variant struct {
	Name    string `yaml:"name" json:"name"`
	BaseURL string `yaml:"base_url" json:"base_url"`
	Model   string `yaml:"model" json:"model"`
	// APIKeyEnv names the environment variable holding the API key; the key
	// itself never enters the spec or the bus. Only a run on the user's
	// own machine may use it, or a server started with --allow-api-key-env.
	APIKeyEnv string `yaml:"api_key_env" json:"api_key_env,omitempty"`
	// APIKeySecret names a secret of the server's endpoint configuration
	// (see [EndpointsFile]) holding the API key; at most one of APIKeyEnv
	// and APIKeySecret is set.
	APIKeySecret string `yaml:"api_key_secret" json:"api_key_secret,omitempty"`
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
	// Horizon is how many of the latest windows the report keeps every
	// result of (0: the report stage's default, 30). Older windows are
	// folded: their figures frozen, their results let go of and their
	// messages purged from the run's streams.
	Horizon int `yaml:"horizon" json:"horizon,omitempty"`
	// Metrics are scored on every query; only those that need no
	// reference apply (default refusal, length).
	Metrics []string `yaml:"metrics" json:"metrics"`
	// Since, when set, leaves out queries stored before it.
	Since *time.Time `yaml:"since" json:"since,omitempty"`
	// Cluster is a gjson path into a query's metadata whose value groups
	// queries that are not independent; empty means the session:
	// session_id, session or conversation_id, the first present.
	Cluster string `yaml:"cluster" json:"cluster,omitempty"`
}

// DefaultWindow is a continuous run's window when the spec names none, and
// MaxWindow its longest: repeats are remembered until their window has
// ended and one more has passed, at most assay_seen's eight days.
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
	// NearDuplicates is the least share of tokens two samples must have in
	// common, the rest differing by typos, for the later to be dropped as a
	// near-duplicate (see services/ingest/dedup); absent means 0.8, 1
	// drops only copies differing in case, width, spacing or punctuation,
	// 0 turns the check off.
	NearDuplicates *float64 `yaml:"near_duplicates" json:"near_duplicates,omitempty"`
	// Cluster is a gjson path into each record whose value groups samples
	// that are not independent (a shared passage, document, subject or
	// session): the report's intervals are then cluster-robust. An intake
	// suite clusters by the query's session metadata when it carries one.
	Cluster string `yaml:"cluster" json:"cluster,omitempty"`
	// Perturbations ask for robustness copies of every sample, one per
	// kind (see [PerturbationKinds]), linked to their original.
	Perturbations []string `yaml:"perturbations" json:"perturbations,omitempty"`
	// LongContext sets the long_context copies: how many tokens of
	// unrelated prose, before or after the question.
	LongContext *LongContext `yaml:"long_context" json:"long_context,omitempty"`
	Fields      Fields       `yaml:"fields" json:"fields"`
	// Rescored is set when a replay gave the suite other metrics:
	// submitting the run's spec again keeps them.
	Rescored bool `yaml:"-" json:"rescored,omitempty"`
}

// LongContext is how a long_context copy pads its question.
type LongContext struct {
	// Tokens is the least number of tokens of prose added (default
	// 2000; approximate tokens, the same for every model).
	Tokens int `yaml:"tokens" json:"tokens,omitempty"`
	// Position is where the prose goes: before the question (the
	// default) or after it.
	Position string `yaml:"position" json:"position,omitempty"`
}

// DefaultLongContextTokens is how much prose a long_context copy adds
// by default; MaxLongContextTokens bounds it (the longest contexts models
// serve).
const (
	DefaultLongContextTokens = 2000
	MaxLongContextTokens     = 128_000
)

// Settings are lc's with the defaults filled in: lc may be nil.
func (lc *LongContext) Settings() LongContext {
	out := LongContext{Tokens: DefaultLongContextTokens, Position: LongContextBefore}
	if lc != nil {
		out.Tokens = cmp.Or(lc.Tokens, out.Tokens)
		out.Position = cmp.Or(lc.Position, out.Position)
	}
	return out
}

// LongContext positions.
const (
	LongContextBefore = "before"
	LongContextAfter  = "after"
)

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
	// ShouldAbstain marks unanswerable and false-premise questions
	// (metric fabrication).
	ShouldAbstain string `yaml:"should_abstain" json:"should_abstain,omitempty"`
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
	Name      string `yaml:"name" json:"name"`
	BaseURL   string `yaml:"base_url" json:"base_url"`
	Model     string `yaml:"model" json:"model"`
	APIKeyEnv string `yaml:"api_key_env" json:"api_key_env,omitempty"`
	// APIKeySecret is as for a [Variant].
	APIKeySecret string   `yaml:"api_key_secret" json:"api_key_secret,omitempty"`
	Mode         string   `yaml:"mode" json:"mode"`
	Concurrency  int      `yaml:"concurrency" json:"concurrency"`
	Timeout      Duration `yaml:"timeout" json:"timeout"`
	// Prompt replaces the built-in pairwise prompt; see the README for the
	// placeholders it may use.
	Prompt     string   `yaml:"prompt" json:"prompt,omitempty"`
	Dimensions []string `yaml:"dimensions" json:"dimensions"`
	Decoding   Decoding `yaml:"decoding" json:"decoding"`
	// ResponseFormat sends the verdict's JSON schema as response_format;
	// nil means true.
	ResponseFormat *bool `yaml:"response_format" json:"response_format,omitempty"`
	// Repeat asks the judge about a share of the pairs (RepeatShare,
	// default [DefaultRepeatShare]) Repeat more times, past the LLM
	// cache, to measure how much its verdict moves; the repeats are
	// recorded as such and never counted in the win rate.
	Repeat      int     `yaml:"repeat" json:"repeat,omitempty"`
	RepeatShare float64 `yaml:"repeat_share" json:"repeat_share,omitempty"`
	// Replay is set on a judge added to the run by a replay: submitting
	// the run's spec again keeps it.
	Replay bool `yaml:"-" json:"replay,omitempty"`
}

// Judge modes: pairwise shows the judge both answers, in both orders;
// single grades each answer alone, 1–10 on every dimension, for suites
// where no pairwise comparison means much.
const (
	JudgePairwise = "pairwise"
	JudgeSingle   = "single"
)

// Single reports whether the judge grades each answer alone.
func (j Judge) Single() bool { return j.Mode == JudgeSingle }

// DefaultRepeatShare is the share of pairs a judge with repeat asks again.
const DefaultRepeatShare = 0.1

// MaxRepeat bounds a judge's repeat.
const MaxRepeat = 10

// Repeats reports whether the judge asks again about the pair of the
// candidate's and the baseline's answers to sample (suite, id) of run:
// a share of the pairs, drawn by a hash of the pair so that every
// delivery and every process draws the same ones.
func (j Judge) Repeats(run, suite, id, candidate string) bool {
	if j.Repeat <= 0 {
		return false
	}
	share := j.RepeatShare
	if share <= 0 {
		share = DefaultRepeatShare
	}
	sum := sha256.Sum256([]byte(run + "\x00" + suite + "\x00" + id + "\x00" + candidate + "\x00" + j.Name))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11)/(1<<53) < share
}

// WantsResponseFormat reports whether the judge requests are sent with the
// verdict schema as response_format.
func (j Judge) WantsResponseFormat() bool { return j.ResponseFormat == nil || *j.ResponseFormat }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether s can be a run, suite, variant or judge name:
// these become NATS subject tokens.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// KnownMetrics are the metric names a suite may ask for.
var KnownMetrics = []string{
	"em", "f1", "mc_acc", "num_match", "num_strict", "num_flexible",
	"json_valid", "json_schema", "json_fields", "format", "refusal", "safety",
	"abstain", "fabrication", "length", "bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum",
	"code_pass", MetricSemanticSim,
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
