package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/services/ingest/dataset"
	"github.com/assay-eval/assay/services/ingest/pii"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tidwall/gjson"
)

// The intake takes production queries — NATS requests on
// assay.intake.<source>, or HTTP POSTs to /v1/intake/<source> — redacts
// their personal data and only then stores them, on assay.queries.<source>.
// The raw subject has no stream: what is stored is what was redacted.

// maxQuery bounds an intake request.
const maxQuery = 1 << 20

// IntakeReply answers an intake request. Retry is set when the query was
// fine but could not be stored (send it again later).
type IntakeReply struct {
	ID    string `json:"id,omitempty"`
	Error string `json:"error,omitempty"`
	Retry bool   `json:"retry,omitempty"`
}

// QueryError is what is wrong with a query; other errors of Accept are
// failures to store a good one.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

func badQuery(format string, args ...any) error { return &QueryError{fmt.Sprintf(format, args...)} }

// maxClockSkew is how far in the future a query's timestamp may be: a
// producer's clock may run a little ahead, but a query from next year would
// open a window of its own and hold the gauges there.
const maxClockSkew = 5 * time.Minute

// Accept redacts and stores one query from source, returning its id. A
// [QueryError] says what is wrong with the query (it is never stored then).
func (s *Service) Accept(ctx context.Context, source string, body []byte) (string, error) {
	q, id, err := ParseQuery(source, body, time.Now())
	if err != nil {
		return "", err
	}
	if _, err := s.bus.Publish(ctx, bus.QueriesSubject(source), bus.MsgID("intake", source, id), q); err != nil {
		return "", err
	}
	s.intake.Inc()
	return id, nil
}

// checkSource returns a [QueryError] when source may not name an intake
// source (see [eval.CheckSourceName]).
func checkSource(source string) error {
	if err := eval.CheckSourceName(source); err != nil {
		return &QueryError{err.Error()}
	}
	if strings.HasPrefix(source, eval.ABSourcePrefix) {
		return &QueryError{fmt.Sprintf("source %q: sources starting with %q are live experiments' tokens, not intake sources: name the source otherwise", source, eval.ABSourcePrefix)}
	}
	return nil
}

// ParseQuery reads an intake request from source as it is to be stored:
// checked, stamped with now when it has no timestamp, redacted, and named
// by an id of its source, time and text. Errors are [QueryError]s.
func ParseQuery(source string, body []byte, now time.Time) (eval.IntakeQuery, string, error) {
	if err := checkSource(source); err != nil {
		return eval.IntakeQuery{}, "", err
	}
	if len(body) > maxQuery {
		return eval.IntakeQuery{}, "", badQuery("query is larger than %d bytes", maxQuery)
	}
	q, err := decodeQuery(body)
	if err != nil {
		// The decoder's message may quote the body: say only where it broke.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return eval.IntakeQuery{}, "", badQuery("query is not valid JSON (at byte %d)", se.Offset)
		}
		return eval.IntakeQuery{}, "", badQuery(`query must be a JSON object: {"query": "…"} or {"messages": […]}, with optional "timestamp" (RFC 3339) and "metadata"`)
	}
	msgs, err := q.Conversation()
	if err != nil {
		return eval.IntakeQuery{}, "", &QueryError{err.Error()}
	}
	now = now.UTC()
	switch {
	case q.Timestamp.IsZero():
		q.Timestamp = now
	case q.Timestamp.After(now.Add(maxClockSkew)):
		return eval.IntakeQuery{}, "", badQuery("timestamp %s is in the future: send the time the query was asked", q.Timestamp.Format(time.RFC3339))
	}
	stored := redactQuery(eval.IntakeQuery{Timestamp: q.Timestamp.UTC(), Messages: msgs, Metadata: q.Metadata})
	sum := sha256.Sum256([]byte(source + "\x00" + strconv.FormatInt(stored.Timestamp.UnixNano(), 10) + "\x00" + dataset.Normalize(stored.Messages)))
	return stored, hex.EncodeToString(sum[:12]), nil
}

// decodeQuery decodes a query as json.Unmarshal would, but keeps the
// metadata's numbers as they were written (json.Number): a card number sent
// as a number has more digits than a float64 holds, and must be redacted
// from its digits.
func decodeQuery(data []byte) (eval.IntakeQuery, error) {
	var q eval.IntakeQuery
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&q); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return q, &json.SyntaxError{Offset: int64(len(data))}
		}
		return q, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return q, &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return q, nil
}

