package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/aggregate"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/render"
	"github.com/assay-eval/assay/services/report/review"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Formats a report can be written in.
var Formats = []string{"json", "md", "html", "parquet"}

// Files renders a report in the asked formats: file name to content.
// Parquet gives two files, the per-sample scores and judgments, with the
// texts fetch reads (see [WriteParquet]); logger is told how many of them
// are gone.
func Files(ctx context.Context, rep *document.Report, c *aggregate.Collector, fetch aggregate.Fetcher, formats []string, logger *slog.Logger) (map[string][]byte, error) {
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
			rows := c.Rows()
			var files map[string][]byte
			files, err = parquetFiles(ctx, rows, fetch, logger)
			rows.Release()
			maps.Copy(out, files)
		default:
			return nil, fmt.Errorf("unknown report format %q: use json, md, html or parquet", f)
		}
		if err != nil {
			return nil, fmt.Errorf("writing the %s report: %w", f, err)
		}
	}
	return out, nil
}

// parquetFiles are rows' Parquet files, written in memory (see
// [WriteParquet]).
func parquetFiles(ctx context.Context, rows *aggregate.Rows, fetch aggregate.Fetcher, logger *slog.Logger) (map[string][]byte, error) {
	out := map[string][]byte{}
	var mu sync.Mutex // the files are written side by side
	err := WriteParquet(ctx, rows, fetch, logger, func(name string, write func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return err
		}
		mu.Lock()
		out[name] = buf.Bytes()
		mu.Unlock()
		return nil
	})
	return out, err
}

// countDistinct counts distinct-1/2 (see [aggregate.Distinct]) of c's
// answers, for the report's templates (none for a continuous run), in
// pass: the one pass over the answers c's rows make (the Parquet files',
// or [aggregate.Rows.ReadAnswers]).
func countDistinct(c *aggregate.Collector, pass func(*aggregate.Rows) error) (*aggregate.Distinct, error) {
	rows := c.Rows()
	defer rows.Release()
	d, err := rows.CountDistinct()
	if err != nil {
		return nil, fmt.Errorf("indexing the answers for distinct-1/2: %w", err)
	}
	if err := pass(rows); err != nil {
		return nil, err
	}
	return d, nil
}

// ParquetFiles are the files the parquet format gives.
var ParquetFiles = []string{"scores.parquet", "judgments.parquet"}

