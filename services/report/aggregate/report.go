package aggregate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
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
	suite, sample, variant, bucket, reason string
	sampleSeq, genSeq                      uint64
	refused, benign, truncated             bool
	jsonValid, schemaPass                  int8 // -1 null, 0 false, 1 true
	tokens                                 int64
	latency                                float64
	metrics                                []float64 // NaN where absent
	// at is a production query's time in Unix milliseconds, 0 for a
	// dataset's sample.
	at int64
	// perturbation and original mark a robustness copy.
	perturbation, original string
	// contaminated: the sample was found in the training data.
	contaminated bool
}

func (c *Collector) rows() []row {
	var out []row
	for _, rec := range c.scores.sealed() {
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
		lat := col(colLatency).(*array.Float64)
		gseq := col(colGenSeq).(*array.Uint64)
		at := col(colAt).(*array.Timestamp)
		pert := col(colPerturbation).(*array.String)
		orig := col(colOriginal).(*array.String)
		contam := col(colContaminated).(*array.Boolean)
		ms := make([]*array.Float64, len(c.metrics))
		for i := range ms {
			ms[i] = col(colMetrics + i).(*array.Float64)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			r := row{
				suite: suite.Value(i), sample: sample.Value(i), sampleSeq: sseq.Value(i), variant: variant.Value(i),
				bucket: bucket.Value(i), reason: reason.Value(i), refused: refused.Value(i), benign: benign.Value(i),
				truncated: trunc.Value(i), jsonValid: tri(jv, i), schemaPass: tri(sp, i), tokens: tokens.Value(i),
				latency: lat.Value(i), genSeq: gseq.Value(i), metrics: make([]float64, len(ms)), at: timeValue(at, i),
				perturbation: pert.Value(i), original: orig.Value(i), contaminated: contam.Value(i),
			}
			for k, m := range ms {
				if m.IsNull(i) {
					r.metrics[k] = math.NaN()
				} else {
					r.metrics[k] = m.Value(i)
				}
			}
			out = append(out, r)
		}
	}
	return out
}

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
	judge, judgeID, cand, suite, sample, winner, err string
	consistent                                       bool
	at                                               int64
}

// judgmentRows are the judgments of original samples: robustness copies
// are compared by their scores, not counted in win rates.
func (c *Collector) judgmentRows() []judgmentRow {
	var out []judgmentRow
	for _, rec := range c.judgments.sealed() {
		pert := rec.Column(jcPerturbation).(*array.String)
		judge := rec.Column(jcJudge).(*array.String)
		jid := rec.Column(jcJudgeID).(*array.String)
		cand := rec.Column(jcCandidate).(*array.String)
		suite := rec.Column(jcSuite).(*array.String)
		sample := rec.Column(jcSample).(*array.String)
		winner := rec.Column(jcWinner).(*array.String)
		cons := rec.Column(jcConsistent).(*array.Boolean)
		errs := rec.Column(jcError).(*array.String)
		at := rec.Column(jcAt).(*array.Timestamp)
		for i := 0; i < int(rec.NumRows()); i++ {
			if pert.Value(i) != "" {
				continue
			}
			out = append(out, judgmentRow{judge: judge.Value(i), judgeID: jid.Value(i), cand: cand.Value(i),
				suite: suite.Value(i), sample: sample.Value(i), winner: winner.Value(i), err: errs.Value(i), consistent: cons.Value(i),
				at: timeValue(at, i)})
		}
	}
	return out
}

