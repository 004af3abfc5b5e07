package aggregate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/assay-eval/assay/pkg/eval"
)

// The files scores.parquet and judgments.parquet are the collector's
// tables with the texts beside every row: the run, the sample's prompt,
// conversation and reference, and the answers. The tables stay lean — the
// report keeps them for every sample — so the texts are fetched from the
// streams batch by batch as the file is written, and never held all at
// once.

// Written counts what an export wrote.
type Written struct {
	// Rows is the number of rows (or lines) written.
	Rows int
	// Missing counts the texts that were stored once and could not be
	// read now (a purged stream); they are null.
	Missing int
}

func (w *Written) add(o Written) {
	w.Rows += o.Rows
	w.Missing += o.Missing
}

// text is one value of a text column: null unless ok.
type text struct {
	s  string
	ok bool
}

func some(s string) text { return text{s, true} }

// exportLayout places a table's columns and the text columns added to
// them: the columns named in lead first, in that order, then the table's
// others in its order.
type exportLayout struct {
	schema *arrow.Schema
	// from is, per output column, the table's column it copies, or -1-k
	// for the k-th text column.
	from  []int
	texts []arrow.Field
}

func newExportLayout(table *arrow.Schema, lead []string, texts []arrow.Field) exportLayout {
	l := exportLayout{texts: texts}
	var fields []arrow.Field
	placed := map[string]bool{}
	for _, name := range lead {
		if k := slices.IndexFunc(texts, func(f arrow.Field) bool { return f.Name == name }); k >= 0 {
			fields, l.from = append(fields, texts[k]), append(l.from, -1-k)
		} else if is := table.FieldIndices(name); len(is) == 1 {
			fields, l.from = append(fields, table.Field(is[0])), append(l.from, is[0])
		} else {
			panic("export layout names an unknown column " + name)
		}
		placed[name] = true
	}
	for i, f := range table.Fields() {
		if !placed[f.Name] {
			fields, l.from = append(fields, f), append(l.from, i)
		}
	}
	l.schema = arrow.NewSchema(fields, nil)
	return l
}

// record is rec with its text columns, whose values row(i, vals) fills in
// for each row i. The caller releases it.
func (l exportLayout) record(mem memory.Allocator, rec arrow.RecordBatch, row func(i int, vals []text)) arrow.RecordBatch {
	builders := make([]*array.StringBuilder, len(l.texts))
	for k := range builders {
		builders[k] = array.NewStringBuilder(mem)
		defer builders[k].Release()
	}
	vals := make([]text, len(l.texts))
	n := int(rec.NumRows())
	for i := range n {
		clear(vals)
		row(i, vals)
		for k, v := range vals {
			if v.ok {
				builders[k].Append(v.s)
			} else {
				builders[k].AppendNull()
			}
		}
	}
	built := make([]arrow.Array, len(builders))
	for k, b := range builders {
		built[k] = b.NewArray()
		defer built[k].Release()
	}
	cols := make([]arrow.Array, len(l.from))
	for c, from := range l.from {
		if from >= 0 {
			cols[c] = rec.Column(from)
		} else {
			cols[c] = built[-1-from]
		}
	}
	return array.NewRecordBatch(l.schema, cols, int64(n))
}

func stringField(name string, nullable bool) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: nullable}
}

// Text columns of scores.parquet, in the order the rows' values are given.
var scoreTexts = []arrow.Field{
	stringField("run", false),
	stringField("prompt", true),
	stringField("messages", true),
	stringField("output", true),
	stringField("reference", true),
}

// scoreLead are the columns scores.parquet starts with: who answered what,
// and how.
var scoreLead = []string{"run", "suite", "sample_id", "sample_seq", "variant", "model", "params", "fingerprint",
	"prompt", "messages", "output", "reference"}

