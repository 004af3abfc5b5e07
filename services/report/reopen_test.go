package report

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/prometheus/client_golang/prometheus"
)

// TestRetryWhileRunning: a retry whose last request arrives while its run
// is running (a checkpoint reopened it after assay retry's check) is taken
// at once, not held and redelivered until it is dead-lettered, and the
// run is reopened for it when it completes.
func TestRetryWhileRunning(t *testing.T) {
	const run = "rr"
	b := bustest.New(t)
	spec := testSpec(run)
	spec.Judges = nil
	ctx := t.Context()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Tick: 10 * time.Millisecond}, &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(sctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	const n = 3
	var q0, last eval.SampleRef
	score := func(ref eval.SampleRef, v eval.Variant) *eval.Score {
		return &eval.Score{V: 1, Run: run, Sample: ref, Variant: v.Name, Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(),
			Metrics: map[string]float64{"em": 1}, Bucket: eval.BucketOK}
	}
	for i := range n {
		ref := eval.SampleRef{ID: fmt.Sprintf("q%d", i), Suite: "qa", At: time.Now().UTC()}
		ref.Seq = publishSample(t, b, &eval.Sample{V: 1, Run: run, Suite: "qa", ID: ref.ID})
		if i == 0 {
			q0 = ref
		}
		if i == n-1 {
			last = ref // its scores come after the retry: the run runs until then
			continue
		}
		for _, v := range spec.Variants {
			sc := score(ref, v)
			if i == 0 && v.Name == "ft" {
				sc.Bucket, sc.Reason, sc.Cause, sc.Metrics = eval.BucketError, "HTTP 500", "HTTP 500", map[string]float64{}
			}
			if _, err := b.Publish(ctx, bus.ScoresSubject(run, v.Name), "", sc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.PutIngest(ctx, &eval.IngestStatus{V: 1, Run: run, Done: true, Samples: n,
		Suites: map[string]*eval.SuiteStatus{"qa": {Samples: n}}, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 30*time.Second, func() error {
		st, err := b.Status(ctx, run)
		// The tracker has counted what arrived: it follows the run from
		// before the retry.
		if err != nil || st.State != eval.StateRunning || st.Scores != 4 || st.ScoresExpected != 6 {
			return fmt.Errorf("status %+v, %v", st, err)
		}
		return nil
	})
	if err := b.StartRetry(ctx, run, 1, []eval.RetryRequest{{Variant: "ft", Sample: q0}}); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 15*time.Second, func() error {
		cons, err := b.JS.Consumer(ctx, bus.StreamEvents, bus.ReportRetryConsumer)
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 || info.NumRedelivered != 0 || info.AckFloor.Stream == 0 {
			return fmt.Errorf("the retry's request is not taken: pending %d, ack pending %d, redelivered %d",
				info.NumPending, info.NumAckPending, info.NumRedelivered)
		}
		return nil
	})
	for _, v := range spec.Variants {
		if _, err := b.Publish(ctx, bus.ScoresSubject(run, v.Name), "", score(last, v)); err != nil {
			t.Fatal(err)
		}
	}
	bustest.Eventually(t, 30*time.Second, func() error {
		st, err := b.Status(ctx, run)
		if err != nil {
			return err
		}
		if st.Retry != 1 || st.State != eval.StateRunning {
			return fmt.Errorf("status retry %d, state %s: the run was not reopened for the retry", st.Retry, st.State)
		}
		return nil
	})
	if dls := bustest.Stored[eval.DeadLetter](t, b, bus.StreamDLQ, bus.RunDLQ(run)); len(dls) != 0 {
		t.Errorf("dead letters: %+v", dls)
	}
}