// redactQuery returns q with its messages and metadata redacted; redacting
// a redacted query changes nothing.
func redactQuery(q eval.IntakeQuery) eval.IntakeQuery {
	out := eval.IntakeQuery{Timestamp: q.Timestamp, Messages: make([]eval.Message, len(q.Messages)), Metadata: redactAny(q.Metadata).(map[string]any)}
	for i, m := range q.Messages {
		text, _ := pii.Redact(m.Content)
		out.Messages[i] = eval.Message{Role: m.Role, Content: text}
	}
	return out
}

// redactAny redacts every value in decoded JSON metadata, keys included: a
// string in place, a number that holds personal data (a card or mobile
// number sent as a JSON number) by the placeholder string.
func redactAny(v any) any {
	switch x := v.(type) {
	case string:
		out, _ := pii.Redact(x)
		return out
	case json.Number:
		return redactNumber(x, string(x))
	case float64:
		return redactNumber(x, strconv.FormatFloat(x, 'f', -1, 64))
	case int:
		return redactNumber(x, strconv.Itoa(x))
	case int64:
		return redactNumber(x, strconv.FormatInt(x, 10))
	case map[string]any:
		out := make(map[string]any, len(x))
		// In key order, so that two keys redacted alike are told apart
		// the same way every time.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			rk, _ := pii.Redact(k)
			key := rk
			for n := 2; ; n++ {
				if _, taken := out[key]; !taken {
					break
				}
				key = fmt.Sprintf("%s#%d", rk, n)
			}
			out[key] = redactAny(x[k])
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactAny(e)
		}
		return out
	case nil:
		return map[string]any(nil)
	}
	return v
}

// redactNumber returns v, a number written as lit, or in its place the
// redaction of its digits when they hold personal data. A number written
// with a fraction or an exponent ("4.111111111111111e15") is read for the
// integer it may be too.
func redactNumber(v any, lit string) any {
	digits := strings.TrimPrefix(lit, "-")
	if out, found := pii.Redact(digits); len(found) > 0 {
		return out
	}
	if strings.ContainsAny(digits, ".eE") {
		// Integers beyond 1e20 have more digits than any card.
		if f, err := strconv.ParseFloat(digits, 64); err == nil && f == math.Trunc(f) && f < 1e20 {
			if out, found := pii.Redact(strconv.FormatFloat(f, 'f', -1, 64)); len(found) > 0 {
				return out
			}
		}
	}
	return v
}

// Sampled reports whether a continuous run with the given rate evaluates a
// query: a hash of its normalised (redacted) text decides, so that the same
// query is always in, or always out, whenever and wherever it is asked.
func Sampled(msgs []eval.Message, rate float64) bool {
	sum := sha256.Sum256([]byte("sample\x00" + dataset.Normalize(msgs)))
	u := float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
	return u < rate
}

// continuous keeps a consumer of its sources' queries for every continuous
// run.
func (s *Service) continuous(ctx context.Context) error {
	rc := s.bus.NewRunConsumers(bus.StreamIntake, bus.StageIngest, s.logger, func(runs *bus.Runs, spec *eval.RunSpec) []bus.Member {
		ct := spec.Continuous
		if ct == nil {
			return nil
		}
		cfg := jetstream.ConsumerConfig{
			Durable:       bus.IntakeConsumer(spec.Run),
			DeliverPolicy: jetstream.DeliverAllPolicy,
			MaxAckPending: 256,
			Metadata:      map[string]string{"stage": bus.StageIngest, "run": spec.Run},
		}
		for _, src := range ct.Sources {
			cfg.FilterSubjects = append(cfg.FilterSubjects, bus.QueriesSubject(src))
		}
		if ct.Since != nil {
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, ct.Since
		}
		return []bus.Member{{
			Config: cfg,
			Handler: func(ctx context.Context, m *bus.Msg) error {
				return s.handleQuery(ctx, runs, spec.Run, m)
			},
			Options: bus.ConsumeOptions{Stage: bus.StageIngest, Workers: 16, Logger: s.logger, Observer: s.metrics,
				Keys: func(*bus.Msg) bus.Keys { return bus.Keys{Run: spec.Run} }},
			Log: []any{"run", spec.Run, "sources", strings.Join(ct.Sources, ","), "sample_rate", ct.SampleRate, "window", ct.Window.D()},
		}}
	})
	return rc.Run(ctx)
}

