package aggregate

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// Fetcher reads the texts behind the report's examples: prompts from
// ASSAY_SAMPLES and answers from ASSAY_GENS, by stream sequence.
type Fetcher interface {
	Sample(ctx context.Context, seq uint64) (*eval.Sample, error)
	Generation(ctx context.Context, seq uint64) (*eval.Generation, error)
}

// MaxExamples is how many failing cases each bucket shows.
const MaxExamples = 5

// exampleChars bounds each text of an example.
const exampleChars = 4000

// row is one score, read back from the Arrow columns.
type row struct {
	suite, sample, variant, bucket string
	sampleSeq, genSeq              uint64
	refused, benign, truncated     bool
	// contaminated: the sample was found in the training data.
	contaminated          bool
	jsonValid, schemaPass int8 // -1 null, 0 false, 1 true
	tokens                int64
	// latency, ttft and itl are NaN where not measured (failed or not
	// streamed generations).
	latency, ttft, itl float64
	// note is why the row is in its bucket, and a failed generation's
	// failure class; nil when it has neither, as an answer that is ok.
	note    *rowNote
	metrics []float64 // NaN where absent
	// at is a production query's time in Unix milliseconds, 0 for a
	// dataset's sample.
	at int64
	// copyOf marks a robustness copy; nil for an original sample, as most
	// rows are.
	copyOf *robustCopy
	// cluster groups samples that are not independent; "" is a cluster of
	// the sample's own (see [eval.SampleRef.Cluster]).
	cluster string
	// chars is the visible answer's length in characters; refChars the
	// reference's (0: none).
	chars, refChars int64
	// outHash identifies the visible answer (eval.OutputHash); 0 when
	// unknown.
	outHash uint64
	// unanswerable: the sample should be declined (should_abstain).
	unanswerable bool
	// opening and closing identify how the answer opens and closes
	// (eval.Edges); 0 when unknown.
	opening, closing uint64
	// failedMetrics are the metrics that could not be computed for the
	// answer (see failedMetrics).
	failedMetrics string
	// pos is the sample's position in its suite (see [sampleIndex]) when
	// the row was read with an index.
	pos int32
}

// rows are the scores in key order, not arrival order (see judgmentRows).
func (c *Collector) rows() []row {
	return c.rowsOf(c.scores.view(), c.scores.rows)
}

// rowsOf are the score rows of b (n of them), as [Collector.rows].
func (c *Collector) rowsOf(b batches, n int) []row {
	out := make([]row, 0, n)
	d := c.newRowDecoder(nil)
	c.eachOf(b, func(rec arrow.RecordBatch) {
		out = d.decode(rec, out)
	})
	slices.SortFunc(out, compareRows)
	return out
}

// compareRows orders rows by key: suite, sample, variant.
func compareRows(a, b row) int {
	return cmp.Or(cmp.Compare(a.suite, b.suite), cmp.Compare(a.sample, b.sample), cmp.Compare(a.variant, b.variant))
}

// rowDecoder makes rows of score batches. Their strings are the report's
// own (see [strs]): a row may be kept after its batch is gone.
type rowDecoder struct {
	c     *Collector
	in    strs
	notes rowNotes
	// x, when not nil, gives each row its sample's position and the
	// index's copy of its id, rather than a copy of its own.
	x *sampleIndex
}

func (c *Collector) newRowDecoder(x *sampleIndex) *rowDecoder {
	return &rowDecoder{c: c, in: strs{}, notes: rowNotes{}, x: x}
}

