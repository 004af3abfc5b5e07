package eval

import "time"

// RetryRequest asks again for one result of a run that failed for good
// (assay retry): the inference stage for variant Variant's generation of
// Sample, or, when Judge is set, that judge for the pair of candidate
// Variant on Sample. Attempt numbers a run's retries from 1; the new
// generation carries it as [Generation.Retry] (so that its score and its
// pairs' judgments replace the failed ones), the new judgment as
// [Judgment.JudgeRetry].
type RetryRequest struct {
	V       int       `json:"v"`
	Run     string    `json:"run"`
	Attempt int       `json:"attempt"`
	Variant string    `json:"variant"`
	Judge   string    `json:"judge,omitempty"`
	Sample  SampleRef `json:"sample"`
	// Last marks the attempt's last request: every other is stored before
	// it, so the report stage reopens the run when it takes it.
	Last bool      `json:"last,omitempty"`
	At   time.Time `json:"at"`
}
