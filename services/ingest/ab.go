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
// is stored as sent.

// ABSource is the intake source whose tokens admit an experiment's
// requests.
func ABSource(experiment string) string { return "ab-" + experiment }

// MaxABEvents bounds the events of one request.
const MaxABEvents = 1000

// ABAssignRequest asks for a unit's arm.
type ABAssignRequest struct {
	Unit string `json:"unit"`
}

// ABAssignReply is the unit's arm, or why there is none.
type ABAssignReply struct {
	Experiment string `json:"experiment,omitempty"`
	Arm        string `json:"arm,omitempty"`
	Variant    string `json:"variant,omitempty"`
	// New is set on the unit's first assignment, which recorded its
	// exposure.
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
// ctx ends.
func (s *Service) watchExperiments(ctx context.Context) error {
	runs, updates, err := s.bus.WatchRuns(ctx)
	if err != nil {
		return err
	}
	s.abRuns.Store(runs)
	for range updates {
	}
	return nil
}

// Assign returns a unit's arm in experiment, from the JSON request body:
// the one it was first given, or for a new unit the one its hash picks,
// recorded with its exposure before the reply.
func (s *Service) Assign(ctx context.Context, experiment string, body []byte) (ab.Assignment, error) {
	_, e, err := s.experiment(experiment)
	if err != nil {
		return ab.Assignment{}, err
	}
	var req ABAssignRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return ab.Assignment{}, abBad(http.StatusBadRequest, `the body must be {"unit": "<user or session id>"}: %v`, err)
	}
	if err := ab.CheckUnit(req.Unit); err != nil {
		return ab.Assignment{}, abBad(http.StatusBadRequest, "%v", err)
	}
	as := &ab.Assigner{Store: s.bus.ABStore()}
	a, err := as.Assign(ctx, e, req.Unit)
	if err != nil {
		return a, err
	}
	// The exposure is stored under an id of the unit, so a unit whose
	// exposure was stored already (a retried request) is stored once.
	// It is stored on every new assignment, and again as long as the
	// record says it may be missing.
	if a.New || !a.Logged {
		arm := a.Arm
		if a.Recorded != "" {
			arm = a.Recorded
		}
		ev := ab.Event{ID: "exposure", Kind: ab.KindExposure, Unit: bus.HashUnit(req.Unit), Arm: arm, At: a.At, Epoch: a.Epoch}
		if _, err := s.bus.Publish(ctx, bus.ABStoredSubject(e.Name), bus.MsgID("ab", e.Name, "exposure", ev.Unit), ev); err != nil {
			return ab.Assignment{}, fmt.Errorf("storing the exposure: %w", err)
		}
		if err := s.bus.ABStore().MarkLogged(ctx, e.Name, req.Unit); err != nil {
			s.logger.Warn("marking an exposure stored failed; it will be stored again on the unit's next request", "experiment", e.Name, "err", err)
		}
	}
	return a, nil
}

// ABEvents checks and stores the events of a request body (one event or
// a JSON array of at most [MaxABEvents]): every good one is stored, and
// every bad one named with what is wrong, so that one bad event loses
// nothing else.
func (s *Service) ABEvents(ctx context.Context, experiment string, body []byte) (ABEventsReply, error) {
	var reply ABEventsReply
	_, e, err := s.experiment(experiment)
	if err != nil {
		return reply, err
	}
	var raws []json.RawMessage
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			return reply, abBad(http.StatusBadRequest, "the body is not a JSON array of events: %v", err)
		}
	} else {
		raws = []json.RawMessage{body}
	}
	if len(raws) > MaxABEvents {
		return reply, abBad(http.StatusRequestEntityTooLarge, "%d events in one request, more than %d: send them in several", len(raws), MaxABEvents)
	}
	now := time.Now()
	for i, raw := range raws {
		ev, err := ab.ParseEvent(raw, now)
		if err == nil && ev.Arm != "" {
			if _, ok := e.Arm(ev.Arm); !ok {
				err = fmt.Errorf("%w: event %s: arm %q is not an arm of experiment %q", ab.ErrEvent, ev.ID, ev.Arm, e.Name)
			}
		}
		if err != nil {
			reply.Errors = append(reply.Errors, fmt.Sprintf("event %d: %v", i+1, err))
			continue
		}
		stored := storedEvent(ev)
		ack, err := s.bus.Publish(ctx, bus.ABStoredSubject(e.Name), bus.MsgID("ab", e.Name, stored.ID), stored)
		if err != nil {
			// The rest may fail alike: the product sends them again, and
			// the stored ones count once.
			reply.Error, reply.Retry = fmt.Sprintf("storing event %d failed (%v): send the request again; events already stored count once", i+1, err), true
			return reply, err
		}
		reply.Accepted++
		if ack != nil && ack.Duplicate {
			reply.Duplicates++
		}
	}
	return reply, nil
}