// Report computes the report. fetch, when not nil, fills in the examples'
// prompts and answers.
func (c *Collector) Report(ctx context.Context, fetch Fetcher, now time.Time) (*document.Report, error) {
	spec := c.spec
	rep := &document.Report{
		Run: spec.Run, Fingerprint: c.fp, Baseline: spec.Baseline, Complete: c.Complete(), Continuous: spec.Continuous != nil, Progress: c.Progress(),
		Rates: map[string]document.Rates{}, Metrics: []document.Metric{}, Deltas: []document.Delta{},
		Pairwise: []document.Pairwise{}, Buckets: []document.Bucket{}, Warnings: []string{}, Suites: []document.Suite{}, Windows: []document.Window{},
		Timing: document.Timing{GeneratedAt: now.UTC(), Latency: map[string]document.Latency{}},
	}
	for _, v := range spec.Variants {
		rep.Variants = append(rep.Variants, v.Name)
	}
	c.suites(rep)
	all := c.rows()
	// The headline figures are the originals'; robustness copies are
	// compared with their originals in rep.Robustness.
	rows := make([]row, 0, len(all))
	for _, r := range all {
		if r.perturbation == "" {
			rows = append(rows, r)
		}
	}
	c.robustness(rep, all)
	c.contamination(rep, rows)
	c.metricsAndDeltas(rep, rows)
	c.rates(rep, rows)
	if err := c.buckets(ctx, rep, rows, fetch); err != nil {
		return nil, err
	}
	c.pairwise(rep)
	c.agreement(rep)
	for _, r := range rows {
		if r.bucket == string(eval.BucketError) {
			rep.Counts.Errors++
		}
	}
	for _, p := range rep.Pairwise {
		rep.Counts.Errors += p.Errors
	}
	c.warnings(rep)
	rep.Gate = Gate(spec, rep)
	if c.ingestFailed != "" {
		rep.Warnings = append(rep.Warnings, "ingest failed, so nothing was evaluated: "+c.ingestFailed)
		rep.Gate.Checks = append(rep.Gate.Checks, document.Check{Name: "ingest", Passed: false})
		rep.Gate.Passed = false
		for v := range rep.Gate.Variants {
			rep.Gate.Variants[v] = false
		}
	}
	rep.Checkpoints = checkpoints(spec, rep)
	c.windows(rep, rows)
	if spec.Continuous != nil {
		// No ingest status counts a continuous run's production samples:
		// they are the queries taken so far, and what is expected follows
		// from them.
		taken := map[string]map[string]bool{}
		for _, r := range rows {
			if r.at == 0 {
				continue
			}
			if taken[r.suite] == nil {
				taken[r.suite] = map[string]bool{}
			}
			taken[r.suite][r.sample] = true
		}
		for i := range rep.Suites {
			if su, ok := spec.Suite(rep.Suites[i].Name); ok && su.Intake {
				rep.Suites[i].Samples = len(taken[su.Name])
				rep.Counts.Samples += rep.Suites[i].Samples
			}
		}
		n := rep.Counts.Samples
		rep.Progress.ScoresExpected = n * len(spec.Variants)
		if len(spec.Variants) > 1 {
			rep.Progress.JudgmentsExpected = n * len(spec.Candidates()) * len(spec.Judges)
		}
	}
	return rep, nil
}

func (c *Collector) suites(rep *document.Report) {
	for _, su := range c.spec.Suites {
		ds := document.Suite{Name: su.Name, Role: string(su.Role), Metrics: su.Metrics}
		if c.ingest != nil {
			if st := c.ingest.Suites[su.Name]; st != nil {
				ds.Samples, ds.Duplicates, ds.Malformed, ds.Problems = st.Samples, st.Duplicates, st.Malformed, st.Problems
				ds.Contaminated, ds.Perturbed, ds.Dropped = st.Contaminated, st.Perturbed, st.Dropped
			}
		}
		rep.Counts.Samples += ds.Samples
		rep.Counts.Duplicates += ds.Duplicates
		rep.Counts.Malformed += ds.Malformed
		rep.Counts.Contaminated += ds.Contaminated
		rep.Suites = append(rep.Suites, ds)
	}
}

