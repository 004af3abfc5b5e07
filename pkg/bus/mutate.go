package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrConflict is returned when a change to a run contradicts it: a variant
// or judge of that name exists with another configuration.
var ErrConflict = errors.New("conflicts with the run")

// UpdateRun changes a run's spec with an atomic update, retried when
// another writer got there first; change reports whether it changed
// anything. A changed run is reopened (its status set to running), so that
// its stages take up the new work and the report follows it to completion.
func (b *Bus) UpdateRun(ctx context.Context, run string, change func(*eval.RunSpec) (bool, error)) (bool, error) {
	for {
		e, err := b.Runs.Get(ctx, SpecKey(run))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, fmt.Errorf("run %q: %w", run, ErrNotFound)
		}
		if err != nil {
			return false, fmt.Errorf("reading run %q: %w", run, err)
		}
		var spec eval.RunSpec
		if err := json.Unmarshal(e.Value(), &spec); err != nil {
			return false, fmt.Errorf("run %q: stored spec does not decode: %w", run, err)
		}
		changed, err := change(&spec)
		if err != nil || !changed {
			return false, err
		}
		data, err := json.Marshal(&spec)
		if err != nil {
			return false, fmt.Errorf("encoding run spec: %w", err)
		}
		if _, err := b.Runs.Update(ctx, SpecKey(run), data, e.Revision()); err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue // someone else updated the spec: read it again
			}
			return false, fmt.Errorf("updating run %q: %w", run, err)
		}
		st := &eval.RunStatus{Run: run, State: eval.StateRunning}
		if old, err := b.Status(ctx, run); err == nil {
			st.Retry = old.Retry // its retries' consumers stay
		}
		return true, b.PutStatus(ctx, st)
	}
}

// AddVariant adds a checkpoint variant to a run. Announcing the same
// checkpoint again (same name, model and endpoint) changes nothing.
func (b *Bus) AddVariant(ctx context.Context, run string, v eval.Variant, step int64, at time.Time) (bool, error) {
	return b.UpdateRun(ctx, run, func(s *eval.RunSpec) (bool, error) {
		if old, ok := s.Variant(v.Name); ok {
			if old.Model == v.Model && old.BaseURL == v.BaseURL {
				return false, nil
			}
			return false, fmt.Errorf("%w: variant %q exists with model %q at %s", ErrConflict, v.Name, old.Model, old.BaseURL)
		}
		seq := 1
		for _, o := range s.Variants {
			if o.Checkpoint != nil {
				seq++
			}
		}
		v.Checkpoint = &eval.Checkpoint{Seq: seq, At: at.UTC(), Step: step}
		s.Variants = append(s.Variants, v)
		if len(s.Gate.Variants) > 0 {
			s.Gate.Variants = append(s.Gate.Variants, v.Name)
		}
		return true, nil
	})
}

// AddJudge adds a judge to a run, which then judges every pair of the run
// (a replay). The same judge again changes nothing; another judge under a
// name in use is refused.
func (b *Bus) AddJudge(ctx context.Context, run string, j eval.Judge) (bool, error) {
	return b.UpdateRun(ctx, run, func(s *eval.RunSpec) (bool, error) {
		if old, ok := s.Judge(j.Name); ok {
			if old.ID() == j.ID() {
				return false, nil
			}
			return false, fmt.Errorf("%w: judge %q exists with another model, prompt or parameters: give the new judge a new name", ErrConflict, j.Name)
		}
		j.Replay = true
		s.Judges = append(s.Judges, j)
		return true, nil
	})
}

// SetMetrics re-scores a run: the suites named (all when none is) ask for
// metrics from now on, and the run's generations are scored again.
func (b *Bus) SetMetrics(ctx context.Context, run string, suites, metrics []string) (bool, error) {
	for _, m := range metrics {
		if !slices.Contains(eval.KnownMetrics, m) {
			return false, fmt.Errorf("%w: unknown metric %q: use one of %v", ErrConflict, m, eval.KnownMetrics)
		}
	}
	if len(metrics) == 0 {
		return false, fmt.Errorf("%w: no metrics given", ErrConflict)
	}
	return b.UpdateRun(ctx, run, func(s *eval.RunSpec) (bool, error) {
		for _, name := range suites {
			if _, ok := s.Suite(name); !ok {
				return false, fmt.Errorf("%w: suite %q is not in run %q", ErrConflict, name, run)
			}
		}
		changed := false
		for i := range s.Suites {
			su := &s.Suites[i]
			if len(suites) > 0 && !slices.Contains(suites, su.Name) {
				continue
			}
			if su.Intake {
				for _, m := range metrics {
					if !eval.ReferenceFree(m) {
						return false, fmt.Errorf("%w: suite %q holds production queries, which have no reference: %q cannot score them", ErrConflict, su.Name, m)
					}
				}
			}
			if s.Embeddings == nil && slices.Contains(metrics, eval.MetricSemanticSim) {
				return false, fmt.Errorf("%w: run %q has no embeddings endpoint for %s: add embeddings to its spec (a new run), or leave %s out", ErrConflict, run, eval.MetricSemanticSim, eval.MetricSemanticSim)
			}
			if !slices.Equal(su.Metrics, metrics) {
				su.Metrics = slices.Clone(metrics)
				su.Rescored = true
				changed = true
			}
		}
		// The gate must still find what it checks, or it fails every
		// time from now on.
		for _, g := range s.Gate.Metrics {
			if su, ok := s.Suite(g.Suite); ok && !slices.Contains(su.Metrics, g.Metric) {
				return false, fmt.Errorf("%w: the gate checks %s on suite %q, which these metrics drop: include %s", ErrConflict, g.Metric, g.Suite, g.Metric)
			}
		}
		return changed, nil
	})
}
