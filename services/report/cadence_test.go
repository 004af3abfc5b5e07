package report

import (
	"context"
	"encoding/json"
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

// TestContinuousParquetCadence: a continuous run's report follows its
// results every Publish, its Parquet files at most every ParquetEvery.
func TestContinuousParquetCadence(t *testing.T) {
	for _, c := range []struct {
		name  string
		every time.Duration
		// rows is what scores.parquet holds once the report counts all
		// four scores.
		rows int64
	}{
		{"within the period the files stay as they were", time.Hour, 2},
		{"after the period they are rewritten", 100 * time.Millisecond, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bustest.New(t)
			spec := testSpec("c1")
			spec.Continuous = &eval.Continuous{Sources: []string{"web"}, SampleRate: 1, Window: eval.Duration(time.Hour)}
			if err := b.SubmitRun(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			s := New(Config{Tick: 10 * time.Millisecond, Publish: 10 * time.Millisecond, ParquetEvery: c.every},
				&stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Go(func() { _ = s.Run(ctx) })
			t.Cleanup(func() { cancel(); wg.Wait() })

			scores := func(ids ...string) {
				t.Helper()
				for _, id := range ids {
					publishSample(t, b, &eval.Sample{V: 1, Run: "c1", Suite: "qa", ID: id})
					for _, v := range spec.Variants {
						sc := &eval.Score{V: 1, Run: "c1", Sample: eval.SampleRef{ID: id, Suite: "qa", At: time.Now().UTC()}, Variant: v.Name,
							Fingerprint: spec.Fingerprint(), Scoring: spec.Scoring(), Metrics: map[string]float64{"em": 1}, Bucket: eval.BucketOK}
						if _, err := b.Publish(t.Context(), bus.ScoresSubject("c1", v.Name), "", sc); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			parquetRows := func() (int64, error) {
				data, err := bus.ReadObject(t.Context(), b.Reports, ReportObject("c1", "scores.parquet"))
				if err != nil {
					return 0, err
				}
				return readParquet(t, data).NumRows(), nil
			}
			reported := func(n int) error {
				data, err := bus.ReadObject(t.Context(), b.Reports, ReportObject("c1", "report.json"))
				if err != nil {
					return err
				}
				var rep document.Report
				if err := json.Unmarshal(data, &rep); err != nil {
					return err
				}
				if rep.Progress.Scores != n {
					return fmt.Errorf("the report counts %d scores", rep.Progress.Scores)
				}
				return nil
			}

			scores("q1")
			// The first files follow the first report.
			bustest.Eventually(t, 30*time.Second, func() error {
				if n, err := parquetRows(); err != nil || n != 2 {
					return fmt.Errorf("scores.parquet: %d rows, %v", n, err)
				}
				return nil
			})
			scores("q2")
			bustest.Eventually(t, 30*time.Second, func() error { return reported(4) })
			bustest.Eventually(t, 30*time.Second, func() error {
				if n, err := parquetRows(); err != nil || n != c.rows {
					return fmt.Errorf("scores.parquet: %d rows, %v", n, err)
				}
				return nil
			})
		})
	}
}
