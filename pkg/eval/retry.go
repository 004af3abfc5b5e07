package eval

import "time"

// RetryRequest asks the inference stage to ask one variant again for one
// sample whose generation failed for good (assay retry). Attempt numbers a
// run's retries from 1; the new generation carries it as
// [Generation.Retry], so that its score and its pairs' judgments replace
// the failed ones.
type RetryRequest struct {
	V       int       `json:"v"`
	Run     string    `json:"run"`
	Attempt int       `json:"attempt"`
	Variant string    `json:"variant"`
	Sample  SampleRef `json:"sample"`
	// Last marks the attempt's last request: every other is stored before
	// it, so the report stage reopens the run when it takes it.
	Last bool      `json:"last,omitempty"`
	At   time.Time `json:"at"`
}
