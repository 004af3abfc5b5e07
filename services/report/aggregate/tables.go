package aggregate

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/util"
	"github.com/assay-eval/assay/pkg/eval"
)

// noWindow is the key of a table's part of rows in no time window:
// datasets' samples, and the failures dead letters stand for.
const noWindow = math.MinInt64

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
	colRefChars
	colOutputHash
	colUnanswerable
	colOpeningHash
	colClosingHash
	colFailedMetrics
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
		{Name: "ref_chars", Type: arrow.PrimitiveTypes.Int64},
		{Name: "output_hash", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "unanswerable", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "opening_hash", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "closing_hash", Type: arrow.PrimitiveTypes.Uint64},
		// The metrics that could not be computed for the answer (their
		// call failed), comma-separated: no value, and counted as failed.
		{Name: "failed_metrics", Type: arrow.BinaryTypes.String},
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
	jcDims
	jcFlags
	jcFix
)

// judgmentColumns are a judgments batch's columns, typed.
type judgmentColumns struct {
	judge, jid, cand, base, suite, sample, winner, errs, cause, r1, r2, pert, cluster, dims, fix *array.String
	cons, genFailed                                                                              *array.Boolean
	at                                                                                           *array.Timestamp
	flags                                                                                        *array.Int64
}

func judgmentColumnsOf(rec arrow.RecordBatch) judgmentColumns {
	str := func(i int) *array.String { return rec.Column(i).(*array.String) }
	return judgmentColumns{
		judge: str(jcJudge), jid: str(jcJudgeID), cand: str(jcCandidate), base: str(jcBaseline), suite: str(jcSuite), sample: str(jcSample),
		winner: str(jcWinner), errs: str(jcError), cause: str(jcCause), r1: str(jcRound1), r2: str(jcRound2),
		pert: str(jcPerturbation), cluster: str(jcCluster), dims: str(jcDims), fix: str(jcFix), flags: rec.Column(jcFlags).(*array.Int64),
		cons: rec.Column(jcConsistent).(*array.Boolean), genFailed: rec.Column(jcGenerationFailed).(*array.Boolean),
		at: rec.Column(jcAt).(*array.Timestamp),
	}
}

// compared reports whether row i is the judgment of a pair of the compare
// list (its baseline column holds the pair's second variant), rather than
// of a candidate with the run's baseline.
func (jc judgmentColumns) compared(i int, baseline string) bool {
	b := jc.base.Value(i)
	return b != "" && b != baseline
}

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
	// dims are the judge's mean scores per dimension, "name=candidate/baseline;…"
	// (see judgeDims); flags its reading of the two answers (judgeFlags);
	// fix its suggested fix for a candidate's answer it found worse.
	{Name: "dims", Type: arrow.BinaryTypes.String},
	{Name: "flags", Type: arrow.PrimitiveTypes.Int64},
	{Name: "fix", Type: arrow.BinaryTypes.String},
}, nil)

// table accumulates rows in record builders and seals them into batches,
// kept in memory up to a budget and written to segment files beyond it
// (see [WithSpill]). Its rows are in parts, one per time window of a
// continuous run (and one, [noWindow], for the rows of no window), so that a
// window's rows can be let go of whole when it is folded (see
// [Collector.fold]).
type table struct {
	mem    memory.Allocator
	schema *arrow.Schema
	parts  map[int64]*part
	// b is the builder of the part rows are added to (see [table.into]),
	// and latest the key of the latest window's part.
	b      *array.RecordBuilder
	cur    *part
	latest int64
	rows   int
	// inRAM is the size of the parts' batches; once it passes budget,
	// they are written to segments of spill and released.
	inRAM, budget int64
	spill         *spill
	// spillFailures counts the failures to write a segment, and spillErr
	// is the latest: the table keeps its batches in memory until
	// spillRetry, then tries again (a full disk may have room again).
	spillFailures int
	spillErr      error
	spillRetry    time.Time
}

