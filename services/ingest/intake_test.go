package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
	"github.com/nats-io/nats.go"
)

func newIntake(t *testing.T) (*Service, *bus.Bus) {
	t.Helper()
	return newIntakeWith(t, IntakeConfig{Tokens: testTokens(t)})
}

// testToken is the token of source "chat" in testTokens, and
// otherToken that of "other".
const testToken, otherToken = "chat-token-0123456789", "other-token-0123456789"

func testTokens(t testing.TB) IntakeTokens {
	t.Helper()
	tokens, err := ParseIntakeTokens("test", "chat="+testToken+"\nother="+otherToken)
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

func newIntakeWith(t testing.TB, cfg IntakeConfig) (*Service, *bus.Bus) {
	t.Helper()
	b := bustest.New(t)
	return New(Config{Intake: cfg}, &stage.Env{Bus: b, Logger: slog.New(slog.DiscardHandler), Registry: obs.NewRegistry()}), b
}

// tokenMsg is an intake request on NATS with token in its header.
func tokenMsg(source, token, body string) *nats.Msg {
	m := nats.NewMsg(bus.IntakeSubject(source))
	m.Data = []byte(body)
	if token != "" {
		m.Header.Set(TokenHeader, token)
	}
	return m
}

// stored reads every query stored for source.
func stored(t *testing.T, b *bus.Bus, source string) []eval.IntakeQuery {
	return bustest.Stored[eval.IntakeQuery](t, b, bus.StreamIntake, bus.QueriesSubject(source))
}

func TestAcceptRefusesBadQueries(t *testing.T) {
	s, b := newIntake(t)
	for _, tc := range []struct {
		name, source, body, want string
	}{
		{"bad source", "a.b", `{"query":"hi"}`, `source "a.b" is not a valid name`},
		{"not JSON", "chat", `{"query": "my email is x@example.com`, "not valid JSON (at byte"},
		{"not an object", "chat", `["hi"]`, "must be a JSON object"},
		{"wrong type", "chat", `{"query": 42}`, "must be a JSON object"},
		{"empty", "chat", `{}`, "query (text) or messages (chat) is required"},
		{"blank", "chat", `{"query":" \n "}`, "query is blank"},
		{"both", "chat", `{"query":"a","messages":[{"role":"user","content":"b"}]}`, "not both"},
		{"bad role", "chat", `{"messages":[{"role":"tool","content":"b"}]}`, `messages[0].role`},
		{"ends with the assistant", "chat", `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`, "must end with a non-empty user message"},
		{"too large", "chat", `{"query":"` + strings.Repeat("x", maxQuery) + `"}`, "larger than"},
		{"from the future", "chat", `{"query":"hi","timestamp":"2099-01-01T00:00:00Z"}`, "timestamp 2099-01-01T00:00:00Z is in the future"},
		{"bad timestamp", "chat", `{"query":"hi","timestamp":"yesterday"}`, "RFC 3339"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.Accept(t.Context(), tc.source, []byte(tc.body))
			var qe *QueryError
			if !errors.As(err, &qe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Accept = %q, %v; want a QueryError with %q", id, err, tc.want)
			}
			// The error must not echo what it could not parse: it may
			// be personal data.
			if strings.Contains(err.Error(), "example.com") {
				t.Errorf("error %q quotes the query", err)
			}
		})
	}
	if got := stored(t, b, "chat"); len(got) != 0 {
		t.Errorf("%d refused queries were stored", len(got))
	}
}

func TestAcceptRedactsBeforeStoring(t *testing.T) {
	s, b := newIntake(t)
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	body := fmt.Sprintf(`{"messages":[{"role":"system","content":"agent for bob@example.com"},{"role":"user","content":"call me on +44 20 7946 0958 about order 88213"}],
		"timestamp":%q,"metadata":{"user":"bob@example.com","tags":["vip","10.1.2.3"],"n":3,"carol@example.com":"a","dave@example.com":"b"}}`, at.Format(time.RFC3339))
	id, err := s.Accept(t.Context(), "chat", []byte(body))
	if err != nil || id == "" {
		t.Fatalf("Accept = %q, %v", id, err)
	}
	// A query without a timestamp is stamped with the time it arrived.
	before := time.Now()
	if _, err := s.Accept(t.Context(), "chat", []byte(`{"query":"hello"}`)); err != nil {
		t.Fatal(err)
	}
	got := stored(t, b, "chat")
	if len(got) != 2 {
		t.Fatalf("%d queries stored, want 2", len(got))
	}
	raw, _ := json.Marshal(got[0])
	if m := got[0].Metadata; m["[EMAIL]"] != "a" || m["[EMAIL]#2"] != "b" {
		t.Errorf("metadata keys: %v", m)
	}
	for _, leak := range []string{"bob@example.com", "7946", "10.1.2.3", "carol", "dave"} {
		if bytes.Contains(raw, []byte(leak)) {
			t.Errorf("stored query has %q: %s", leak, raw)
		}
	}
	for _, keep := range []string{"order 88213", `"n":3`, `"vip"`} {
		if !bytes.Contains(raw, []byte(keep)) {
			t.Errorf("stored query lost %q: %s", keep, raw)
		}
	}
	if !got[0].Timestamp.Equal(at) || got[0].Timestamp.Location() != time.UTC {
		t.Errorf("timestamp %v, want %v in UTC", got[0].Timestamp, at)
	}
	if ts := got[1].Timestamp; ts.Before(before.Add(-time.Second)) || ts.After(time.Now()) {
		t.Errorf("default timestamp %v is not the arrival time", ts)
	}
	if c := got[1].Messages; len(c) != 1 || c[0].Role != "user" || c[0].Content != "hello" {
		t.Errorf("a text query is stored as %+v", c)
	}
}

