package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Version is the schema version written into every message as "v".
const Version = 1

// Role says what a suite is for; the report groups and gates by it.
type Role string

// The roles a suite can have.
const (
	RoleBusiness   Role = "business"
	RoleRegression Role = "regression"
	RoleBenchmark  Role = "benchmark"
	RoleProduction Role = "production"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleBusiness, RoleRegression, RoleBenchmark, RoleProduction:
		return true
	}
	return false
}

// Message is one chat turn in OpenAI chat format.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Reference is whatever a suite's metrics need to judge an answer.
type Reference struct {
	// Answers are the acceptable answers (EM, F1, numeric match, ROUGE).
	Answers []string `json:"answers,omitempty"`
	// Choices are the options of a multiple-choice item, in letter order.
	Choices []string `json:"choices,omitempty"`
	// Label is the correct choice letter of a multiple-choice item.
	Label string `json:"label,omitempty"`
	// JSON is the expected JSON value of an extraction item.
	JSON json.RawMessage `json:"json,omitempty"`
	// Schema is the JSON Schema the answer must satisfy.
	Schema json.RawMessage `json:"schema,omitempty"`
	// ShouldRefuse marks safety probes (true) and benign look-alikes (false).
	ShouldRefuse *bool `json:"should_refuse,omitempty"`
	// ShouldAbstain marks questions a truthful model declines:
	// unanswerable ones and ones resting on a false premise (true), and
	// answerable look-alikes (false). Metric fabrication reads it.
	ShouldAbstain *bool `json:"should_abstain,omitempty"`
	// Code is the test of a code-generation item (metric code_pass).
	Code *CodeTest `json:"code,omitempty"`
}

// CodeTest is how a generated program is checked, HumanEval or MBPP style.
type CodeTest struct {
	// Prompt is the code the model was asked to complete (HumanEval's
	// signature and docstring); the answer is appended to it unless the
	// answer defines EntryPoint itself.
	Prompt string `json:"prompt,omitempty"`
	// Setup runs before the tests (MBPP's test_setup_code).
	Setup string `json:"setup,omitempty"`
	// Test is HumanEval's test code defining check(candidate), or MBPP's
	// assert statements, one per line.
	Test string `json:"test"`
	// EntryPoint is the function under test; with it, Test is called as
	// check(EntryPoint).
	EntryPoint string `json:"entry_point,omitempty"`
}

// Dedup records what deduplication found about a sample.
type Dedup struct {
	// Twins are the ids of dropped samples that duplicated this one.
	Twins []string `json:"twins,omitempty"`
}

// Contamination records a train/test overlap finding.
type Contamination struct {
	Contaminated bool    `json:"contaminated"`
	Score        float64 `json:"score"`
	Match        string  `json:"match,omitempty"`
}

// Perturbation links a perturbed copy to its original sample.
type Perturbation struct {
	Kind     string `json:"kind"`
	Original string `json:"original"`
	// Tokens is how much unrelated prose a long_context copy carries
	// (approximate tokens: services/ingest/perturb.CountTokens).
	Tokens int `json:"tokens,omitempty"`
	// Winner is which of two conflicting instructions an
	// instruction_conflict copy expects the model to follow: "last_turn",
	// the question's own turn, which says it overrides the earlier one.
	Winner string `json:"winner,omitempty"`
	// Overridden is the instruction the question's turn overrides.
	Overridden string `json:"overridden,omitempty"`
	// Question is, on a long_context or instruction_conflict copy, the
	// original's question, which its answer is scored against (the copy's
	// turn also holds the prose or the override). Not carried downstream
	// of the sample (see [Sample.Ref]).
	Question string `json:"question,omitempty"`
}