// spillRetryAfter is how long a table keeps its batches in memory after a
// segment could not be written, before it tries to write them again (the
// report's warning says "a minute").
const spillRetryAfter = time.Minute

// part is the rows of one window.
type part struct {
	b        *array.RecordBuilder
	batches  []arrow.RecordBatch
	segments []*segment
	pending  int
	rows     int
	inRAM    int64
	// msgSeq is the smallest stream sequence of the messages its rows
	// came from, when the caller said (see [Collector.FromMessage]), and
	// sampleSeq and genSeq the smallest of its samples and generations:
	// what a purge of the run's streams must keep.
	msgSeq, sampleSeq, genSeq uint64
	// msgUnknown: some of its rows came from a message of no known
	// sequence.
	msgUnknown bool
}

func newTable(mem memory.Allocator, schema *arrow.Schema, sp *spill, budget int64) *table {
	t := &table{mem: mem, schema: schema, parts: map[int64]*part{}, spill: sp, budget: budget, latest: noWindow}
	t.into(noWindow)
	return t
}

// into makes rows added from now on go to the part of key. A part made
// for a window later than every other seals the others' rows: the windows
// before it see few results after it begins, and a part's rows must be
// sealed to be spilled. Their builders are let go of until a late result
// needs one again.
func (t *table) into(key int64) {
	p := t.parts[key]
	if p == nil {
		p = &part{}
		if key != noWindow && key > t.latest {
			t.latest = key
			for k, q := range t.parts {
				if k != noWindow && q.b != nil {
					t.flushPart(q)
					q.b.Release()
					q.b = nil
				}
			}
			t.spillOver()
		}
		t.parts[key] = p
	}
	if p.b == nil {
		p.b = array.NewRecordBuilder(t.mem, t.schema)
	}
	t.cur, t.b = p, p.b
}

