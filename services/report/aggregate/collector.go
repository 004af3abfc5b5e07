// Package aggregate turns a run's scores, judgments and dead letters into
// its report. Arrivals are deduplicated by their keys — (variant, suite,
// sample) for a score, (judge, pair, suite, sample) for a judgment — so
// a redelivered or republished message never counts twice (a generation
// asked again by assay retry is represented by its latest attempt only:
// see [Collector.AddRetry]), and kept as Arrow
// record batches, from which the statistics are computed and the Parquet
// export is written.
package aggregate

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// Collector accumulates one run's results.
type Collector struct {
	// scoring is the run's current scoring; scores of another (the run was
	// re-scored) are counted and left out.
	scoring      string
	otherScoring int
	// judgesSeen counts the judgments taken by judge id: those of a judge
	// version the spec no longer has are in no figure, and a warning says
	// how many (see warnings).
	judgesSeen map[string]int
	spec       *eval.RunSpec
	fp         string
	ingest     *eval.IngestStatus
	metrics    []string

	scores    *table
	judgments *table
	spill     *spill
	// readErr is the first failure to read a spilled segment back: the
	// report computed over it is not given (see [Collector.Report]).
	readErr error
	// seen holds a hash of every key added whose sample the collector
	// does not number (see samples): the keys themselves would cost their
	// length per result.
	seen map[[16]byte]struct{}
	// seenBits marks, by slot (a variant's scores, a judge's judgments of
	// a candidate), the numbered samples that have a result there: a bit
	// a result where a key in seen costs about 31 bytes. A continuous
	// run's results go in seen, whose keys its folding drops.
	seenBits map[seenSlot][]uint64
	// arrived counts scores by (variant, suite) and judgments by (judge
	// id, candidate, suite), so that progress counts only what the spec
	// expects: a variant, suite or judge version it does not name must not
	// make up for a missing one.
	arrived  map[[3]string]int
	dead     []eval.DeadLetter
	deadSeen map[string]struct{}
	// misfiled counts dead letters refused because their body names
	// another stage than their subject, by subject stage and claimed
	// stage.
	misfiled map[string]int
	foreign  map[string]*foreignCount // fingerprints other than the spec's
	notes    []string
	// ingestFailed is why ingest gave up on the run, if it did, and
	// ingestSuite the suite it could not read (when the dead letter says).
	ingestFailed, ingestSuite string

	// samples are the run's samples by (suite, id), once the caller names
	// them with AddSample, each with its number (in the order named);
	// until then every sample id is taken as the run's. Anyone who can
	// publish on a subject can name any sample.
	samples map[[16]byte]uint32
	// named is the number the next sample named gets: not len(samples),
	// since folding a window forgets its samples and a number must not
	// be given twice.
	named uint32
	// held keeps, by sample, the results (by their key) that name a sample
	// the run does not have: forged, or read before their sample. They
	// count nowhere — not in progress, errors or tables — until AddSample
	// names their sample, and one warning counts them.
	held map[[16]byte]*heldSample
	// heldN counts the held results, and heldFirst holds the (at most 3)
	// smallest keys of held samples, which the warning names: the same
	// whatever order the results came in.
	heldN     int
	heldFirst [][16]byte
	// heldNote is the index in notes of that warning, or -1.
	heldNote int

	// retried holds, by score key, the latest attempt of assay retry that
	// asked a (variant, suite, sample) again: a score or judgment made from
	// an earlier generation of it is superseded and counts nowhere, so the
	// retried result takes its place.
	retried map[[16]byte]int
	// refused holds, by the same keys (and judge retry keys), the latest
	// attempt a stage refused; superseding holds the results a retry
	// superseded, added again if it is refused; refusedRetries counts
	// the refusals for the report's warning.
	refused        map[[16]byte]int
	superseding    map[[16]byte][]func()
	refusedRetries int
	// judgeRetried holds, by (judge, candidate, suite, sample), the latest
	// attempt that asked a judge again for a pair it had failed on.
	judgeRetried map[[16]byte]int
	// sandboxCounts counts the code scores by the sandbox their code ran in.
	sandboxCounts map[eval.CodeSandbox]int
	// fold is what is kept of a continuous run's folded windows.
	fold foldState
	// reads is the allocator the report reads spilled batches with.
	reads *recycler
	// repeats are the judges' repeats, by judge name and candidate (see
	// stability.go).
	repeats map[[2]string]*repeats
}

