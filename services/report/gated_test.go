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
	"github.com/assay-eval/assay/services/report/document"
	"github.com/prometheus/client_golang/prometheus"
)

// TestGateEvents: each gated variant's event carries its own verdict,
// inconclusive included, and the checks that bear on it with their
// outcomes and intervals.
func TestGateEvents(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	g := document.Gate{
		Verdict:  document.VerdictFail,
		Variants: map[string]bool{"ft2": false, "ft": false},
		Verdicts: map[string]string{"ft": document.VerdictInconclusive, "ft2": document.VerdictFail},
		Checks: []document.Check{
			{Name: "error_rate_max", Variant: "base", Threshold: 0.02, Bound: "max", Outcome: document.VerdictPass, Passed: true},
			{Name: "qa/em delta_min", Variant: "ft", Value: 0, Threshold: 0, Bound: "min", CI: &[2]float64{-0.05, 0.05}, Outcome: document.VerdictInconclusive},
			{Name: "qa/em delta_min", Variant: "ft2", Value: -0.1, Threshold: 0, Bound: "min", CI: &[2]float64{-0.15, -0.05}, Outcome: document.VerdictFail},
		},
	}
	evs := gateEvents("r", "base", g, at)
	if len(evs) != 2 || evs[0].Variant != "ft" || evs[1].Variant != "ft2" {
		t.Fatalf("events %+v", evs)
	}
	ft := evs[0]
	if ft.Verdict != document.VerdictInconclusive || ft.Passed || len(ft.Errors) != 0 || !ft.At.Equal(at) || len(ft.Checks) != 2 {
		t.Fatalf("ft's event %+v", ft)
	}
	if c := ft.Checks[0]; c.Name != "error_rate_max" || c.Outcome != document.VerdictPass || !c.Passed || c.CI != nil {
		t.Errorf("the baseline's check %+v", c)
	}
	if c := ft.Checks[1]; c.Outcome != document.VerdictInconclusive || c.Passed || c.CI == nil || *c.CI != [2]float64{-0.05, 0.05} {
		t.Errorf("ft's own check %+v", c)
	}
	if ft2 := evs[1]; ft2.Verdict != document.VerdictFail || len(ft2.Checks) != 2 || ft2.Checks[1].Outcome != document.VerdictFail {
		t.Errorf("ft2's event %+v", ft2)
	}
}

// TestGatedEventInconclusive runs the stage on a candidate that answers
// exactly as its base on a few samples and is asked not to be worse: the
// run's status and its gated event say inconclusive, not pass.
func TestGatedEventInconclusive(t *testing.T) {
	const run = "g1"
	b := bustest.New(t)
	spec := testSpec(run)
	spec.Judges = nil
	spec.Gate = eval.Gate{Metrics: []eval.MetricGate{{Suite: "qa", Metric: "em", DeltaMin: new(float64)}}}
	ctx := t.Context()
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Tick: 10 * time.Millisecond}, &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(sctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	const n = 6
	for i := range n {
		ref := eval.SampleRef{ID: fmt.Sprintf("q%d", i), Suite: "qa", At: time.Now().UTC()}
		publishSample(t, b, &eval.Sample{V: 1, Run: run, Suite: "qa", ID: ref.ID})
		for _, v := range spec.Variants {
			sc := &eval.Score{V: 1, Run: run, Sample: ref, Variant: v.Name, Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(),
				Metrics: map[string]float64{"em": 1}, Bucket: eval.BucketOK}
			if _, err := b.Publish(ctx, bus.ScoresSubject(run, v.Name), "", sc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.PutIngest(ctx, &eval.IngestStatus{V: 1, Run: run, Done: true, Samples: n,
		Suites: map[string]*eval.SuiteStatus{"qa": {Samples: n}}, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	var st *eval.RunStatus
	bustest.Eventually(t, 30*time.Second, func() error {
		var err error
		if st, err = b.Status(ctx, run); err != nil {
			return err
		}
		if st.State != eval.StateComplete {
			return fmt.Errorf("state %s", st.State)
		}
		return nil
	})
	if st.Verdict != document.VerdictInconclusive || st.Verdicts["ft"] != document.VerdictInconclusive || st.Gates["ft"] || *st.GatePassed {
		t.Errorf("status %+v", st)
	}
	evs := bustest.Stored[eval.GateEvent](t, b, bus.StreamEvents, bus.RunEvent(run, bus.EventGated))
	if len(evs) != 1 || evs[0].Verdict != document.VerdictInconclusive || evs[0].Passed {
		t.Fatalf("gated events %+v", evs)
	}
	last := evs[0].Checks[len(evs[0].Checks)-1]
	if last.Name != "qa/em delta_min" || last.Outcome != document.VerdictInconclusive || last.Error != "" {
		t.Errorf("check %+v", last)
	}
}