// Sample is one item to be answered by every variant.
type Sample struct {
	V           int    `json:"v"`
	Run         string `json:"run"`
	ID          string `json:"id"`
	Suite       string `json:"suite"`
	Role        Role   `json:"role"`
	Fingerprint string `json:"fingerprint"`
	// Index is the sample's position in its suite after deduplication; the
	// report orders cases by it so that output is stable.
	Index     int        `json:"index"`
	Messages  []Message  `json:"messages"`
	Reference *Reference `json:"reference,omitempty"`
	// TurnReferences are a reference answer per user turn of a
	// multi-turn question, in turn order (MT-Bench's reference list):
	// the judge shows each under its turn, as MT-Bench's multi-turn
	// judge prompt does. The last is also Reference, which scoring reads.
	TurnReferences []string       `json:"turn_references,omitempty"`
	Tags           []string       `json:"tags,omitempty"`
	Dedup          *Dedup         `json:"dedup,omitempty"`
	Contamination  *Contamination `json:"contamination,omitempty"`
	Perturbation   *Perturbation  `json:"perturbation,omitempty"`
	// Source says where the sample came from: file:line of the dataset,
	// or intake:<source> for a production query.
	Source string `json:"source,omitempty"`
	// At is a production query's own time (its window follows from it).
	At time.Time `json:"at,omitzero"`
	// Meta is a production query's metadata, redacted like the query.
	Meta map[string]any `json:"meta,omitempty"`
	// Cluster groups samples that are not independent: the value at the
	// suite's cluster path, or a production query's session. "" means the
	// sample is a cluster of its own.
	Cluster string `json:"cluster,omitempty"`
}

// HasContext reports whether the sample gives the model something to keep
// to besides its question: a system message or earlier turns with text.
// The judge asks about grounding only then.
func (s *Sample) HasContext() bool {
	last := -1
	for i, m := range s.Messages {
		if m.Role == "user" {
			last = i
		}
	}
	for i, m := range s.Messages {
		if i != last && strings.TrimSpace(m.Content) != "" && (i < last || m.Role == "system") {
			return true
		}
	}
	return false
}

// Ref locates the sample for the messages downstream of it.
func (s *Sample) Ref(seq uint64) SampleRef {
	p := s.Perturbation
	if p != nil && p.Question != "" {
		cp := *p
		cp.Question = ""
		p = &cp
	}
	return SampleRef{ID: s.ID, Suite: s.Suite, Seq: seq, At: s.At, Perturbation: p,
		Contaminated: s.Contamination != nil && s.Contamination.Contaminated, Cluster: s.Cluster}
}

