package eval

import "time"

// RunState is where a run is in its life.
type RunState string

// Run states.
const (
	StateRunning  RunState = "running"
	StateComplete RunState = "complete"
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
	Samples    int `json:"samples"`
	Duplicates int `json:"duplicates"`
	Malformed  int `json:"malformed"`
	// Problems are the first malformed lines, as "file:line: field: what".
	Problems []string `json:"problems,omitempty"`
	// Dropped pairs each dropped duplicate with the sample it duplicated.
	Dropped []DroppedDuplicate `json:"dropped,omitempty"`
}

// DroppedDuplicate is a sample dropped as a duplicate of Twin.
type DroppedDuplicate struct {
	ID     string `json:"id"`
	Twin   string `json:"twin"`
	Source string `json:"source"`
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
	GatePassed *bool     `json:"gate_passed,omitempty"`
	Report     string    `json:"report,omitempty"`
	At         time.Time `json:"at"`
}

// RunEvent is the payload of a run lifecycle event.
type RunEvent struct {
	V           int       `json:"v"`
	Run         string    `json:"run"`
	Fingerprint string    `json:"fingerprint"`
	GatePassed  *bool     `json:"gate_passed,omitempty"`
	At          time.Time `json:"at"`
}