// decode appends rec's rows to out.
func (d *rowDecoder) decode(rec arrow.RecordBatch, out []row) []row {
	if d.x != nil {
		// Reasons are mostly a sample's own ("em: does not match …"):
		// shared batch by batch, not over the whole pass, whose rows
		// are not kept.
		d.notes = rowNotes{}
	}
	c, in, notes := d.c, d.in, d.notes
	col := func(i int) any { return rec.Column(i) }
	suite := col(colSuite).(*array.String)
	sample := col(colSample).(*array.String)
	sseq := col(colSampleSeq).(*array.Uint64)
	variant := col(colVariant).(*array.String)
	bucket := col(colBucket).(*array.String)
	reason := col(colReason).(*array.String)
	refused := col(colRefused).(*array.Boolean)
	benign := col(colBenign).(*array.Boolean)
	trunc := col(colTruncated).(*array.Boolean)
	jv := col(colJSONValid).(*array.Boolean)
	sp := col(colSchemaPass).(*array.Boolean)
	tokens := col(colOutputTokens).(*array.Int64)
	chars := col(colOutputChars).(*array.Int64)
	lat := col(colLatency).(*array.Float64)
	ttft := col(colTTFT).(*array.Float64)
	itl := col(colITL).(*array.Float64)
	cause := col(colCause).(*array.String)
	gseq := col(colGenSeq).(*array.Uint64)
	at := col(colAt).(*array.Timestamp)
	pert := col(colPerturbation).(*array.String)
	orig := col(colOriginal).(*array.String)
	contam := col(colContaminated).(*array.Boolean)
	cluster := col(colCluster).(*array.String)
	refChars := col(colRefChars).(*array.Int64)
	outHash := col(colOutputHash).(*array.Uint64)
	unanswerable := col(colUnanswerable).(*array.Boolean)
	opening := col(colOpeningHash).(*array.Uint64)
	closing := col(colClosingHash).(*array.Uint64)
	failedMs := col(colFailedMetrics).(*array.String)
	ms := make([]*array.Float64, len(c.metrics))
	for i := range ms {
		ms[i] = col(colMetrics + i).(*array.Float64)
	}
	// One allocation holds the batch's metric values.
	values := make([]float64, len(ms)*int(rec.NumRows()))
	var ss *suiteSamples
	for i := 0; i < int(rec.NumRows()); i++ {
		r := row{
			suite: in.of(suite.Value(i)), sampleSeq: sseq.Value(i), variant: in.of(variant.Value(i)),
			bucket: in.of(bucket.Value(i)), note: notes.of(in, reason.Value(i), cause.Value(i)), refused: refused.Value(i), benign: benign.Value(i),
			truncated: trunc.Value(i), jsonValid: tri(jv, i), schemaPass: tri(sp, i), tokens: tokens.Value(i),
			latency: f64Value(lat, i), ttft: f64Value(ttft, i), itl: f64Value(itl, i),
			genSeq: gseq.Value(i), metrics: values[i*len(ms) : (i+1)*len(ms) : (i+1)*len(ms)], at: timeValue(at, i),
			copyOf: copyOf(in, pert.Value(i), orig.Value(i)), contaminated: contam.Value(i),
			cluster: in.of(cluster.Value(i)), chars: chars.Value(i), refChars: refChars.Value(i),
			outHash: outHash.Value(i), unanswerable: unanswerable.Value(i), opening: opening.Value(i), closing: closing.Value(i),
			failedMetrics: in.of(failedMs.Value(i)),
		}
		if d.x != nil {
			if i == 0 || suite.Value(i) != suite.Value(i-1) {
				ss = d.x.suite(r.suite)
			}
			if r.pos = -1; ss != nil {
				r.pos = ss.pos(sample.Value(i))
			}
			if r.pos < 0 {
				c.missedIndex()
				continue
			}
			r.sample = ss.ids[r.pos]
		} else {
			r.sample = strings.Clone(sample.Value(i))
		}
		for k, m := range ms {
			r.metrics[k] = f64Value(m, i)
		}
		out = append(out, r)
	}
	return out
}

// eachScore hands fn every score row, batch by batch in the order they
// arrived, each with its sample's position in x: nothing holds the run's
// rows at once. fn may keep a copy of *r, not r.
func (c *Collector) eachScore(x *sampleIndex, fn func(r *row)) {
	d := c.newRowDecoder(x)
	var buf []row
	c.each(c.scores, func(rec arrow.RecordBatch) {
		buf = d.decode(rec, buf[:0])
		for i := range buf {
			fn(&buf[i])
		}
	})
}