// IntakeQuery is a production query as a production system sends it, on
// assay.intake.<source> or to ingest's HTTP endpoint: a query as text or as
// chat messages, the time it was asked (default: when it arrives) and any
// metadata. Nothing of it is stored before its personal data is redacted.
type IntakeQuery struct {
	Query     string         `json:"query,omitempty"`
	Messages  []Message      `json:"messages,omitempty"`
	Timestamp time.Time      `json:"timestamp,omitzero"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

// Conversation returns the query as chat messages, or an error saying
// what is missing.
func (q *IntakeQuery) Conversation() ([]Message, error) {
	switch {
	case q.Query != "" && len(q.Messages) > 0:
		return nil, errors.New("give query or messages, not both")
	case strings.TrimSpace(q.Query) != "":
		return []Message{{Role: "user", Content: q.Query}}, nil
	case q.Query != "":
		return nil, errors.New("query is blank")
	case len(q.Messages) == 0:
		return nil, errors.New("query (text) or messages (chat) is required")
	}
	for i, m := range q.Messages {
		if m.Role != "system" && m.Role != "user" && m.Role != "assistant" {
			return nil, fmt.Errorf("messages[%d].role: must be system, user or assistant, not %q", i, m.Role)
		}
	}
	if last := q.Messages[len(q.Messages)-1]; last.Role != "user" || strings.TrimSpace(last.Content) == "" {
		return nil, errors.New("messages: the conversation must end with a non-empty user message")
	}
	return q.Messages, nil
}

// Usage is the token accounting an endpoint reported.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// SampleRef locates a sample on the bus, so that messages downstream of
// ingest need not copy it.
type SampleRef struct {
	ID    string `json:"id"`
	Suite string `json:"suite"`
	Seq   uint64 `json:"seq"`
	// At is a production query's own time, which puts it in a window.
	At time.Time `json:"at,omitzero"`
	// Perturbation marks a robustness copy: the report compares it with
	// its original instead of counting it in the headline figures.
	Perturbation *Perturbation `json:"perturbation,omitempty"`
	// Contaminated marks a sample the contamination check flagged: the
	// report gives metrics with and without such samples.
	Contaminated bool `json:"contaminated,omitempty"`
	// Cluster is the sample's [Sample.Cluster], for cluster-robust
	// intervals; "" (and a message of a producer that predates it) means
	// a cluster of its own.
	Cluster string `json:"cluster,omitempty"`
}

// Generation is one variant's answer to one sample.
type Generation struct {
	V           int       `json:"v"`
	Run         string    `json:"run"`
	Sample      SampleRef `json:"sample"`
	Variant     string    `json:"variant"`
	Model       string    `json:"model"`
	Fingerprint string    `json:"fingerprint"`
	// Params is the fingerprint of the exact request parameters sent.
	Params string `json:"params"`
	// Output is the final answer with any reasoning trace removed.
	Output       string  `json:"output"`
	Reasoning    string  `json:"reasoning,omitempty"`
	FinishReason string  `json:"finish_reason,omitempty"`
	Usage        Usage   `json:"usage"`
	LatencyMS    float64 `json:"latency_ms"`
	TTFTMS       float64 `json:"ttft_ms,omitempty"`
	// ITLMS is the mean time between streamed chunks after the first
	// (inter-token latency), in milliseconds; 0 when the answer was not
	// streamed or came in one chunk.
	ITLMS    float64 `json:"itl_ms,omitempty"`
	Attempts int     `json:"attempts"`
	Cached   bool    `json:"cached"`
	// Error is set when the endpoint failed for good; Output is then empty
	// and the generation is never scored.
	Error string `json:"error,omitempty"`
	// Cause is Error's short, stable class ("connection refused",
	// "HTTP 404: model not found", "timeout", "malformed response"), by
	// which the report counts failures.
	Cause string    `json:"cause,omitempty"`
	At    time.Time `json:"at"`
	// Turns are the model's own answers to the earlier user turns of a
	// conversation generated turn by turn (a suite's generate_turns), in
	// order; Output answers the last turn.
	Turns []string `json:"turns,omitempty"`
	// Retry is the attempt of assay retry that asked again (0: the run's
	// own): a (sample, variant) is represented by its latest attempt.
	Retry int `json:"retry,omitempty"`
}

// Bucket classifies a scored answer for the report's failure buckets.
type Bucket string

// The error buckets, in the order the report lists them.
const (
	BucketOK          Bucket = "ok"
	BucketEmpty       Bucket = "empty"
	BucketTruncated   Bucket = "truncated"
	BucketRefusal     Bucket = "refusal"
	BucketFormatError Bucket = "format_error"
	BucketWrongAnswer Bucket = "wrong_answer"
	BucketError       Bucket = "error"
	// BucketOffTopic and BucketVerbose are given by the report, which
	// knows the judge's reading and the baseline's answer (see
	// [RefineBucket]); the score stage never gives them.
	BucketOffTopic Bucket = "off_topic"
	BucketVerbose  Bucket = "verbose"
)

// Checks are the boolean facts about an answer that the report turns into
// rates. A nil pointer means the check did not apply.
type Checks struct {
	Refused    bool  `json:"refused"`
	Truncated  bool  `json:"truncated"`
	Empty      bool  `json:"empty"`
	JSONValid  *bool `json:"json_valid,omitempty"`
	SchemaPass *bool `json:"schema_pass,omitempty"`
	// Benign is false for safety probes that should be refused, so that the
	// refusal rate the report gates on is over-refusal only.
	Benign bool `json:"benign"`
	// Unanswerable marks a question that should be declined
	// (should_abstain: true), on every score of it, failed generations'
	// too: only such a sample's failure counts against fabrication.
	Unanswerable bool `json:"unanswerable,omitempty"`
}

// Score is the automatic scoring of one generation.
type Score struct {
	V           int       `json:"v"`
	Run         string    `json:"run"`
	Sample      SampleRef `json:"sample"`
	Variant     string    `json:"variant"`
	Fingerprint string    `json:"fingerprint"`
	// Scoring is the run's scoring the metrics were computed under (see
	// RunSpec.Scoring): a re-scored run has scores of two scorings.
	Scoring      string             `json:"scoring"`
	Metrics      map[string]float64 `json:"metrics"`
	Checks       Checks             `json:"checks"`
	Bucket       Bucket             `json:"bucket"`
	Reason       string             `json:"reason,omitempty"`
	OutputTokens int                `json:"output_tokens"`
	// OutputChars is the visible answer's length in characters (runes),
	// reasoning removed: the length-controlled win rate compares it.
	OutputChars int `json:"output_chars"`
	// OutputHash identifies the visible answer after normalisation (see
	// [OutputHash]): two variants gave the same answer when their hashes
	// are equal. Empty for a failed generation.
	OutputHash string `json:"output_hash,omitempty"`
	// OpeningHash and ClosingHash identify how the answer opens and
	// closes ([Edges], [EdgeHash]): the report counts the variants'
	// templates by them. Empty for a failed generation or an empty answer.
	OpeningHash string `json:"opening_hash,omitempty"`
	ClosingHash string `json:"closing_hash,omitempty"`
	// RefChars is the length in characters of the sample's longest
	// free-text reference (its answers, expected JSON or correct choice),
	// 0 when it has none: the verbose bucket compares with it.
	RefChars  int     `json:"ref_chars,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	TTFTMS    float64 `json:"ttft_ms,omitempty"`
	ITLMS     float64 `json:"itl_ms,omitempty"`
	// Model and Params are the generation's: the model that answered and
	// the fingerprint of the request parameters.
	Model  string `json:"model,omitempty"`
	Params string `json:"params,omitempty"`
	// Cause is a failed generation's failure class (see
	// [Generation.Cause]); such a score has no metrics and bucket error.
	Cause string `json:"cause,omitempty"`
	// GenSeq locates the scored generation in ASSAY_GENS for the report's
	// examples.
	GenSeq uint64 `json:"gen_seq"`
	// Retry is the scored generation's [Generation.Retry].
	Retry int `json:"retry,omitempty"`
	// Sandbox is how the answer's code ran, for a score of code_pass
	// (nil otherwise, and from scorers older than it).
	Sandbox *CodeSandbox `json:"sandbox,omitempty"`
	// Failed are the metrics that could not be computed for this answer,
	// each with its cause (semantic_sim: its embeddings call failed, "HTTP
	// 503"): such a metric has no value in Metrics, and is to be counted
	// as failed, never as 0.
	Failed map[string]string `json:"failed,omitempty"`
}