// heldSample is the results held for one sample the run does not have.
type heldSample struct {
	suite, id string
	adds      map[[16]byte]func()
}

// foreignCount counts results made under another fingerprint.
type foreignCount struct{ scores, judgments int }

// New returns a collector for the run of spec. By default its tables keep
// [DefaultSpillBytes] each in memory and spill the rest under
// [os.TempDir] (see [WithSpill]).
func New(spec *eval.RunSpec, opts ...Option) *Collector {
	o := options{spillBytes: DefaultSpillBytes, horizon: DefaultHorizon}
	for _, opt := range opts {
		opt(&o)
	}
	if ct := spec.Continuous; ct != nil && ct.Horizon > 0 {
		o.horizon = ct.Horizon // the run's own, over the stage's
	}
	sp := newSpill(o.spillDir)
	var ms []string
	for _, su := range spec.Suites {
		for _, m := range su.Metrics {
			if !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
	}
	sort.Strings(ms)
	mem := memory.NewGoAllocator()
	return &Collector{
		spec: spec, fp: spec.Fingerprint(), scoring: spec.Scoring(), metrics: ms,
		scores: newTable(mem, scoreSchema(ms), sp, o.spillBytes), judgments: newTable(mem, judgmentSchema, sp, o.spillBytes), spill: sp,
		seen: map[[16]byte]struct{}{}, arrived: map[[3]string]int{}, deadSeen: map[string]struct{}{}, foreign: map[string]*foreignCount{},
		heldNote: -1, reads: &recycler{},
		fold: foldState{horizon: o.horizon, monitors: map[[2]string]stats.Mixture{}, taken: map[string]int{}, arrived: map[[3]string]int{}, keys: map[int64][][16]byte{}},
	}
}

// Release frees the collector's Arrow memory, and removes its spill
// directory unless [Rows] taken from it are still held (the last one
// released removes it then).
func (c *Collector) Release() {
	c.scores.release()
	c.judgments.release()
	c.spill.release()
}

// each hands every batch of t to fn, keeping the first failure to read one
// back in c.readErr. A batch read back from a segment is read into memory
// the next one reuses (see [recycler]): fn keeps nothing of it, not even a
// string, past its return.
func (c *Collector) each(t *table, fn func(arrow.RecordBatch)) {
	c.eachOf(t.view(), fn)
}

// eachOf is [Collector.each] over b.
func (c *Collector) eachOf(b batches, fn func(arrow.RecordBatch)) {
	b.mem = c.reads
	c.eachIn(b, fn)
}

// eachIn is [Collector.eachOf] with b's own allocator: for a reader that
// keeps batches.
func (c *Collector) eachIn(b batches, fn func(arrow.RecordBatch)) {
	err := b.each(func(rec arrow.RecordBatch) error {
		fn(rec)
		return nil
	})
	if err != nil && c.readErr == nil {
		c.readErr = err
	}
}

// Spec is the run's spec.
func (c *Collector) Spec() *eval.RunSpec { return c.spec }

// SetSpec replaces the spec, when a variant or a judge was added to the
// run. A spec with another scoring needs a new collector (its metrics are
// other columns).
func (c *Collector) SetSpec(spec *eval.RunSpec) { c.spec = spec }

// Scoring is the scoring whose scores the collector keeps.
func (c *Collector) Scoring() string { return c.scoring }

// SetIngest records what ingest found; until then nothing is expected.
func (c *Collector) SetIngest(st *eval.IngestStatus) { c.ingest = st }

func runSampleKey(suite, id string) [16]byte { return hashKey("sample", suite, id) }

// TrackSamples makes the collector count results only for the samples
// named with AddSample (as ingest published them): a score, judgment or
// dead letter for a sample not named is held aside and counted in one
// warning rather than raising progress or errors; naming its sample later
// admits it. A caller that reads the run's samples calls it before adding
// anything; one that does not gets every result counted.
func (c *Collector) TrackSamples() {
	if c.samples == nil {
		c.samples = map[[16]byte]uint32{}
	}
}

// AddSample names a sample the run has, and tracks samples from then on
// (see TrackSamples).
func (c *Collector) AddSample(suite, id string) {
	c.TrackSamples()
	k := runSampleKey(suite, id)
	if _, ok := c.samples[k]; ok {
		return
	}
	c.samples[k] = c.named
	c.named++
	h := c.held[k]
	if h == nil {
		return
	}
	delete(c.held, k)
	c.heldN -= len(h.adds)
	if i := slices.Index(c.heldFirst, k); i >= 0 {
		// Refill from what is still held: rare, as only three are named.
		c.heldFirst = c.heldFirst[:0]
		for hk := range c.held {
			c.nameHeld(hk)
		}
	}
	keys := make([][16]byte, 0, len(h.adds))
	for rk := range h.adds {
		keys = append(keys, rk)
	}
	// Any order gives the same result (each add is keyed); sorted keeps
	// the tables' row order the same from one build to the next.
	slices.SortFunc(keys, func(a, b [16]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	for _, rk := range keys {
		h.adds[rk]()
	}
	c.noteHeld()
}

// seenSlot is where a result's bit is: scores of a variant (kind 's'),
// judgments of a judge version on a candidate (kind 'j').
type seenSlot struct {
	kind     byte
	name, of string
}

// isSeen reports whether the result under key k, of slot, for sample (suite,
// id), was added.
func (c *Collector) isSeen(slot seenSlot, suite, id string, k [16]byte) bool {
	if _, dup := c.seen[k]; dup {
		return true
	}
	n, ok := c.samples[runSampleKey(suite, id)]
	if !ok {
		return false
	}
	bits := c.seenBits[slot]
	return int(n/64) < len(bits) && bits[n/64]&(1<<(n%64)) != 0
}

// markSeen records the result under key k, of slot, for a known sample
// (suite, id), in window w: by a bit when the sample is numbered and the
// result belongs to no window, else by its key.
func (c *Collector) markSeen(slot seenSlot, suite, id string, k [16]byte, w int64) {
	n, ok := c.samples[runSampleKey(suite, id)]
	if !ok || w != noWindow {
		c.seen[k] = struct{}{}
		return
	}
	if c.seenBits == nil {
		c.seenBits = map[seenSlot][]uint64{}
	}
	bits := c.seenBits[slot]
	if int(n/64) >= len(bits) {
		// Sized for every sample named so far, not grown bit by bit.
		bits = append(bits, make([]uint64, int(c.named/64)+1-len(bits))...)
	}
	bits[n/64] |= 1 << (n % 64)
	c.seenBits[slot] = bits
}

// known reports whether the run has the sample, holding add (the result
// under key rk) aside when it does not.
func (c *Collector) known(suite, id string, rk [16]byte, add func()) bool {
	if c.samples == nil {
		return true
	}
	k := runSampleKey(suite, id)
	if _, ok := c.samples[k]; ok {
		return true
	}
	if c.held == nil {
		c.held = map[[16]byte]*heldSample{}
	}
	h := c.held[k]
	if h == nil {
		h = &heldSample{suite: suite, id: id, adds: map[[16]byte]func(){}}
		c.held[k] = h
		c.nameHeld(k)
	}
	if _, again := h.adds[rk]; !again {
		c.heldN++
	}
	// Admitted later, when its sample is named (by a message of another
	// stream, or of none), the result still comes from its own message:
	// a purge of the run's results must keep it (see [Collector.Needed]).
	seq := c.fold.msgSeq
	h.adds[rk] = func() {
		prev := c.fold.msgSeq
		c.fold.msgSeq = seq
		add()
		c.fold.msgSeq = prev
	}
	c.noteHeld()
	return false
}

// nameHeld keeps k among the three smallest held keys if it is one.
func (c *Collector) nameHeld(k [16]byte) {
	less := func(a, b [16]byte) int { return strings.Compare(string(a[:]), string(b[:])) }
	i, _ := slices.BinarySearchFunc(c.heldFirst, k, less)
	if i < 3 {
		c.heldFirst = slices.Insert(c.heldFirst, i, k)
		c.heldFirst = c.heldFirst[:min(3, len(c.heldFirst))]
	}
}

// noteHeld keeps the one warning about held results up to date.
func (c *Collector) noteHeld() {
	n := c.heldN
	if n == 0 {
		if c.heldNote >= 0 {
			c.notes = slices.Delete(c.notes, c.heldNote, c.heldNote+1)
			c.heldNote = -1
		}
		return
	}
	var names []string
	for _, k := range c.heldFirst {
		names = append(names, fmt.Sprintf("%s/%s", c.held[k].suite, c.held[k].id))
	}
	if len(c.held) > len(c.heldFirst) {
		names = append(names, fmt.Sprintf("and %d more", len(c.held)-len(c.heldFirst)))
	}
	msg := fmt.Sprintf("%d results (scores, judgments or dead letters) name samples run %s does not have (%s): they were left out of progress and errors; someone published them on the run's subjects, or they belong to another ingest of the run",
		n, c.spec.Run, strings.Join(names, ", "))
	if c.heldNote < 0 {
		c.heldNote = len(c.notes)
		c.notes = append(c.notes, msg)
		return
	}
	c.notes[c.heldNote] = msg
}

// AddRetry records that assay retry asked a generation again (see
// [eval.RetryRequest]). The caller adds every retry request of the run
// before any result: a result already added stays.
func (c *Collector) AddRetry(r *eval.RetryRequest) bool {
	if r.Run != c.spec.Run || r.Attempt < 1 {
		return false
	}
	if r.Judge != "" {
		if c.judgeRetried == nil {
			c.judgeRetried = map[[16]byte]int{}
		}
		k := judgeRetryKey(r.Judge, c.spec.PairName(r.Variant, r.Baseline), r.Sample.Suite, r.Sample.ID)
		c.judgeRetried[k] = max(c.judgeRetried[k], r.Attempt)
		return true
	}
	if c.retried == nil {
		c.retried = map[[16]byte]int{}
	}
	k := scoreKey(r.Variant, r.Sample.Suite, r.Sample.ID)
	c.retried[k] = max(c.retried[k], r.Attempt)
	return true
}

// RefuseRetry records that stage refused retry request r (its result had
// not failed, or it named what the run does not have): no result will
// come of it, so the result it would have replaced counts again. Only
// the stage the request was for can refuse it.
func (c *Collector) RefuseRetry(stage string, r *eval.RetryRequest) {
	if r.Run != c.spec.Run || r.Attempt < 1 || (r.Judge == "") != (stage == "infer") || (r.Judge != "") != (stage == "judge") {
		return
	}
	c.refusedRetries++
	k, awaited := scoreKey(r.Variant, r.Sample.Suite, r.Sample.ID), c.retried
	if r.Judge != "" {
		k, awaited = judgeRetryKey(r.Judge, c.spec.PairName(r.Variant, r.Baseline), r.Sample.Suite, r.Sample.ID), c.judgeRetried
	}
	if r.Attempt > awaited[k] {
		// Not one the collector awaits (forged beyond the run's
		// attempts): a later real attempt must still count.
		return
	}
	if c.refused == nil {
		c.refused = map[[16]byte]int{}
	}
	c.refused[k] = max(c.refused[k], r.Attempt)
	held := c.superseding[k]
	delete(c.superseding, k)
	for _, add := range held {
		add()
	}
}

// hold keeps a result that a retry of key superseded, to be added again
// if that retry is refused.
func (c *Collector) hold(k [16]byte, add func()) {
	if c.superseding == nil {
		c.superseding = map[[16]byte][]func(){}
	}
	c.superseding[k] = append(c.superseding[k], add)
}

// retriedAt is the attempt of assay retry that replaces key's results,
// or 0: the latest asked, unless it was refused.
func (c *Collector) retriedAt(attempts map[[16]byte]int, k [16]byte) int {
	if n := attempts[k]; n > c.refused[k] {
		return n
	}
	return 0
}

// judgeRetryKey keys a judge's pair on a sample; pair is its
// [eval.RunSpec.PairName].
func judgeRetryKey(judge, pair, suite, sample string) [16]byte {
	return hashKey("jr", judge, pair, suite, sample)
}

// judgmentSuperseded reports whether a judgment was made from a generation
// that a later attempt replaced, or is a judge's failure that a later
// attempt asked again.
// A superseded judgment is held under the key that superseded it, to be
// added again if that retry is refused.
func (c *Collector) judgmentSuperseded(j *eval.Judgment) bool {
	pair := c.spec.PairNamed(c.spec.PairName(j.Candidate, j.Baseline))
	if c.superseded(pair.A, j.Sample.Suite, j.Sample.ID, j.CandidateRetry, func() { c.AddJudgment(j) }) ||
		c.superseded(pair.B, j.Sample.Suite, j.Sample.ID, j.BaselineRetry, func() { c.AddJudgment(j) }) {
		return true
	}
	if len(c.judgeRetried) == 0 {
		return false
	}
	k := judgeRetryKey(j.Judge, c.spec.PairName(j.Candidate, j.Baseline), j.Sample.Suite, j.Sample.ID)
	if j.JudgeRetry < c.retriedAt(c.judgeRetried, k) {
		c.hold(k, func() { c.AddJudgment(j) })
		return true
	}
	return false
}

// superseded reports whether a result made from attempt retry of variant's
// generation of a sample was replaced by a later attempt; add, which adds
// it, is then held until that attempt is refused (if it is).
func (c *Collector) superseded(variant, suite, sample string, retry int, add func()) bool {
	if len(c.retried) == 0 {
		return false
	}
	k := scoreKey(variant, suite, sample)
	if retry < c.retriedAt(c.retried, k) {
		c.hold(k, add)
		return true
	}
	return false
}

func scoreKey(variant, suite, sample string) [16]byte {
	return hashKey("s", variant, suite, sample)
}

// judgmentKey keys a judgment; pair is its [eval.RunSpec.PairName] (the
// candidate, for a pair with the baseline).
func judgmentKey(judgeID, pair, suite, sample string) [16]byte {
	return hashKey("j", judgeID, pair, suite, sample)
}

// hashKey is a 128-bit digest of the parts: collisions are out of reach,
// and a key costs 16 bytes however long its ids are.
// The parts are joined in a buffer on the stack (for ids of usual length):
// every result is keyed, and a hasher of its own cost allocations each.
func hashKey(parts ...string) [16]byte {
	var buf [256]byte
	b := buf[:0]
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	sum := sha256.Sum256(b)
	return [16]byte(sum[:16])
}

func scoreCount(variant, suite string) [3]string { return [3]string{"s\x00" + variant, suite} }

func judgmentCount(judgeID, pair, suite string) [3]string {
	return [3]string{"j\x00" + judgeID, pair, suite}
}

func (c *Collector) foreignFP(fp string) *foreignCount {
	f := c.foreign[fp]
	if f == nil {
		f = &foreignCount{}
		c.foreign[fp] = f
	}
	return f
}

// AddScore adds a score; it reports false for a duplicate or another run's.
func (c *Collector) AddScore(s *eval.Score) bool {
	if s.Run != c.spec.Run {
		return false
	}
	if s.Scoring != "" && s.Scoring != c.scoring {
		c.otherScoring++
		return false
	}
	if c.superseded(s.Variant, s.Sample.Suite, s.Sample.ID, s.Retry, func() { c.AddScore(s) }) {
		return false
	}
	w, current := c.windowKey(s.Sample.At)
	if !current {
		return false
	}
	k := scoreKey(s.Variant, s.Sample.Suite, s.Sample.ID)
	slot := seenSlot{kind: 's', name: s.Variant}
	if c.isSeen(slot, s.Sample.Suite, s.Sample.ID, k) {
		return false
	}
	if !c.known(s.Sample.Suite, s.Sample.ID, k, func() { c.AddScore(s) }) {
		return false
	}
	c.markSeen(slot, s.Sample.Suite, s.Sample.ID, k, w)
	c.arrived[scoreCount(s.Variant, s.Sample.Suite)]++
	if s.Fingerprint != c.fp && s.Fingerprint != "" {
		c.foreignFP(s.Fingerprint).scores++
	}
	c.scores.into(w)
	c.scores.appendScore(s, c.metrics)
	c.countSandbox(s)
	c.placed(c.scores, w, k)
	return true
}

// copyOf tells a robustness copy from its id (original~kind), which a
// dead letter carries without the sample: ingest refuses ids with ~ in
// suites with perturbations, so the suffix is unambiguous.
func (c *Collector) copyOf(suite, id string) *eval.Perturbation {
	su, ok := c.spec.Suite(suite)
	if !ok {
		return nil
	}
	for _, kind := range su.Perturbations {
		if orig, found := strings.CutSuffix(id, "~"+kind); found {
			return &eval.Perturbation{Kind: kind, Original: orig}
		}
	}
	return nil
}

// AddJudgment adds a judgment; it reports false for a duplicate or another
// run's.
func (c *Collector) AddJudgment(j *eval.Judgment) bool {
	if j.Run != c.spec.Run {
		return false
	}
	if j.Repeat > 0 {
		// A measure of the judge, kept apart from every verdict.
		c.addRepeat(j)
		return false
	}
	if c.judgmentSuperseded(j) {
		return false
	}
	w, current := c.windowKey(j.Sample.At)
	if !current {
		return false
	}
	pair := c.spec.PairName(j.Candidate, j.Baseline)
	k := judgmentKey(j.JudgeID, pair, j.Sample.Suite, j.Sample.ID)
	slot := seenSlot{kind: 'j', name: j.JudgeID, of: pair}
	if c.isSeen(slot, j.Sample.Suite, j.Sample.ID, k) {
		return false
	}
	if !c.known(j.Sample.Suite, j.Sample.ID, k, func() { c.AddJudgment(j) }) {
		return false
	}
	if !j.GenerationFailed && (strings.HasPrefix(j.Error, "candidate generation failed") || strings.HasPrefix(j.Error, "baseline generation failed")) {
		// Judged before judgments said so: the pair was never shown to
		// the judge.
		j.GenerationFailed = true
	}
	c.markSeen(slot, j.Sample.Suite, j.Sample.ID, k, w)
	c.arrived[judgmentCount(j.JudgeID, pair, j.Sample.Suite)]++
	if j.Fingerprint != c.fp && j.Fingerprint != "" {
		c.foreignFP(j.Fingerprint).judgments++
	}
	if c.judgesSeen == nil {
		c.judgesSeen = map[string]int{}
	}
	c.judgesSeen[j.JudgeID]++
	c.judgments.into(w)
	c.judgments.appendJudgment(j)
	c.placed(c.judgments, w, k)
	return true
}

// checkpointStage is the stage of a dead letter for a checkpoint
// announcement ingest refused: it is no failure of the run's results.
const checkpointStage = "checkpoint"

// AddStagedDeadLetter is [Collector.AddDeadLetter] for a letter stored
// under stage's dead-letter subject. The stage is the subject's, never
// the body's: each stage may publish only on its own subject, so the body
// of one that claims another stage (a score letter saying "ingest") is
// refused and counted in a warning rather than let it fail a stage it
// does not speak for.
func (c *Collector) AddStagedDeadLetter(stage string, d *eval.DeadLetter) bool {
	if d.Stage != "" && d.Stage != stage {
		if c.misfiled == nil {
			c.misfiled = map[string]int{}
		}
		c.misfiled[stage+"\x00"+d.Stage]++
		return false
	}
	d.Stage = stage
	return c.AddDeadLetter(d)
}

// AddDeadLetter accounts for a message a stage gave up on: the score or
// judgments it would have led to are recorded as errors, so the run still
// completes and the failure shows in the report. The caller has checked
// that d's stage is the one that published it (see
// [Collector.AddStagedDeadLetter]).
func (c *Collector) AddDeadLetter(d *eval.DeadLetter) bool {
	if d.Run != c.spec.Run {
		return false
	}
	k := d.Stage + "\x00" + d.Subject + "\x00" + fmt.Sprint(d.Seq)
	if _, dup := c.deadSeen[k]; dup {
		return false
	}
	// A dead letter that names a sample stands for that sample's results:
	// one the run does not have must not count as an error.
	if d.Stage != "ingest" && d.Sample != "" && !c.known(d.Suite, d.Sample, hashKey("dead", k), func() { c.AddDeadLetter(d) }) {
		return false
	}
	c.deadSeen[k] = struct{}{}
	if d.Stage == "ingest" {
		c.dead = append(c.dead, *d)
		// The suites could not be read: nothing will arrive, and the run
		// is over without having been evaluated.
		c.ingestFailed, c.ingestSuite = d.Reason, d.Suite
		if d.Suite != "" && !strings.HasPrefix(d.Reason, "suite "+d.Suite) {
			c.ingestFailed = "suite " + d.Suite + ": " + d.Reason
		}
		return true
	}
	if d.Sample == "" {
		c.dead = append(c.dead, *d)
		return true
	}
	cause := "dead-lettered by " + d.Stage
	reason := cause + ": " + d.Reason
	ref := eval.SampleRef{ID: d.Sample, Suite: d.Suite, Perturbation: c.copyOf(d.Suite, d.Sample)}
	// Only a dead letter that stands for a result counts in the warning
	// that says dead letters were counted as errors: one whose results
	// arrived anyway (or that names no variant) stands for nothing.
	added := false
	switch d.Stage {
	case "infer", "score":
		if d.Variant == "" {
			c.dead = append(c.dead, *d)
			return true
		}
		added = c.AddScore(&eval.Score{Run: d.Run, Sample: ref, Variant: d.Variant, Fingerprint: c.fp, Bucket: eval.BucketError,
			Reason: reason, Cause: cause, Metrics: map[string]float64{}})
		if d.Stage == "infer" {
			added = c.failPairs(ref, d.Variant, "", reason, cause) || added
		}
	case "judge":
		added = c.failPairs(ref, d.Variant, d.Judge, reason, cause)
	default:
		added = true // a stage this collector knows nothing of: say so
	}
	if added {
		c.dead = append(c.dead, *d)
	}
	return true
}

// failPairs records judgment errors for the pairs a failed generation (or a
// failed judge message) of variant would have been part of: the
// baseline's with the candidates, and the compare pairs (see
// [eval.RunSpec.PairsOf]). A judgment lost by the judge stage names its
// pair instead of a variant ([eval.RunSpec.PairName]): that pair alone.
func (c *Collector) failPairs(ref eval.SampleRef, variant, judge, reason, cause string) (added bool) {
	pairs := c.spec.PairsOf(variant)
	if _, ok := c.spec.Variant(variant); !ok {
		// A judgment the judge stage lost names its pair; any other name
		// stands for its pair with the baseline, as it always did.
		pairs = []eval.Pair{c.spec.PairNamed(variant)}
	}
	for _, j := range c.spec.Judges {
		if judge != "" && j.Name != judge {
			continue
		}
		for _, p := range pairs {
			added = c.AddJudgment(&eval.Judgment{Run: c.spec.Run, Sample: ref, Judge: j.Name, JudgeID: j.ID(),
				Candidate: p.A, Baseline: p.B, Fingerprint: c.fp, Error: reason, GenerationFailed: judge == "",
				Cause: cause}) || added
		}
	}
	return added
}

// Note adds a warning to the report.
func (c *Collector) Note(msg string) {
	if len(c.notes) < 100 {
		c.notes = append(c.notes, msg)
	}
}

// Progress counts arrivals against what the run expects. Only results the
// spec asks for count: a score of a variant or suite it does not name, or a
// judgment of another version of a judge, is kept (and exported) but does
// not bring the run nearer completion.
func (c *Collector) Progress() document.Progress {
	var p document.Progress
	for _, su := range c.spec.Suites {
		// No (variant, suite) counts more than the suite's samples, should
		// results for samples the run does not have get through (the
		// caller did not name the samples): progress never passes 100 %.
		capped := func(n int) int { return n }
		if c.ingest != nil && c.ingest.Done {
			if ss := c.ingest.Suites[su.Name]; ss != nil {
				capped = func(n int) int { return min(n, ss.Samples) }
			}
		}
		for _, v := range c.spec.Variants {
			p.Scores += capped(c.arrived[scoreCount(v.Name, su.Name)])
		}
		for _, j := range c.spec.Judges {
			for _, pair := range c.spec.JudgedPairs() {
				p.Judgments += capped(c.arrived[judgmentCount(j.ID(), c.spec.PairName(pair.A, pair.B), su.Name)])
			}
		}
	}
	if c.ingest != nil && c.ingest.Done {
		n := c.ingest.Samples
		p.ScoresExpected = n * len(c.spec.Variants)
		if len(c.spec.Variants) > 1 {
			p.JudgmentsExpected = n * len(c.spec.JudgedPairs()) * len(c.spec.Judges)
		}
	}
	return p
}

// IngestFailed is why the run's suites could not be read ("suite math:
// reading data/math.jsonl: …"), or "" when they were.
func (c *Collector) IngestFailed() string { return c.ingestFailed }

// Over reports whether nothing more is to be waited for: the run is
// complete, or it could not be evaluated at all.
func (c *Collector) Over() bool { return c.ingestFailed != "" || c.Complete() }

// Complete reports whether everything expected has arrived. A run whose
// suites could not be read never is.
func (c *Collector) Complete() bool {
	if c.ingestFailed != "" {
		return false
	}
	if c.spec.Continuous != nil {
		return false // production queries keep coming
	}
	p := c.Progress()
	return c.ingest != nil && c.ingest.Done && p.Scores >= p.ScoresExpected && p.Judgments >= p.JudgmentsExpected
}

// Tables returns the scores and judgments as Arrow tables, read back
// whole into memory. The caller releases them. A spilled segment that
// cannot be read back leaves its rows out, and the next report fails (see
// [Collector.Report]).
func (c *Collector) Tables() (scores, judgments arrow.Table) {
	return c.arrowTable(c.scores), c.arrowTable(c.judgments)
}

func (c *Collector) arrowTable(t *table) arrow.Table {
	var recs []arrow.RecordBatch
	// The tables outlive this call: their batches are read with Go's
	// allocator, not recycled.
	c.eachIn(t.view(), func(rec arrow.RecordBatch) {
		rec.Retain()
		recs = append(recs, rec)
	})
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	return array.NewTableFromRecords(t.schema, recs)
}