// Text columns of judgments.parquet, in the order the rows' values are
// given.
var judgmentTexts = []arrow.Field{
	stringField("run", false),
	stringField("candidate_model", false),
	stringField("baseline_model", false),
	stringField("candidate_params", false),
	stringField("baseline_params", false),
	stringField("prompt", true),
	stringField("messages", true),
	stringField("reference", true),
	stringField("candidate_output", true),
	stringField("baseline_output", true),
}

var judgmentLead = []string{"run", "suite", "sample_id", "sample_seq", "judge", "judge_id", "candidate", "baseline",
	"candidate_model", "baseline_model", "candidate_params", "baseline_params",
	"prompt", "messages", "reference", "candidate_output", "baseline_output"}

// ScoresSchema is the schema of scores.parquet for a run scored with
// metrics (sorted): see the README's "Parquet files".
func ScoresSchema(metrics []string) *arrow.Schema {
	return newExportLayout(scoreSchema(metrics), scoreLead, scoreTexts).schema
}

// JudgmentsSchema is the schema of judgments.parquet.
func JudgmentsSchema() *arrow.Schema {
	return newExportLayout(judgmentSchema, judgmentLead, judgmentTexts).schema
}

// parquetWriter writes record batches to w, one row group each, compressed
// with zstd at its fastest level: each column has an encoder of its own
// while a row group is written, and the default level's windows made the
// writer's heap peak 40 MB higher (100 MB against 60 MB for a 10,000-sample
// run), for files no smaller. Closing it leaves w open: the Parquet writer
// would close a file it was given, which its caller still has to sync,
// rename or close.
func parquetWriter(w io.Writer, schema *arrow.Schema) (*pqarrow.FileWriter, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCompressionLevel(1))
	fw, err := pqarrow.NewFileWriter(schema, writeOnly{w}, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, fmt.Errorf("starting a Parquet file: %w", err)
	}
	return fw, nil
}

// Rows are a collector's results as they stand, to be written as Parquet:
// the tables' batches sealed so far, kept while the collector goes on
// adding results (the batches are immutable), so that a long write does
// not hold up the results arriving.
type Rows struct {
	spec                      *eval.RunSpec
	scoreSchema               *arrow.Schema
	scoreBatches, judgBatches batches
	// spill holds the segments the batches read from.
	spill *spill
	// side is the index both files read, built once (see sideIndex).
	sideOnce sync.Once
	side     *SideIndex
	sideErr  error
	// distinct, when not nil, counts the answers the next pass over them
	// reads (see CountDistinct).
	distinctMu sync.Mutex
	distinct   *Distinct
}

// Rows returns the results added so far. The caller releases them.
func (c *Collector) Rows() *Rows {
	c.spill.retain()
	return &Rows{spec: c.spec, scoreSchema: c.scores.schema,
		scoreBatches: c.scores.snapshot(), judgBatches: c.judgments.snapshot(), spill: c.spill}
}

// Release frees the rows.
func (r *Rows) Release() {
	if r.spill == nil {
		return // released already
	}
	r.scoreBatches.release()
	r.judgBatches.release()
	r.scoreBatches, r.judgBatches = batches{}, batches{}
	r.spill.release()
	r.spill = nil
}

// Run is the run the rows are of.
func (r *Rows) Run() string { return r.spec.Run }

// writeOnly hides any Close of its writer.
type writeOnly struct{ w io.Writer }