// rowNote is a row's reason and cause (see [row.note]).
type rowNote struct{ reason, cause string }

// rowNotes share one note between the rows that have the same.
type rowNotes map[rowNote]*rowNote

// of is the note of reason and cause, nil when both are "". The cause it
// keeps is in's; the reason is a copy of its own, since most reasons are
// one sample's ("em: does not match …") and in is kept for a whole pass.
func (ns rowNotes) of(in strs, reason, cause string) *rowNote {
	if reason == "" && cause == "" {
		return nil
	}
	if n := ns[rowNote{reason, cause}]; n != nil {
		return n
	}
	n := &rowNote{reason: strings.Clone(reason), cause: in.of(cause)}
	ns[*n] = n
	return n
}

// reason is why r is in its bucket.
func (r *row) reason() string {
	if r.note == nil {
		return ""
	}
	return r.note.reason
}

// cause is a failed generation's failure class.
func (r *row) cause() string {
	if r.note == nil {
		return ""
	}
	return r.note.cause
}

// robustCopy is a robustness copy's perturbation and original sample.
type robustCopy struct{ kind, original string }

// copyOf is the copy a row of perturbation kind is, nil when kind is ""
// (an original sample). The strings it keeps are in's.
func copyOf(in strs, kind, original string) *robustCopy {
	if kind == "" {
		return nil
	}
	return &robustCopy{kind: in.of(kind), original: strings.Clone(original)}
}

// perturbation is the kind of robustness copy r is, "" for an original
// sample.
func (r *row) perturbation() string {
	if r.copyOf == nil {
		return ""
	}
	return r.copyOf.kind
}

// original is the sample r is a robustness copy of, "" for an original
// sample.
func (r *row) original() string {
	if r.copyOf == nil {
		return ""
	}
	return r.copyOf.original
}

// f64Value is a's value at i, NaN where it is null.
func f64Value(a *array.Float64, i int) float64 {
	if a.IsNull(i) {
		return math.NaN()
	}
	return a.Value(i)
}

// failed reports whether the row is a generation that could not be
// evaluated: it has no metric, check, length or latency.
func (r row) failed() bool { return r.bucket == string(eval.BucketError) }

func timeValue(a *array.Timestamp, i int) int64 {
	if a.IsNull(i) {
		return 0
	}
	return int64(a.Value(i))
}

func tri(b *array.Boolean, i int) int8 {
	switch {
	case b.IsNull(i):
		return -1
	case b.Value(i):
		return 1
	}
	return 0
}

// judgmentRow is one judgment, read back from the Arrow columns.
type judgmentRow struct {
	judge, judgeID, cand, suite, sample, winner, err, cause string
	consistent                                              bool
	// genFailed: the pair was not judged because a generation failed.
	genFailed bool
	at        int64
	// cluster is the sample's, as in [row].
	cluster string
}

// judgmentRows are the judgments of original samples with the baseline:
// robustness copies are compared by their scores, not counted in win
// rates, and compare pairs are reported apart (see comparePairwise). They are in key
// order, not arrival order, so that sums over them — and so the report —
// are the same to the last bit however the results arrived.
func (c *Collector) judgmentRows() []judgmentRow {
	return c.judgmentRowsOf(c.judgments.view(), c.judgments.rows)
}

