package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
)

// Failures returns what assay retry asks again in run, as retry requests
// without attempt: the generations that failed for good (of variant only,
// when not ""), then the judgments a judge failed on (no verdict after
// its retries) whose generations did not fail (of pairs with variant,
// when not ""). Each result counts by its latest attempt: one that a
// retry answered has not failed. Results for samples the run does not
// have (someone published them) are left out.
func Failures(ctx context.Context, b *bus.Bus, spec *eval.RunSpec, variant string) ([]eval.RetryRequest, error) {
	run := spec.Run
	samples := map[[2]string]bool{}
	err := eachSample(ctx, b, run, func(suite, id string) { samples[[2]string{suite, id}] = true })
	if err != nil {
		return nil, err
	}
	filter := bus.RunGens(run)
	if variant != "" {
		filter = bus.GensSubject(run, variant)
	}
	type latest struct {
		retry  int
		failed bool
		req    eval.RetryRequest
	}
	last := map[[3]string]*latest{}
	var order [][3]string
	err = readBatches(ctx, b, bus.StreamGens, filter, func(batch []message) error {
		for _, m := range batch {
			var g eval.Generation
			if json.Unmarshal(m.data, &g) != nil || g.Run != run || !samples[[2]string{g.Sample.Suite, g.Sample.ID}] {
				continue // not this run's: nothing to ask again
			}
			if _, ok := spec.Variant(g.Variant); !ok {
				continue
			}
			k := [3]string{g.Variant, g.Sample.Suite, g.Sample.ID}
			l := last[k]
			if l == nil {
				l = &latest{retry: -1}
				last[k] = l
				order = append(order, k)
			}
			// Stream order breaks a tie: a redelivered attempt says the same.
			if g.Retry >= l.retry {
				l.retry, l.failed = g.Retry, g.Error != ""
				l.req = eval.RetryRequest{Run: run, Variant: g.Variant, Sample: g.Sample}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the generations of run %s: %w", run, err)
	}
	var out []eval.RetryRequest
	asked := map[[2]string]bool{} // (variant, suite+sample) asked again
	for _, k := range order {
		if l := last[k]; l.failed {
			out = append(out, l.req)
			asked[[2]string{k[0], k[1] + "\x00" + k[2]}] = true
		}
	}
	judged, err := failedJudgments(ctx, b, spec, variant, samples)
	if err != nil {
		return nil, err
	}
	for _, r := range judged {
		// A pair whose generation is asked again is judged again anyway.
		at := r.Sample.Suite + "\x00" + r.Sample.ID
		if !asked[[2]string{r.Variant, at}] && !asked[[2]string{cmp.Or(r.Baseline, spec.Baseline), at}] {
			out = append(out, r)
		}
	}
	return out, nil
}

// failedJudgments returns the judgments of run's judges that a judge
// failed on, by their latest attempt, as retry requests for that judge: a
// compare pair's (see [eval.RunSpec.ComparePairs]) names its second
// variant.
func failedJudgments(ctx context.Context, b *bus.Bus, spec *eval.RunSpec, variant string, samples map[[2]string]bool) ([]eval.RetryRequest, error) {
	ids := map[string]string{} // judge id -> name, for the spec's judges
	for _, j := range spec.Judges {
		ids[j.ID()] = j.Name
	}
	type latest struct {
		attempts [3]int
		failed   bool
		req      eval.RetryRequest
	}
	later := func(a, b [3]int) bool { return a[2] > b[2] || a[2] == b[2] && a[0]+a[1] >= b[0]+b[1] }
	last := map[[4]string]*latest{}
	var order [][4]string
	err := readBatches(ctx, b, bus.StreamJudgments, bus.RunJudgments(spec.Run), func(batch []message) error {
		for _, m := range batch {
			var j eval.Judgment
			if json.Unmarshal(m.data, &j) != nil || j.Run != spec.Run || j.Repeat > 0 || !samples[[2]string{j.Sample.Suite, j.Sample.ID}] {
				continue // a judge's repeat is never asked again
			}
			name, ok := ids[j.JudgeID]
			pair := spec.PairName(j.Candidate, j.Baseline)
			// --variant: the pairs it is one side of (the baseline: its
			// own pairs, not the compare pairs of two candidates).
			if !ok || variant != "" && j.Candidate != variant && spec.PairNamed(pair).B != variant {
				continue
			}
			k := [4]string{name, pair, j.Sample.Suite, j.Sample.ID}
			l := last[k]
			if l == nil {
				l = &latest{attempts: [3]int{-1, -1, -1}}
				last[k] = l
				order = append(order, k)
			}
			if at := [3]int{j.CandidateRetry, j.BaselineRetry, j.JudgeRetry}; later(at, l.attempts) {
				l.attempts, l.failed = at, j.Error != "" && !j.GenerationFailed
				l.req = eval.RetryRequest{Run: spec.Run, Variant: j.Candidate, Judge: name, Sample: j.Sample}
				if b := spec.PairNamed(pair).B; b != spec.Baseline {
					l.req.Baseline = b
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the judgments of run %s: %w", spec.Run, err)
	}
	var out []eval.RetryRequest
	for _, k := range order {
		if l := last[k]; l.failed {
			out = append(out, l.req)
		}
	}
	return out, nil
}

// LastRetry is the latest attempt of assay retry stored for run (0: none).
// A run's status says it too, but a status written by another change of
// the run (a replay reopening it) may not.
func LastRetry(ctx context.Context, b *bus.Bus, run string) (int, error) {
	n, _, err := retryAttempts(ctx, b, run)
	return n, err
}

// retryAttempts returns the latest attempt of assay retry stored for run,
// and the latest whose last request is stored (all its requests are: see
// [bus.Bus.StartRetry]). Attempts count only in an unbroken chain from 1:
// assay retry numbers each the one after the latest, so one beyond a gap
// (or out of range) is forged, and must neither reopen the run nor push
// the next attempt's number up.
func retryAttempts(ctx context.Context, b *bus.Bus, run string) (latest, whole int, err error) {
	stored, last := map[int]bool{}, map[int]bool{}
	err = readAll(ctx, b, retries(run, eval.MaxRetryAttempts), func(m message) error {
		var r eval.RetryRequest
		if json.Unmarshal(m.data, &r) == nil && r.Run == run && r.ValidAttempt() == nil {
			stored[r.Attempt] = true
			last[r.Attempt] = last[r.Attempt] || r.Last
		}
		return nil
	})
	for stored[latest+1] {
		latest++
		if last[latest] {
			whole = latest
		}
	}
	return latest, whole, err
}
