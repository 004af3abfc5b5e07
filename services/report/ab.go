package report

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/report/abtest"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/assay-eval/assay/services/report/stats"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// liveExperiments holds the latest look of every live experiment followed,
// by run, for the run's report and gauges.
type liveExperiments struct {
	mu    sync.Mutex
	byRun map[string]map[string]document.ABExperiment
	// looks counts each run's looks, so that a new one republishes its
	// report.
	looks map[string]int

	decision *prometheus.GaugeVec
	units    *prometheus.GaugeVec
	srm      *prometheus.GaugeVec
}

func newLiveExperiments(reg prometheus.Registerer) *liveExperiments {
	l := &liveExperiments{byRun: map[string]map[string]document.ABExperiment{}, looks: map[string]int{},
		decision: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "assay_report_ab_decision",
			Help: "A live experiment's decision for a treatment arm at its latest look: 1 ramp, 0 hold, -1 rollback."}, []string{"run", "experiment", "arm"}),
		units: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "assay_report_ab_units",
			Help: "Units exposed to each arm of a live experiment, at its latest look."}, []string{"run", "experiment", "arm"}),
		srm: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "assay_report_ab_srm_p",
			Help: "A live experiment's sample-ratio check p-value at its latest look (below 0.001 its decision is blocked)."}, []string{"run", "experiment"}),
	}
	reg.MustRegister(l.decision, l.units, l.srm)
	return l
}

// set records a look.
func (l *liveExperiments) set(run string, x document.ABExperiment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byRun[run] == nil {
		l.byRun[run] = map[string]document.ABExperiment{}
	}
	l.byRun[run][x.Name] = x
	l.looks[run]++
	for _, a := range x.Arms {
		l.units.WithLabelValues(run, x.Name, a.Name).Set(float64(a.Units))
	}
	for _, d := range x.Decisions {
		v := 0.0
		switch d.Decision {
		case stats.DecisionRamp:
			v = 1
		case stats.DecisionRollback:
			v = -1
		}
		l.decision.WithLabelValues(run, x.Name, d.Arm).Set(v)
	}
	l.srm.WithLabelValues(run, x.Name).Set(x.SRM.P)
}

// sections are a run's experiments' latest looks, by name, and how many
// looks the run has had.
func (l *liveExperiments) sections(run string) ([]document.ABExperiment, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []document.ABExperiment
	for _, x := range l.byRun[run] {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b document.ABExperiment) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out, l.looks[run]
}

// forget drops a run's experiments once it is no longer followed.
func (l *liveExperiments) forget(run string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.byRun[run] {
		for _, a := range x.Arms {
			l.units.DeleteLabelValues(run, x.Name, a.Name)
			l.decision.DeleteLabelValues(run, x.Name, a.Name)
		}
		l.srm.DeleteLabelValues(run, x.Name)
	}
	delete(l.byRun, run)
	delete(l.looks, run)
}

