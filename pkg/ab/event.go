package ab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kinds of event.
const (
	// KindExposure: a unit was shown an arm. Assign stores it, unless the
	// product asked it not to ("log": false): the product then sends it
	// when the unit sees its arm, and assay stores it with the arm it
	// assigned.
	KindExposure = "exposure"
	// KindTurn: a model answered a unit's turn in a conversation.
	KindTurn = "turn"
	// KindOutcome: what came of a conversation: resolved, rated, a ticket
	// opened, ended after so many turns. It may come hours after.
	KindOutcome = "outcome"
	// KindScore: assay's score stage's reading of a served turn's answer
	// (Refused, JSONValid, FormatOK, Chars); products do not send it.
	KindScore = "score"
)

// Event is what a product tells assay about a unit of a live experiment.
// Every event has an id; the same id sent twice counts once.
type Event struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Unit string `json:"unit"`
	// Arm is the arm the product served; when absent, the unit's recorded
	// assignment says.
	Arm string `json:"arm,omitempty"`
	// Conversation groups a unit's turns and their outcome.
	Conversation string `json:"conversation,omitempty"`
	// At is when it happened (default: when it arrived).
	At time.Time `json:"at,omitzero"`
	// Epoch is, on an exposure, the weights the unit was assigned under
	// ([eval.Experiment.Epoch]): the sample-ratio check compares the units
	// of the current epoch with the current weights.
	Epoch string `json:"epoch,omitempty"`

	// A turn's fields.
	Model            string   `json:"model,omitempty"`
	Query            string   `json:"query,omitempty"`
	Answer           string   `json:"answer,omitempty"`
	JSONExpected     bool     `json:"json_expected,omitempty"`
	PromptTokens     *int64   `json:"prompt_tokens,omitempty"`
	CompletionTokens *int64   `json:"completion_tokens,omitempty"`
	LatencyMS        *float64 `json:"latency_ms,omitempty"`
	TTFTMS           *float64 `json:"ttft_ms,omitempty"`

	// An outcome's fields.
	Success      *bool    `json:"success,omitempty"`
	Satisfaction *float64 `json:"satisfaction,omitempty"`
	Ticket       *bool    `json:"ticket,omitempty"`
	Ended        *bool    `json:"ended,omitempty"`
	Turns        *int64   `json:"turns,omitempty"`

	// A score's fields: whether the turn's answer is a refusal, and, when
	// JSON was asked for, whether it parses; when the experiment declares
	// format checks, whether it passes them; its length in characters.
	Refused   *bool  `json:"refused,omitempty"`
	JSONValid *bool  `json:"json_valid,omitempty"`
	FormatOK  *bool  `json:"format_ok,omitempty"`
	Chars     *int64 `json:"chars,omitempty"`
}

// Limits of an event.
const (
	MaxEventBytes  = 256 << 10
	MaxIDBytes     = 128
	MaxAnswerBytes = 64 << 10
	// MaxFuture is how far ahead of the receiver's clock an event's time
	// may be (clocks differ); further is a bad timestamp.
	MaxFuture = 5 * time.Minute
	// maxLatencyMS bounds a served answer's latency: an hour.
	maxLatencyMS = 3.6e6
	maxTokens    = 10_000_000
	maxTurns     = 100_000
)

// Horizon is how long the report keeps a conversation's state, and the
// events of a unit not yet exposed, after the newest event time it has
// seen: an event older than that arrives late. An exposure event may be
// dated at most this far back.
const Horizon = 48 * time.Hour

// Satisfaction ratings are on a 1–5 scale.
const (
	MinSatisfaction = 1
	MaxSatisfaction = 5
)

// ErrEvent is an event that cannot be taken.
var ErrEvent = errors.New("bad event")

// earliest is the first time an event may carry.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ParseEvent reads one event, strictly: an unknown field (a misspelt
// "sucess") is an error rather than an outcome dropped in silence. An
// event without a time is given now; every error names the field and
// says what to send instead.
func ParseEvent(data []byte, now time.Time) (Event, error) {
	var e Event
	if len(data) > MaxEventBytes {
		return e, fmt.Errorf("%w: %d bytes, more than %d: an event carries at most one turn's query and answer (%d bytes each) besides its ids", ErrEvent, len(data), MaxEventBytes, MaxAnswerBytes)
	}
	if !utf8.Valid(data) {
		return e, fmt.Errorf("%w: not valid UTF-8: send the event as UTF-8 JSON", ErrEvent)
	}
	atGiven, err := checkKeys(data)
	if err != nil {
		return e, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Event{}, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, fmt.Errorf("%w: more than one JSON value: send one event per message (or a JSON array to the batch endpoint)", ErrEvent)
	}
	if atGiven && e.At.IsZero() {
		return Event{}, fmt.Errorf("%w: event %s: at is the zero time: send the event's time in RFC 3339 (2026-12-07T10:00:00Z), or leave it out for the time of arrival", ErrEvent, e.ID)
	}
	if err := e.check(now); err != nil {
		return Event{}, err
	}
	if e.At.IsZero() {
		e.At = now.UTC()
	}
	return e, nil
}

