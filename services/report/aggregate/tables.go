package aggregate

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
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

// table accumulates rows in a record builder and seals them into batches.
type table struct {
	b       *array.RecordBuilder
	batches []arrow.RecordBatch
	pending int
	rows    int
}

func newTable(mem memory.Allocator, schema *arrow.Schema) *table {
	return &table{b: array.NewRecordBuilder(mem, schema)}
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
	t.batches = append(t.batches, t.b.NewRecordBatch())
	t.pending = 0
}

// sealed returns every row as batches, flushing the builder.
func (t *table) sealed() []arrow.RecordBatch {
	t.flush()
	return t.batches
}

func (t *table) release() {
	for _, r := range t.batches {
		r.Release()
	}
	t.batches = nil
	t.b.Release()
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
