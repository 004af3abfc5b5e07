package report

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/aggregate"
)

// What a run's export holds.
const (
	ExportGenerations = "generations"
	ExportScores      = "scores"
	ExportJudgments   = "judgments"
)

// ExportWhat are the things an export can hold; ExportFormats the formats
// it can be written in.
var (
	ExportWhat    = []string{ExportGenerations, ExportScores, ExportJudgments}
	ExportFormats = []string{"jsonl", "parquet"}
)

// ExportOptions say what to export.
type ExportOptions struct {
	Run string
	// What is generations, scores or judgments.
	What string
	// Format is jsonl or parquet.
	Format string
}

// ErrUnknownExport is an export of something, or in a format, that does
// not exist.
var ErrUnknownExport = errors.New("unknown export")

// Check reports an option that names nothing known.
func (o ExportOptions) Check() error {
	if !slices.Contains(ExportWhat, o.What) {
		return fmt.Errorf("%w %q: export %s", ErrUnknownExport, o.What, strings.Join(ExportWhat, ", "))
	}
	if !slices.Contains(ExportFormats, o.Format) {
		return fmt.Errorf("%w format %q: use %s", ErrUnknownExport, o.Format, strings.Join(ExportFormats, " or "))
	}
	return nil
}

// Export writes what the streams hold now of a run to w, as it goes:
// memory holds one batch of messages and their texts, and for scores and
// judgments in Parquet the run's lean tables (those of its report).
//
// JSONL has one line per message in stream order: a generation as
// {id, prompt, output, model, params, …}, or a score or judgment as the
// stage published it with its texts beside it. Parquet has the columns of
// the report's scores.parquet and judgments.parquet (one row per score or
// judgment, dead letters included, as the report counts them), or, for
// generations, the JSONL fields as columns. A text that is gone is null
// and counted in the result's Missing.
func Export(ctx context.Context, b *bus.Bus, o ExportOptions, w io.Writer) (aggregate.Written, error) {
	if err := o.Check(); err != nil {
		return aggregate.Written{}, err
	}
	spec, err := b.Spec(ctx, o.Run)
	if err != nil {
		return aggregate.Written{}, err
	}
	fetch := Fetcher(b)
	switch {
	case o.Format == "parquet" && o.What != ExportGenerations:
		c, err := Collect(ctx, b, o.Run)
		if err != nil {
			return aggregate.Written{}, err
		}
		defer c.Release()
		rows := c.Rows()
		defer rows.Release()
		if o.What == ExportScores {
			return rows.WriteScores(ctx, w, fetch)
		}
		return rows.WriteJudgments(ctx, w, fetch)
	case o.What == ExportGenerations:
		return exportGenerations(ctx, b, o, fetch, w)
	case o.What == ExportScores:
		return exportScores(ctx, b, o.Run, fetch, w)
	default:
		return exportJudgments(ctx, b, spec, fetch, w)
	}
}

// sink is where an export's records go, one at a time.
type sink interface {
	write(v any) error
	close() (rows int, err error)
}

// lines writes records as JSON lines to a buffered w.
type lines struct {
	bw   *bufio.Writer
	enc  *json.Encoder
	rows int
}

func newLines(w io.Writer) *lines {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &lines{bw: bw, enc: enc}
}

func (l *lines) write(v any) error {
	if err := l.enc.Encode(v); err != nil {
		return fmt.Errorf("writing a line: %w", err)
	}
	l.rows++
	return nil
}

func (l *lines) close() (int, error) {
	if err := l.bw.Flush(); err != nil {
		return l.rows, fmt.Errorf("writing a line: %w", err)
	}
	return l.rows, nil
}

// generationRows writes generation lines as Parquet rows.
type generationRows struct{ gw *aggregate.GenerationWriter }

func (g generationRows) write(v any) error   { return g.gw.Write(v.(*aggregate.GenerationLine)) }
func (g generationRows) close() (int, error) { return g.gw.Close() }

// records reads a batch of messages: the sequences of the samples and
// generations they refer to, and, given those texts, the records to write.
type records func(batch []message) (samples, gens []uint64, build func(*aggregate.Texts) []any)

