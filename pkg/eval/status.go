package eval

import (
	"fmt"
	"time"
)

// RunState is where a run is in its life.
type RunState string

// Run states.
const (
	StateRunning  RunState = "running"
	StateComplete RunState = "complete"
	// StateError is a run that could not be evaluated (its suites could
	// not be read): it never completes and has no gate verdict.
	StateError RunState = "error"
)

// IngestStatus is what ingest found in a run's suites. Its presence with
// Done set is what lets the report know how many samples to expect.
type IngestStatus struct {
	V       int                     `json:"v"`
	Run     string                  `json:"run"`
	Done    bool                    `json:"done"`
	Samples int                     `json:"samples"`
	Suites  map[string]*SuiteStatus `json:"suites"`
	At      time.Time               `json:"at"`
}

// SuiteStatus is one suite's ingest result.
type SuiteStatus struct {
	Samples int `json:"samples"`
	// Contaminated counts the samples the contamination check flagged.
	Contaminated int `json:"contaminated,omitempty"`
	// Perturbed counts the robustness copies among Samples.
	Perturbed  int `json:"perturbed,omitempty"`
	Duplicates int `json:"duplicates"`
	Malformed  int `json:"malformed"`
	// Problems are the first malformed lines, as "file:line: field: what".
	Problems []string `json:"problems,omitempty"`
	// Files are the suite's files that held malformed lines, in the order
	// read, each with its count and first few problems: a suite read from
	// a directory names every file at fault, not only the first.
	Files []MalformedFile `json:"files,omitempty"`
	// Dropped pairs each dropped duplicate with the sample it duplicated.
	Dropped []DroppedDuplicate `json:"dropped,omitempty"`
}

// MalformedFile counts the malformed lines of one dataset file, with the
// first few, as "file:line: field: what".
type MalformedFile struct {
	File      string   `json:"file"`
	Malformed int      `json:"malformed"`
	Problems  []string `json:"problems"`
}

// DroppedDuplicate is a sample dropped as a duplicate of Twin.
type DroppedDuplicate struct {
	ID     string `json:"id"`
	Twin   string `json:"twin"`
	Source string `json:"source"`
	// Similarity is the share of a near-duplicate's tokens its twin has
	// too (the rest differ by typos); an exact duplicate has none.
	Similarity float64 `json:"similarity,omitempty"`
	// Why says how a near-duplicate differs from its twin, e.g. a typo.
	Why string `json:"why,omitempty"`
}

// RunStatus is a run's progress and outcome, kept by the report stage.
type RunStatus struct {
	V     int      `json:"v"`
	Run   string   `json:"run"`
	State RunState `json:"state"`
	// Progress counts what has arrived against what is expected.
	Scores            int `json:"scores"`
	ScoresExpected    int `json:"scores_expected"`
	Judgments         int `json:"judgments"`
	JudgmentsExpected int `json:"judgments_expected"`
	// GatePassed is set once the run is complete.
	GatePassed *bool `json:"gate_passed,omitempty"`
	// Verdict is the gate's verdict once the run is over: pass, fail,
	// inconclusive (no check failed, but some could not be decided at
	// this sample size), or error when it could not be evaluated (then
	// Error says why).
	Verdict string `json:"verdict,omitempty"`
	Error   string `json:"error,omitempty"`
	// Gates is each gated variant's verdict, set once the run is complete:
	// whether it passed, and as pass, fail, inconclusive or error.
	Gates    map[string]bool   `json:"gates,omitempty"`
	Verdicts map[string]string `json:"verdicts,omitempty"`
	Report   string            `json:"report,omitempty"`
	// Retry is the run's latest attempt of assay retry (0: none): its
	// stages ask again the failed results it names (see [RetryRequest]).
	Retry int       `json:"retry,omitempty"`
	At    time.Time `json:"at"`
}

// RunEvent is the payload of a run lifecycle event.
type RunEvent struct {
	V           int       `json:"v"`
	Run         string    `json:"run"`
	Fingerprint string    `json:"fingerprint"`
	GatePassed  *bool     `json:"gate_passed,omitempty"`
	At          time.Time `json:"at"`
}

