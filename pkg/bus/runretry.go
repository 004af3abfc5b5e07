package bus

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// RetrySubject is where assay retry asks a variant again for the samples
// of a run whose generations failed (one [eval.RetryRequest] a sample).
// It is part of ASSAY_EVENTS: stored, and read by infer.
func RetrySubject(run, variant string) string { return prefix + "events.retry." + run + "." + variant }

// RunRetries matches every retry request of a run.
func RunRetries(run string) string { return prefix + "events.retry." + run + ".>" }

// StageInferRetry names infer's consumers of retry requests; in dead
// letters and metrics they are infer's.
const StageInferRetry = StageInfer + "-retry"

// InferRetryConsumer is infer's durable consumer of one variant's retry
// requests in one run.
func InferRetryConsumer(run, variant string) string {
	return StageInferRetry + sep + run + sep + variant
}

// RetryMsgID is the message id of a result made from retried inputs (the
// retry attempts of what it was made from), built from the id of the
// run's own result: attempts all 0 keep it, so that results published
// before retries existed keep their ids.
func RetryMsgID(id string, attempts ...int) string {
	if !slices.ContainsFunc(attempts, func(n int) bool { return n != 0 }) {
		return id
	}
	id += "|retry"
	for i, n := range attempts {
		if i > 0 {
			id += "."
		}
		id += strconv.Itoa(n)
	}
	return id
}

// AllRetries matches every retry request.
const AllRetries = prefix + "events.retry.>"

// ReportRetryConsumer is the report stage's durable consumer of retry
// requests: it reopens a run when an attempt's last request is stored.
// Clients may not write run statuses; the report stage keeps them.
const ReportRetryConsumer = StageReport + "-retries"

// StartRetry publishes the retry requests of attempt n of run, the last
// one marked: the report stage then reopens the run with Retry set to n,
// so that infer consumes them and the report waits for the results they
// lead to. They are published one after another, so that whoever takes
// the last finds them all.
func (b *Bus) StartRetry(ctx context.Context, run string, n int, reqs []eval.RetryRequest) error {
	at := time.Now().UTC()
	for i, r := range reqs {
		r.V, r.Run, r.Attempt, r.At, r.Last = eval.Version, run, n, at, i == len(reqs)-1
		id := MsgID("retry", run, strconv.Itoa(n), r.Variant, r.Sample.Suite, r.Sample.ID)
		if _, err := b.Publish(ctx, RetrySubject(run, r.Variant), id, r); err != nil {
			return fmt.Errorf("asking again for %s/%s of variant %s: %w", r.Sample.Suite, r.Sample.ID, r.Variant, err)
		}
	}
	return nil
}

// Status returns a run's status as the watch last saw it, or nil.
func (r *Runs) Status(run string) *eval.RunStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.status[run]
}
