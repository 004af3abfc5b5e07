package aggregate

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
)

// A judgment's flags column: the judge's reading of each answer, the
// majority of the rounds that said anything about it (see judgeFlagsOf).
// A "said" bit is set when some round did; the bit after it when most of
// them said yes.
const (
	flagCandOffTopicSaid = 1 << iota
	flagCandOffTopic
	flagBaseOffTopicSaid
	flagBaseOffTopic
	flagCandRefusalSaid
	flagCandRefusal
	flagBaseRefusalSaid
	flagBaseRefusal
)

// judgeFlagsOf reads a judgment's rounds into its flags column (see
// [eval.MostSay]).
func judgeFlagsOf(rounds []eval.Round) int {
	flags := 0
	for _, f := range []struct {
		said, yes     int
		reading, side string
	}{
		{flagCandOffTopicSaid, flagCandOffTopic, eval.ReadingOffTopic, "candidate"},
		{flagBaseOffTopicSaid, flagBaseOffTopic, eval.ReadingOffTopic, "baseline"},
		{flagCandRefusalSaid, flagCandRefusal, eval.ReadingRefusal, "candidate"},
		{flagBaseRefusalSaid, flagBaseRefusal, eval.ReadingRefusal, "baseline"},
	} {
		if said, yes := eval.MostSay(rounds, f.reading, f.side); said {
			flags |= f.said
			if yes {
				flags |= f.yes
			}
		}
	}
	return flags
}

// maxDimName bounds a dimension's name as the dims column keeps it: the
// names come from the judge's answer, which is untrusted.
const maxDimName = 64

// ratingDimension is a single-mode judge's overall grade among the
// dimensions.
const ratingDimension = "rating"