// WriteParquet writes a run's scores.parquet and judgments.parquet, each
// through put, which names the file and gives the function that writes it:
// the files are written as they are made, a batch of rows at a time, so a
// caller that streams them (to the object store, to a file) never holds
// their texts. The two are written side by side (the end of a run waits
// for them); put must allow that. Texts that are gone are null, and logged
// as a count.
func WriteParquet(ctx context.Context, rows *aggregate.Rows, fetch aggregate.Fetcher, logger *slog.Logger,
	put func(name string, write func(io.Writer) error) error) error {
	errs := make([]error, len(ParquetFiles))
	var wg sync.WaitGroup
	for i, name := range ParquetFiles {
		wg.Go(func() {
			var n aggregate.Written
			err := put(name, func(w io.Writer) (err error) {
				if name == "scores.parquet" {
					n, err = rows.WriteScores(ctx, w, fetch)
				} else {
					n, err = rows.WriteJudgments(ctx, w, fetch)
				}
				return err
			})
			if err != nil {
				errs[i] = fmt.Errorf("writing %s: %w", name, err)
				return
			}
			if n.Missing > 0 {
				logger.Warn("texts are no longer stored and were left null", "run", rows.Run(), "file", name, "texts", n.Missing, "rows", n.Rows)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// busFetcher reads example texts from the streams.
type busFetcher struct{ b *bus.Bus }

func (f busFetcher) Sample(ctx context.Context, seq uint64) (*eval.Sample, error) {
	var s eval.Sample
	if err := f.get(ctx, bus.StreamSamples, seq, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (f busFetcher) Generation(ctx context.Context, seq uint64) (*eval.Generation, error) {
	var g eval.Generation
	if err := f.get(ctx, bus.StreamGens, seq, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

func (f busFetcher) Samples(ctx context.Context, seqs []uint64, fn func(uint64, *eval.Sample, error)) error {
	return getTexts(ctx, f.b, bus.StreamSamples, seqs, fn)
}

func (f busFetcher) Generations(ctx context.Context, seqs []uint64, fn func(uint64, *eval.Generation, error)) error {
	return getTexts(ctx, f.b, bus.StreamGens, seqs, fn)
}

// getTexts reads the messages at seqs of stream in batches, and hands fn
// each decoded (see decodeText).
func getTexts[T any](ctx context.Context, b *bus.Bus, stream string, seqs []uint64, fn func(uint64, *T, error)) error {
	return b.GetMsgs(ctx, stream, seqs, func(seq uint64, data []byte, err error) {
		v := new(T)
		if err = decodeText(stream, seq, data, err, v); err != nil {
			fn(seq, nil, err)
			return
		}
		fn(seq, v, nil)
	})
}

// get decodes the message at seq of stream into v (see decodeText).
func (f busFetcher) get(ctx context.Context, stream string, seq uint64, v any) error {
	data, err := f.b.GetMsg(ctx, stream, seq)
	return decodeText(stream, seq, data, err, v)
}

// decodeText decodes data, the message at seq of stream read with err,
// into v. A message that is gone — purged, aged out, its large payload
// deleted — or that does not decode is [aggregate.ErrTextGone].
func decodeText(stream string, seq uint64, data []byte, err error, v any) error {
	if errors.Is(err, bus.ErrNotFound) || errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("%w: %w", aggregate.ErrTextGone, err)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %s message %d does not decode: %w", aggregate.ErrTextGone, stream, seq, err)
	}
	return nil
}

// Fetcher returns the bus-backed reader of example texts.
func Fetcher(b *bus.Bus) aggregate.Fetcher { return busFetcher{b} }

// source is one stream a run's report reads, and how to add its messages.
type source struct {
	stream, filter string
	// add adds a message stored on subject to c.
	add func(c *aggregate.Collector, subject string, data []byte) error
}

func sources(run string) []source {
	return []source{
		{bus.StreamScores, bus.RunScores(run), func(c *aggregate.Collector, _ string, data []byte) error {
			var s eval.Score
			if err := json.Unmarshal(data, &s); err != nil {
				return err
			}
			c.AddScore(&s)
			return nil
		}},
		{bus.StreamJudgments, bus.RunJudgments(run), func(c *aggregate.Collector, _ string, data []byte) error {
			var j eval.Judgment
			if err := json.Unmarshal(data, &j); err != nil {
				return err
			}
			c.AddJudgment(&j)
			return nil
		}},
		{bus.StreamDLQ, bus.RunDLQ(run), func(c *aggregate.Collector, subject string, data []byte) error {
			var d eval.DeadLetter
			if err := json.Unmarshal(data, &d); err != nil {
				return err
			}
			stage := bus.DLQStage(subject)
			if bus.IsRetrySubject(d.Subject) {
				// A retry request a stage refused: no result will come of
				// it, so the result it would have replaced stays.
				var r eval.RetryRequest
				if json.Unmarshal([]byte(d.Data), &r) == nil {
					c.RefuseRetry(stage, &r)
				}
				return nil
			}
			c.AddStagedDeadLetter(stage, &d)
			return nil
		}},
	}
}

// retries is the source of a run's retry requests, which the collector
// must have before any result (see [aggregate.Collector.AddRetry]): those
// of attempts up to upTo, the run's latest (see retryAttempts), since
// one beyond it is forged and no result will come of it.
func retries(run string, upTo int) source {
	return source{bus.StreamEvents, bus.RunRetries(run), func(c *aggregate.Collector, _ string, data []byte) error {
		var r eval.RetryRequest
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		if r.Attempt <= upTo {
			c.AddRetry(&r)
		}
		return nil
	}}
}

// sampleID returns the suite and id of a sample stored on subject under
// msgID (ingest's message id), or false for a message ingest did not
// publish. Only headers are read: a run's samples can be large.
func sampleID(run, subject, msgID string) (suite, id string, ok bool) {
	suite = bus.SubjectToken(subject, 3)
	if suite == "" || bus.SamplesSubject(run, suite) != subject {
		return "", "", false
	}
	id, ok = bus.ParseSampleMsgID(run, suite, msgID)
	return suite, id, ok
}

// readSamples names every sample of run stored now to c, so that results
// for samples the run does not have are held aside (see
// [aggregate.Collector.TrackSamples]).
func readSamples(ctx context.Context, b *bus.Bus, run string, c *aggregate.Collector) error {
	c.TrackSamples()
	return eachSample(ctx, b, run, c.AddSample)
}

// eachSample hands the suite and id of every sample of run stored now to
// fn, reading headers only.
func eachSample(ctx context.Context, b *bus.Bus, run string, fn func(suite, id string)) error {
	return readHeaders(ctx, b, bus.StreamSamples, bus.RunSamples(run), func(subject string, h nats.Header) {
		if suite, id, ok := sampleID(run, subject, h.Get(jetstream.MsgIDHeader)); ok {
			fn(suite, id)
		}
	})
}

// addMsg adds one message read from src to c; one that does not decode
// is noted in the report rather than stopping it (anyone can publish on a
// subject), and one whose payload is lost counts as an error (see
// [lostResult]).
func addMsg(c *aggregate.Collector, src source, m message) error {
	if m.lost != nil {
		lostResult(c, src, m)
		return nil
	}
	if err := src.add(c, m.subject, m.data); err != nil {
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
	if err := resume(ctx, b, c, run); err != nil {
		c.Release()
		return nil, err
	}
	if st, err := b.Ingest(ctx, run); err == nil {
		c.SetIngest(st)
	}
	if err := readSamples(ctx, b, run, c); err != nil {
		c.Release()
		return nil, err
	}
	_, whole, err := retryAttempts(ctx, b, run)
	if err != nil {
		c.Release()
		return nil, err
	}
	for _, src := range append([]source{retries(run, whole)}, sources(run)...) {
		if err := readAll(ctx, b, src, func(m message) error { return addMsg(c, src, m) }); err != nil {
			c.Release()
			return nil, err
		}
	}
	return c, nil
}

// readAll reads every message of src stored now.
func readAll(ctx context.Context, b *bus.Bus, src source, fn func(message) error) error {
	return readBatches(ctx, b, src.stream, src.filter, func(batch []message) error {
		for _, m := range batch {
			if err := fn(m); err != nil {
				return fmt.Errorf("%s message %d: %w", src.stream, m.seq, err)
			}
		}
		return nil
	})
}

// message is one message read from a stream: its subject, payload and
// sequence, or why its payload is lost for good (see [bus.PayloadLost])
// and the message id that still names what it was about.
type message struct {
	subject string
	data    []byte
	seq     uint64
	lost    error
	msgID   string
}

// lostResult counts a score or judgment whose payload is lost as an error
// of the sample its message id names, with a warning: waiting for it
// would keep the run from ever completing. A lost message of another
// stream is only noted.
func lostResult(c *aggregate.Collector, src source, m message) {
	c.Note(fmt.Sprintf("a message on %s (sequence %d) could not be read and was counted as an error: %v", m.subject, m.seq, m.lost))
	stage := map[string]string{bus.StreamScores: bus.StageScore, bus.StreamJudgments: bus.StageJudge}[src.stream]
	k := bus.MsgIDKeys(m.msgID)
	if stage == "" || k.Sample == "" {
		return
	}
	d := &eval.DeadLetter{V: eval.Version, Stage: stage, Run: k.Run, Suite: k.Suite, Sample: k.Sample,
		Variant: k.Variant, Subject: m.subject, Seq: m.seq, Reason: m.lost.Error(), At: time.Now().UTC()}
	if stage == bus.StageJudge {
		// The id holds the judge's id (judge|run|judge-id|…): only that
		// judge's judgment is lost, not every judge's.
		base, _ := bus.ParseRetryMsgID(m.msgID)
		for _, j := range c.Spec().Judges {
			if strings.HasPrefix(base, bus.MsgID(bus.StageJudge, k.Run, j.ID())+"|") {
				d.Judge = j.Name
			}
		}
		if d.Judge == "" {
			return
		}
	}
	c.AddStagedDeadLetter(stage, d)
}

// readHeaders reads the subject and headers of every message of stream on
// filter stored now, in stream order, without their payloads.
func readHeaders(ctx context.Context, b *bus.Bus, stream, filter string, fn func(subject string, h nats.Header)) error {
	return b.ReadStored(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, HeadersOnly: true}, func(m jetstream.Msg, _ uint64) error {
		fn(m.Subject(), m.Headers())
		return nil
	}, nil)
}

// readBatches reads every message of stream on filter stored now, in
// stream order, handing them to fn a fetched batch (at most 1,000) at a
// time.
func readBatches(ctx context.Context, b *bus.Bus, stream, filter string, fn func([]message) error) error {
	var got []message
	return b.ReadStored(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}}, func(m jetstream.Msg, _ uint64) error {
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		data, err := b.Payload(ctx, m.Data(), m.Headers())
		if err != nil && !bus.PayloadLost(err) {
			return err
		}
		got = append(got, message{subject: m.Subject(), data: data, seq: meta.Sequence.Stream, lost: err,
			msgID: m.Headers().Get(jetstream.MsgIDHeader)})
		return nil
	}, func() error {
		batch := got
		got = nil
		return fn(batch)
	})
}

// Build reads a run's results from the streams and computes its report
// as it stands, with its files in formats. With no format, only the
// report's figures are wanted: the answers are not read, and distinct-1/2
// (which need them) are not measured.
func Build(ctx context.Context, b *bus.Bus, run string, formats []string) (*document.Report, map[string][]byte, error) {
	c, err := Collect(ctx, b, run)
	if err != nil {
		return nil, nil, err
	}
	defer c.Release()
	fetch := Fetcher(b)
	// Texts that are gone show as null in the files; there is no log to
	// count them in.
	logger := slog.New(slog.DiscardHandler)
	// One pass over the answers counts distinct-1/2 for the report: the
	// Parquet files', when they are asked for (written first), or one of
	// its own. A report asked for no file (its figures only, as `assay
	// plan` reads them) reads no answer.
	var d *aggregate.Distinct
	var parquet map[string][]byte
	if len(formats) > 0 {
		withParquet := slices.Contains(formats, "parquet")
		d, err = countDistinct(c, func(rows *aggregate.Rows) (err error) {
			if !withParquet {
				return rows.ReadAnswers(ctx, fetch)
			}
			if parquet, err = parquetFiles(ctx, rows, fetch, logger); err != nil {
				return fmt.Errorf("writing the parquet report: %w", err)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if withParquet {
			formats = slices.DeleteFunc(slices.Clone(formats), func(f string) bool { return f == "parquet" })
		}
	}
	rep, err := c.Report(ctx, fetch, time.Now(), aggregate.WithDistinct(d))
	if err != nil {
		return nil, nil, err
	}
	// The human review queues' labels come after the run: a report made
	// now shows them.
	reviews, skipped, err := review.Summaries(ctx, b, run)
	if err != nil {
		return nil, nil, err
	}
	rep.Reviews = reviews
	for _, s := range skipped {
		rep.Warnings = append(rep.Warnings, "review queue "+s+": left out of the report")
	}
	files, err := Files(ctx, rep, c, fetch, formats, logger)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(files, parquet)
	return rep, files, nil
}
