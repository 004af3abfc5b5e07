package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/pii"
)

// Live experiments. A product asks for a unit's arm
// (POST /v1/ab/<experiment>/assign, or a request on
// assay.ab.<experiment>.assign) and sends what its users experienced
// (POST /v1/ab/<experiment>/events, assay.ab.<experiment>.events). Both
// authenticate with a token of the source "ab-<experiment>" (or of every
// source) and are rate-limited per experiment. Assignments are kept in
// assay_ab_units; events are stored in ASSAY_AB with their ids and units
// hashed and their texts redacted: nothing a product sends about a user
// is stored as sent. A unit's exposure is stored once, by assign or — for
// a unit assigned with "log": false — by the product's exposure event
// (abexposure.go).

// ABSource is the intake source whose tokens admit an experiment's
// requests.
func ABSource(experiment string) string { return eval.ABTokenSource(experiment) }

// MaxABEvents bounds the events of one request.
const MaxABEvents = 1000

// ABAssignRequest asks for a unit's arm.
type ABAssignRequest struct {
	Unit string `json:"unit"`
	// Log false assigns the unit without storing its exposure, for a
	// product that assigns early (a page load) and exposes later (the user
	// talks to the model): it then sends an event of kind exposure, or
	// asks assign again without "log": false, when the unit sees its arm.
	// Until then the unit is not counted. Absent or null: true.
	Log *bool `json:"log,omitempty"`
}

// ABAssignReply is the unit's arm, or why there is none.
type ABAssignReply struct {
	Experiment string `json:"experiment,omitempty"`
	Arm        string `json:"arm,omitempty"`
	Variant    string `json:"variant,omitempty"`
	// New is set on the unit's first assignment, which stored its
	// exposure unless the request said "log": false.
	New bool `json:"new,omitempty"`
	// Recorded is the unit's first arm when it is served another (its arm
	// was stopped or removed).
	Recorded string `json:"recorded,omitempty"`
	Error    string `json:"error,omitempty"`
	Retry    bool   `json:"retry,omitempty"`
}

// ABEventsReply says what became of a request's events: how many were
// stored (Duplicates of them already were), and why each refused one was.
type ABEventsReply struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates,omitempty"`
	Errors     []string `json:"errors,omitempty"`
	Error      string   `json:"error,omitempty"`
	Retry      bool     `json:"retry,omitempty"`
}

// abError is a request the product must change: its status and what to do.
type abError struct {
	status int
	msg    string
}

func (e *abError) Error() string { return e.msg }

func abBad(status int, format string, args ...any) error {
	return &abError{status: status, msg: fmt.Sprintf(format, args...)}
}

// experiment finds the experiment a request names among the runs'
// declarations.
func (s *Service) experiment(name string) (string, eval.Experiment, error) {
	runs := s.abRuns.Load()
	if runs == nil {
		return "", eval.Experiment{}, errors.New("the runs are not read yet: send the request again in a second")
	}
	var found []string
	var exp eval.Experiment
	for _, u := range runs.All() {
		if u.Spec == nil {
			continue
		}
		for _, e := range u.Spec.AB {
			if e.Name == name {
				found = append(found, u.Run)
				exp = e
			}
		}
	}
	slices.Sort(found)
	switch len(found) {
	case 0:
		return "", exp, abBad(http.StatusNotFound, "no run declares experiment %q: declare it in the ab section of a continuous run's spec and submit it", name)
	case 1:
		return found[0], exp, nil
	}
	return "", exp, abBad(http.StatusConflict, "experiment %q is declared by several runs (%s): rename it in all but one", name, strings.Join(found, ", "))
}