// metricsAndDeltas computes per-suite means with intervals, and each
// candidate's paired difference from the baseline.
func (c *Collector) metricsAndDeltas(rep *document.Report, rows []row) {
	mi := map[string]int{}
	for i, m := range c.metrics {
		mi[m] = i
	}
	// Each suite's samples get a position in id order, so that sums do not
	// depend on the order results arrived in; values are dense arrays over
	// those positions (NaN where a sample has no value), which keeps the
	// report's memory to a few bytes per sample and metric.
	pos := map[string]map[string]int{}
	for _, r := range rows {
		if pos[r.suite] == nil {
			pos[r.suite] = map[string]int{}
		}
		pos[r.suite][r.sample] = 0
	}
	for _, ps := range pos {
		ids := make([]string, 0, len(ps))
		for id := range ps {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for i, id := range ids {
			ps[id] = i
		}
	}
	type key struct{ suite, metric, variant string }
	vals := map[key][]float64{}
	for _, r := range rows {
		for _, m := range c.suiteMetrics(r.suite) {
			v := r.metrics[mi[m]]
			if math.IsNaN(v) {
				continue
			}
			k := key{r.suite, m, r.variant}
			if vals[k] == nil {
				vals[k] = make([]float64, len(pos[r.suite]))
				for i := range vals[k] {
					vals[k][i] = math.NaN()
				}
			}
			vals[k][pos[r.suite][r.sample]] = v
		}
	}
	present := func(xs []float64) []float64 {
		var out []float64
		for _, x := range xs {
			if !math.IsNaN(x) {
				out = append(out, x)
			}
		}
		return out
	}
	for _, su := range c.spec.Suites {
		for _, m := range su.Metrics {
			for _, v := range c.spec.Variants {
				xs := present(vals[key{su.Name, m, v.Name}])
				if len(xs) == 0 {
					continue
				}
				mean, ci := stats.MeanCI(xs)
				switch {
				case stats.IsBinary(xs):
					ci = stats.Wilson(mean, len(xs))
				case inUnit(xs):
					// A t interval can reach past what a share can be.
					ci = [2]float64{max(0, ci[0]), min(1, ci[1])}
				}
				rep.Metrics = append(rep.Metrics, document.Metric{Suite: su.Name, Metric: m, Variant: v.Name, N: len(xs), Mean: mean, CI: ci, Signature: eval.MetricSignature(su, m)})
			}
			base := vals[key{su.Name, m, c.spec.Baseline}]
			for _, cand := range c.spec.Candidates() {
				cv := vals[key{su.Name, m, cand}]
				if base == nil || cv == nil {
					continue
				}
				var xc, xb []float64
				for i := range cv {
					if !math.IsNaN(cv[i]) && !math.IsNaN(base[i]) {
						xc, xb = append(xc, cv[i]), append(xb, base[i])
					}
				}
				if len(xc) == 0 {
					continue
				}
				d := document.Delta{Suite: su.Name, Metric: m, Variant: cand, Baseline: c.spec.Baseline, N: len(xc)}
				if stats.IsBinary(xc, xb) {
					d.Test = "mcnemar"
					d.Delta, d.CI, d.PValue = stats.McNemar(xc, xb)
				} else {
					d.Test = "paired_t"
					d.Delta, d.CI, d.PValue = stats.PairedT(xc, xb)
				}
				rep.Deltas = append(rep.Deltas, d)
			}
		}
	}
}

func (c *Collector) suiteMetrics(suite string) []string {
	if su, ok := c.spec.Suite(suite); ok {
		return su.Metrics
	}
	return nil
}

// inUnit reports whether every value lies in [0, 1].
func inUnit(xs []float64) bool {
	for _, x := range xs {
		if x < 0 || x > 1 {
			return false
		}
	}
	return true
}

type ratio struct{ num, den float64 }

func (r ratio) ptr() *float64 {
	if r.den == 0 {
		return nil
	}
	v := r.num / r.den
	return &v
}

func (r *ratio) add(ok bool) {
	r.den++
	if ok {
		r.num++
	}
}

func (c *Collector) rates(rep *document.Report, rows []row) {
	type acc struct{ refusal, jsonValid, schema, trunc, errs, tokens ratio }
	by := map[string]*acc{}
	lat := map[string][]float64{}
	for _, r := range rows {
		a := by[r.variant]
		if a == nil {
			a = &acc{}
			by[r.variant] = a
		}
		isErr := r.bucket == string(eval.BucketError)
		a.errs.add(isErr)
		if isErr {
			continue
		}
		if r.benign {
			a.refusal.add(r.refused)
		}
		if r.jsonValid >= 0 {
			a.jsonValid.add(r.jsonValid == 1)
		}
		if r.schemaPass >= 0 {
			a.schema.add(r.schemaPass == 1)
		}
		a.trunc.add(r.truncated)
		a.tokens.num += float64(r.tokens)
		a.tokens.den++
		lat[r.variant] = append(lat[r.variant], r.latency)
	}
	for _, v := range c.spec.Variants {
		a := by[v.Name]
		if a == nil {
			rep.Rates[v.Name] = document.Rates{}
			continue
		}
		rep.Rates[v.Name] = document.Rates{Refusal: a.refusal.ptr(), JSONValid: a.jsonValid.ptr(), SchemaPass: a.schema.ptr(),
			Truncated: a.trunc.ptr(), Error: a.errs.ptr(), MeanOutputTokens: a.tokens.ptr()}
		if ls := lat[v.Name]; len(ls) > 0 {
			slices.Sort(ls)
			rep.Timing.Latency[v.Name] = document.Latency{N: len(ls), P50: stats.Percentile(ls, 50), P95: stats.Percentile(ls, 95)}
		}
	}
}

// bucketOrder is the order buckets are listed in.
var bucketOrder = []eval.Bucket{eval.BucketError, eval.BucketEmpty, eval.BucketTruncated, eval.BucketRefusal, eval.BucketFormatError, eval.BucketWrongAnswer}

func (c *Collector) buckets(ctx context.Context, rep *document.Report, rows []row, fetch Fetcher) error {
	type sk struct{ suite, sample string }
	baseline := map[sk]row{}
	seqs := map[sk]uint64{}
	for _, r := range rows {
		if r.variant == c.spec.Baseline {
			baseline[sk{r.suite, r.sample}] = r
		}
		if r.sampleSeq > 0 {
			seqs[sk{r.suite, r.sample}] = r.sampleSeq
		}
	}
	// A dead letter's error row knows its sample by id only: take the
	// sequence from another variant's score of the sample, so that the
	// example shows its prompt and sorts in its place.
	rows = slices.Clone(rows)
	for i, r := range rows {
		if r.sampleSeq == 0 {
			rows[i].sampleSeq = seqs[sk{r.suite, r.sample}]
		}
	}
	suiteOrder := map[string]int{}
	for i, su := range c.spec.Suites {
		suiteOrder[su.Name] = i
	}
	for _, v := range c.spec.Variants {
		for _, b := range bucketOrder {
			var hits []row
			for _, r := range rows {
				if r.variant == v.Name && r.bucket == string(b) {
					hits = append(hits, r)
				}
			}
			if len(hits) == 0 {
				continue
			}
			regression := func(r row) bool {
				br, ok := baseline[sk{r.suite, r.sample}]
				return v.Name != c.spec.Baseline && ok && br.bucket == string(eval.BucketOK)
			}
			sort.SliceStable(hits, func(i, j int) bool {
				ri, rj := regression(hits[i]), regression(hits[j])
				if ri != rj {
					return ri
				}
				if hits[i].suite != hits[j].suite {
					return suiteOrder[hits[i].suite] < suiteOrder[hits[j].suite]
				}
				if hits[i].sampleSeq != hits[j].sampleSeq {
					return hits[i].sampleSeq < hits[j].sampleSeq
				}
				return hits[i].sample < hits[j].sample
			})
			bk := document.Bucket{Variant: v.Name, Bucket: string(b), Count: len(hits), Examples: []document.Example{}}
			for _, r := range hits[:min(MaxExamples, len(hits))] {
				ex := document.Example{Sample: r.sample, Suite: r.suite, Reason: r.reason, Regression: regression(r)}
				if fetch != nil {
					if err := fillExample(ctx, fetch, &ex, r, baseline[sk{r.suite, r.sample}], v.Name == c.spec.Baseline); err != nil {
						return err
					}
				}
				bk.Examples = append(bk.Examples, ex)
			}
			rep.Buckets = append(rep.Buckets, bk)
		}
	}
	return nil
}

func fillExample(ctx context.Context, fetch Fetcher, ex *document.Example, r, base row, isBaseline bool) error {
	if r.sampleSeq > 0 {
		s, err := fetch.Sample(ctx, r.sampleSeq)
		if err != nil {
			return fmt.Errorf("fetching example prompt: %w", err)
		}
		ex.Prompt = clip(eval.LastUserMessage(s.Messages))
	}
	if r.genSeq > 0 {
		g, err := fetch.Generation(ctx, r.genSeq)
		if err != nil {
			return fmt.Errorf("fetching example output: %w", err)
		}
		ex.Output = clip(g.Output)
	}
	if !isBaseline && base.genSeq > 0 {
		g, err := fetch.Generation(ctx, base.genSeq)
		if err != nil {
			return fmt.Errorf("fetching example baseline output: %w", err)
		}
		ex.BaselineOutput = clip(g.Output)
	}
	return nil
}

func clip(s string) string {
	if len(s) <= exampleChars {
		return s
	}
	cut := exampleChars
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func (c *Collector) pairwise(rep *document.Report) {
	type key struct{ judgeID, cand string }
	type acc struct{ wins, losses, ties, flips, errs int }
	by := map[key]*acc{}
	for _, j := range c.judgmentRows() {
		k := key{j.judgeID, j.cand}
		a := by[k]
		if a == nil {
			a = &acc{}
			by[k] = a
		}
		switch {
		case j.err != "":
			a.errs++
			continue
		case j.winner == string(eval.WinCandidate):
			a.wins++
		case j.winner == string(eval.WinBaseline):
			a.losses++
		default:
			a.ties++
		}
		if !j.consistent {
			a.flips++
		}
	}
	for _, jd := range c.spec.Judges {
		for _, cand := range c.spec.Candidates() {
			a := by[key{jd.ID(), cand}]
			if a == nil {
				a = &acc{}
			}
			n := a.wins + a.losses + a.ties
			p := document.Pairwise{Judge: jd.Name, JudgeID: jd.ID(), Variant: cand, Baseline: c.spec.Baseline,
				N: n, Wins: a.wins, Losses: a.losses, Ties: a.ties, Errors: a.errs}
			if n > 0 {
				p.WinRate = (float64(a.wins) + float64(a.ties)/2) / float64(n)
				p.CI = stats.Wilson(p.WinRate, n)
				p.FlipRate = float64(a.flips) / float64(n)
			}
			rep.Pairwise = append(rep.Pairwise, p)
		}
	}
}

func (c *Collector) warnings(rep *document.Report) {
	rep.Warnings = append(rep.Warnings, c.notes...)
	if c.otherScoring > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d scores of another scoring of this run (before it was re-scored) were left out", c.otherScoring))
	}
	fps := make([]string, 0, len(c.foreign))
	for fp := range c.foreign {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	for _, fp := range fps {
		var what []string
		if n := c.foreign[fp].scores; n > 0 {
			what = append(what, fmt.Sprintf("%d scores", n))
		}
		if n := c.foreign[fp].judgments; n > 0 {
			what = append(what, fmt.Sprintf("%d judgments", n))
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s were made under fingerprint %s, not this run's %s: their decoding or template differ", strings.Join(what, " and "), fp, c.fp))
	}
	if len(c.dead) > 0 {
		byStage := map[string]int{}
		for _, d := range c.dead {
			byStage[d.Stage]++
		}
		// The pipeline's stages in order, then any other, so that none is
		// left out of the count.
		stages := []string{"ingest", "infer", "score", "judge", "report"}
		var others []string
		for st := range byStage {
			if !slices.Contains(stages, st) {
				others = append(others, st)
			}
		}
		sort.Strings(others)
		var parts []string
		for _, st := range append(stages, others...) {
			if byStage[st] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", st, byStage[st]))
			}
		}
		rep.Warnings = append(rep.Warnings, "messages dead-lettered (counted as errors): "+strings.Join(parts, ", "))
	}
	if rep.Counts.Malformed > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d malformed dataset lines were skipped: see suites", rep.Counts.Malformed))
	}
}

// checkpoints lists the variants added by checkpoint events, in the order
// they arrived, with the figures a training job follows.
func checkpoints(spec *eval.RunSpec, rep *document.Report) []document.Checkpoint {
	gj, _ := GateJudge(spec)
	judge := gj.Name
	out := []document.Checkpoint{}
	for _, v := range spec.Variants {
		if v.Checkpoint == nil {
			continue
		}
		cp := document.Checkpoint{Seq: v.Checkpoint.Seq, Variant: v.Name, Model: v.Model, Step: v.Checkpoint.Step,
			AddedAt: v.Checkpoint.At, Judge: judge, Metrics: []document.CheckpointMetric{},
			Refusal: rep.Rates[v.Name].Refusal, JSONValid: rep.Rates[v.Name].JSONValid, GatePassed: rep.Gate.Variants[v.Name]}
		for _, p := range rep.Pairwise {
			if p.Judge == judge && p.Variant == v.Name && p.N > 0 {
				wr, ci := p.WinRate, p.CI
				cp.WinRate, cp.CI = &wr, &ci
			}
		}
		for _, su := range rep.Suites {
			pm := su.PrimaryMetric()
			for _, m := range rep.Metrics {
				if m.Suite == su.Name && m.Metric == pm && m.Variant == v.Name {
					cp.Metrics = append(cp.Metrics, document.CheckpointMetric{Suite: su.Name, Metric: pm, Mean: m.Mean})
				}
			}
		}
		out = append(out, cp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// agreement compares every two judges of the spec, per candidate, over the
// pairs both judged without error.
func (c *Collector) agreement(rep *document.Report) {
	rep.Agreement = []document.Agreement{}
	if len(c.spec.Judges) < 2 {
		return
	}
	type pairKey struct{ cand, suite, sample string }
	verdicts := map[string]map[pairKey]string{} // judge id -> pair -> winner
	for _, j := range c.judgmentRows() {
		if j.err != "" {
			continue
		}
		if verdicts[j.judgeID] == nil {
			verdicts[j.judgeID] = map[pairKey]string{}
		}
		verdicts[j.judgeID][pairKey{j.cand, j.suite, j.sample}] = j.winner
	}
	for a := 0; a < len(c.spec.Judges); a++ {
		for b := a + 1; b < len(c.spec.Judges); b++ {
			ja, jb := c.spec.Judges[a], c.spec.Judges[b]
			va, vb := verdicts[ja.ID()], verdicts[jb.ID()]
			for _, cand := range c.spec.Candidates() {
				var keys []pairKey
				for k := range va {
					if _, ok := vb[k]; ok && k.cand == cand {
						keys = append(keys, k)
					}
				}
				if len(keys) == 0 {
					continue
				}
				sort.Slice(keys, func(i, j int) bool {
					if keys[i].suite != keys[j].suite {
						return keys[i].suite < keys[j].suite
					}
					return keys[i].sample < keys[j].sample
				})
				la, lb := make([]string, len(keys)), make([]string, len(keys))
				for i, k := range keys {
					la[i], lb[i] = va[k], vb[k]
				}
				po, kappa, ok := stats.Agreement(la, lb)
				ag := document.Agreement{Variant: cand, JudgeA: ja.Name, JudgeB: jb.Name, N: len(keys), Percent: po}
				if ok {
					ag.Kappa = &kappa
				}
				rep.Agreement = append(rep.Agreement, ag)
			}
		}
	}
}

// GateJudge is the judge whose verdicts the gate, the checkpoint series and
// the windows use.
func GateJudge(spec *eval.RunSpec) (eval.Judge, bool) {
	if spec.Gate.Judge != "" {
		return spec.Judge(spec.Gate.Judge)
	}
	if len(spec.Judges) > 0 {
		return spec.Judges[0], true
	}
	return eval.Judge{}, false
}

// windows groups a continuous run's results by the time window of their
// query.
func (c *Collector) windows(rep *document.Report, rows []row) {
	ct := c.spec.Continuous
	if ct == nil {
		return
	}
	type variantAcc struct {
		errors                     int
		refusal, jsonValid, toks   ratio
		latency                    []float64
		wins, losses, ties, judged int
	}
	type windowAcc struct {
		samples  map[string]bool
		variants map[string]*variantAcc
	}
	byWindow := map[int64]*windowAcc{}
	get := func(at int64, variant string) (*windowAcc, *variantAcc) {
		start := ct.WindowOf(time.UnixMilli(at)).UnixMilli()
		w := byWindow[start]
		if w == nil {
			w = &windowAcc{samples: map[string]bool{}, variants: map[string]*variantAcc{}}
			byWindow[start] = w
		}
		v := w.variants[variant]
		if v == nil {
			v = &variantAcc{}
			w.variants[variant] = v
		}
		return w, v
	}
	for _, r := range rows {
		if r.at == 0 {
			continue
		}
		w, v := get(r.at, r.variant)
		w.samples[r.suite+"\x00"+r.sample] = true
		if r.bucket == string(eval.BucketError) {
			v.errors++
			continue
		}
		if r.benign {
			v.refusal.add(r.refused)
		}
		if r.jsonValid >= 0 {
			v.jsonValid.add(r.jsonValid == 1)
		}
		v.toks.num += float64(r.tokens)
		v.toks.den++
		v.latency = append(v.latency, r.latency)
	}
	if j, ok := GateJudge(c.spec); ok {
		id := j.ID()
		for _, jr := range c.judgmentRows() {
			if jr.at == 0 || jr.judgeID != id || jr.err != "" {
				continue
			}
			_, v := get(jr.at, jr.cand)
			v.judged++
			switch jr.winner {
			case string(eval.WinCandidate):
				v.wins++
			case string(eval.WinBaseline):
				v.losses++
			default:
				v.ties++
			}
		}
	}
	starts := make([]int64, 0, len(byWindow))
	for s := range byWindow {
		starts = append(starts, s)
	}
	slices.Sort(starts)
	for _, s := range starts {
		w := byWindow[s]
		start := time.UnixMilli(s).UTC()
		dw := document.Window{Start: start, End: start.Add(ct.Window.D()), Samples: len(w.samples), Variants: []document.WindowVariant{}}
		for _, v := range c.spec.Variants {
			a := w.variants[v.Name]
			if a == nil {
				continue
			}
			wv := document.WindowVariant{Variant: v.Name, Judged: a.judged, Errors: a.errors,
				Refusal: a.refusal.ptr(), JSONValid: a.jsonValid.ptr(), MeanOutputTokens: a.toks.ptr()}
			if a.judged > 0 {
				wr := (float64(a.wins) + float64(a.ties)/2) / float64(a.judged)
				ci := stats.Wilson(wr, a.judged)
				wv.WinRate, wv.CI = &wr, &ci
			}
			if len(a.latency) > 0 {
				slices.Sort(a.latency)
				p50, p95 := stats.Percentile(a.latency, 50), stats.Percentile(a.latency, 95)
				wv.LatencyP50, wv.LatencyP95 = &p50, &p95
			}
			dw.Variants = append(dw.Variants, wv)
		}
		rep.Windows = append(rep.Windows, dw)
	}
}