// followExperiments follows the live experiments of run's spec, and those
// its resubmissions add, until ctx ends.
func (s *Service) followExperiments(ctx context.Context, run string, specOf func() *eval.RunSpec) {
	var wg sync.WaitGroup
	// The followers stop before the run's sections and gauges go: a look
	// made after would leave them behind.
	defer s.ab.forget(run)
	defer wg.Wait()
	started := map[string]bool{}
	tick := time.NewTicker(s.cfg.Tick * 4)
	defer tick.Stop()
	for {
		for _, e := range specOf().AB {
			if started[e.Name] {
				continue
			}
			started[e.Name] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if err := s.followExperiment(ctx, run, e.Name, specOf); err != nil && ctx.Err() == nil {
						s.logger.Error("following a live experiment failed; starting again", "run", run, "experiment", e.Name, "err", err)
					}
					select {
					case <-ctx.Done():
					case <-time.After(5 * time.Second):
					}
				}
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// abGrace is how long past a window's end, with no event to close it, the
// window is looked at anyway.
const abGrace = time.Minute

// followExperiment reads an experiment's stored events from the start
// and looks at each window as its events pass it (or, once the stream is
// read to its end, as the clock passes it with a grace), until ctx ends.
// Looks made while the stream is read again (a restarted report stage)
// show and publish nothing until it is read to the end; then the latest
// is shown and its decisions published. An event whose unit cannot be
// read back from the spill ends it with an error, and the caller starts
// it again: a fresh analysis reads the stream anew.
func (s *Service) followExperiment(ctx context.Context, run, name string, specOf func() *eval.RunSpec) error {
	declared := func() (eval.Experiment, bool) {
		for _, e := range specOf().AB {
			if e.Name == name {
				return e, true
			}
		}
		return eval.Experiment{}, false
	}
	e, ok := declared()
	if !ok {
		return nil
	}
	// mu guards the analysis, which the consumer's callbacks and the
	// clock's looks feed; an ordered consumer that resets may run a
	// callback of its old subscription beside one of its new, and one may
	// come after Stop: stopped turns those away.
	var mu sync.Mutex
	stopped := false
	a := abtest.NewAnalysis(e, 0)
	if s.cfg.SpillBytes >= 0 {
		// Without its spill the analysis keeps every unit in memory: more
		// memory, the same figures.
		if sp, err := abtest.OpenSpill(s.cfg.SpillDir); err != nil {
			s.logger.Warn("a live experiment's quiet units stay in memory", "run", run, "experiment", name, "err", err)
		} else {
			defer sp.Close()
			a.SpillTo(sp)
		}
	}
	// spillErr is the spill's failure last seen; broken says that an
	// event could not be applied, and the analysis must be built again.
	var spillErr error
	broken := make(chan error, 1)
	// caughtUp is set once the stream has been read to its end.
	caughtUp := false
	var pending *document.ABExperiment
	show := func(look *document.ABExperiment) {
		if look == nil {
			return
		}
		if !caughtUp {
			pending = look
			return
		}
		s.ab.set(run, *look)
		s.publishDecisions(ctx, run, *look)
	}
	cons, err := s.bus.JS.OrderedConsumer(ctx, bus.StreamAB, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.ABStoredSubject(run, name)}})
	if err != nil {
		return fmt.Errorf("following %s: %w", bus.StreamAB, err)
	}
	defer s.bus.TrackLag(bus.StageReport, bus.StreamAB, bus.ReportABFollower(run, name), cons)()
	// An empty stream is read to its end at once.
	if info, err := cons.Info(ctx); err == nil && info.NumPending == 0 {
		caughtUp = true
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		var ev ab.Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil || ev.Check(ev.At) != nil {
			a.Unreadable()
		} else {
			if cur, ok := declared(); ok {
				a.SetExperiment(cur)
			}
			show(a.Add(ev))
			if err := a.SpillError(); err != nil && err != spillErr {
				spillErr = err
				if a.Failed() == 0 {
					s.logger.Warn("a live experiment's spill file could not be written: its quiet units stay in memory", "run", run, "experiment", name, "err", err)
				} else {
					// The look just shown holds its decisions; the
					// analysis starts again, with a new file.
					select {
					case broken <- fmt.Errorf("a quiet unit could not be read back from the spill file: %w", err):
					default:
					}
				}
			}
		}
		if meta, err := m.Metadata(); err == nil && meta.NumPending == 0 && !caughtUp {
			caughtUp = true
			show(pending)
			pending = nil
		}
	})
	if err != nil {
		return fmt.Errorf("following %s: %w", bus.StreamAB, err)
	}
	defer func() {
		cc.Stop()
		<-cc.Closed()
		mu.Lock()
		stopped = true
		mu.Unlock()
	}()
	tick := time.NewTicker(s.cfg.Tick * 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-broken:
			return err
		case <-tick.C:
			mu.Lock()
			if caughtUp {
				show(a.Due(time.Now(), abGrace))
			}
			mu.Unlock()
		}
	}
}

// publishDecisions publishes a look's decision for every treatment arm,
// each under an id of its window and arm, so that a look published again
// within the events stream's duplicate window is stored once. A publish
// that fails is tried again, in place, until it is stored or ctx ends:
// starting over would read the whole stream again.
func (s *Service) publishDecisions(ctx context.Context, run string, x document.ABExperiment) {
	for _, d := range x.Decisions {
		ev := eval.ABDecisionEvent{V: eval.Version, Run: run, Experiment: x.Name, Arm: d.Arm, Decision: d.Decision, Reasons: d.Reasons,
			Blocked: d.Blocked, Window: x.LastLook, Look: x.Looks, At: time.Now().UTC()}
		id := bus.MsgID("ab-decision", run, x.Name, d.Arm, x.LastLook.UTC().Format(time.RFC3339Nano))
		for pause := time.Second; ; pause = min(2*pause, time.Minute) {
			_, err := s.bus.Publish(ctx, bus.ABDecisionSubject(x.Name), id, ev)
			if err == nil || ctx.Err() != nil {
				break
			}
			s.logger.Warn("publishing a live experiment's decision failed; retrying", "run", run, "experiment", x.Name, "arm", d.Arm, "pause", pause, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
		}
	}
}

// shadowOf sets each live experiment's shadow figures from the report's
// own rates: the variants its arms serve, as the continuous evaluation saw
// them.
func shadowOf(rep *document.Report) {
	for i := range rep.AB {
		x := &rep.AB[i]
		x.Shadow = nil
		for _, a := range x.Arms {
			sh := document.ABShadow{Arm: a.Name, Variant: a.Variant}
			if r, ok := rep.Rates[a.Variant]; ok {
				sh.Refusal, sh.RefusalN, sh.RefusalCI = r.Refusal, r.RefusalN, r.RefusalCI
				sh.JSONValid, sh.JSONValidN, sh.MeanOutputTokens = r.JSONValid, r.JSONValidN, r.MeanOutputTokens
			}
			for name, dst := range map[string]**float64{"tokens": &sh.LiveTokens, "refusal": &sh.LiveRefusal} {
				if m, ok := a.Metrics[name]; ok && m.Undefined == "" {
					v := m.Value
					*dst = &v
				}
			}
			x.Shadow = append(x.Shadow, sh)
		}
	}
}
