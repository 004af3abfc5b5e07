package bus

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
)

// RetrySubject is where assay retry asks a stage's member again for what
// failed in a run: infer's variants for failed generations, the judges for
// failed judgments (one [eval.RetryRequest] a sample or pair). It is part
// of ASSAY_EVENTS: stored, and read by infer, judge and report.
func RetrySubject(run, stage, member string) string {
	return prefix + "events.retry." + run + "." + stage + "." + member
}

// RunRetries matches every retry request of a run.
func RunRetries(run string) string { return prefix + "events.retry." + run + ".>" }

// The stages' consumers of retry requests; in dead letters and metrics
// they are their stage's.
const (
	StageInferRetry = StageInfer + "-retry"
	StageJudgeRetry = StageJudge + "-retry"
)

// InferRetryConsumer is infer's durable consumer of one variant's retry
// requests in one run.
func InferRetryConsumer(run, variant string) string {
	return StageInferRetry + sep + run + sep + variant
}

// JudgeRetryConsumer is the judge stage's durable consumer of one judge's
// retry requests in one run.
func JudgeRetryConsumer(run, judge string) string {
	return StageJudgeRetry + sep + run + sep + judge
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

// IsRetrySubject reports whether subject is one of [RetrySubject]'s.
func IsRetrySubject(subject string) bool {
	return strings.HasPrefix(subject, prefix+"events.retry.")
}

// ReportRetryConsumer is the report stage's durable consumer of retry
// requests: it reopens a run when an attempt's last request is stored.
// The report stage, not the client, reopens the run; the client writes a
// status only to open a run it submits, changes or retries (though its
// grant allows any status: see Grants).
const ReportRetryConsumer = StageReport + "-retries"

// ReportCheckpointConsumer is the report stage's durable consumer of
// refused checkpoints' dead letters: it rewrites the report of a run that
// is over, so that the report warns why the checkpoint was not added.
const ReportCheckpointConsumer = StageReport + "-checkpoints"

// StartRetry publishes the retry requests of attempt n of run, the last
// one marked: the report stage then reopens the run with Retry set to n,
// so that infer consumes them and the report waits for the results they
// lead to. They are published one after another, so that whoever takes
// the last finds them all.
func (b *Bus) StartRetry(ctx context.Context, run string, n int, reqs []eval.RetryRequest) error {
	at := time.Now().UTC()
	for i, r := range reqs {
		r.V, r.Run, r.Attempt, r.At, r.Last = eval.Version, run, n, at, i == len(reqs)-1
		subject, what := RetrySubject(run, StageInfer, r.Variant), "variant "+r.Variant
		if r.Judge != "" {
			subject, what = RetrySubject(run, StageJudge, r.Judge), "judge "+r.Judge+" on candidate "+r.Variant
		}
		keys := []string{strconv.Itoa(n), r.Judge, r.Variant, r.Sample.Suite, r.Sample.ID}
		if r.Baseline != "" {
			// A compare pair's request beside the baseline pair's of the
			// same candidate, judge and sample: under one id the server
			// would drop the second as a duplicate, and the attempt
			// would never be whole.
			keys = append(keys, "vs", r.Baseline)
			what += " against " + r.Baseline
		}
		id := MsgID("retry", append([]string{run}, keys...)...)
		if _, err := b.Publish(ctx, subject, id, r); err != nil {
			return fmt.Errorf("asking again for %s/%s of %s: %w", r.Sample.Suite, r.Sample.ID, what, err)
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

// ParseRetryMsgID splits a message id built by [RetryMsgID] into the id of
// the run's own result and the retry attempts it was made from (none for
// the run's own). An id whose suffix does not parse is taken whole, with
// no attempts.
func ParseRetryMsgID(id string) (base string, attempts []int) {
	i := strings.LastIndex(id, "|retry")
	if i < 0 {
		return id, nil
	}
	for _, f := range strings.Split(id[i+len("|retry"):], ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return id, nil
		}
		attempts = append(attempts, n)
	}
	return id[:i], attempts
}