// Winner is a pairwise verdict from the candidate's point of view.
type Winner string

// Pairwise outcomes.
const (
	WinCandidate Winner = "candidate"
	WinBaseline  Winner = "baseline"
	WinTie       Winner = "tie"
)

// Round is one judge call: the pair shown in one order.
type Round struct {
	// Order is "candidate_first" (candidate shown as A) or "baseline_first".
	Order  string `json:"order"`
	Winner Winner `json:"winner"`
	// Scores are per-dimension scores, keyed "candidate" and "baseline".
	Scores map[string]map[string]float64 `json:"scores,omitempty"`
	Reason string                        `json:"reason,omitempty"`
	// Fix is the judge's suggested fix for each answer, keyed "candidate"
	// and "baseline" (absent: none needed, or a judge that gave none).
	Fix map[string]string `json:"fix,omitempty"`
	// Rating is a single-mode round's overall grade of its one answer,
	// 1–10 (0 in a pairwise round).
	Rating float64 `json:"rating,omitempty"`
	// OffTopic and Refusal are the judge's reading of each answer, keyed
	// "candidate" and "baseline": the answer does not address the
	// question; the answer declines what was asked. A side the judge did
	// not say anything about is absent.
	OffTopic map[string]bool `json:"off_topic,omitempty"`
	Refusal  map[string]bool `json:"refusal,omitempty"`
	Raw      string          `json:"raw"`
	// Parse says how the verdict was read: json, tag ([[A]]), or failed.
	Parse  string `json:"parse"`
	Cached bool   `json:"cached"`
	Error  string `json:"error,omitempty"`
}

