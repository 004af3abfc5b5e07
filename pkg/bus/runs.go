package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrRunExists is returned when a run is submitted under a name already used
// by a different spec.
var ErrRunExists = errors.New("run exists")

// SubmitRun stores spec in assay_runs and announces it, so that ingest reads
// its suites and infer and judge create their consumers.
//
// Submitting a run again resumes it. What does not change its results may
// differ — endpoints, API key variables, concurrency, timeouts, retries, the
// gate — and the stored spec takes the new values (an endpoint that moved, a
// gate made stricter). What checkpoints and replays added to the run (its
// checkpoint variants, replay judges, re-scored metrics) is kept. A spec
// that would change the results (another fingerprint, other variants,
// models, suites, metrics, judges or continuous settings) is refused.
func (b *Bus) SubmitRun(ctx context.Context, spec *eval.RunSpec) error {
	// A new run's judges judge its compare pairs; a run stored before they
	// did keeps what it was submitted with (see resubmit).
	spec.JudgeCompare = true
	data, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encoding run spec: %w", err)
	}
	if err := b.experimentsFree(ctx, spec); err != nil {
		return err
	}
	if _, err := b.Runs.Create(ctx, SpecKey(spec.Run), data); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("storing run spec: %w", err)
		}
		e, err := b.Runs.Get(ctx, SpecKey(spec.Run))
		if err != nil {
			return fmt.Errorf("reading run %q: %w", spec.Run, err)
		}
		var old eval.RunSpec
		if err := json.Unmarshal(e.Value(), &old); err != nil {
			return fmt.Errorf("run %q: stored spec does not decode: %w", spec.Run, err)
		}
		merged, why := resubmit(&old, spec)
		if why != "" {
			return fmt.Errorf("%w: %q was submitted before with %s; choose another run name", ErrRunExists, spec.Run, why)
		}
		if data, err = json.Marshal(merged); err != nil {
			return fmt.Errorf("encoding run spec: %w", err)
		}
		if !bytes.Equal(e.Value(), data) {
			if _, err := b.Runs.Update(ctx, SpecKey(spec.Run), data, e.Revision()); err != nil {
				return fmt.Errorf("updating run %q: %w", spec.Run, err)
			}
		}
		// A submission that stored the spec and then failed (NATS
		// electing a leader) left no status: this one writes it.
		if _, err := b.Status(ctx, spec.Run); errors.Is(err, ErrNotFound) {
			if err := b.PutStatus(ctx, &eval.RunStatus{Run: spec.Run, State: eval.StateRunning}); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("reading the status of run %q: %w", spec.Run, err)
		}
	} else if err := b.PutStatus(ctx, &eval.RunStatus{Run: spec.Run, State: eval.StateRunning}); err != nil {
		return err
	}
	ev := eval.RunEvent{V: eval.Version, Run: spec.Run, Fingerprint: spec.Fingerprint(), At: time.Now().UTC()}
	if _, err := b.Publish(ctx, RunEvent(spec.Run, EventCreated), MsgID("created", spec.Run, ev.Fingerprint), ev); err != nil {
		return err
	}
	return nil
}