// handleQuery turns a stored query into a sample of a continuous run: when
// it is sampled and not a repeat within its window.
func (s *Service) handleQuery(ctx context.Context, runs *bus.Runs, run string, m *bus.Msg) error {
	source := bus.SubjectToken(m.Subject(), 2)
	q, err := decodeQuery(m.Payload)
	if err != nil {
		return bus.Poisonf(bus.Keys{Run: run}, "stored query does not decode: %v", err)
	}
	spec, err := runs.Spec(ctx, run)
	if err != nil {
		return bus.PoisonIfNotFound(err, bus.Keys{Run: run})
	}
	ct := spec.Continuous
	if ct == nil || len(q.Messages) == 0 {
		return nil
	}
	// The intake redacted the query, but anyone allowed to publish on
	// assay.queries.> could have stored one directly: redact again (it
	// changes nothing in redacted text) before it goes any further.
	q = redactQuery(q)
	if !Sampled(q.Messages, ct.SampleRate) {
		s.queries.WithLabelValues(run, "sampled_out").Inc()
		return nil
	}
	window := ct.WindowOf(q.Timestamp)
	text := dataset.Normalize(q.Messages)
	sum := sha256.Sum256([]byte(strconv.FormatInt(window.Unix(), 10) + "\x00" + text))
	id := "q-" + hex.EncodeToString(sum[:8])
	// The first message of a text in a window claims it; a redelivered
	// message (its handler died before acking) finds its own claim and
	// publishes again, which the sample's message id makes harmless.
	key := run + "." + strconv.FormatInt(window.Unix(), 10) + "." + hex.EncodeToString(sum[:16])
	claim := []byte(strconv.FormatUint(m.Seq(), 10))
	if err := s.bus.ClaimSeen(ctx, key, claim, seenFor(window, ct.Window.D(), time.Now())); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("recording query: %w", err)
		}
		e, err := s.bus.Seen.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("reading query record: %w", err)
		}
		if !bytes.Equal(e.Value(), claim) {
			s.queries.WithLabelValues(run, "duplicate").Inc()
			return nil
		}
	}
	var path string
	if su, ok := spec.Suite(source); ok {
		path = su.Cluster
	}
	sample := eval.Sample{V: eval.Version, Run: run, ID: id, Suite: source, Role: eval.RoleProduction,
		Fingerprint: spec.Fingerprint(), Messages: q.Messages, Tags: []string{"production"},
		Source: "intake:" + source, At: q.Timestamp.UTC(), Meta: q.Metadata, Cluster: QueryCluster(m.Payload, path)}
	if _, err := s.bus.Publish(ctx, bus.SamplesSubject(run, source), bus.SampleMsgID(run, source, id), sample); err != nil {
		return err
	}
	s.queries.WithLabelValues(run, "sampled").Inc()
	return nil
}

// seenFor is how long the claim of a query of the window starting at start
// is remembered, from now: until the window ends, and then one more
// window, at least an hour, for the queries of the window that are taken
// late (a producer's retry, a backlog the consumer is catching up on).
// A repeat taken later still is the same sample (its id is its window and
// text), which the report counts once; remembering it only saves its
// evaluation. So the bucket holds about (window + margin) × the sampled
// rate of keys, not 8 days of them.
func seenFor(start time.Time, window time.Duration, now time.Time) time.Duration {
	return max(start.Add(window).Sub(now), 0) + max(window, time.Hour)
}

// sessionKeys are the metadata keys a production query's session is read
// from, the first with a string or number value winning.
var sessionKeys = []string{"session_id", "session", "conversation_id"}

// QueryCluster is the cluster of a stored query (its JSON): the value at
// path in its metadata when path is set, else its session (the metadata's
// "session_id", "session" or "conversation_id"), so that the turns of one
// conversation count as one cluster in the report's intervals. It is ""
// — the query is a cluster of its own — when there is no usable value (see
// [dataset.ClusterOf]), and when the value holds personal data: redacted,
// every session given by e-mail address would be the one cluster
// "[EMAIL]", and digested, the address could be recovered by guessing.
func QueryCluster(query []byte, path string) string {
	meta := gjson.GetBytes(query, "metadata")
	if !meta.IsObject() {
		return ""
	}
	var v gjson.Result
	if path != "" {
		v = meta.Get(path)
	} else {
		for _, k := range sessionKeys {
			if v = meta.Get(k); (v.Type == gjson.String && v.Str != "") || v.Type == gjson.Number {
				break
			}
		}
	}
	if v.Type == gjson.String {
		// A stored query was redacted: its personal data is a placeholder.
		if _, found := pii.Redact(v.Str); len(found) > 0 || pii.HasPlaceholder(v.Str) {
			return ""
		}
	}
	c, err := dataset.ClusterOf(v)
	if err != nil {
		return ""
	}
	return c
}
