package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/aggregate"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/render"
	"github.com/nats-io/nats.go/jetstream"
)

// Formats a report can be written in.
var Formats = []string{"json", "md", "html", "parquet"}

// Files renders a report in the asked formats: file name to content.
// Parquet gives two files, the per-sample scores and judgments.
func Files(rep *document.Report, c *aggregate.Collector, formats []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, f := range formats {
		var buf bytes.Buffer
		var err error
		switch f {
		case "json":
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			err = enc.Encode(rep)
			out["report.json"] = buf.Bytes()
		case "md":
			err = render.Markdown(&buf, rep)
			out["report.md"] = buf.Bytes()
		case "html":
			err = render.HTML(&buf, rep)
			out["report.html"] = buf.Bytes()
		case "parquet":
			scores, judgments := c.Tables()
			var jbuf bytes.Buffer
			err = writeParquet(&buf, scores)
			if err == nil {
				err = writeParquet(&jbuf, judgments)
			}
			scores.Release()
			judgments.Release()
			out["scores.parquet"], out["judgments.parquet"] = buf.Bytes(), jbuf.Bytes()
		default:
			return nil, fmt.Errorf("unknown report format %q: use json, md, html or parquet", f)
		}
		if err != nil {
			return nil, fmt.Errorf("writing the %s report: %w", f, err)
		}
	}
	return out, nil
}

func writeParquet(w io.Writer, t arrow.Table) error {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	return pqarrow.WriteTable(t, w, 64<<10, props, pqarrow.DefaultWriterProps())
}

// busFetcher reads example texts from the streams.
type busFetcher struct{ b *bus.Bus }

func (f busFetcher) Sample(ctx context.Context, seq uint64) (*eval.Sample, error) {
	data, err := f.b.GetMsg(ctx, bus.StreamSamples, seq)
	if err != nil {
		return nil, err
	}
	var s eval.Sample
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("sample at %d does not decode: %w", seq, err)
	}
	return &s, nil
}

func (f busFetcher) Generation(ctx context.Context, seq uint64) (*eval.Generation, error) {
	data, err := f.b.GetMsg(ctx, bus.StreamGens, seq)
	if err != nil {
		return nil, err
	}
	var g eval.Generation
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("generation at %d does not decode: %w", seq, err)
	}
	return &g, nil
}

// Fetcher returns the bus-backed reader of example texts.
func Fetcher(b *bus.Bus) aggregate.Fetcher { return busFetcher{b} }

// source is one stream a run's report reads, and how to add its messages.
type source struct {
	stream, filter string
	add            func(c *aggregate.Collector, data []byte) error
}

func sources(run string) []source {
	return []source{
		{bus.StreamScores, bus.RunScores(run), func(c *aggregate.Collector, data []byte) error {
			var s eval.Score
			if err := json.Unmarshal(data, &s); err != nil {
				return err
			}
			c.AddScore(&s)
			return nil
		}},
		{bus.StreamJudgments, bus.RunJudgments(run), func(c *aggregate.Collector, data []byte) error {
			var j eval.Judgment
			if err := json.Unmarshal(data, &j); err != nil {
				return err
			}
			c.AddJudgment(&j)
			return nil
		}},
		{bus.StreamDLQ, bus.RunDLQ(run), func(c *aggregate.Collector, data []byte) error {
			var d eval.DeadLetter
			if err := json.Unmarshal(data, &d); err != nil {
				return err
			}
			c.AddDeadLetter(&d)
			return nil
		}},
	}
}

// add adds one message to c; one that does not decode is noted in the
// report rather than stopping it: anyone can publish on a subject.
func add(c *aggregate.Collector, src source, data []byte) error {
	if err := src.add(c, data); err != nil {
		c.Note(fmt.Sprintf("a message on %s does not decode and was skipped: %v", src.stream, err))
	}
	return nil
}

// Collect reads everything the streams hold for run, now, into a
// collector. The caller releases it.
func Collect(ctx context.Context, b *bus.Bus, run string) (*aggregate.Collector, error) {
	spec, err := b.Spec(ctx, run)
	if err != nil {
		return nil, err
	}
	c := aggregate.New(spec)
	if st, err := b.Ingest(ctx, run); err == nil {
		c.SetIngest(st)
	}
	for _, src := range sources(run) {
		if err := readAll(ctx, b, src, func(data []byte) error { return add(c, src, data) }); err != nil {
			c.Release()
			return nil, err
		}
	}
	return c, nil
}

// readAll reads every message of src stored now.
func readAll(ctx context.Context, b *bus.Bus, src source, fn func([]byte) error) error {
	cons, err := b.JS.OrderedConsumer(ctx, src.stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{src.filter}})
	if err != nil {
		return fmt.Errorf("reading %s: %w", src.stream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src.stream, err)
	}
	pending := info.NumPending
	for pending > 0 {
		batch, err := cons.Fetch(int(min(pending, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("reading %s: %w", src.stream, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			data, err := b.Payload(ctx, m.Data(), m.Headers())
			if err != nil {
				return err
			}
			if err := fn(data); err != nil {
				return fmt.Errorf("%s message %d: %w", src.stream, meta.Sequence.Stream, err)
			}
			pending = meta.NumPending
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("reading %s: %w", src.stream, err)
		}
		if got == 0 {
			return fmt.Errorf("reading %s: no messages arrived with %d pending", src.stream, pending)
		}
	}
	return nil
}

// Build reads a run's results from the streams and computes its report
// as it stands.
func Build(ctx context.Context, b *bus.Bus, run string, formats []string) (*document.Report, map[string][]byte, error) {
	c, err := Collect(ctx, b, run)
	if err != nil {
		return nil, nil, err
	}
	defer c.Release()
	rep, err := c.Report(ctx, Fetcher(b), time.Now())
	if err != nil {
		return nil, nil, err
	}
	files, err := Files(rep, c, formats)
	if err != nil {
		return nil, nil, err
	}
	return rep, files, nil
}