// resubmit returns the spec a run submitted again becomes: new, with what
// checkpoints and replays added to old, or why new would give other results
// than old. new may name what was added (a checkpoint's variant, a replay's
// judge) or leave it out; it must name everything else old has, and nothing
// old has not.
func resubmit(old, new *eval.RunSpec) (*eval.RunSpec, string) {
	merged := *new
	if old.Fingerprint() != new.Fingerprint() {
		return nil, "other decoding or template settings"
	}
	if old.Baseline != new.Baseline {
		return nil, fmt.Sprintf("baseline %q", old.Baseline)
	}

	merged.Variants = slices.Clone(new.Variants)
	for i, v := range merged.Variants {
		o, ok := old.Variant(v.Name)
		if !ok || o.Model != v.Model {
			return nil, "other variants or models: " + variantList(old.Variants)
		}
		merged.Variants[i].Checkpoint = o.Checkpoint
	}
	for _, o := range old.Variants {
		if _, ok := new.Variant(o.Name); ok {
			continue
		}
		if o.Checkpoint == nil {
			return nil, "other variants or models: " + variantList(old.Variants)
		}
		merged.Variants = append(merged.Variants, o)
		if len(new.Gate.Variants) > 0 && !slices.Contains(merged.Gate.Variants, o.Name) {
			merged.Gate.Variants = append(slices.Clone(merged.Gate.Variants), o.Name)
		}
	}

	merged.Judges = slices.Clone(new.Judges)
	for i, j := range merged.Judges {
		o, ok := old.Judge(j.Name)
		if !ok || o.ID() != j.ID() {
			return nil, fmt.Sprintf("other judges (judge %q is new or changed)", j.Name)
		}
		merged.Judges[i].Replay = o.Replay
	}
	for _, o := range old.Judges {
		if _, ok := new.Judge(o.Name); ok {
			continue
		}
		if !o.Replay {
			return nil, fmt.Sprintf("other judges (judge %q is missing)", o.Name)
		}
		merged.Judges = append(merged.Judges, o)
	}

	if len(old.Suites) != len(new.Suites) {
		return nil, "other suites"
	}
	merged.Suites = slices.Clone(new.Suites)
	for i, o := range old.Suites {
		n := &merged.Suites[i]
		if o.Name != n.Name || o.Object != n.Object || !slices.Equal(o.Parts, n.Parts) || o.Intake != n.Intake {
			return nil, fmt.Sprintf("other suites or data (suite %q)", o.Name)
		}
		if !sameReading(o, *n) {
			return nil, fmt.Sprintf("another way of reading suite %q (its format, preset, prompt template, fields or perturbations)", o.Name)
		}
		switch {
		case o.Rescored:
			n.Metrics, n.Rescored = slices.Clone(o.Metrics), true
			n.Lang, n.Stem, n.Format = o.Lang, o.Stem, o.Format
		case !slices.Equal(o.Metrics, n.Metrics):
			return nil, fmt.Sprintf("other metrics for suite %q (%s)", o.Name, strings.Join(o.Metrics, ", "))
		case o.Lang != n.Lang || o.Stem != n.Stem || !reflect.DeepEqual(o.Format, n.Format):
			return nil, fmt.Sprintf("other metric options for suite %q (lang, stem or format)", o.Name)
		}
	}
	if !sameContinuous(old.Continuous, new.Continuous) {
		return nil, "other continuous settings"
	}
	if !sameContamination(old.Contamination, new.Contamination) {
		return nil, "other contamination settings or training data"
	}
	if why := sameExperiments(old.AB, new.AB); why != "" {
		return nil, why
	}
	// The judges judge the compare pairs a run had when each sample
	// passed: pairs added later would never be judged for the samples
	// already released, and the run would never complete.
	merged.JudgeCompare = old.JudgeCompare
	if old.JudgeCompare && !slices.Equal(old.ComparePairs(), merged.ComparePairs()) {
		return nil, "other compare pairs (the judges judge them)"
	}
	return &merged, ""
}

// ErrExperimentTaken is a live experiment's name that another run declares:
// a product names an experiment alone in its requests.
var ErrExperimentTaken = errors.New("live experiment declared by another run")

// experimentsFree checks that no other run declares an experiment of
// spec's.
func (b *Bus) experimentsFree(ctx context.Context, spec *eval.RunSpec) error {
	if len(spec.AB) == 0 {
		return nil
	}
	keys, err := b.Runs.ListKeysFiltered(ctx, AllSpecs)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing runs: %w", err)
	}
	for key := range keys.Keys() {
		run := RunOfKey(key)
		if run == spec.Run {
			continue
		}
		other, err := b.Spec(ctx, run)
		if err != nil {
			continue // deleted meanwhile
		}
		for _, e := range spec.AB {
			if slices.ContainsFunc(other.AB, func(o eval.Experiment) bool { return o.Name == e.Name }) {
				return fmt.Errorf("%w: experiment %q is run %q's; products name an experiment alone, so give this one another name", ErrExperimentTaken, e.Name, run)
			}
		}
	}
	return nil
}

// sameExperiments says what makes new's live experiments other
// experiments than old's, or "". An experiment may gain weights, stop an
// arm (a rollback), change its guardrails, minimum units and maximum
// duration, and new experiments may be added; its salt, arms (names and
// variants, in order), primary metric and window are what its units and
// figures were assigned and computed by, and stay.
func sameExperiments(old, new []eval.Experiment) string {
	for _, o := range old {
		i := slices.IndexFunc(new, func(e eval.Experiment) bool { return e.Name == o.Name })
		if i < 0 {
			return fmt.Sprintf("experiment %q is missing (an experiment is ended by stopping its arms, not by removing it)", o.Name)
		}
		n := new[i]
		same := o.SaltOf() == n.SaltOf() && o.Primary.Metric == n.Primary.Metric && o.WindowOf() == n.WindowOf() && len(o.Arms) == len(n.Arms) &&
			reflect.DeepEqual(o.Format, n.Format)
		for k := 0; same && k < len(o.Arms); k++ {
			same = o.Arms[k].Name == n.Arms[k].Name && o.Arms[k].Variant == n.Arms[k].Variant
		}
		if !same {
			return fmt.Sprintf("another experiment %q (its salt, arms and their variants, primary metric, window and format checks stay; weights, stopped arms, guardrails, min_units and max_duration may change)", o.Name)
		}
	}
	return ""
}

