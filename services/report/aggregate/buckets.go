package aggregate

import (
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
	type baseRow struct {
		bucket string
		genSeq uint64
	}
	baseline := map[sk]baseRow{}
	// A dead letter's error row knows its sample by id only: take the
	// sequence from another variant's score of the sample, so that the
	// example shows its prompt and sorts in its place.
	seqs := map[sk]uint64{}
	for _, r := range rows {
		if r.variant == c.spec.Baseline {
			baseline[sk{r.suite, r.sample}] = baseRow{r.bucket, r.genSeq}
		}
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
			var hits []row
			for _, r := range rows {
				if r.variant == v.Name && r.bucket == string(b) {
					if r.sampleSeq == 0 {
						r.sampleSeq = seqs[sk{r.suite, r.sample}]
					}
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
				ex := document.Example{Sample: r.sample, Suite: r.suite, Reason: r.reason(), Regression: regression(r)}
				if fetch != nil {
					if err := fillExample(ctx, fetch, &ex, r, baseline[sk{r.suite, r.sample}].genSeq, v.Name == c.spec.Baseline); err != nil {
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