// CheckpointEvent announces a new checkpoint of a run (published on
// assay.events.checkpoint, e.g. by a training job): it becomes a variant of
// the run, answers the run's samples, and is scored, judged and gated.
type CheckpointEvent struct {
	V       int    `json:"v"`
	Run     string `json:"run"`
	Variant string `json:"variant"`
	BaseURL string `json:"base_url"`
	Model   string `json:"model"`
	// APIKeyEnv, APIKeySecret, Concurrency, Timeout and Stream are as for
	// a variant of the spec; zero values take the defaults.
	APIKeyEnv    string   `json:"api_key_env,omitempty"`
	APIKeySecret string   `json:"api_key_secret,omitempty"`
	Concurrency  int      `json:"concurrency,omitempty"`
	Timeout      Duration `json:"timeout,omitempty"`
	Stream       *bool    `json:"stream,omitempty"`
	// Step is the training step, for the report's trend.
	Step int64     `json:"step,omitempty"`
	At   time.Time `json:"at"`
}

// NewVariant returns the variant the event announces, with defaults applied,
// or an error saying what is wrong with it.
func (e *CheckpointEvent) NewVariant() (Variant, error) {
	v := Variant{Name: e.Variant, BaseURL: e.BaseURL, Model: e.Model, APIKeyEnv: e.APIKeyEnv, APIKeySecret: e.APIKeySecret,
		Concurrency: e.Concurrency, Timeout: e.Timeout, Stream: e.Stream}
	switch {
	case !ValidName(e.Run):
		return v, fmt.Errorf("run %q is not a valid name", e.Run)
	case !ValidName(e.Variant):
		return v, fmt.Errorf("variant %q is not a valid name: use 1-64 letters, digits, '-' or '_'", e.Variant)
	case e.Model == "":
		return v, fmt.Errorf("model is required")
	case e.Concurrency < 0:
		return v, fmt.Errorf("concurrency must be positive")
	}
	if err := CheckEndpointURL(e.BaseURL); err != nil {
		return v, fmt.Errorf("base_url %w", err)
	}
	if field, err := CheckKeySource(e.APIKeyEnv, e.APIKeySecret); err != nil {
		return v, fmt.Errorf("%s %w", field, err)
	}
	if v.Concurrency == 0 {
		v.Concurrency = DefaultConcurrency
	}
	if v.Timeout == 0 {
		v.Timeout = Duration(DefaultTimeout)
	}
	return v, nil
}

// GateEvent is a variant's gate verdict, published on
// assay.events.run.<run>.gated each time the run completes.
type GateEvent struct {
	V       int    `json:"v"`
	Run     string `json:"run"`
	Variant string `json:"variant"`
	Passed  bool   `json:"passed"`
	// Verdict is pass, fail, inconclusive (no check failed, but some
	// could not be decided: their intervals straddle the threshold), or
	// error when the variant could not be evaluated (Errors say why);
	// Passed is Verdict == pass.
	Verdict string      `json:"verdict"`
	Errors  []string    `json:"errors,omitempty"`
	Checks  []GateCheck `json:"checks"`
	At      time.Time   `json:"at"`
}

// GateCheck is one condition of a variant's gate.
type GateCheck struct {
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// CI is Value's 95% interval (absent for checks on counts, and where
	// the test is undefined).
	CI *[2]float64 `json:"ci,omitempty"`
	// Outcome is pass, fail, inconclusive (CI straddles Threshold) or
	// error; Passed is Outcome == pass.
	Outcome string `json:"outcome"`
	Passed  bool   `json:"passed"`
	// Error says why the check could not be evaluated.
	Error string `json:"error,omitempty"`
}

// ABDecisionEvent is a live experiment's decision for one treatment arm
// at a look (the end of a window of its events' time), published on
// assay.events.ab.<experiment>.decision.
type ABDecisionEvent struct {
	V          int    `json:"v"`
	Run        string `json:"run"`
	Experiment string `json:"experiment"`
	Arm        string `json:"arm"`
	// Decision is ramp, hold or rollback; Blocked is set when a sample
	// ratio mismatch holds it whatever the metrics say.
	Decision string   `json:"decision"`
	Reasons  []string `json:"reasons"`
	Blocked  bool     `json:"blocked,omitempty"`
	// Window is the end of the window looked at; Look counts the looks.
	Window time.Time `json:"window"`
	Look   int       `json:"look"`
	At     time.Time `json:"at"`
}