func TestIntakeOverHTTPAndNATS(t *testing.T) {
	s, b := newIntake(t)
	srv := httptest.NewServer(s.IntakeHandler())
	defer srv.Close()
	post := func(source, body string) (int, IntakeReply) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/intake/"+source, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r IntakeReply
		data, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("reply %q: %v", data, err)
		}
		return resp.StatusCode, r
	}
	if code, r := post("chat", `{"query":"where is my parcel?"}`); code != http.StatusAccepted || r.ID == "" || r.Error != "" {
		t.Errorf("good query: %d %+v", code, r)
	}
	if code, r := post("chat", `{"query":`); code != http.StatusBadRequest || r.ID != "" || !strings.Contains(r.Error, "not valid JSON") {
		t.Errorf("bad query: %d %+v", code, r)
	}
	if code, _ := post("bad%20source", `{"query":"x"}`); code != http.StatusUnauthorized {
		t.Errorf("bad source: %d", code)
	}

	// A good query that cannot be stored is the server's fault: 503, and
	// the client is told to send it again.
	info, err := b.Stream(bus.StreamIntake).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.JS.DeleteStream(t.Context(), bus.StreamIntake); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/intake/chat", strings.NewReader(`{"query":"still there?"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r IntakeReply
	_ = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !r.Retry || r.Error == "" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("storage down: %d %+v", resp.StatusCode, r)
	}
	if _, err := b.JS.CreateStream(t.Context(), info.Config); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.serveIntake(ctx, "") }()
	request := func(body string) IntakeReply {
		var r IntakeReply
		bustest.Eventually(t, 5*time.Second, func() error {
			m, err := b.NC.RequestMsg(tokenMsg("chat", testToken, body), time.Second)
			if err != nil {
				return err
			}
			return json.Unmarshal(m.Data, &r)
		})
		return r
	}
	if r := request(`{"query":"is the shop open on Sunday?"}`); r.ID == "" || r.Error != "" {
		t.Errorf("NATS good query: %+v", r)
	}
	if r := request(`{"messages":[]}`); r.Error == "" || r.Retry {
		t.Errorf("NATS bad query: %+v", r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The stream was made again: only the NATS query is in it.
	if got := stored(t, b, "chat"); len(got) != 1 {
		t.Errorf("%d queries stored, want 1", len(got))
	}
}

func TestSampled(t *testing.T) {
	const n = 4000
	msgs := func(i int) []eval.Message {
		return []eval.Message{{Role: "user", Content: fmt.Sprintf("question number %d about the refund policy", i)}}
	}
	for _, rate := range []float64{0.05, 0.3, 0.5} {
		in := 0
		for i := range n {
			if Sampled(msgs(i), rate) {
				in++
			}
		}
		// Three standard deviations of a binomial share.
		if got, tol := float64(in)/n, 3*math.Sqrt(rate*(1-rate)/n); math.Abs(got-rate) > tol {
			t.Errorf("rate %v sampled %.4f of queries", rate, got)
		}
	}
	// The same query, however written, is always in or always out; a
	// higher rate keeps what a lower one kept.
	a := []eval.Message{{Role: "user", Content: "Where is   my ORDER?"}}
	b := []eval.Message{{Role: "user", Content: "where is my order?"}}
	for _, rate := range []float64{0.1, 0.5, 0.9} {
		if Sampled(a, rate) != Sampled(b, rate) {
			t.Errorf("rate %v: the same query normalised differently is sampled differently", rate)
		}
	}
	for i := range 200 {
		if Sampled(msgs(i), 0.2) && !Sampled(msgs(i), 0.6) {
			t.Fatalf("query %d is in at 0.2 and out at 0.6", i)
		}
	}
	if Sampled(a, 0) || !Sampled(a, 1) {
		t.Error("rate 0 must keep nothing and rate 1 everything")
	}
}

// serveOnNATS starts an ingest service serving its intake and live
// experiments over NATS only, until the benchmark ends.
func serveOnNATS(tb testing.TB, cfg IntakeConfig) (*Service, *bus.Bus) {
	tb.Helper()
	s, b := newIntakeWith(tb, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serveIntake(ctx, "") }()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return s, b
}

// BenchmarkIntake measures the NATS intake end to end: requests from many
// producers at once, each redacted, stored in JetStream and answered.
func BenchmarkIntake(b *testing.B) {
	_, bb := serveOnNATS(b, IntakeConfig{Insecure: true, Rate: -1})
	bustest.Eventually(b, 5*time.Second, func() error {
		_, err := bb.NC.Request(bus.IntakeSubject("bench"), []byte(`{"query":"warm-up"}`), time.Second)
		return err
	})
	var seq atomic.Int64
	b.SetParallelism(8) // 16 producers on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			body := fmt.Sprintf(`{"query":"Order %d was charged twice to card 4111 1111 1111 1111; mail me at user%d@example.com or call 138 1234 5678. %s"}`, n, n, strings.Repeat("Please refund the duplicate charge. ", 8))
			m, err := bb.NC.Request(bus.IntakeSubject("bench"), []byte(body), 10*time.Second)
			if err != nil {
				b.Error(err)
				return
			}
			if bytes.Contains(m.Data, []byte(`"error"`)) {
				b.Errorf("intake refused: %s", m.Data)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
}

// TestContinuousRedactsWhatWasStoredDirectly stores a query on
// assay.queries.<source> without the intake, as a producer allowed to
// publish there could: the sample made of it is redacted all the same.
func TestContinuousRedactsWhatWasStoredDirectly(t *testing.T) {
	s, b := newIntake(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	spec := &eval.RunSpec{Run: "direct", Baseline: "base",
		Variants:   []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}},
		Continuous: &eval.Continuous{Sources: []string{"raw"}, SampleRate: 1, Window: eval.Duration(time.Hour), Metrics: []string{"refusal"}},
		Suites:     []eval.Suite{{Name: "raw", Role: eval.RoleProduction, Metrics: []string{"refusal"}, Intake: true}},
	}
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.continuous(ctx) }()
	raw := eval.IntakeQuery{Timestamp: time.Now().UTC(), Messages: []eval.Message{{Role: "user", Content: "refund card 4111 1111 1111 1111 to erin@example.com"}},
		Metadata: map[string]any{"phone": "+1 415 555 0132"}}
	if _, err := b.Publish(ctx, bus.QueriesSubject("raw"), "raw-1", raw); err != nil {
		t.Fatal(err)
	}
	var sample eval.Sample
	bustest.Eventually(t, 10*time.Second, func() error {
		m, err := b.Stream(bus.StreamSamples).GetLastMsgForSubject(ctx, bus.SamplesSubject("direct", "raw"))
		if err != nil {
			return err
		}
		return json.Unmarshal(m.Data, &sample)
	})
	data, _ := json.Marshal(sample)
	for _, leak := range []string{"4111", "erin@", "555 0132"} {
		if bytes.Contains(data, []byte(leak)) {
			t.Errorf("the sample has %q: %s", leak, data)
		}
	}
	if !strings.Contains(sample.Messages[0].Content, "[CARD]") || sample.Meta["phone"] != "[PHONE]" {
		t.Errorf("sample %s", data)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// FuzzParseQuery checks the intake on anything a producer may send: a
// refusal is a QueryError that does not quote the query; an accepted query
// is a conversation ending with a user turn, redacted (redacting it again
// changes nothing), not from the future, and stores as JSON.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		`{"query":"card 4111 1111 1111 1111, mail bob@example.com"}`,
		`{"messages":[{"role":"user","content":"call 138 1234 5678"}],"timestamp":"2026-11-27T10:04:00Z","metadata":{"carol@example.com":["10.1.2.3",{"x":"+44 20 7946 0958"}],"n":1}}`,
		`{"query":"hi","timestamp":"2099-01-01T00:00:00Z"}`,
		`{"query":"a","messages":[]}`, `{"query":`, `[]`, `{"metadata":{"a":null}}`,
		`{"query":"x","metadata":{"card":4111111111111111,"tel":[13812345678,{"13812345678":6222021234567890128}],"p":12.5,"e":4.111111111111111e15}}`,
		`{"query":"x","metadata":{"c":"6222 0212 3456 789012","n":-1e400}}`, `{"query":"x"} {}`,
	} {
		f.Add("chat", []byte(s))
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, source string, body []byte) {
		q, id, err := ParseQuery(source, body, now)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Msg == "" {
				t.Fatalf("error %T %v is not a QueryError", err, err)
			}
			if len(body) >= 16 && strings.Contains(qe.Msg, string(body)) && !strings.Contains(source, string(body)) {
				t.Fatalf("the error quotes the query: %v", err)
			}
			return
		}
		if len(id) != 24 || len(q.Messages) == 0 || q.Messages[len(q.Messages)-1].Role != "user" {
			t.Fatalf("accepted %q as %+v (id %q)", body, q, id)
		}
		if q.Timestamp.After(now.Add(maxClockSkew)) || q.Timestamp.Location() != time.UTC {
			t.Fatalf("timestamp %v", q.Timestamp)
		}
		a, err := json.Marshal(q)
		if err != nil {
			t.Fatalf("does not store as JSON: %v", err)
		}
		b, _ := json.Marshal(redactQuery(q))
		if !bytes.Equal(a, b) {
			t.Fatalf("not fully redacted:\n%s\n%s", a, b)
		}
	})
}