// exportStream writes a record for each message of stream on filter, in
// stream order, a fetched batch at a time.
func exportStream(ctx context.Context, b *bus.Bus, stream, filter string, fetch aggregate.Fetcher, out sink, read records) (aggregate.Written, error) {
	var n aggregate.Written
	err := readBatches(ctx, b, stream, filter, func(batch []message) error {
		samples, gens, build := read(batch)
		t, err := aggregate.FetchTexts(ctx, fetch, samples, gens)
		if err != nil {
			return err
		}
		n.Missing += t.Missing
		for _, v := range build(t) {
			if err := out.write(v); err != nil {
				return err
			}
		}
		return nil
	})
	rows, cerr := out.close()
	n.Rows = rows
	if err == nil {
		err = cerr
	}
	return n, err
}

// decodeAll decodes a batch of messages; one that does not decode is
// skipped, as the report skips it.
func decodeAll[T any](batch []message) []*T {
	out := make([]*T, 0, len(batch))
	for _, m := range batch {
		var v T
		if json.Unmarshal(m.data, &v) == nil {
			out = append(out, &v)
		}
	}
	return out
}

func exportGenerations(ctx context.Context, b *bus.Bus, o ExportOptions, fetch aggregate.Fetcher, w io.Writer) (aggregate.Written, error) {
	var out sink = newLines(w)
	if o.Format == "parquet" {
		gw, err := aggregate.NewGenerationWriter(w)
		if err != nil {
			return aggregate.Written{}, err
		}
		out = generationRows{gw}
	}
	return exportStream(ctx, b, bus.StreamGens, bus.RunGens(o.Run), fetch, out, func(batch []message) ([]uint64, []uint64, func(*aggregate.Texts) []any) {
		var gens []*eval.Generation
		var seqs, samples []uint64
		for _, m := range batch {
			var g eval.Generation
			if json.Unmarshal(m.data, &g) == nil {
				gens, seqs, samples = append(gens, &g), append(seqs, m.seq), append(samples, g.Sample.Seq)
			}
		}
		return samples, nil, func(t *aggregate.Texts) []any {
			out := make([]any, len(gens))
			for i, g := range gens {
				l := aggregate.NewGenerationLine(g, seqs[i], t.Sample(g.Sample.Seq))
				out[i] = &l
			}
			return out
		}
	})
}

func exportScores(ctx context.Context, b *bus.Bus, run string, fetch aggregate.Fetcher, w io.Writer) (aggregate.Written, error) {
	return exportStream(ctx, b, bus.StreamScores, bus.RunScores(run), fetch, newLines(w), func(batch []message) ([]uint64, []uint64, func(*aggregate.Texts) []any) {
		scores := decodeAll[eval.Score](batch)
		var samples, gens []uint64
		for _, s := range scores {
			samples, gens = append(samples, s.Sample.Seq), append(gens, s.GenSeq)
		}
		return samples, gens, func(t *aggregate.Texts) []any {
			out := make([]any, len(scores))
			for i, s := range scores {
				out[i] = aggregate.NewScoreLine(s, t.Sample(s.Sample.Seq), t.Generation(s.GenSeq))
			}
			return out
		}
	})
}

// exportJudgments first indexes the run's scores — a judgment names its
// variants, and their scores say where their generations are.
func exportJudgments(ctx context.Context, b *bus.Bus, spec *eval.RunSpec, fetch aggregate.Fetcher, w io.Writer) (aggregate.Written, error) {
	x := aggregate.NewSideIndex(spec)
	err := readBatches(ctx, b, bus.StreamScores, bus.RunScores(spec.Run), func(batch []message) error {
		for _, s := range decodeAll[eval.Score](batch) {
			x.AddScore(s)
		}
		return nil
	})
	if err != nil {
		return aggregate.Written{}, err
	}
	return exportStream(ctx, b, bus.StreamJudgments, bus.RunJudgments(spec.Run), fetch, newLines(w), func(batch []message) ([]uint64, []uint64, func(*aggregate.Texts) []any) {
		js := decodeAll[eval.Judgment](batch)
		samples, gens := aggregate.JudgmentSides(x, js)
		return samples, gens, func(t *aggregate.Texts) []any {
			out := make([]any, len(js))
			for i, j := range js {
				out[i] = aggregate.NewJudgmentLine(j, x, t)
			}
			return out
		}
	})
}