// sameReading reports whether two suites turn the same file into the same
// samples: the same content read in another format, through another
// preset, template or field mapping gives other samples.
func sameReading(a, b eval.Suite) bool {
	fa, _ := eval.DatasetFormat(a.Path)
	fb, _ := eval.DatasetFormat(b.Path)
	return fa == fb && a.Preset == b.Preset && a.PromptTemplate == b.PromptTemplate && a.Fields == b.Fields &&
		slices.Equal(a.Perturbations, b.Perturbations) && reflect.DeepEqual(a.NearDuplicates, b.NearDuplicates) &&
		a.GenerateTurns == b.GenerateTurns && sameLongContext(a.LongContext, b.LongContext)
}

// sameLongContext compares how two suites pad their long_context copies,
// with the defaults filled in.
func sameLongContext(a, b *eval.LongContext) bool { return a.Settings() == b.Settings() }

// sameContamination compares what a contamination check does; File is the
// client's own path to the training data and never stored.
func sameContamination(a, b *eval.ContaminationCheck) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	x.File, y.File = "", ""
	return reflect.DeepEqual(x, y)
}

func sameContinuous(a, b *eval.Continuous) bool {
	if a == nil || b == nil {
		return a == b
	}
	sameSince := (a.Since == nil) == (b.Since == nil) && (a.Since == nil || a.Since.Equal(*b.Since))
	return slices.Equal(a.Sources, b.Sources) && a.SampleRate == b.SampleRate && a.Window == b.Window &&
		slices.Equal(a.Metrics, b.Metrics) && sameSince
}

func variantList(vs []eval.Variant) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Name + " (" + v.Model + ")"
	}
	return strings.Join(parts, ", ")
}

// Spec reads a run's spec.
func (b *Bus) Spec(ctx context.Context, run string) (*eval.RunSpec, error) {
	e, err := b.Runs.Get(ctx, SpecKey(run))
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("run %q: %w", run, ErrNotFound)
		}
		return nil, fmt.Errorf("reading run %q: %w", run, err)
	}
	var s eval.RunSpec
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return nil, fmt.Errorf("run %q: stored spec does not decode: %w", run, err)
	}
	return &s, nil
}

// PutStatus stores a run's status.
func (b *Bus) PutStatus(ctx context.Context, st *eval.RunStatus) error {
	st.V = eval.Version
	st.At = time.Now().UTC()
	data, _ := json.Marshal(st)
	if _, err := b.Runs.Put(ctx, StatusKey(st.Run), data); err != nil {
		return fmt.Errorf("storing status of run %q: %w", st.Run, err)
	}
	return nil
}