// judgeDims encodes a judgment's mean score per dimension for each side,
// over the rounds that scored it, as "name=candidate/baseline;…" in name
// order: dimensions only one side has are left out, and so are names the
// encoding cannot carry.
func judgeDims(rounds []eval.Round) string {
	type sums struct{ c, b, nc, nb float64 }
	var by map[string]*sums
	add := func(dim, side string, v float64) {
		if dim == "" || len(dim) > maxDimName || strings.ContainsAny(dim, "=;/") {
			return
		}
		if by == nil {
			by = map[string]*sums{}
		}
		s := by[dim]
		if s == nil {
			s = &sums{}
			by[dim] = s
		}
		if side == "candidate" {
			s.c, s.nc = s.c+v, s.nc+1
		} else {
			s.b, s.nb = s.b+v, s.nb+1
		}
	}
	for _, r := range rounds {
		if r.Error != "" {
			continue
		}
		for side, dims := range r.Scores {
			for d, v := range dims {
				add(d, side, v)
			}
		}
		switch r.Order {
		case eval.OrderCandidateAlone:
			add(ratingDimension, "candidate", r.Rating)
		case eval.OrderBaselineAlone:
			add(ratingDimension, "baseline", r.Rating)
		}
	}
	names := make([]string, 0, len(by))
	for d, s := range by {
		if s.nc > 0 && s.nb > 0 {
			names = append(names, d)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for i, d := range names {
		s := by[d]
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(d + "=" + strconv.FormatFloat(s.c/s.nc, 'g', -1, 64) + "/" + strconv.FormatFloat(s.b/s.nb, 'g', -1, 64))
	}
	return b.String()
}

// eachDim calls fn with each dimension of a dims column's value.
func eachDim(dims string, fn func(name string, cand, base float64)) {
	for dims != "" {
		var part string
		part, dims, _ = strings.Cut(dims, ";")
		name, vals, ok := strings.Cut(part, "=")
		c, b, ok2 := strings.Cut(vals, "/")
		if !ok || !ok2 {
			continue
		}
		cv, err1 := strconv.ParseFloat(c, 64)
		bv, err2 := strconv.ParseFloat(b, 64)
		if err1 == nil && err2 == nil && !math.IsInf(cv, 0) && !math.IsNaN(cv) && !math.IsInf(bv, 0) && !math.IsNaN(bv) {
			fn(name, cv, bv)
		}
	}
}

// candidateFix is the judge's suggested fix for the candidate's answer:
// that of the first round that gave one, preferring a round the
// candidate lost (its fix says what the baseline's answer did better).
func candidateFix(rounds []eval.Round) string {
	fix := ""
	for _, r := range rounds {
		if f := r.Fix["candidate"]; r.Error == "" && f != "" {
			if r.Winner == eval.WinBaseline {
				return f
			}
			fix = cmp.Or(fix, f)
		}
	}
	return fix
}

// BucketJudge is the judge whose reading puts answers in the off_topic
// bucket and whose fixes the examples show: the gate's judge, else the
// spec's first; ok is false for a run without judges.
func BucketJudge(spec *eval.RunSpec) (eval.Judge, bool) {
	if j, ok := GateJudge(spec); ok {
		return j, true
	}
	if len(spec.Judges) > 0 {
		return spec.Judges[0], true
	}
	return eval.Judge{}, false
}

// positionBits is a bit per sample position of each (variant, suite).
type positionBits map[[2]string][]uint64

func (p positionBits) set(variant, suite string, n int, pos int32) {
	bits := p[[2]string{variant, suite}]
	if bits == nil {
		bits = make([]uint64, (n+63)/64)
		// The key's own copies: a batch's strings share its buffers,
		// which are let go of with the batch.
		p[[2]string{strings.Clone(variant), strings.Clone(suite)}] = bits
	}
	bits[pos/64] |= 1 << (pos % 64)
}

func (p positionBits) has(variant, suite string, pos int32) bool {
	bits := p[[2]string{variant, suite}]
	return pos >= 0 && int(pos/64) < len(bits) && bits[pos/64]&(1<<(pos%64)) != 0
}

// readings are the bucket judge's readings of the answers, by variant and
// suite position, original samples only: each candidate's in its
// judgment, the baseline's in the first of its pairs that read it. A
// failed judgment reads nothing.
type readings struct {
	// offTopicRead: the judge said whether the answer is off-topic;
	// offTopic: it said it is.
	offTopicRead, offTopic positionBits
	// refusalRead: the judge said whether the answer declines;
	// refused: it said it does.
	refusalRead, refused positionBits
}

func (c *Collector) bucketReadings(x *sampleIndex) readings {
	out := readings{offTopicRead: positionBits{}, offTopic: positionBits{}, refusalRead: positionBits{}, refused: positionBits{}}
	bj, ok := BucketJudge(c.spec)
	if !ok {
		return out
	}
	eachJudgedInOrder(c, x, bj.ID(), func(cand, su string, n int, pos int32, f int64) {
		take := func(read, yes positionBits, variant string, saidFlag, yesFlag int64) {
			if f&saidFlag != 0 && !read.has(variant, su, pos) {
				read.set(variant, su, n, pos)
				if f&yesFlag != 0 {
					yes.set(variant, su, n, pos)
				}
			}
		}
		take(out.offTopicRead, out.offTopic, cand, flagCandOffTopicSaid, flagCandOffTopic)
		take(out.offTopicRead, out.offTopic, c.spec.Baseline, flagBaseOffTopicSaid, flagBaseOffTopic)
		take(out.refusalRead, out.refused, cand, flagCandRefusalSaid, flagCandRefusal)
		take(out.refusalRead, out.refused, c.spec.Baseline, flagBaseRefusalSaid, flagBaseRefusal)
	})
	return out
}

// eachJudgedInOrder hands fn the flags of every judgment of judge id that
// read anything (original samples, not failed), candidate by candidate in
// the spec's order: a reading of the baseline's answer, which each
// candidate's pair holds, is taken from the first candidate's judgment
// that gives it, whatever order the judgments arrived in.
func eachJudgedInOrder(c *Collector, x *sampleIndex, id string, fn func(cand, suite string, n int, pos int32, flags int64)) {
	for _, cand := range c.spec.Candidates() {
		c.each(c.judgments, func(rec arrow.RecordBatch) {
			jc := judgmentColumnsOf(rec)
			for i := 0; i < int(rec.NumRows()); i++ {
				f := jc.flags.Value(i)
				if f == 0 || jc.cand.Value(i) != cand || jc.pert.Value(i) != "" || jc.errs.Value(i) != "" || jc.jid.Value(i) != id || jc.compared(i, c.spec.Baseline) {
					continue
				}
				su := jc.suite.Value(i)
				s := x.suite(su)
				if pos := s.pos(jc.sample.Value(i)); pos >= 0 {
					fn(cand, su, s.n(), pos, f)
				}
			}
		})
	}
}

// refinedBucket is r's bucket once the judge's reading and the
// baseline's answer are known (see [eval.RefineBucket]), and why, when
// the refinement moved it.
func refinedBucket(r *row, x *sampleIndex, topics positionBits, baseline string) (eval.Bucket, string) {
	b := eval.Bucket(r.bucket)
	f := eval.BucketFacts{OffTopic: topics.has(r.variant, r.suite, r.pos), Chars: int(r.chars), BaselineChars: -1, RefChars: int(r.refChars)}
	if s := x.suite(r.suite); r.variant != baseline && s != nil && r.pos >= 0 {
		f.BaselineChars = int(s.baseChars[r.pos])
	}
	if nb := eval.RefineBucket(b, f); nb != b {
		return nb, RefinedReason(nb, f)
	}
	return b, ""
}

// RefinedReason is why an answer is in a bucket the report gives it
// (off_topic, verbose), from the facts that put it there.
func RefinedReason(b eval.Bucket, f eval.BucketFacts) string {
	if b == eval.BucketOffTopic {
		return "the judge says the answer does not address the question"
	}
	needed := "the reference's " + strconv.Itoa(f.RefChars)
	if f.BaselineChars > f.RefChars {
		needed = "the baseline's answer's " + strconv.Itoa(f.BaselineChars)
	}
	return strconv.Itoa(f.Chars) + " characters, more than " + strconv.Itoa(eval.VerboseFactor) + "× " + needed
}

// dimensions gives each judge's per-dimension scores of each candidate
// against the baseline, over the original samples' pairs it scored, on the
// dimensions the judge names (and a single-mode judge's rating), in its
// order: a name its answers invent is no dimension of the report.
// Constant memory: sums per dimension.
func (c *Collector) dimensions(rep *document.Report) {
	asked := map[string]map[string]bool{} // judge id -> dimension
	for _, jd := range c.spec.Judges {
		asked[jd.ID()] = map[string]bool{ratingDimension: jd.Single()}
		for _, d := range jd.Dimensions {
			asked[jd.ID()][d] = true
		}
	}
	type acc struct {
		n               int
		sc, sb, sd, sdd float64
		// The differences and their qualified clusters, kept only when a
		// suite of the spec clusters its samples: the interval is then
		// cluster-robust, as a win rate's is.
		ds       []float64
		clusters []string
		anyID    bool
	}
	clustered := false
	for _, su := range c.spec.Suites {
		clustered = clustered || c.clusteredSuite(su.Name)
	}
	by := map[[3]string]*acc{} // judge id, candidate, dimension
	c.each(c.judgments, func(rec arrow.RecordBatch) {
		jc := judgmentColumnsOf(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			if jc.dims.Value(i) == "" || jc.pert.Value(i) != "" || jc.errs.Value(i) != "" || jc.compared(i, c.spec.Baseline) {
				continue
			}
			dims := asked[jc.jid.Value(i)]
			eachDim(jc.dims.Value(i), func(name string, cv, bv float64) {
				if !dims[name] {
					return
				}
				k := [3]string{jc.jid.Value(i), jc.cand.Value(i), name}
				a := by[k]
				if a == nil {
					a = &acc{}
					by[[3]string{strings.Clone(k[0]), strings.Clone(k[1]), strings.Clone(k[2])}] = a
				}
				d := cv - bv
				a.n++
				a.sc, a.sb, a.sd, a.sdd = a.sc+cv, a.sb+bv, a.sd+d, a.sdd+d*d
				if clustered {
					id := ""
					if su := jc.suite.Value(i); c.clusteredSuite(su) {
						id = suiteCluster(su, jc.cluster.Value(i))
					}
					a.ds, a.clusters, a.anyID = append(a.ds, d), append(a.clusters, id), a.anyID || id != ""
				}
			})
		}
	})
	for _, jd := range c.spec.Judges {
		for _, cand := range c.spec.Candidates() {
			var names []string
			for k := range by {
				if k[0] == jd.ID() && k[1] == cand {
					names = append(names, k[2])
				}
			}
			rank := func(d string) int {
				if i := slices.Index(jd.Dimensions, d); i >= 0 {
					return i
				}
				if d == ratingDimension {
					return -1
				}
				return len(jd.Dimensions)
			}
			slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
			for _, d := range names {
				a := by[[3]string{jd.ID(), cand, d}]
				dd := document.DimensionDelta{Judge: jd.Name, Variant: cand, Dimension: d, N: a.n,
					CandidateMean: a.sc / float64(a.n), BaselineMean: a.sb / float64(a.n)}
				if a.anyID {
					delta, ci, g, undefined := stats.MeanClustered(a.ds, a.clusters)
					dd.Delta, dd.Clusters, dd.Undefined = delta, g, undefined
					if undefined == "" {
						dd.CI = &ci
					}
				} else {
					delta, ci := stats.MeanCIMoments(a.n, a.sd, a.sdd)
					dd.Delta, dd.CI = delta, &ci
				}
				rep.Dimensions = append(rep.Dimensions, dd)
			}
		}
	}
}

// judgeRefusal compares each judge's reading of refusals with the
// detector's on the same answers (the rates' answer flags): each
// candidate's in its judgments, the baseline's once per sample.
func (c *Collector) judgeRefusal(rep *document.Report, x *sampleIndex, ra *ratesAcc) {
	type tally struct{ both, detOnly, judgeOnly, neither int }
	by := map[[2]string]*tally{} // judge id, variant
	seenBase := positionBits{}   // (judge id, suite): the baseline's answer counted
	count := func(jid, variant, suite string, pos int32, judgeSays bool) {
		f := ra.answer(suite, variant, pos)
		if !f.has(outScored) || f.has(outFailed) {
			return
		}
		t := by[[2]string{jid, variant}]
		if t == nil {
			t = &tally{}
			by[[2]string{strings.Clone(jid), strings.Clone(variant)}] = t
		}
		switch p := f.has(outRefused); {
		case p && judgeSays:
			t.both++
		case p:
			t.detOnly++
		case judgeSays:
			t.judgeOnly++
		default:
			t.neither++
		}
	}
	for _, jd := range c.spec.Judges {
		jid := jd.ID()
		eachJudgedInOrder(c, x, jid, func(cand, su string, n int, pos int32, f int64) {
			if f&flagCandRefusalSaid != 0 {
				count(jid, cand, su, pos, f&flagCandRefusal != 0)
			}
			if f&flagBaseRefusalSaid != 0 && !seenBase.has(jid, su, pos) {
				seenBase.set(jid, su, n, pos)
				count(jid, c.spec.Baseline, su, pos, f&flagBaseRefusal != 0)
			}
		})
	}
	for _, jd := range c.spec.Judges {
		for _, v := range c.spec.Variants {
			t := by[[2]string{jd.ID(), v.Name}]
			if t == nil {
				continue
			}
			n := t.both + t.detOnly + t.judgeOnly + t.neither
			jr := document.JudgeRefusal{Judge: jd.Name, Variant: v.Name, N: n, Both: t.both, DetectorOnly: t.detOnly,
				JudgeOnly: t.judgeOnly, Neither: t.neither,
				DetectorRate: float64(t.both+t.detOnly) / float64(n), JudgeRate: float64(t.both+t.judgeOnly) / float64(n),
				Agreement: float64(t.both+t.neither) / float64(n)}
			// Categories: refusal, not; rows the pattern, columns the judge.
			if k, ci, ok := stats.KappaCounts([][]int{{t.both, t.detOnly}, {t.judgeOnly, t.neither}}); ok {
				jr.Kappa = &k
				// One reader with one label throughout gives kappa 0
				// and an asymptotic interval of no width: none is shown.
				if det, judge := t.both+t.detOnly, t.both+t.judgeOnly; det > 0 && det < n && judge > 0 && judge < n {
					jr.KappaCI = &ci
				}
			}
			rep.JudgeRefusal = append(rep.JudgeRefusal, jr)
		}
	}
}

// suggestFixes gives each candidate's examples the bucket judge's
// suggested fix for that answer, when it gave one.
func (c *Collector) suggestFixes(rep *document.Report) {
	bj, ok := BucketJudge(c.spec)
	if !ok {
		return
	}
	want := map[[3]string][]*document.Example{} // candidate, suite, sample
	for i := range rep.Buckets {
		b := &rep.Buckets[i]
		if b.Variant == c.spec.Baseline {
			continue
		}
		for k := range b.Examples {
			ex := &b.Examples[k]
			key := [3]string{b.Variant, ex.Suite, ex.Sample}
			want[key] = append(want[key], ex)
		}
	}
	if len(want) == 0 {
		return
	}
	id := bj.ID()
	c.each(c.judgments, func(rec arrow.RecordBatch) {
		jc := judgmentColumnsOf(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			if jc.fix.Value(i) == "" || jc.jid.Value(i) != id || jc.pert.Value(i) != "" || jc.errs.Value(i) != "" || jc.compared(i, c.spec.Baseline) {
				continue
			}
			for _, ex := range want[[3]string{jc.cand.Value(i), jc.suite.Value(i), jc.sample.Value(i)}] {
				ex.SuggestedFix = strings.Clone(jc.fix.Value(i))
			}
		}
	})
}
