package aggregate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/document"
)

// bucketOrder is the order buckets are listed in.
var bucketOrder = []eval.Bucket{eval.BucketError, eval.BucketEmpty, eval.BucketTruncated, eval.BucketRefusal, eval.BucketFormatError, eval.BucketWrongAnswer}

func (c *Collector) buckets(ctx context.Context, rep *document.Report, rows []row, fetch Fetcher) error {
	type sk struct{ suite, sample string }
	// Of the baseline's rows, only what an example shows is kept.
	// The baseline's row of a sample is found by bisection, rows being in
	// key order, rather than in a map of every sample.
	baseline := func(r *row) (bucket string, genSeq uint64, ok bool) {
		i := sort.Search(len(rows), func(i int) bool {
			q := &rows[i]
			return cmp.Or(cmp.Compare(q.suite, r.suite), cmp.Compare(q.sample, r.sample), cmp.Compare(q.variant, c.spec.Baseline)) > 0
		})
		if i == 0 {
			return "", 0, false
		}
		if b := &rows[i-1]; b.suite == r.suite && b.sample == r.sample && b.variant == c.spec.Baseline {
			return b.bucket, b.genSeq, true
		}
		return "", 0, false
	}
	seqs := map[sk]uint64{}
	for _, r := range rows {
		if r.sampleSeq == 0 {
			seqs[sk{r.suite, r.sample}] = 0
		}
	}
	if len(seqs) > 0 {
		for _, r := range rows {
			if _, need := seqs[sk{r.suite, r.sample}]; need && r.sampleSeq > 0 {
				seqs[sk{r.suite, r.sample}] = r.sampleSeq
			}
		}
	}
	suiteOrder := map[string]int{}
	for i, su := range c.spec.Suites {
		suiteOrder[su.Name] = i
	}
	for _, v := range c.spec.Variants {
		for _, b := range bucketOrder {
			// hits point into rows, with the sample's sequence where
			// the row has none: copies of the rows would weigh as much.
			type hit struct {
				*row
				sampleSeq uint64
			}
			var hits []hit
			for i := range rows {
				if r := &rows[i]; r.variant == v.Name && r.bucket == string(b) {
					seq := r.sampleSeq
					if seq == 0 {
						seq = seqs[sk{r.suite, r.sample}]
					}
					hits = append(hits, hit{r, seq})
				}
			}
			if len(hits) == 0 {
				continue
			}
			regression := func(r *row) bool {
				if v.Name == c.spec.Baseline {
					return false
				}
				bucket, _, ok := baseline(r)
				return ok && bucket == string(eval.BucketOK)
			}
			sort.SliceStable(hits, func(i, j int) bool {
				ri, rj := regression(hits[i].row), regression(hits[j].row)
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
			for _, h := range hits[:min(MaxExamples, len(hits))] {
				ex := document.Example{Sample: h.sample, Suite: h.suite, Reason: h.reason(), Regression: regression(h.row)}
				if fetch != nil {
					r := *h.row
					r.sampleSeq = h.sampleSeq
					_, baseGenSeq, _ := baseline(h.row)
					if err := fillExample(ctx, fetch, &ex, r, baseGenSeq, v.Name == c.spec.Baseline); err != nil {
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