// judgmentRowsOf are the judgment rows of b (n of them), as
// [Collector.judgmentRows].
func (c *Collector) judgmentRowsOf(b batches, n int) []judgmentRow {
	out := make([]judgmentRow, 0, n)
	in := strs{}
	c.eachOf(b, func(rec arrow.RecordBatch) {
		jc := judgmentColumnsOf(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			if jc.pert.Value(i) != "" || jc.compared(i, c.spec.Baseline) {
				continue
			}
			out = append(out, judgmentRow{judge: in.of(jc.judge.Value(i)), judgeID: in.of(jc.jid.Value(i)), cand: in.of(jc.cand.Value(i)),
				suite: in.of(jc.suite.Value(i)), sample: strings.Clone(jc.sample.Value(i)), winner: in.of(jc.winner.Value(i)), err: in.of(jc.errs.Value(i)),
				consistent: jc.cons.Value(i), genFailed: jc.genFailed.Value(i), cause: in.of(jc.cause.Value(i)), at: timeValue(jc.at, i), cluster: in.of(jc.cluster.Value(i))})
		}
	})
	slices.SortFunc(out, func(a, b judgmentRow) int {
		return cmp.Or(cmp.Compare(a.judgeID, b.judgeID), cmp.Compare(a.cand, b.cand), cmp.Compare(a.suite, b.suite), cmp.Compare(a.sample, b.sample))
	})
	return out
}

// Report computes the report. fetch, when not nil, fills in the examples'
// prompts and answers.
func (c *Collector) Report(ctx context.Context, fetch Fetcher, now time.Time, opts ...ReportOption) (*document.Report, error) {
	var o reportOptions
	for _, opt := range opts {
		opt(&o)
	}
	spec := c.spec
	c.readErr = nil // read again below: a failure is the report's
	rep := &document.Report{
		Run: spec.Run, Fingerprint: c.fp, Baseline: spec.Baseline, Complete: c.Complete(), Continuous: spec.Continuous != nil, Progress: c.Progress(),
		Rates: map[string]document.Rates{}, Metrics: []document.Metric{}, Deltas: []document.Delta{},
		Robustness: []document.Robustness{}, DecisionFlips: []document.DecisionFlip{}, Comparisons: []document.Comparison{}, Templates: []document.Template{}, Contamination: []document.ContaminationEffect{}, Failures: []document.Failure{},
		Pairwise: []document.Pairwise{}, ComparePairwise: []document.Pairwise{}, Agreement: []document.Agreement{}, Ranking: []document.Strength{}, RateDeltas: []document.RateDelta{}, Monitors: []document.Monitor{}, Buckets: []document.Bucket{}, Warnings: []string{}, Sandbox: []document.Sandbox{},
		Suites: []document.Suite{}, Windows: []document.Window{}, Checkpoints: []document.Checkpoint{},
		Dimensions: []document.DimensionDelta{}, JudgeRefusal: []document.JudgeRefusal{},
		Timing: document.Timing{GeneratedAt: now.UTC(), Latency: map[string]document.Latency{}, TTFT: map[string]document.Latency{},
			ITL: map[string]document.Latency{}, OutputTokensPerS: map[string]document.Throughput{}},
	}
	for _, v := range spec.Variants {
		rep.Variants = append(rep.Variants, v.Name)
	}
	c.suites(rep)
	// One read of the score rows feeds every section: each gathers what
	// its statistics need by sample position (see [sampleIndex]), not the
	// rows. Only the rows of suites with robustness copies and of
	// production queries (a continuous run's, bounded by its horizon) are
	// kept, for the sections that compare rows with rows.
	x := c.sampleIndex()
	if c.readErr != nil {
		// The passes below would read rows the index does not have.
		return nil, c.readErr
	}
	metrics := c.newMetricsAcc(x)
	metrics.distinct = o.distinct
	reads := c.bucketReadings(x)
	rates := c.newRatesAcc(x, metrics, reads)
	timing := timingAcc{}
	buckets := c.newBucketsAcc(x)
	gens, in := c.genTally(), strs{}
	var robust, timed []row
	c.eachScore(x, func(r *row) {
		if x.perturbed[r.suite] {
			robust = append(robust, *r)
		}
		// The headline figures are the originals'; robustness copies are
		// compared with their originals in rep.Robustness.
		if r.perturbation() != "" {
			return
		}
		if r.at != 0 {
			timed = append(timed, *r)
		}
		metrics.add(r)
		rates.add(r)
		timing.add(r)
		bucket, why := refinedBucket(r, x, reads.offTopic, spec.Baseline)
		buckets.add(r, bucket, why)
		if r.failed() {
			gens.addAt(in, [4]string{r.suite, r.sample, r.variant}, r.variant, r.cause(), r.reason())
		}
	})
	slices.SortFunc(robust, compareRows)
	c.robustness(rep, robust)
	robust = nil
	metrics.contamination(rep)
	metrics.metricsAndDeltas(rep)
	metrics.fillEdges(ctx, rep, fetch)
	rates.rates(rep)
	c.timing(rep, timing)
	if err := buckets.buckets(ctx, rep, fetch); err != nil {
		return nil, err
	}
	c.suggestFixes(rep)
	c.failures(rep, gens)
	slices.SortFunc(timed, compareRows)
	c.windows(rep, timed)
	taken := takenBySuite(timed)
	for suite, n := range c.fold.taken {
		taken[suite] += n
	}
	c.pairwise(rep, x)
	c.agreement(rep, x)
	c.stability(rep)
	c.dimensions(rep)
	c.judgeRefusal(rep, x, rates)
	c.warnings(rep)
	rep.Folded = c.folded()
	if w := c.lateWarning(); w != "" {
		rep.Warnings = append(rep.Warnings, w)
	}
	if w := c.spillWarning(); w != "" {
		rep.Warnings = append(rep.Warnings, w)
	}
	c.sandboxes(rep)
	rep.Gate = Gate(spec, rep)
	rep.Checkpoints = checkpoints(spec, rep)
	if spec.Continuous != nil {
		// No ingest status counts a continuous run's production samples:
		// they are the queries taken so far, and what is expected follows
		// from them.
		for i := range rep.Suites {
			if su, ok := spec.Suite(rep.Suites[i].Name); ok && su.Intake {
				rep.Suites[i].Samples = taken[su.Name]
				rep.Counts.Samples += rep.Suites[i].Samples
			}
		}
		n := rep.Counts.Samples
		rep.Progress.ScoresExpected = n * len(spec.Variants)
		if len(spec.Variants) > 1 {
			rep.Progress.JudgmentsExpected = n * len(spec.JudgedPairs()) * len(spec.Judges)
		}
	}
	if c.readErr != nil {
		return nil, c.readErr
	}
	return rep, nil
}