func (w writeOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// sideIndex indexes the scores, and finds the samples of the rows that
// know theirs by id only.
func (r *Rows) sideIndex() (*SideIndex, error) {
	r.sideOnce.Do(func() { r.side, r.sideErr = r.buildSideIndex() })
	return r.side, r.sideErr
}

func (r *Rows) buildSideIndex() (*SideIndex, error) {
	x := NewSideIndex(r.spec)
	for _, t := range []struct {
		batches             batches
		suite, sample, sseq int
	}{{r.scoreBatches, colSuite, colSample, colSampleSeq}, {r.judgBatches, jcSuite, jcSample, jcSampleSeq}} {
		err := t.batches.each(func(rec arrow.RecordBatch) error {
			suite := rec.Column(t.suite).(*array.String)
			sample := rec.Column(t.sample).(*array.String)
			sseq := rec.Column(t.sseq).(*array.Uint64)
			for i := range int(rec.NumRows()) {
				if sseq.Value(i) == 0 {
					x.needSample(suite.Value(i), sample.Value(i))
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	err := r.scoreBatches.each(func(rec arrow.RecordBatch) error {
		suite := rec.Column(colSuite).(*array.String)
		sample := rec.Column(colSample).(*array.String)
		variant := rec.Column(colVariant).(*array.String)
		sseq := rec.Column(colSampleSeq).(*array.Uint64)
		gseq := rec.Column(colGenSeq).(*array.Uint64)
		model := rec.Column(colModel).(*array.String)
		params := rec.Column(colParams).(*array.String)
		for i := range int(rec.NumRows()) {
			x.Add(variant.Value(i), suite.Value(i), sample.Value(i), sseq.Value(i), gseq.Value(i), model.Value(i), params.Value(i))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// WriteScores writes scores.parquet to w: every score with the run, the
// sample's prompt, conversation and reference, and the answer, fetched
// with fetch batch by batch. A failed generation's output is null, as is
// any text that is gone (counted in Missing).
func (r *Rows) WriteScores(ctx context.Context, w io.Writer, fetch Fetcher) (Written, error) {
	l := newExportLayout(r.scoreSchema, scoreLead, scoreTexts)
	x, err := r.sideIndex()
	if err != nil {
		return Written{}, err
	}
	// The answers are read here anyway: distinct-1/2 are counted as they
	// go by, rather than in a pass of their own.
	d := r.takeDistinct()
	n, err := write(w, l, r.scoreBatches, func(rec arrow.RecordBatch) (func(int, []text), int, error) {
		suite := rec.Column(colSuite).(*array.String)
		sample := rec.Column(colSample).(*array.String)
		sseq := rec.Column(colSampleSeq).(*array.Uint64)
		gseq := rec.Column(colGenSeq).(*array.Uint64)
		n := int(rec.NumRows())
		samples, gens := make([]uint64, n), make([]uint64, n)
		for i := range n {
			samples[i] = x.SampleSeq(suite.Value(i), sample.Value(i), sseq.Value(i))
			gens[i] = gseq.Value(i)
		}
		t, err := FetchTexts(ctx, fetch, samples, gens)
		if err != nil {
			return nil, 0, err
		}
		if d != nil {
			d.addBatch(rec, gens, t)
		}
		return func(i int, vals []text) {
			vals[0] = some(r.spec.Run)
			if s := t.Sample(samples[i]); s != nil {
				vals[1], vals[2], vals[4] = some(eval.LastUserMessage(s.Messages)), some(jsonText(s.Messages)), some(referenceText(s))
			}
			if out, ok := answered(t.Generation(gens[i])); ok {
				vals[3] = some(out)
			}
		}, t.Missing, nil
	})
	if err == nil && d != nil {
		d.read = true
	}
	return n, err
}

// WriteJudgments writes judgments.parquet to w: every judgment with the
// run, both variants' models and parameters (from their scores), the
// sample's prompt, conversation and reference, and both answers, fetched
// with fetch batch by batch. An answer whose generation failed is null, as
// is any text that is gone (counted in Missing).
func (r *Rows) WriteJudgments(ctx context.Context, w io.Writer, fetch Fetcher) (Written, error) {
	l := newExportLayout(judgmentSchema, judgmentLead, judgmentTexts)
	x, err := r.sideIndex()
	if err != nil {
		return Written{}, err
	}
	return write(w, l, r.judgBatches, func(rec arrow.RecordBatch) (func(int, []text), int, error) {
		suite := rec.Column(jcSuite).(*array.String)
		sample := rec.Column(jcSample).(*array.String)
		sseq := rec.Column(jcSampleSeq).(*array.Uint64)
		cand := rec.Column(jcCandidate).(*array.String)
		base := rec.Column(jcBaseline).(*array.String)
		n := int(rec.NumRows())
		samples := make([]uint64, n)
		cands, bases := make([]side, n), make([]side, n)
		gens := make([]uint64, 0, 2*n)
		for i := range n {
			su, id := suite.Value(i), sample.Value(i)
			samples[i] = x.SampleSeq(su, id, sseq.Value(i))
			cands[i], bases[i] = x.side(cand.Value(i), su, id), x.side(base.Value(i), su, id)
			gens = append(gens, cands[i].genSeq, bases[i].genSeq)
		}
		t, err := FetchTexts(ctx, fetch, samples, gens)
		if err != nil {
			return nil, 0, err
		}
		return func(i int, vals []text) {
			vals[0] = some(r.spec.Run)
			vals[1], vals[2] = some(cands[i].model), some(bases[i].model)
			vals[3], vals[4] = some(cands[i].params), some(bases[i].params)
			if s := t.Sample(samples[i]); s != nil {
				vals[5], vals[6], vals[7] = some(eval.LastUserMessage(s.Messages)), some(jsonText(s.Messages)), some(referenceText(s))
			}
			if out, ok := answered(t.Generation(cands[i].genSeq)); ok {
				vals[8] = some(out)
			}
			if out, ok := answered(t.Generation(bases[i].genSeq)); ok {
				vals[9] = some(out)
			}
		}, t.Missing, nil
	})
}

// write writes a table's batches with their texts as one Parquet file.
// texts fetches one batch's texts and returns how to fill each row, and how
// many texts were gone.
func write(w io.Writer, l exportLayout, rows batches,
	texts func(arrow.RecordBatch) (func(int, []text), int, error)) (Written, error) {
	fw, err := parquetWriter(w, l.schema)
	if err != nil {
		return Written{}, err
	}
	// The texts of the next batch are fetched while a batch is written:
	// fetching is round trips to NATS, writing is encoding and
	// compressing, and a run's end waits for both.
	type fetched struct {
		rec     arrow.RecordBatch
		row     func(int, []text)
		missing int
		err     error
	}
	next := make(chan fetched, 1)
	stop := make(chan struct{})
	go func() {
		defer close(next)
		err := rows.each(func(rec arrow.RecordBatch) error {
			row, missing, err := texts(rec)
			if err != nil {
				return err
			}
			rec.Retain()
			select {
			case next <- fetched{rec: rec, row: row, missing: missing}:
				return nil
			case <-stop:
				rec.Release()
				return errStopped
			}
		})
		if err != nil && !errors.Is(err, errStopped) {
			select {
			case next <- fetched{err: err}:
			case <-stop:
			}
		}
	}()
	var done Written
	mem := memory.NewGoAllocator()
	for f := range next {
		if err == nil && f.err != nil {
			err = f.err
		}
		if f.rec == nil {
			continue
		}
		if err == nil {
			out := l.record(mem, f.rec, f.row)
			if err = fw.Write(out); err != nil {
				err = fmt.Errorf("writing Parquet: %w", err)
			} else {
				done.add(Written{Rows: int(f.rec.NumRows()), Missing: f.missing})
			}
			out.Release()
			if err != nil {
				close(stop)
			}
		}
		f.rec.Release()
	}
	if err != nil {
		fw.Close()
		return done, err
	}
	if err := fw.Close(); err != nil {
		return done, fmt.Errorf("writing Parquet: %w", err)
	}
	return done, nil
}

// errStopped ends the reading of batches ahead of a write that failed.
var errStopped = errors.New("stopped")

// ReadParquet reads a Parquet file back as an Arrow table, as a data tool
// would. The caller releases it.
func ReadParquet(ctx context.Context, data []byte) (arrow.Table, error) {
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading Parquet: %w", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	if err != nil {
		return nil, fmt.Errorf("reading Parquet: %w", err)
	}
	t, err := fr.ReadTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading Parquet: %w", err)
	}
	return t, nil
}