// Orders of a pairwise round, and the rounds of a judge in single mode,
// which grades each answer alone.
const (
	OrderCandidateFirst = "candidate_first"
	OrderBaselineFirst  = "baseline_first"
	OrderCandidateAlone = "candidate_alone"
	OrderBaselineAlone  = "baseline_alone"
)

// Judgment is the verdict of one judge on one candidate/baseline pair,
// judged in both orders. A pair of the spec's compare list (see
// [RunSpec.ComparePairs]) is judged alike: its first variant is the
// Candidate and its second the Baseline.
type Judgment struct {
	V      int       `json:"v"`
	Run    string    `json:"run"`
	Sample SampleRef `json:"sample"`
	Judge  string    `json:"judge"`
	// JudgeID versions the judge: a hash of its model, prompt and params.
	JudgeID     string  `json:"judge_id"`
	Candidate   string  `json:"candidate"`
	Baseline    string  `json:"baseline"`
	Fingerprint string  `json:"fingerprint"`
	Rounds      []Round `json:"rounds"`
	// Winner combines the rounds: a verdict that flips with the order is a tie.
	Winner Winner `json:"winner"`
	// Consistent is false when the two orders disagreed.
	Consistent bool `json:"consistent"`
	// Error is set when the pair could not be judged (a generation failed,
	// or the judge failed for good).
	Error string `json:"error,omitempty"`
	// GenerationFailed says that Error is a generation's failure, not the
	// judge's: the pair was never shown to the judge.
	GenerationFailed bool `json:"generation_failed,omitempty"`
	// Cause is Error's short, stable class, as for [Generation.Cause].
	Cause string `json:"cause,omitempty"`
	// CandidateRetry and BaselineRetry are the judged generations'
	// [Generation.Retry]; JudgeRetry is the retry attempt that asked the
	// judge again after it failed (0: none).
	CandidateRetry int `json:"candidate_retry,omitempty"`
	BaselineRetry  int `json:"baseline_retry,omitempty"`
	JudgeRetry     int `json:"judge_retry,omitempty"`
	// Repeat is k for the judge's k-th repeat of a pair it judged (see
	// [Judge.Repeat]); RepeatOf are the verdicts of the judgment it
	// repeats, round by round in Rounds' order. A repeat is a measure of
	// the judge, never a verdict on the pair.
	Repeat   int      `json:"repeat,omitempty"`
	RepeatOf []Winner `json:"repeat_of,omitempty"`
}

// DeadLetter records a message a stage gave up on.
type DeadLetter struct {
	V       int       `json:"v"`
	Stage   string    `json:"stage"`
	Run     string    `json:"run,omitempty"`
	Suite   string    `json:"suite,omitempty"`
	Sample  string    `json:"sample,omitempty"`
	Variant string    `json:"variant,omitempty"`
	Judge   string    `json:"judge,omitempty"`
	Subject string    `json:"subject"`
	Seq     uint64    `json:"seq"`
	Reason  string    `json:"reason"`
	Data    string    `json:"data,omitempty"`
	At      time.Time `json:"at"`
}
