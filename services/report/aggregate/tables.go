package aggregate

import (
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/util"
	"github.com/assay-eval/assay/pkg/eval"
)

// batchRows is the size of a record batch: builders are flushed into an
// immutable batch every batchRows rows, so memory per row stays columnar.
const batchRows = 4096

// Score table columns, in schema order; metric columns follow.
const (
	colSuite = iota
	colSample
	colSampleSeq
	colVariant
	colBucket
	colReason
	colRefused
	colBenign
	colTruncated
	colEmpty
	colJSONValid
	colSchemaPass
	colOutputTokens
	colOutputChars
	colLatency
	colTTFT
	colITL
	colGenSeq
	colFingerprint
	colModel
	colParams
	colCause
	colAt
	colPerturbation
	colOriginal
	colContaminated
	colCluster
	colMetrics
)

func scoreSchema(metrics []string) *arrow.Schema {
	fields := []arrow.Field{
		{Name: "suite", Type: arrow.BinaryTypes.String},
		{Name: "sample_id", Type: arrow.BinaryTypes.String},
		{Name: "sample_seq", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "variant", Type: arrow.BinaryTypes.String},
		{Name: "bucket", Type: arrow.BinaryTypes.String},
		{Name: "reason", Type: arrow.BinaryTypes.String},
		{Name: "refused", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "benign", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "truncated", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "empty", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "json_valid", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "schema_pass", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "output_tokens", Type: arrow.PrimitiveTypes.Int64},
		{Name: "output_chars", Type: arrow.PrimitiveTypes.Int64},
		{Name: "latency_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ttft_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "itl_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "gen_seq", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "fingerprint", Type: arrow.BinaryTypes.String},
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "params", Type: arrow.BinaryTypes.String},
		{Name: "cause", Type: arrow.BinaryTypes.String},
		{Name: "query_time", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
		{Name: "perturbation", Type: arrow.BinaryTypes.String},
		{Name: "original", Type: arrow.BinaryTypes.String},
		{Name: "contaminated", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "cluster", Type: arrow.BinaryTypes.String},
	}
	for _, m := range metrics {
		fields = append(fields, arrow.Field{Name: "metric_" + m, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

// Judgment table columns.
const (
	jcJudge = iota
	jcJudgeID
	jcCandidate
	jcBaseline
	jcSuite
	jcSample
	jcSampleSeq
	jcWinner
	jcConsistent
	jcError
	jcGenerationFailed
	jcCause
	jcRound1
	jcRound2
	jcAt
	jcPerturbation
	jcCluster
)

var judgmentSchema = arrow.NewSchema([]arrow.Field{
	{Name: "judge", Type: arrow.BinaryTypes.String},
	{Name: "judge_id", Type: arrow.BinaryTypes.String},
	{Name: "candidate", Type: arrow.BinaryTypes.String},
	{Name: "baseline", Type: arrow.BinaryTypes.String},
	{Name: "suite", Type: arrow.BinaryTypes.String},
	{Name: "sample_id", Type: arrow.BinaryTypes.String},
	{Name: "sample_seq", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "winner", Type: arrow.BinaryTypes.String},
	{Name: "consistent", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "error", Type: arrow.BinaryTypes.String},
	{Name: "generation_failed", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "cause", Type: arrow.BinaryTypes.String},
	{Name: "round1", Type: arrow.BinaryTypes.String},
	{Name: "round2", Type: arrow.BinaryTypes.String},
	{Name: "query_time", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
	{Name: "perturbation", Type: arrow.BinaryTypes.String},
	{Name: "cluster", Type: arrow.BinaryTypes.String},
}, nil)

// table accumulates rows in a record builder and seals them into batches,
// kept in memory up to a budget and written to segment files beyond it
// (see [WithSpill]).
type table struct {
	mem     memory.Allocator
	b       *array.RecordBuilder
	batches []arrow.RecordBatch
	pending int
	rows    int
	// inRAM is the size of batches; once it passes budget, they are
	// written to a segment of spill and released.
	inRAM, budget int64
	spill         *spill
	segments      []*segment
	// spillErr is why writing a segment failed: the table then keeps
	// every batch in memory.
	spillErr error
}

func newTable(mem memory.Allocator, schema *arrow.Schema, sp *spill, budget int64) *table {
	return &table{mem: mem, b: array.NewRecordBuilder(mem, schema), spill: sp, budget: budget}
}

func (t *table) rowDone() {
	t.pending++
	t.rows++
	if t.pending == batchRows {
		t.flush()
	}
}

func (t *table) flush() {
	if t.pending == 0 {
		return
	}
	rec := t.b.NewRecordBatch()
	t.batches = append(t.batches, rec)
	t.pending = 0
	t.inRAM += util.TotalRecordSize(rec)
	if t.spill == nil || t.budget <= 0 || t.inRAM <= t.budget || t.spillErr != nil {
		return
	}
	seg, err := writeSegment(t.spill, t.b.Schema(), t.batches)
	if err != nil {
		t.spillErr = err
		return
	}
	t.segments = append(t.segments, seg)
	for _, r := range t.batches {
		r.Release()
	}
	t.batches, t.inRAM = nil, 0
}

// view is every row as it stands, flushing the builder: valid until more
// rows are added.
func (t *table) view() batches {
	t.flush()
	return batches{mem: t.mem, segments: t.segments, inRAM: t.batches}
}

// snapshot is [table.view] kept valid while rows are added, until it is
// released (segments are never rewritten, and batches are immutable).
func (t *table) snapshot() batches {
	v := t.view()
	v.segments, v.inRAM = slices.Clone(v.segments), slices.Clone(v.inRAM)
	for _, r := range v.inRAM {
		r.Retain()
	}
	return v
}

func (t *table) release() {
	for _, r := range t.batches {
		r.Release()
	}
	t.batches, t.segments = nil, nil
	t.b.Release()
}

// batches are a table's rows: its segments, read back one batch at a time,
// then the batches still in memory.
type batches struct {
	mem      memory.Allocator
	segments []*segment
	inRAM    []arrow.RecordBatch
}

// each hands every batch to fn in the order the rows were added. A batch
// read from a segment is released after fn returns: fn retains what it
// keeps (a string read from a batch stays valid, as the memory is Go's).
func (b batches) each(fn func(arrow.RecordBatch) error) error {
	for _, seg := range b.segments {
		if err := seg.each(b.mem, fn); err != nil {
			return err
		}
	}
	for _, rec := range b.inRAM {
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// release frees a snapshot.
func (b batches) release() {
	for _, r := range b.inRAM {
		r.Release()
	}
}

func (t *table) str(i int, v string) { t.b.Field(i).(*array.StringBuilder).Append(v) }
func (t *table) u64(i int, v uint64) { t.b.Field(i).(*array.Uint64Builder).Append(v) }
func (t *table) i64(i int, v int64)  { t.b.Field(i).(*array.Int64Builder).Append(v) }
func (t *table) f64(i int, v float64) {
	t.b.Field(i).(*array.Float64Builder).Append(v)
}
func (t *table) boolean(i int, v bool) { t.b.Field(i).(*array.BooleanBuilder).Append(v) }

// positive appends a measurement that only a positive value gives: a
// failed or cached generation has no latency of its own, an answer that
// was not streamed no time to first token.
func (t *table) positive(i int, v float64) {
	if v <= 0 {
		t.b.Field(i).AppendNull()
		return
	}
	t.f64(i, v)
}

// at appends a production query's time; null for a dataset's sample.
func (t *table) at(i int, v time.Time) {
	if v.IsZero() {
		t.b.Field(i).AppendNull()
		return
	}
	t.b.Field(i).(*array.TimestampBuilder).Append(arrow.Timestamp(v.UnixMilli()))
}
func (t *table) optBool(i int, v *bool) {
	if v == nil {
		t.b.Field(i).AppendNull()
		return
	}
	t.boolean(i, *v)
}

func (t *table) appendScore(s *eval.Score, metrics []string) {
	t.str(colSuite, s.Sample.Suite)
	t.str(colSample, s.Sample.ID)
	t.u64(colSampleSeq, s.Sample.Seq)
	t.str(colVariant, s.Variant)
	t.str(colBucket, string(s.Bucket))
	t.str(colReason, s.Reason)
	t.boolean(colRefused, s.Checks.Refused)
	t.boolean(colBenign, s.Checks.Benign)
	t.boolean(colTruncated, s.Checks.Truncated)
	t.boolean(colEmpty, s.Checks.Empty)
	t.optBool(colJSONValid, s.Checks.JSONValid)
	t.optBool(colSchemaPass, s.Checks.SchemaPass)
	t.i64(colOutputTokens, int64(s.OutputTokens))
	t.i64(colOutputChars, int64(s.OutputChars))
	failed := s.Bucket == eval.BucketError
	for _, c := range []struct {
		col int
		v   float64
	}{{colLatency, s.LatencyMS}, {colTTFT, s.TTFTMS}, {colITL, s.ITLMS}} {
		if failed {
			c.v = 0
		}
		t.positive(c.col, c.v)
	}
	t.u64(colGenSeq, s.GenSeq)
	t.str(colFingerprint, s.Fingerprint)
	t.str(colModel, s.Model)
	t.str(colParams, s.Params)
	cause := s.Cause
	if failed && cause == "" {
		cause = causeOf(s.Reason)
	}
	t.str(colCause, cause)
	t.at(colAt, s.Sample.At)
	kind, orig := perturbationOf(s.Sample)
	t.str(colPerturbation, kind)
	t.str(colOriginal, orig)
	t.boolean(colContaminated, s.Sample.Contaminated)
	t.str(colCluster, s.Sample.Cluster)
	for i, m := range metrics {
		if v, ok := s.Metrics[m]; ok {
			t.f64(colMetrics+i, v)
		} else {
			t.b.Field(colMetrics + i).AppendNull()
		}
	}
	t.rowDone()
}

// perturbationOf is a robustness copy's kind and original, or "" twice.
func perturbationOf(ref eval.SampleRef) (kind, original string) {
	if p := ref.Perturbation; p != nil {
		return p.Kind, p.Original
	}
	return "", ""
}

func roundSummary(rs []eval.Round, i int) string {
	if i >= len(rs) {
		return ""
	}
	r := rs[i]
	if r.Error != "" {
		return r.Order + ":error"
	}
	return r.Order + ":" + string(r.Winner) + ":" + r.Parse
}

func (t *table) appendJudgment(j *eval.Judgment) {
	t.str(jcJudge, j.Judge)
	t.str(jcJudgeID, j.JudgeID)
	t.str(jcCandidate, j.Candidate)
	t.str(jcBaseline, j.Baseline)
	t.str(jcSuite, j.Sample.Suite)
	t.str(jcSample, j.Sample.ID)
	t.u64(jcSampleSeq, j.Sample.Seq)
	t.str(jcWinner, string(j.Winner))
	t.boolean(jcConsistent, j.Consistent)
	t.str(jcError, j.Error)
	t.boolean(jcGenerationFailed, j.GenerationFailed)
	cause := j.Cause
	if j.Error != "" && cause == "" {
		cause = causeOf(j.Error)
	}
	t.str(jcCause, cause)
	t.str(jcRound1, roundSummary(j.Rounds, 0))
	t.str(jcRound2, roundSummary(j.Rounds, 1))
	t.at(jcAt, j.Sample.At)
	kind, _ := perturbationOf(j.Sample)
	t.str(jcPerturbation, kind)
	t.str(jcCluster, j.Sample.Cluster)
	t.rowDone()
}