// eventFields are the JSON names of [Event]'s fields.
var eventFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Event]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}()

// checkKeys refuses what encoding/json would let pass: a key spelt in
// another case than its field's ("ID", "Success"), which it matches
// anyway, and a key given twice, whose last value it keeps. It reports
// whether the event gives its time.
func checkKeys(data []byte) (at bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	t, err := dec.Token()
	if d, ok := t.(json.Delim); err != nil || !ok || d != '{' {
		return false, fmt.Errorf("%w: not an event object: send one JSON object, {\"id\": …, \"kind\": …, \"unit\": …}", ErrEvent)
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false, fmt.Errorf("%w: not an event object: %v", ErrEvent, err)
		}
		k, _ := t.(string)
		switch {
		case !eventFields[k]:
			return false, fmt.Errorf("%w: unknown field %q: the fields are the lower-case names the README lists (id, kind, unit, arm, conversation, at, …)", ErrEvent, k)
		case seen[k]:
			return false, fmt.Errorf("%w: field %q is given twice: send it once", ErrEvent, k)
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false, fmt.Errorf("%w: not an event object: %v", ErrEvent, err)
		}
	}
	return seen["at"], nil
}

// decodeError says which field has a value of the wrong type, and what
// it takes.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("%w: at %q is not a time: send it in RFC 3339, with its zone (2026-12-07T10:00:00Z)", ErrEvent, pe.Value)
	case errors.As(err, &te) && te.Field != "":
		want := "a " + te.Type.String()
		switch te.Type.Kind() {
		case reflect.Int64:
			want = "a whole number (3, not 3.0 or \"3\")"
		case reflect.Float64:
			want = "a number"
		case reflect.Bool:
			want = "true or false"
		case reflect.String:
			want = "a string"
		}
		return fmt.Errorf("%w: %s must be %s, not a JSON %s", ErrEvent, te.Field, want, te.Value)
	}
	return fmt.Errorf("%w: not an event object: %v", ErrEvent, err)
}

