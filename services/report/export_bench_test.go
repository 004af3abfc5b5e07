package report

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/aggregate"
)

// BenchmarkExports is the Parquet files of a finished run of n samples ×
// 2 variants with a judge, written from an embedded NATS server as a run's
// end writes them (every prompt and answer read back from the streams):
// the last thing a run waits for. fetch=batched reads the texts with
// batched direct gets (bus.GetMsgs), fetch=single one message at a time;
// fetch=batched,distinct counts distinct-1/2 as the scores' file is
// written, as a run's end does.
func BenchmarkExports(b *testing.B) {
	const n = 20_000
	bs := bustest.New(b)
	ctx := b.Context()
	spec := &eval.RunSpec{Run: "x", Baseline: "base", Variants: []eval.Variant{{Name: "base", Model: "m-base"}, {Name: "ft", Model: "m-ft"}},
		Suites: []eval.Suite{{Name: "s", Metrics: []string{"em"}}}, Judges: []eval.Judge{{Name: "j", Model: "judge"}}}
	c := aggregate.New(spec)
	defer c.Release()
	// As the pipeline stores them: each sample, then its two answers,
	// their scores and the judgment, run by run of a hundred samples.
	for i := range n {
		id := fmt.Sprintf("q%06d", i)
		s := eval.Sample{V: eval.Version, Run: spec.Run, Suite: "s", ID: id, Messages: []eval.Message{{Role: "user", Content: fmt.Sprintf("Question %d: what is %d plus %d? Answer with a short phrase only.", i, i, i+1)}},
			Reference: &eval.Reference{Answers: []string{fmt.Sprint(2*i + 1)}}}
		ack, err := bs.Publish(ctx, bus.SamplesSubject(spec.Run, "s"), bus.MsgID(bus.StageIngest, spec.Run, "s", id), s)
		if err != nil {
			b.Fatal(err)
		}
		c.AddSample("s", id)
		ref := s.Ref(ack.Sequence)
		for _, v := range spec.Variants {
			g := eval.Generation{V: eval.Version, Run: spec.Run, Sample: ref, Variant: v.Name, Model: v.Model,
				Output: fmt.Sprintf("The answer is %d, since %d plus %d makes it.", 2*i+1, i, i+1), At: time.Now()}
			gack, err := bs.Publish(ctx, bus.GensSubject(spec.Run, v.Name), bus.MsgID(bus.StageInfer, spec.Run, v.Name, "s", id), g)
			if err != nil {
				b.Fatal(err)
			}
			c.AddScore(&eval.Score{V: eval.Version, Run: spec.Run, Sample: ref, Variant: v.Name, Model: v.Model, Fingerprint: spec.Fingerprint(),
				Metrics: map[string]float64{"em": float64(i % 2)}, Bucket: eval.BucketOK, GenSeq: gack.Sequence})
		}
		c.AddJudgment(&eval.Judgment{V: eval.Version, Run: spec.Run, Sample: ref, Judge: "j", JudgeID: spec.Judges[0].ID(),
			Candidate: "ft", Baseline: "base", Fingerprint: spec.Fingerprint(), Winner: eval.WinTie, Consistent: true})
	}
	for _, o := range []struct {
		name              string
		batched, distinct bool
	}{{"batched", true, false}, {"single", false, false}, {"batched,distinct", true, true}} {
		b.Run("fetch="+o.name, func(b *testing.B) {
			var fetch aggregate.Fetcher = Fetcher(bs)
			if !o.batched {
				fetch = singleFetcher{fetch}
			}
			for b.Loop() {
				rows := c.Rows()
				if o.distinct {
					if _, err := rows.CountDistinct(); err != nil {
						b.Fatal(err)
					}
				}
				err := WriteParquet(ctx, rows, fetch, slog.New(slog.DiscardHandler), func(_ string, write func(io.Writer) error) error {
					return write(io.Discard)
				})
				rows.Release()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
			b.ReportMetric(float64(6*n)/b.Elapsed().Seconds()*float64(b.N), "texts/s")
		})
	}
}

// singleFetcher hides a fetcher's batched reads: one message a round trip.
type singleFetcher struct{ f aggregate.Fetcher }

func (s singleFetcher) Sample(ctx context.Context, seq uint64) (*eval.Sample, error) {
	return s.f.Sample(ctx, seq)
}

func (s singleFetcher) Generation(ctx context.Context, seq uint64) (*eval.Generation, error) {
	return s.f.Generation(ctx, seq)
}
