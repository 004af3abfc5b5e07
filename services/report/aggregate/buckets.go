package aggregate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// bucketOrder is the order buckets are listed in.
var bucketOrder = []eval.Bucket{eval.BucketError, eval.BucketEmpty, eval.BucketTruncated, eval.BucketRefusal, eval.BucketFormatError,
	eval.BucketOffTopic, eval.BucketWrongAnswer, eval.BucketVerbose}

// bucketsAcc counts, as the final pass reads the score rows, each
// variant's answers by bucket, and keeps each bucket's first MaxExamples
// in the order the report shows them: regressions first (the baseline's
// answer to the same sample was ok), then by suite in the spec's order,
// sample sequence and id.
type bucketsAcc struct {
	c          *Collector
	x          *sampleIndex
	suiteOrder map[string]int
	by         map[[2]string]*bucketHits // (variant, bucket)
}

type bucketHits struct {
	count int
	top   []bucketHit // at most MaxExamples, in order
}

// bucketHit is an example candidate: a row (a copy, which keeps only
// shared strings) with the order it is shown in.
type bucketHit struct {
	r row
	// why is the reason of a bucket the report gave (off_topic, verbose):
	// the row's own reason is the score stage's.
	why        string
	regression bool
	sampleSeq  uint64
	baseGenSeq uint64
}

func (c *Collector) newBucketsAcc(x *sampleIndex) *bucketsAcc {
	a := &bucketsAcc{c: c, x: x, suiteOrder: map[string]int{}, by: map[[2]string]*bucketHits{}}
	for i, su := range c.spec.Suites {
		a.suiteOrder[su.Name] = i
	}
	return a
}

// rank is suite's place in the examples' order: the spec's order, then
// suites the spec does not name (results published for them), by name.
func (a *bucketsAcc) rank(suite string) int {
	if i, ok := a.suiteOrder[suite]; ok {
		return i
	}
	return len(a.suiteOrder)
}

// before reports whether h is shown before o.
func (a *bucketsAcc) before(h, o *bucketHit) bool {
	if h.regression != o.regression {
		return h.regression
	}
	if h.r.suite != o.r.suite {
		if rh, ro := a.rank(h.r.suite), a.rank(o.r.suite); rh != ro {
			return rh < ro
		}
		return h.r.suite < o.r.suite
	}
	if h.sampleSeq != o.sampleSeq {
		return h.sampleSeq < o.sampleSeq
	}
	return h.r.sample < o.r.sample
}

// add takes an original sample's row (not a robustness copy's) in
// bucket, why it is there when the report moved it (see refinedBucket).
func (a *bucketsAcc) add(r *row, bucket eval.Bucket, why string) {
	if !slices.Contains(bucketOrder, bucket) {
		return // ok, or no bucket the report lists
	}
	k := [2]string{r.variant, string(bucket)}
	b := a.by[k]
	if b == nil {
		b = &bucketHits{}
		a.by[k] = b
	}
	b.count++
	s := a.x.suite(r.suite)
	h := bucketHit{r: *r, why: why, sampleSeq: r.sampleSeq, baseGenSeq: s.baseGen[r.pos]}
	if h.sampleSeq == 0 {
		h.sampleSeq = s.sampleSeq[r.pos]
	}
	h.regression = r.variant != a.c.spec.Baseline && s.baseOK[r.pos]
	// An example shows no metric: the values are its batch's, which a
	// kept slice of them would keep.
	h.r.metrics = nil
	i := len(b.top)
	for i > 0 && a.before(&h, &b.top[i-1]) {
		i--
	}
	if i >= MaxExamples {
		return
	}
	if len(b.top) < MaxExamples {
		b.top = append(b.top, bucketHit{})
	}
	copy(b.top[i+1:], b.top[i:])
	b.top[i] = h
}

// buckets lists each variant's buckets with their examples, whose texts
// fetch, when not nil, fills in.
func (a *bucketsAcc) buckets(ctx context.Context, rep *document.Report, fetch Fetcher) error {
	c := a.c
	for _, v := range c.spec.Variants {
		for _, bn := range bucketOrder {
			b := a.by[[2]string{v.Name, string(bn)}]
			if b == nil {
				continue
			}
			bk := document.Bucket{Variant: v.Name, Bucket: string(bn), Count: b.count, Examples: []document.Example{}}
			for _, h := range b.top {
				ex := document.Example{Sample: h.r.sample, Suite: h.r.suite, Reason: cmp.Or(h.why, h.r.reason()), Regression: h.regression}
				if fetch != nil {
					r := h.r
					r.sampleSeq = h.sampleSeq
					if err := fillExample(ctx, fetch, &ex, r, h.baseGenSeq, v.Name == c.spec.Baseline); err != nil {
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

func fillExample(ctx context.Context, fetch Fetcher, ex *document.Example, r row, baseGenSeq uint64, isBaseline bool) error {
	// A text that is no longer stored (a purged or aged-out stream) is
	// left empty: the example still names its sample and reason.
	gone := func(err error) bool { return errors.Is(err, ErrTextGone) }
	if r.sampleSeq > 0 {
		s, err := fetch.Sample(ctx, r.sampleSeq)
		switch {
		case err == nil:
			ex.Prompt = clip(eval.LastUserMessage(s.Messages))
		case !gone(err):
			return fmt.Errorf("fetching example prompt: %w", err)
		}
	}
	if r.genSeq > 0 {
		g, err := fetch.Generation(ctx, r.genSeq)
		switch {
		case err == nil:
			ex.Output = clip(g.Output)
		case !gone(err):
			return fmt.Errorf("fetching example output: %w", err)
		}
	}
	if !isBaseline && baseGenSeq > 0 {
		g, err := fetch.Generation(ctx, baseGenSeq)
		switch {
		case err == nil:
			ex.BaselineOutput = clip(g.Output)
		case !gone(err):
			return fmt.Errorf("fetching example baseline output: %w", err)
		}
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