// Status reads a run's status.
func (b *Bus) Status(ctx context.Context, run string) (*eval.RunStatus, error) {
	var st eval.RunStatus
	if err := b.getJSON(ctx, StatusKey(run), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// PutIngest stores a run's ingest status.
func (b *Bus) PutIngest(ctx context.Context, st *eval.IngestStatus) error {
	st.V = eval.Version
	st.At = time.Now().UTC()
	data, _ := json.Marshal(st)
	if _, err := b.Runs.Put(ctx, IngestKey(st.Run), data); err != nil {
		return fmt.Errorf("storing ingest status of run %q: %w", st.Run, err)
	}
	return nil
}

// Ingest reads a run's ingest status.
func (b *Bus) Ingest(ctx context.Context, run string) (*eval.IngestStatus, error) {
	var st eval.IngestStatus
	if err := b.getJSON(ctx, IngestKey(run), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// PutIngestProgress records how far ingest has published a run's suites.
func (b *Bus) PutIngestProgress(ctx context.Context, run string, p *IngestProgress) error {
	data, _ := json.Marshal(p)
	if _, err := b.Runs.Put(ctx, IngestProgressKey(run), data); err != nil {
		return fmt.Errorf("storing ingest progress of run %q: %w", run, err)
	}
	return nil
}

// IngestProgress reads how far ingest has published a run's suites; it is
// [ErrNotFound] before the first record.
func (b *Bus) IngestProgress(ctx context.Context, run string) (*IngestProgress, error) {
	var p IngestProgress
	if err := b.getJSON(ctx, IngestProgressKey(run), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// SamplesSeq is the last sequence of the samples stream: every sample
// acknowledged so far is at or before it.
func (b *Bus) SamplesSeq(ctx context.Context) (uint64, error) {
	info, err := b.streams[StreamSamples].Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading stream %s: %w", StreamSamples, err)
	}
	return info.State.LastSeq, nil
}

// SamplesSince returns the message ids of the samples of a run's suites
// stored after seq: what ingest published after it last recorded its
// progress, which a retried ingest must not publish again. Only headers
// are read.
func (b *Bus) SamplesSince(ctx context.Context, run string, suites []string, seq uint64) (map[string]bool, error) {
	ids := map[string]bool{}
	if len(suites) == 0 {
		return ids, nil
	}
	subjects := make([]string, len(suites))
	for i, su := range suites {
		subjects[i] = SamplesSubject(run, su)
	}
	c, err := b.streams[StreamSamples].CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubjects:    subjects,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       seq + 1,
		AckPolicy:         jetstream.AckNonePolicy,
		HeadersOnly:       true,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("reading the samples of run %q: %w", run, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.streams[StreamSamples].DeleteConsumer(dctx, c.CachedInfo().Name)
	}()
	for pending := c.CachedInfo().NumPending; pending > 0; {
		batch, err := c.Fetch(int(min(pending, 1000)), jetstream.FetchContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("reading the samples of run %q: %w", run, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			ids[m.Headers().Get(jetstream.MsgIDHeader)] = true
			if meta, err := m.Metadata(); err == nil {
				pending = meta.NumPending
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("reading the samples of run %q: %w", run, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("reading the samples of run %q: %d of them did not arrive", run, pending)
		}
	}
	return ids, nil
}

func (b *Bus) getJSON(ctx context.Context, key string, v any) error {
	e, err := b.Runs.Get(ctx, key)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		return fmt.Errorf("reading %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return fmt.Errorf("%s does not decode: %w", key, err)
	}
	return nil
}

// RunUpdate is a change to a run seen by [Runs].
type RunUpdate struct {
	Run    string
	Spec   *eval.RunSpec
	Status *eval.RunStatus
}

// Runs keeps the current spec and status of every run, from a watch on
// assay_runs. Services use it to learn of new runs and variants, and to look
// specs up without a round trip per message.
type Runs struct {
	b       *Bus
	mu      sync.RWMutex
	specs   map[string]*eval.RunSpec
	status  map[string]*eval.RunStatus
	updates chan RunUpdate
}

// WatchRuns starts watching run specs and statuses. Updates are delivered on
// the returned channel (current values first); the channel is closed when
// ctx ends. A caller that does not need updates must still drain it.
func (b *Bus) WatchRuns(ctx context.Context) (*Runs, <-chan RunUpdate, error) {
	w, err := b.Runs.WatchFiltered(ctx, []string{AllSpecs, "*.status"})
	if err != nil {
		return nil, nil, fmt.Errorf("watching runs: %w", err)
	}
	r := &Runs{b: b, specs: map[string]*eval.RunSpec{}, status: map[string]*eval.RunStatus{}, updates: make(chan RunUpdate, 64)}
	ready := make(chan struct{})
	go func() {
		defer close(r.updates)
		defer w.Stop()
		initial := true
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					if initial {
						initial = false
						close(ready)
					}
					continue
				}
				u, ok := r.apply(e)
				if !ok {
					continue
				}
				select {
				case r.updates <- u:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-time.After(30 * time.Second):
		return nil, nil, errors.New("watching runs: no initial state after 30s")
	}
	return r, r.updates, nil
}

func (r *Runs) apply(e jetstream.KeyValueEntry) (RunUpdate, bool) {
	run := RunOfKey(e.Key())
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(r.specs, run)
		delete(r.status, run)
		return RunUpdate{}, false
	}
	switch e.Key() {
	case SpecKey(run):
		var s eval.RunSpec
		if err := json.Unmarshal(e.Value(), &s); err != nil {
			return RunUpdate{}, false
		}
		r.specs[run] = &s
	case StatusKey(run):
		var st eval.RunStatus
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			return RunUpdate{}, false
		}
		r.status[run] = &st
	}
	return RunUpdate{Run: run, Spec: r.specs[run], Status: r.status[run]}, true
}

// Spec returns a run's spec, from the watch when it has seen it and from
// the bucket otherwise.
func (r *Runs) Spec(ctx context.Context, run string) (*eval.RunSpec, error) {
	r.mu.RLock()
	s := r.specs[run]
	r.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	return r.b.Spec(ctx, run)
}

// Complete reports whether the watch has seen the run complete.
func (r *Runs) Complete(run string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st := r.status[run]
	return st != nil && st.State == eval.StateComplete
}

// Known reports whether the watch has seen the run's spec.
func (r *Runs) Known(run string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.specs[run] != nil
}

// All returns every run the watch has seen.
func (r *Runs) All() []RunUpdate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]RunUpdate, 0, len(r.specs))
	for run, s := range r.specs {
		out = append(out, RunUpdate{Run: run, Spec: s, Status: r.status[run]})
	}
	return out
}