// takenBySuite counts, by suite, the production queries among rows (in
// key order, so a sample's rows are next to each other).
func takenBySuite(rows []row) map[string]int {
	taken := map[string]int{}
	var last *row
	for i := range rows {
		r := &rows[i]
		if r.at == 0 {
			continue
		}
		if last == nil || last.suite != r.suite || last.sample != r.sample {
			taken[r.suite]++
		}
		last = r
	}
	return taken
}

func (c *Collector) suites(rep *document.Report) {
	for _, su := range c.spec.Suites {
		ds := document.Suite{Name: su.Name, Role: string(su.Role), Metrics: su.Metrics}
		if c.ingest != nil {
			if st := c.ingest.Suites[su.Name]; st != nil {
				ds.Samples, ds.Duplicates, ds.Malformed, ds.Problems = st.Samples, st.Duplicates, st.Malformed, st.Problems
				ds.Contaminated, ds.Perturbed, ds.Dropped, ds.Files = st.Contaminated, st.Perturbed, st.Dropped, st.Files
			}
		}
		// Lists are empty, never null: CI gates read every key.
		if ds.Problems == nil {
			ds.Problems = []string{}
		}
		if ds.Dropped == nil {
			ds.Dropped = []eval.DroppedDuplicate{}
		}
		if ds.Files == nil {
			ds.Files = []eval.MalformedFile{}
		}
		rep.Counts.Samples += ds.Samples
		rep.Counts.Duplicates += ds.Duplicates
		rep.Counts.Malformed += ds.Malformed
		rep.Counts.Contaminated += ds.Contaminated
		rep.Suites = append(rep.Suites, ds)
	}
}
