package aggregate

import (
	"cmp"
	"context"
	"math"
	"runtime"
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

// collectAfterRows is the number of score rows from which the report has
// the Go collector take them back before reading the judgments.
const collectAfterRows = 100_000

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
	// chars is the visible answer's length in characters.
	chars int64
}

// rows are the scores in key order, not arrival order (see judgmentRows).
func (c *Collector) rows() []row {
	return c.rowsOf(c.scores.view(), c.scores.rows)
}

// rowsOf are the score rows of b (n of them), as [Collector.rows].
func (c *Collector) rowsOf(b batches, n int) []row {
	out := make([]row, 0, n)
	in, notes := strs{}, rowNotes{}
	c.eachOf(b, func(rec arrow.RecordBatch) {
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
		ms := make([]*array.Float64, len(c.metrics))
		for i := range ms {
			ms[i] = col(colMetrics + i).(*array.Float64)
		}
		// One allocation holds the batch's metric values.
		values := make([]float64, len(ms)*int(rec.NumRows()))
		for i := 0; i < int(rec.NumRows()); i++ {
			r := row{
				suite: in.of(suite.Value(i)), sample: strings.Clone(sample.Value(i)), sampleSeq: sseq.Value(i), variant: in.of(variant.Value(i)),
				bucket: in.of(bucket.Value(i)), note: notes.of(in, reason.Value(i), cause.Value(i)), refused: refused.Value(i), benign: benign.Value(i),
				truncated: trunc.Value(i), jsonValid: tri(jv, i), schemaPass: tri(sp, i), tokens: tokens.Value(i),
				latency: f64Value(lat, i), ttft: f64Value(ttft, i), itl: f64Value(itl, i),
				genSeq: gseq.Value(i), metrics: values[i*len(ms) : (i+1)*len(ms) : (i+1)*len(ms)], at: timeValue(at, i),
				copyOf: copyOf(in, pert.Value(i), orig.Value(i)), contaminated: contam.Value(i),
				cluster: in.of(cluster.Value(i)), chars: chars.Value(i),
			}
			for k, m := range ms {
				r.metrics[k] = f64Value(m, i)
			}
			out = append(out, r)
		}
	})
	slices.SortFunc(out, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.suite, b.suite), cmp.Compare(a.sample, b.sample), cmp.Compare(a.variant, b.variant))
	})
	return out
}

// rowNote is a row's reason and cause (see [row.note]).
type rowNote struct{ reason, cause string }

// rowNotes share one note between the rows that have the same.
type rowNotes map[rowNote]*rowNote

// of is the note of reason and cause, nil when both are "". The strings it
// keeps are in's.
func (ns rowNotes) of(in strs, reason, cause string) *rowNote {
	if reason == "" && cause == "" {
		return nil
	}
	if n := ns[rowNote{reason, cause}]; n != nil {
		return n
	}
	n := &rowNote{reason: in.of(reason), cause: in.of(cause)}
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

// judgmentRows are the judgments of original samples: robustness copies
// are compared by their scores, not counted in win rates. They are in key
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
		pert := rec.Column(jcPerturbation).(*array.String)
		judge := rec.Column(jcJudge).(*array.String)
		jid := rec.Column(jcJudgeID).(*array.String)
		cand := rec.Column(jcCandidate).(*array.String)
		suite := rec.Column(jcSuite).(*array.String)
		sample := rec.Column(jcSample).(*array.String)
		winner := rec.Column(jcWinner).(*array.String)
		cons := rec.Column(jcConsistent).(*array.Boolean)
		errs := rec.Column(jcError).(*array.String)
		genFailed := rec.Column(jcGenerationFailed).(*array.Boolean)
		cause := rec.Column(jcCause).(*array.String)
		at := rec.Column(jcAt).(*array.Timestamp)
		cluster := rec.Column(jcCluster).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			if pert.Value(i) != "" {
				continue
			}
			out = append(out, judgmentRow{judge: in.of(judge.Value(i)), judgeID: in.of(jid.Value(i)), cand: in.of(cand.Value(i)),
				suite: in.of(suite.Value(i)), sample: strings.Clone(sample.Value(i)), winner: in.of(winner.Value(i)), err: in.of(errs.Value(i)),
				consistent: cons.Value(i), genFailed: genFailed.Value(i), cause: in.of(cause.Value(i)), at: timeValue(at, i), cluster: in.of(cluster.Value(i))})
		}
	})
	slices.SortFunc(out, func(a, b judgmentRow) int {
		return cmp.Or(cmp.Compare(a.judgeID, b.judgeID), cmp.Compare(a.cand, b.cand), cmp.Compare(a.suite, b.suite), cmp.Compare(a.sample, b.sample))
	})
	return out
}

// Report computes the report. fetch, when not nil, fills in the examples'
// prompts and answers.
func (c *Collector) Report(ctx context.Context, fetch Fetcher, now time.Time) (*document.Report, error) {
	spec := c.spec
	c.readErr = nil // read again below: a failure is the report's
	rep := &document.Report{
		Run: spec.Run, Fingerprint: c.fp, Baseline: spec.Baseline, Complete: c.Complete(), Continuous: spec.Continuous != nil, Progress: c.Progress(),
		Rates: map[string]document.Rates{}, Metrics: []document.Metric{}, Deltas: []document.Delta{},
		Robustness: []document.Robustness{}, Contamination: []document.ContaminationEffect{}, Failures: []document.Failure{},
		Pairwise: []document.Pairwise{}, Agreement: []document.Agreement{}, Ranking: []document.Strength{}, RateDeltas: []document.RateDelta{}, Monitors: []document.Monitor{}, Buckets: []document.Bucket{}, Warnings: []string{}, Sandbox: []document.Sandbox{},
		Suites: []document.Suite{}, Windows: []document.Window{}, Checkpoints: []document.Checkpoint{},
		Timing: document.Timing{GeneratedAt: now.UTC(), Latency: map[string]document.Latency{}, TTFT: map[string]document.Latency{},
			ITL: map[string]document.Latency{}, OutputTokensPerS: map[string]document.Throughput{}},
	}
	for _, v := range spec.Variants {
		rep.Variants = append(rep.Variants, v.Name)
	}
	c.suites(rep)
	all := c.rows()
	c.robustness(rep, all)
	// The headline figures are the originals'; robustness copies are
	// compared with their originals in rep.Robustness. They are left out
	// in place: all is not read again.
	rows := slices.DeleteFunc(all, func(r row) bool { return r.perturbation() != "" })
	c.contamination(rep, rows)
	c.metricsAndDeltas(rep, rows)
	c.rates(rep, rows)
	c.timing(rep, rows)
	if err := c.buckets(ctx, rep, rows, fetch); err != nil {
		return nil, err
	}
	c.failures(rep, rows)
	c.windows(rep, rows)
	taken := takenBySuite(rows)
	for suite, n := range c.fold.taken {
		taken[suite] += n
	}
	// The judgments' sections below read no score row: the rows are last
	// used above. They are collected now, or the heap, paced on a mark
	// that found them live, would grow by as much again with the
	// judgments' before the next collection (at 1M samples the score rows
	// weigh about 500 MB). One collection of what the collector holds is
	// little beside the report.
	if len(all) >= collectAfterRows {
		all, rows = nil, nil
		runtime.GC()
	}
	c.pairwise(rep)
	c.agreement(rep)
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
			rep.Progress.JudgmentsExpected = n * len(spec.Candidates()) * len(spec.Judges)
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