// watchExperiments follows the runs' specs for their experiments until
// ctx ends, watching again (with a pause) whenever a watch fails or ends:
// a replica that stopped following would go on serving arms a rollback
// has stopped.
func (s *Service) watchExperiments(ctx context.Context) {
	for pause := time.Second; ctx.Err() == nil; pause = min(2*pause, 30*time.Second) {
		runs, updates, err := s.bus.WatchRuns(ctx)
		if err == nil {
			s.abRuns.Store(runs)
			pause = time.Second
			for range updates {
			}
			err = errors.New("the watch ended")
		}
		if ctx.Err() != nil {
			return
		}
		// Requests are refused (retry later) rather than served from a
		// copy of the runs that no longer follows them.
		s.abRuns.Store(nil)
		s.logger.Warn("following the runs' live experiments failed; watching again", "pause", pause, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// Assign returns a unit's arm in experiment, from the JSON request body:
// the one it was first given, or for a new unit the one its hash picks,
// recorded, and its exposure stored before the reply unless the body says
// "log": false.
func (s *Service) Assign(ctx context.Context, experiment string, body []byte) (ab.Assignment, error) {
	run, e, err := s.experiment(experiment)
	if err != nil {
		return ab.Assignment{}, err
	}
	var req ABAssignRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(&req)
	if _, extra := dec.Token(); err == nil && !errors.Is(extra, io.EOF) {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return ab.Assignment{}, abBad(http.StatusBadRequest, `the body must be {"unit": "<user or session id>"}, with "log": false to assign without storing the exposure: %v`, err)
	}
	if err := ab.CheckUnit(req.Unit); err != nil {
		return ab.Assignment{}, abBad(http.StatusBadRequest, "%v", err)
	}
	store := s.bus.ABStore(run, e)
	as := &ab.Assigner{Store: store}
	a, err := as.Assign(ctx, e, req.Unit)
	if err != nil || (req.Log != nil && !*req.Log) {
		return a, err
	}
	// A new assignment is exposed as it is made; a unit assigned earlier
	// without logging (or whose exposure failed to store) sees its arm
	// now.
	at := a.At
	if !a.New {
		at = time.Now()
	}
	if _, err := s.logExposure(ctx, run, e, store, req.Unit, a, at); err != nil {
		return ab.Assignment{}, err
	}
	return a, nil
}

// abPublishers bounds the events of one request published at once.
const abPublishers = 64

// atOnce runs f(0) … f(n-1), abPublishers at a time, and returns when all
// have.
func atOnce(n int, f func(i int)) {
	sem := make(chan struct{}, abPublishers)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// storeEvents checks and stores the events of a request (its body split
// by [splitEvents]): every good one is stored, and every bad one named
// with what is wrong, so that one bad event loses nothing else. Exposures
// are stored as assign stores them ([Service.storeExposures]); scores are
// refused: they are assay's.
func (s *Service) storeEvents(ctx context.Context, experiment string, raws []json.RawMessage) (ABEventsReply, error) {
	var reply ABEventsReply
	run, e, err := s.experiment(experiment)
	if err != nil {
		return reply, err
	}
	now := time.Now()
	var tally abTally
	var exposures, good []abPending
	for i, raw := range raws {
		ev, err := ab.ParseEvent(raw, now)
		switch {
		case err != nil:
		case ev.Kind == ab.KindExposure && ev.Epoch != "":
			err = fmt.Errorf("%w: event %s: epoch is the weights assay assigned the unit under, and assay records it: leave it out", ab.ErrEvent, ev.ID)
		case ev.Kind == ab.KindScore:
			err = fmt.Errorf("%w: event %s: scores are assay's readings of the served answers: send exposures, turns and outcomes here", ab.ErrEvent, ev.ID)
		case ev.Arm != "":
			if _, ok := e.Arm(ev.Arm); !ok {
				err = fmt.Errorf("%w: event %s: arm %q is not an arm of experiment %q", ab.ErrEvent, ev.ID, ev.Arm, e.Name)
			}
		}
		switch {
		case err != nil:
			tally.refuse(i, err)
		case ev.Kind == ab.KindExposure:
			exposures = append(exposures, abPending{i, ev})
		default:
			good = append(good, abPending{i, ev})
		}
	}
	if len(exposures)+len(good) == 0 {
		if len(tally.refused) == 0 {
			return reply, abBad(http.StatusBadRequest, "no event: send one event object, or an array of them")
		}
		return tally.reply(), nil
	}
	// Exposures first: a unit's turns stored after its exposure are
	// counted at once, not held by the report until it comes.
	s.storeExposures(ctx, run, e, exposures, &tally)
	// Published together, acknowledged together: a thousand events cost
	// about one round trip, not a thousand.
	atOnce(len(good), func(i int) {
		stored := storedEvent(run, e, good[i].ev)
		id := bus.MsgID("ab", run, e.Name, stored.Unit, stored.Conversation, stored.ID)
		ack, err := s.bus.PublishAsync(ctx, bus.ABStoredSubject(run, e.Name), id, stored)
		if err != nil {
			tally.fail(err)
			return
		}
		tally.stored(ack != nil && ack.Duplicate)
	})
	reply = tally.reply()
	if tally.failed != nil {
		// The product sends the request again; the stored ones count
		// once.
		reply.Error, reply.Retry = fmt.Sprintf("storing %d of the events failed (%v): send the request again; events already stored count once", tally.failures, tally.failed), true
		return reply, tally.failed
	}
	return reply, nil
}

// abPending is a request's good event and its place in the request.
type abPending struct {
	i  int
	ev ab.Event
}

// abTally counts what became of a request's events, from the goroutines
// that store them.
type abTally struct {
	mu                   sync.Mutex
	accepted, duplicates int
	failures             int
	failed               error
	refused              []abRefusal
}

// abRefusal is why the request's event i was refused.
type abRefusal struct {
	i   int
	err error
}

func (t *abTally) stored(duplicate bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accepted++
	if duplicate {
		t.duplicates++
	}
}

func (t *abTally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures++
	t.failed = err
}

func (t *abTally) refuse(i int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refused = append(t.refused, abRefusal{i, err})
}

// reply is the request's reply, its refusals in the order of their events.
func (t *abTally) reply() ABEventsReply {
	t.mu.Lock()
	defer t.mu.Unlock()
	slices.SortFunc(t.refused, func(a, b abRefusal) int { return a.i - b.i })
	r := ABEventsReply{Accepted: t.accepted, Duplicates: t.duplicates}
	for _, x := range t.refused {
		r.Errors = append(r.Errors, fmt.Sprintf("event %d: %v", x.i+1, x.err))
	}
	return r
}

// splitEvents reads a request body as one event or a JSON array of at
// most MaxABEvents, without decoding more of an oversized array than
// needed to tell.
func splitEvents(body []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return []json.RawMessage{body}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil {
		return nil, abBad(http.StatusBadRequest, "the body is not a JSON array of events: %v", err)
	}
	var raws []json.RawMessage
	for dec.More() {
		if len(raws) == MaxABEvents {
			return nil, abBad(http.StatusRequestEntityTooLarge, "more than %d events in one request: send them in several", MaxABEvents)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, abBad(http.StatusBadRequest, "the body is not a JSON array of events: %v", err)
		}
		raws = append(raws, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, abBad(http.StatusBadRequest, "the body is not a JSON array of events: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, abBad(http.StatusBadRequest, "the body holds more than one JSON value: send one array")
	}
	return raws, nil
}

// storedEvent is ev as it is stored: its id, unit and conversation as
// hashes ([bus.ABHash]), its texts redacted.
func storedEvent(run string, e eval.Experiment, ev ab.Event) ab.Event {
	ev.ID = bus.ABHash(run, e, ev.ID)
	ev.Unit = bus.ABHash(run, e, ev.Unit)
	if ev.Conversation != "" {
		ev.Conversation = bus.ABHash(run, e, ev.Conversation)
	}
	ev.Query, _ = pii.Redact(ev.Query)
	ev.Answer, _ = pii.Redact(ev.Answer)
	ev.Model, _ = pii.Redact(ev.Model)
	return ev
}

// abStatus is the HTTP status of an A/B request's error.
func abStatus(err error) (int, bool) {
	var ae *abError
	var qe *QueryError
	switch {
	case errors.As(err, &ae):
		return ae.status, false
	case errors.As(err, &qe), errors.Is(err, ab.ErrUnit):
		return http.StatusBadRequest, false
	}
	return http.StatusServiceUnavailable, true
}

// serveAB answers one A/B request on NATS: subject is
// assay.ab.<experiment>.<assign|events>.
func (s *Service) serveAB(ctx context.Context, subject, token string, body []byte) any {
	experiment, op := bus.SubjectToken(subject, 2), bus.SubjectToken(subject, 3)
	if op != "assign" && op != "events" {
		return map[string]any{"error": fmt.Sprintf("unknown request %q: assay.ab.<experiment>.assign or .events", op)}
	}
	a := s.authAB(experiment, token)
	if a == nil && int64(len(body)) > s.intakeCfg.MaxBody {
		a = &admission{status: http.StatusRequestEntityTooLarge, reason: "too_large", err: fmt.Errorf("the body is larger than %d bytes", s.intakeCfg.MaxBody)}
	}
	var raws []json.RawMessage
	if a == nil {
		var err error
		if raws, a, err = s.admitBody(experiment, op, body); err != nil {
			_, retry := abStatus(err)
			return ABEventsReply{Error: err.Error(), Retry: retry}
		}
	}
	if a != nil {
		s.intakeRefused.WithLabelValues(a.reason).Inc()
		return map[string]any{"error": a.err.Error(), "retry": a.status == http.StatusTooManyRequests}
	}
	// The requester waits so long; the work does not outlive it.
	ctx, cancel := context.WithTimeout(ctx, s.intakeCfg.WriteTimeout)
	defer cancel()
	if op == "assign" {
		reply, _ := s.assignReply(ctx, experiment, body)
		return reply
	}
	reply, err := s.storeEvents(ctx, experiment, raws)
	if err != nil && reply.Error == "" {
		_, retry := abStatus(err)
		reply.Error, reply.Retry = err.Error(), retry
	}
	return reply
}

// admitBody reads a request's body as far as its rate needs: an events
// request's events (split once, for the rate and then for storing), an
// assignment as one. It returns the events, the rate's refusal, or the
// body's error (400, 413).
func (s *Service) admitBody(experiment, op string, body []byte) ([]json.RawMessage, *admission, error) {
	n := 1
	var raws []json.RawMessage
	if op == "events" {
		var err error
		if raws, err = splitEvents(body); err != nil {
			return nil, nil, err
		}
		n = len(raws)
	}
	return raws, s.rateAB(experiment, n), nil
}

// assignReply is the reply to an assignment request, and its HTTP status.
func (s *Service) assignReply(ctx context.Context, experiment string, body []byte) (ABAssignReply, int) {
	a, err := s.Assign(ctx, experiment, body)
	if err != nil {
		status, retry := abStatus(err)
		if retry {
			s.logger.Warn("assignment failed", "experiment", experiment, "err", err)
		}
		return ABAssignReply{Error: err.Error(), Retry: retry}, status
	}
	return ABAssignReply{Experiment: a.Experiment, Arm: a.Arm, Variant: a.Variant, New: a.New, Recorded: a.Recorded}, http.StatusOK
}

// authAB decides whether an A/B request for experiment with token may be
// read: a token of its source ([ABSource]).
func (s *Service) authAB(experiment, token string) *admission {
	if !eval.ExperimentNameRE.MatchString(experiment) {
		return &admission{status: http.StatusNotFound, reason: "bad_request", err: fmt.Errorf("%q is not an experiment name", loggable(experiment))}
	}
	source := ABSource(experiment)
	if !s.intakeCfg.Insecure && !s.intakeCfg.Tokens.Allows(source, token) {
		return &admission{status: http.StatusUnauthorized, reason: "unauthorized",
			err: fmt.Errorf("%w for experiment %q: send a token of source %q as \"Authorization: Bearer <token>\" over HTTP or in the %s header over NATS", errUnauthorized, experiment, source, TokenHeader)}
	}
	return nil
}

// rateAB takes n events from experiment's rate (IntakeConfig.ABRate,
// apart from the intake's, in events: an array of n events takes n, an
// assignment one; per replica).
func (s *Service) rateAB(experiment string, n int) *admission {
	if ok, wait := s.abLimiter.allowN(ABSource(experiment), n); !ok {
		return &admission{status: http.StatusTooManyRequests, reason: "rate_limited", retryAfter: wait,
			err: fmt.Errorf("experiment %q gets more than %g events a second: send them again in %s", experiment, s.intakeCfg.ABRate, max(wait, time.Millisecond).Round(time.Millisecond))}
	}
	return nil
}

// abHandler serves POST /v1/ab/{experiment}/assign and .../events on mux,
// admitted and bounded like the intake's requests (slots, body size).
func (s *Service) abHandler(mux *http.ServeMux) {
	// Slots of their own: a product's batches do not starve the intake.
	slots := make(chan struct{}, s.intakeCfg.MaxConcurrent)
	refuse := func(w http.ResponseWriter, a *admission) { s.refuse(w, "assay-ab", a) }
	handle := func(op string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			experiment := r.PathValue("experiment")
			// The token before anything is read; the rate once the body
			// says how many events it holds.
			if a := s.authAB(experiment, bearer(r)); a != nil {
				refuse(w, a)
				return
			}
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			default:
				refuse(w, &admission{status: http.StatusServiceUnavailable, reason: "overloaded", retryAfter: time.Second, err: errors.New("busy: send the request again in a second")})
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.intakeCfg.MaxBody))
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				refuse(w, &admission{status: http.StatusRequestEntityTooLarge, reason: "too_large", err: fmt.Errorf("the body is larger than %d bytes", s.intakeCfg.MaxBody)})
				return
			case err != nil:
				refuse(w, &admission{status: http.StatusRequestTimeout, reason: "timeout", err: fmt.Errorf("the request was not sent within %s", s.intakeCfg.ReadTimeout)})
				return
			}
			raws, a, err := s.admitBody(experiment, op, body)
			if err != nil {
				status, _ := abStatus(err)
				writeJSON(w, status, ABEventsReply{Error: err.Error()})
				return
			}
			if a != nil {
				refuse(w, a)
				return
			}
			// Answered before the server's write timeout cuts the reply.
			ctx, cancel := context.WithTimeout(r.Context(), s.intakeCfg.WriteTimeout*2/3)
			defer cancel()
			switch op {
			case "assign":
				reply, status := s.assignReply(ctx, experiment, body)
				if status == http.StatusServiceUnavailable {
					w.Header().Set("Retry-After", "1")
				}
				writeJSON(w, status, reply)
			case "events":
				reply, err := s.storeEvents(ctx, experiment, raws)
				status := http.StatusAccepted
				switch {
				case err != nil:
					status, reply.Retry = abStatus(err)
					if reply.Error == "" {
						reply.Error = err.Error()
					}
				case len(reply.Errors) > 0 && reply.Accepted > 0:
					status = http.StatusMultiStatus
				case len(reply.Errors) > 0:
					status = http.StatusBadRequest
				}
				if status == http.StatusServiceUnavailable {
					w.Header().Set("Retry-After", "1")
				}
				writeJSON(w, status, reply)
			}
		}
	}
	mux.HandleFunc("POST /v1/ab/{experiment}/assign", handle("assign"))
	mux.HandleFunc("POST /v1/ab/{experiment}/events", handle("events"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