// storedEvent is ev as it is stored: its id, unit and conversation as
// hashes, its texts redacted.
func storedEvent(ev ab.Event) ab.Event {
	ev.ID = bus.HashUnit(ev.ID)
	ev.Unit = bus.HashUnit(ev.Unit)
	if ev.Conversation != "" {
		ev.Conversation = bus.HashUnit(ev.Conversation)
	}
	ev.Query, _ = pii.Redact(ev.Query)
	ev.Answer, _ = pii.Redact(ev.Answer)
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
	if a := s.admitAB(experiment, token); a != nil {
		return map[string]any{"error": a.err.Error(), "retry": a.status == http.StatusTooManyRequests}
	}
	switch op {
	case "assign":
		reply, _ := s.assignReply(ctx, experiment, body)
		return reply
	case "events":
		reply, err := s.ABEvents(ctx, experiment, body)
		if err != nil && reply.Error == "" {
			_, retry := abStatus(err)
			reply.Error, reply.Retry = err.Error(), retry
		}
		return reply
	}
	return map[string]any{"error": fmt.Sprintf("unknown request %q: assay.ab.<experiment>.assign or .events", op)}
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

// admitAB decides whether an A/B request for experiment with token may be
// read: a token of its source ([ABSource]), and the experiment's rate
// (IntakeConfig.ABRate, apart from the intake's).
func (s *Service) admitAB(experiment, token string) *admission {
	if !eval.ExperimentNameRE.MatchString(experiment) {
		return &admission{status: http.StatusNotFound, reason: "unauthorized", err: fmt.Errorf("%q is not an experiment name", loggable(experiment))}
	}
	source := ABSource(experiment)
	if !s.intakeCfg.Insecure && !s.intakeCfg.Tokens.Allows(source, token) {
		return &admission{status: http.StatusUnauthorized, reason: "unauthorized",
			err: fmt.Errorf("%w for experiment %q: send a token of source %q as \"Authorization: Bearer <token>\" over HTTP or in the %s header over NATS", errUnauthorized, experiment, source, TokenHeader)}
	}
	if ok, wait := s.abLimiter.allow(source); !ok {
		return &admission{status: http.StatusTooManyRequests, reason: "rate_limited", retryAfter: wait,
			err: fmt.Errorf("experiment %q gets more than %g requests a second: send it again in %s", experiment, s.intakeCfg.ABRate, wait.Round(time.Millisecond))}
	}
	return nil
}

// abHandler serves POST /v1/ab/{experiment}/assign and .../events on mux,
// admitted and bounded like the intake's requests (slots, body size).
func (s *Service) abHandler(mux *http.ServeMux, slots chan struct{}) {
	handle := func(op string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			experiment := r.PathValue("experiment")
			if a := s.admitAB(experiment, bearer(r)); a != nil {
				s.intakeRefused.WithLabelValues(a.reason).Inc()
				if a.status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="assay-ab"`)
				}
				if a.retryAfter > 0 {
					w.Header().Set("Retry-After", retryAfterSeconds(a.retryAfter))
				}
				w.Header().Set("Connection", "close")
				writeJSON(w, a.status, map[string]any{"error": a.err.Error(), "retry": a.retryAfter > 0})
				return
			}
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			default:
				s.intakeRefused.WithLabelValues("overloaded").Inc()
				w.Header().Set("Retry-After", "1")
				writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "busy: send the request again in a second", "retry": true})
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.intakeCfg.MaxBody))
			if err != nil {
				s.intakeRefused.WithLabelValues("too_large").Inc()
				writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": fmt.Sprintf("the body is larger than %d bytes, or was cut off: %v", s.intakeCfg.MaxBody, err)})
				return
			}
			switch op {
			case "assign":
				reply, status := s.assignReply(r.Context(), experiment, body)
				writeJSON(w, status, reply)
			case "events":
				reply, err := s.ABEvents(r.Context(), experiment, body)
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
