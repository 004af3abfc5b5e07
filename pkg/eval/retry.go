package eval

import (
	"fmt"
	"time"
)

// RetryRequest asks again for one result of a run that failed for good
// (assay retry): the inference stage for variant Variant's generation of
// Sample, or, when Judge is set, that judge for the pair of candidate
// Variant on Sample (against Baseline, for a pair of the compare list).
// Attempt numbers a run's retries from 1; the new
// generation carries it as [Generation.Retry] (so that its score and its
// pairs' judgments replace the failed ones), the new judgment as
// [Judgment.JudgeRetry].
type RetryRequest struct {
	V       int    `json:"v"`
	Run     string `json:"run"`
	Attempt int    `json:"attempt"`
	Variant string `json:"variant"`
	Judge   string `json:"judge,omitempty"`
	// Baseline is the second variant of a compare pair a judge is asked
	// about again ([Judgment.Baseline]); "" for the run's baseline.
	Baseline string    `json:"baseline,omitempty"`
	Sample   SampleRef `json:"sample"`
	// Last marks the attempt's last request: every other is stored before
	// it, so the report stage reopens the run when it takes it.
	Last bool      `json:"last,omitempty"`
	At   time.Time `json:"at"`
}

// MaxRetryAttempts bounds a run's retry attempts. Each is a person
// running assay retry, so this is never reached in use; it keeps a
// forged request's attempt from overflowing the next one's number.
const MaxRetryAttempts = 1000

// ValidAttempt says why r's attempt cannot be one of a run's retries, or
// returns nil.
func (r *RetryRequest) ValidAttempt() error {
	if r.Attempt < 1 || r.Attempt > MaxRetryAttempts {
		return fmt.Errorf("retry attempt %d is outside 1..%d", r.Attempt, MaxRetryAttempts)
	}
	return nil
}

// NextRetryAttempt is the attempt that follows latest, or an error when
// the run has had as many as [MaxRetryAttempts].
func NextRetryAttempt(run string, latest int) (int, error) {
	if latest >= MaxRetryAttempts {
		return 0, fmt.Errorf("run %s has had %d retries, the most a run may have: submit it again under a new name", run, MaxRetryAttempts)
	}
	return max(latest, 0) + 1, nil
}
