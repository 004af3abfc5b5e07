package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// Latest follows the results stored on one subject of a stream and knows,
// for each result, where its latest attempt is: the result is its message
// id without the retry suffix (see [RetryMsgID]), the latest attempt the
// one made from the highest retry attempt, the later stored on a tie.
// Each lookup first reads, headers only, what was stored since the one
// before, so it is cheap however often it is asked and sees what other
// processes stored.
type Latest struct {
	b               *Bus
	stream, subject string

	mu   sync.Mutex
	next uint64 // the first stream sequence not read yet
	last map[string]LatestResult
}

// LatestResult is where the latest attempt of a result is stored.
type LatestResult struct {
	// Seq is its stream sequence.
	Seq uint64
	// Attempt is the highest retry attempt it was made from (0: the
	// run's own).
	Attempt int
}

// FollowLatest returns a [Latest] of stream's messages on subject.
func (b *Bus) FollowLatest(stream, subject string) *Latest {
	return &Latest{b: b, stream: stream, subject: subject, last: map[string]LatestResult{}}
}

// Get returns where the latest attempt of the result with message id id
// (as published without retries) is stored, or false when none is.
func (l *Latest) Get(ctx context.Context, id string) (LatestResult, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.catchUp(ctx); err != nil {
		return LatestResult{}, false, err
	}
	r, ok := l.last[id]
	return r, ok, nil
}

func (l *Latest) catchUp(ctx context.Context) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{l.subject}, HeadersOnly: true}
	if l.next > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, l.next
	}
	return l.b.ReadStored(ctx, l.stream, cfg, func(m jetstream.Msg, seq uint64) error {
		l.add(m.Headers().Get(jetstream.MsgIDHeader), seq)
		l.next = seq + 1
		return nil
	}, nil)
}

// retryStored reports whether attempt n of run's retries is stored whole
// (its last request too, see [Bus.StartRetry]) and every attempt before
// it is stored: assay retry numbers each attempt the one after the latest,
// so such an attempt is real and the run is about to be reopened for it.
func (b *Bus) retryStored(ctx context.Context, run string, n int) (bool, error) {
	stored := map[int]bool{}
	last := false
	err := b.ReadStored(ctx, StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{RunRetries(run)}}, func(m jetstream.Msg, _ uint64) error {
		data, err := b.Payload(ctx, m.Data(), m.Headers())
		var r eval.RetryRequest
		if err != nil || json.Unmarshal(data, &r) != nil || r.Run != run || r.ValidAttempt() != nil {
			return nil
		}
		stored[r.Attempt] = true
		last = last || (r.Attempt == n && r.Last)
		return nil
	}, nil)
	if err != nil || !last {
		return false, err
	}
	for a := 1; a < n; a++ {
		if !stored[a] {
			return false, nil
		}
	}
	return true, nil
}

func (l *Latest) add(msgID string, seq uint64) {
	if msgID == "" {
		return
	}
	base, attempts := ParseRetryMsgID(msgID)
	attempt := 0
	if len(attempts) > 0 {
		attempt = slices.Max(attempts)
	}
	if old, ok := l.last[base]; !ok || attempt >= old.Attempt {
		l.last[base] = LatestResult{Seq: seq, Attempt: attempt}
	}
}

// Retryable says whether retry request r of run may ask again for the
// result published with id: only when the latest stored attempt of it
// failed (failed reads that from its payload), and r's attempt is a later
// one, and one the run has been reopened for. Anyone who may publish a
// retry request can name any sample, so the request is checked against
// what is stored. A redelivered request whose attempt is stored already
// is done (false, nil); one whose attempt is stored whole but that the
// run has not been reopened for yet is delivered again later (a
// [TransientError]); any other is refused with a [PoisonError] that
// names no sample, so that its dead letter counts as no failure of the
// run's results.
func (l *Latest) Retryable(ctx context.Context, run, id string, r *eval.RetryRequest, failed func(payload []byte) (bool, error)) (bool, error) {
	refuse := func(format string, a ...any) (bool, error) {
		return false, Poisonf(Keys{Run: run, Variant: r.Variant, Judge: r.Judge}, "retry request for %s/%s refused: %s",
			r.Sample.Suite, r.Sample.ID, fmt.Sprintf(format, a...))
	}
	if err := r.ValidAttempt(); err != nil {
		return refuse("%v", err)
	}
	st, err := l.b.Status(ctx, run)
	if err != nil {
		return false, PoisonIfNotFound(err, Keys{Run: run})
	}
	if r.Attempt > st.Retry {
		// assay retry may have stored the attempt while a checkpoint or
		// replay had the run open: the run is reopened for it once it
		// completes, so its requests wait for that rather than be refused.
		pending, err := l.b.retryStored(ctx, run, r.Attempt)
		if err != nil {
			return false, err
		}
		if pending {
			return false, Transient(fmt.Errorf("retry attempt %d of run %s is stored, but the run is not reopened for it yet (its latest is %d)", r.Attempt, run, st.Retry), 0)
		}
		return refuse("attempt %d is not a retry of the run (its latest is %d)", r.Attempt, st.Retry)
	}
	last, ok, err := l.Get(ctx, id)
	switch {
	case err != nil:
		return false, err
	case !ok:
		return refuse("no result of it is stored: nothing to ask again")
	case last.Attempt >= r.Attempt:
		return false, nil
	}
	data, err := l.b.GetMsg(ctx, l.stream, last.Seq)
	if err != nil {
		return false, err
	}
	bad, err := failed(data)
	if err != nil {
		return refuse("its latest result does not decode: %v", err)
	}
	if !bad {
		return refuse("its latest result (attempt %d) did not fail: nothing to ask again", last.Attempt)
	}
	return true, nil
}