func (e *Event) check(now time.Time) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrEvent, fmt.Sprintf(format, args...))
	}
	if err := checkID("id", e.ID, MaxIDBytes, true); err != nil {
		return bad("%v", err)
	}
	if err := CheckUnit(e.Unit); err != nil {
		return bad("event %s: %v", e.ID, err)
	}
	if e.Arm != "" && !NameRE.MatchString(e.Arm) {
		return bad("event %s: arm %q is not an arm name (lower-case letters, digits, - or _)", e.ID, e.Arm)
	}
	if err := checkID("conversation", e.Conversation, MaxIDBytes, e.Kind == KindTurn || e.Kind == KindOutcome); err != nil {
		return bad("event %s (%s): %v", e.ID, e.Kind, err)
	}
	if !e.At.IsZero() {
		switch {
		case e.At.Before(earliest):
			return bad("event %s: at %s is before 2000: send the event's time in RFC 3339 (2026-12-07T10:00:00Z)", e.ID, e.At.Format(time.RFC3339))
		case e.At.After(now.Add(MaxFuture)):
			return bad("event %s: at %s is more than %s ahead of this server's clock (%s): check the sender's clock", e.ID, e.At.Format(time.RFC3339), MaxFuture, now.UTC().Format(time.RFC3339))
		}
	}
	if e.Epoch != "" && e.Kind != KindExposure {
		return bad("event %s: epoch belongs to an exposure", e.ID)
	}
	scored := e.Refused != nil || e.JSONValid != nil || e.FormatOK != nil || e.Chars != nil
	if scored != (e.Kind == KindScore) {
		if scored {
			return bad("event %s: refused, json_valid, format_ok and chars are assay's readings of a served answer, not a product's", e.ID)
		}
		return bad("event %s: a score needs refused", e.ID)
	}
	if e.Chars != nil && (*e.Chars < 0 || *e.Chars > MaxAnswerBytes) {
		return bad("event %s: chars %d is outside 0–%d", e.ID, *e.Chars, MaxAnswerBytes)
	}
	turn := e.Model != "" || e.Query != "" || e.Answer != "" || e.JSONExpected || e.PromptTokens != nil || e.CompletionTokens != nil || e.LatencyMS != nil || e.TTFTMS != nil
	outcome := e.Success != nil || e.Satisfaction != nil || e.Ticket != nil || e.Ended != nil || e.Turns != nil
	switch e.Kind {
	case KindExposure:
		if turn || outcome {
			return bad("event %s: an exposure carries no turn or outcome fields: send those as events of kind turn or outcome", e.ID)
		}
		if err := checkID("epoch", e.Epoch, MaxIDBytes, false); err != nil {
			return bad("event %s: %v", e.ID, err)
		}
	case KindTurn:
		if outcome {
			return bad("event %s: success, satisfaction, ticket, ended and turns belong to an event of kind outcome", e.ID)
		}
		return e.checkTurn(bad)
	case KindOutcome:
		if turn {
			return bad("event %s: model, query, answer, tokens and latencies belong to an event of kind turn", e.ID)
		}
		if !outcome {
			return bad("event %s: an outcome needs at least one of success, satisfaction, ticket, ended or turns", e.ID)
		}
		if s := e.Satisfaction; s != nil && !(*s >= MinSatisfaction && *s <= MaxSatisfaction) {
			return bad("event %s: satisfaction %v is outside %d–%d", e.ID, *s, MinSatisfaction, MaxSatisfaction)
		}
		if t := e.Turns; t != nil && (*t < 0 || *t > maxTurns) {
			return bad("event %s: turns %d is outside 0–%d", e.ID, *t, maxTurns)
		}
	case KindScore:
		if turn || outcome || e.Conversation == "" {
			return bad("event %s: a score carries its turn's unit and conversation and its readings only", e.ID)
		}
	case "":
		return bad("event %s: kind is missing: exposure, turn or outcome", e.ID)
	default:
		return bad("event %s: kind %q is not exposure, turn or outcome", e.ID, e.Kind)
	}
	return nil
}

func (e *Event) checkTurn(bad func(string, ...any) error) error {
	for _, t := range []struct {
		name string
		text string
		max  int
	}{{"model", e.Model, MaxIDBytes}, {"query", e.Query, MaxAnswerBytes}, {"answer", e.Answer, MaxAnswerBytes}} {
		if len(t.text) > t.max {
			return bad("event %s: %s is %d bytes, more than %d", e.ID, t.name, len(t.text), t.max)
		}
		if !utf8.ValidString(t.text) {
			return bad("event %s: %s is not valid UTF-8", e.ID, t.name)
		}
	}
	for _, t := range []struct {
		name string
		v    *int64
	}{{"prompt_tokens", e.PromptTokens}, {"completion_tokens", e.CompletionTokens}} {
		if t.v != nil && (*t.v < 0 || *t.v > maxTokens) {
			return bad("event %s: %s %d is outside 0–%d", e.ID, t.name, *t.v, maxTokens)
		}
	}
	for _, t := range []struct {
		name string
		v    *float64
	}{{"latency_ms", e.LatencyMS}, {"ttft_ms", e.TTFTMS}} {
		if t.v != nil && !(*t.v >= 0 && *t.v <= maxLatencyMS) {
			return bad("event %s: %s %v is outside 0–%v (milliseconds)", e.ID, t.name, *t.v, maxLatencyMS)
		}
	}
	if e.LatencyMS != nil && e.TTFTMS != nil && *e.TTFTMS > *e.LatencyMS {
		return bad("event %s: ttft_ms %v is after the answer ended (latency_ms %v)", e.ID, *e.TTFTMS, *e.LatencyMS)
	}
	return nil
}

// checkID checks an id field: printable UTF-8 of at most max bytes.
func checkID(field, v string, max int, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("%s is missing", field)
	case len(v) > max:
		return fmt.Errorf("%s is %d bytes, more than %d", field, len(v), max)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%s holds a control or format character (%U)", field, r)
		}
	}
	return nil
}

// Check validates an event built in Go (the in-process path) as
// ParseEvent validates one read from the wire, and gives it a time.
// (a NaN or infinite number is out of every range).
func (e *Event) Check(now time.Time) error {
	if err := e.check(now); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = now.UTC()
	}
	return nil
}