// keys are the parts' keys in order.
func (t *table) keys() []int64 {
	keys := make([]int64, 0, len(t.parts))
	for k := range t.parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// seen lowers a part's smallest sequence to seq, if seq is one.
func seen(min *uint64, seq uint64) {
	if seq > 0 && (*min == 0 || seq < *min) {
		*min = seq
	}
}

func (t *table) rowDone() {
	p := t.cur
	p.pending++
	p.rows++
	t.rows++
	if p.pending == batchRows {
		t.flushPart(p)
		t.spillOver()
	}
}

// flushPart seals the rows p's builder holds into a batch.
func (t *table) flushPart(p *part) {
	if p.pending == 0 {
		return
	}
	rec := p.b.NewRecordBatch()
	p.batches = append(p.batches, rec)
	p.pending = 0
	size := util.TotalRecordSize(rec)
	p.inRAM += size
	t.inRAM += size
}

func (t *table) flush() {
	for _, k := range t.keys() {
		t.flushPart(t.parts[k])
	}
	t.spillOver()
}

// spillOver writes every part's batches to segments once the table holds
// more than its budget in memory.
func (t *table) spillOver() {
	if t.spill == nil || t.budget <= 0 || t.inRAM <= t.budget {
		return
	}
	if !t.spillRetry.IsZero() && t.spill.now().Before(t.spillRetry) {
		return
	}
	for _, k := range t.keys() {
		p := t.parts[k]
		if len(p.batches) == 0 {
			continue
		}
		seg, err := writeSegment(t.spill, t.schema, p.batches)
		if err != nil {
			t.spillFailures++
			t.spillErr, t.spillRetry = err, t.spill.now().Add(spillRetryAfter)
			return
		}
		p.segments = append(p.segments, seg)
		for _, r := range p.batches {
			r.Release()
		}
		t.inRAM -= p.inRAM
		p.batches, p.inRAM = nil, 0
	}
}

// view is every row as it stands, flushing the builders: valid until more
// rows are added.
func (t *table) view() batches {
	t.flush()
	b := batches{mem: t.mem}
	for _, k := range t.keys() {
		b.segments = append(b.segments, t.parts[k].segments...)
		b.inRAM = append(b.inRAM, t.parts[k].batches...)
	}
	return b
}

// partView is the rows of the part of key, as [table.view].
func (t *table) partView(key int64) batches {
	p := t.parts[key]
	if p == nil {
		return batches{mem: t.mem}
	}
	t.flushPart(p)
	return batches{mem: t.mem, segments: p.segments, inRAM: p.batches}
}

// snapshot is [table.view] kept valid while rows are added, until it is
// released (segments are never rewritten, and batches are immutable).
func (t *table) snapshot() batches {
	v := t.view()
	v.segments, v.inRAM = slices.Clone(v.segments), slices.Clone(v.inRAM)
	for _, r := range v.inRAM {
		r.Retain()
	}
	for _, seg := range v.segments {
		seg.retain()
	}
	return v
}

// drop lets go of the part of key: its batches, builder and segment
// files (once no snapshot reads them, see [segment.release]).
func (t *table) drop(key int64) {
	p := t.parts[key]
	if p == nil {
		return
	}
	delete(t.parts, key)
	for _, r := range p.batches {
		r.Release()
	}
	if p.b != nil {
		p.b.Release()
	}
	t.inRAM -= p.inRAM
	t.rows -= p.rows
	for _, seg := range p.segments {
		seg.release()
	}
	if t.cur == p {
		t.into(noWindow)
	}
}

func (t *table) release() {
	for _, p := range t.parts {
		for _, r := range p.batches {
			r.Release()
		}
		if p.b != nil {
			p.b.Release()
		}
		for _, seg := range p.segments {
			seg.release()
		}
	}
	t.parts, t.cur, t.b = map[int64]*part{}, nil, nil
}

// batches are a table's rows: its segments, read back one batch at a time,
// then the batches still in memory.
type batches struct {
	mem      memory.Allocator
	segments []*segment
	inRAM    []arrow.RecordBatch
}

// each hands every batch to fn in the order the rows were added. A batch
// read from a segment is released after fn returns, and its body may be
// recycled for the next batch (see [recycler]): fn copies every string and
// slice it keeps; a string read from a batch is valid only during fn.
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
	for _, seg := range b.segments {
		seg.release()
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
	seen(&t.cur.sampleSeq, s.Sample.Seq)
	seen(&t.cur.genSeq, s.GenSeq)
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
	t.i64(colRefChars, int64(s.RefChars))
	// 0: no hash (a failed generation, or a score from before hashes).
	h, _ := strconv.ParseUint(s.OutputHash, 16, 64)
	t.u64(colOutputHash, h)
	t.boolean(colUnanswerable, s.Checks.Unanswerable)
	oh, _ := strconv.ParseUint(s.OpeningHash, 16, 64)
	ch, _ := strconv.ParseUint(s.ClosingHash, 16, 64)
	t.u64(colOpeningHash, oh)
	t.u64(colClosingHash, ch)
	t.str(colFailedMetrics, failedMetrics(s.Failed))
	for i, m := range metrics {
		if v, ok := s.Metrics[m]; ok {
			t.f64(colMetrics+i, v)
		} else {
			t.b.Field(colMetrics + i).AppendNull()
		}
	}
	t.rowDone()
}

// failedMetrics is the names of a score's failed metrics, sorted and
// comma-separated.
func failedMetrics(failed map[string]string) string {
	if len(failed) == 0 {
		return ""
	}
	names := make([]string, 0, len(failed))
	for m := range failed {
		names = append(names, m)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// metricFailed reports whether m is in a failedMetrics list.
func metricFailed(list, m string) bool {
	for list != "" {
		var name string
		name, list, _ = strings.Cut(list, ",")
		if name == m {
			return true
		}
	}
	return false
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
	seen(&t.cur.sampleSeq, j.Sample.Seq)
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
	t.str(jcDims, judgeDims(j.Rounds))
	t.i64(jcFlags, int64(judgeFlagsOf(j.Rounds)))
	t.str(jcFix, candidateFix(j.Rounds))
	t.rowDone()
}
