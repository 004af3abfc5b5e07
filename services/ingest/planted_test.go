package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/obs"
	"github.com/assay-eval/assay/pkg/stage"
)

// lockedBuffer is a log destination the handlers of several goroutines
// share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// TestPlantedPIINeverStored plants personal data in every field of an
// intake request that can carry it — the query text, each message's
// content, metadata keys, and metadata values of every JSON type, nested —
// over HTTP and NATS, and in a source name and a malformed query; then
// turns the stored queries into a continuous run's samples, and scans
// every message (subject, headers and data) of every stream of the bus —
// KV buckets and object stores included — and the service's logs for any
// planted value.
func TestPlantedPIINeverStored(t *testing.T) {
	// Each planted value, and the needles that find it however it was
	// stored (as written, without separators, as a float64 prints it).
	planted := []struct{ value, field string }{
		{"planted.query@example.com", "query text"},
		{"planted.system@example.org", "system message"},
		{"13912345670", "user message"},
		{"3782 822463 10005", "assistant message"},
		{"6222 0212 3456 789012", "last user message"},
		{"planted.key@example.com", "metadata key"},
		{"13700001111", "metadata key of digits"},
		{"+44 20 7946 0958", "metadata string"},
		{"5555555555554444", "metadata number"},
		{"4.012888888881881e15", "metadata number in exponent form"},
		{"13812345678", "number nested in an array"},
		{"203.0.113.77", "string nested in an object in an array"},
		{"110105198001010016", "ID number as a number"},
		{"6011111111111117", "card as a numeric string"},
		{"planted.session@example.com", "session id"},
		{"13600001111", "source name"},
		{"planted-bad@example.com", "malformed query"},
	}
	needles := map[string]string{}
	for _, p := range planted {
		needles[p.value] = p.field
		if digits := strings.NewReplacer(" ", "", "+", "", ".", "").Replace(p.value); strings.Trim(digits, "0123456789") == "" {
			needles[digits] = p.field
		}
		if local, _, ok := strings.Cut(p.value, "@"); ok {
			needles[local] = p.field
		}
	}
	needles["4012888888881881"] = "metadata number in exponent form"
	needles["7946"] = "metadata string"
	needles["822463"] = "assistant message"

	logs := &lockedBuffer{}
	b := bustest.New(t)
	s := New(Config{Intake: IntakeConfig{Tokens: testTokens(t)}},
		&stage.Env{Bus: b, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Registry: obs.NewRegistry()})
	tokens, err := ParseIntakeTokens("test", "plant="+testToken+"\n*="+otherToken)
	if err != nil {
		t.Fatal(err)
	}
	s.intakeCfg.Tokens = tokens

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	spec := &eval.RunSpec{Run: "planted", Baseline: "base",
		Variants:   []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}},
		Continuous: &eval.Continuous{Sources: []string{"plant"}, SampleRate: 1, Window: eval.Duration(time.Hour), Metrics: []string{"refusal"}},
		Suites:     []eval.Suite{{Name: "plant", Role: eval.RoleProduction, Metrics: []string{"refusal"}, Intake: true}},
	}
	if err := b.SubmitRun(ctx, spec); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.serveIntake(ctx, "127.0.0.1:0"); err != nil {
			t.Errorf("serveIntake: %v", err)
		}
	})
	wg.Go(func() {
		if err := s.continuous(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("continuous: %v", err)
		}
	})
	bustest.Eventually(t, 10*time.Second, func() error {
		if s.IntakeAddr() == "" {
			return errors.New("not listening yet")
		}
		return nil
	})
	url := "http://" + s.IntakeAddr() + "/v1/intake/"

	metadata := `{"planted.key@example.com":"v","13700001111":1,"phone":"+44 20 7946 0958","card":5555555555554444,
		"exp":4.012888888881881e15,"list":[1,13812345678,{"ip":"203.0.113.77"}],"id":110105198001010016,
		"card_str":"6011111111111117","session_id":"planted.session@example.com","ok":true,"none":null,"order":88213}`
	httpQuery := `{"query":"please mail planted.query@example.com","metadata":` + metadata + `}`
	natsQuery := `{"messages":[{"role":"system","content":"agent for planted.system@example.org"},
		{"role":"user","content":"call 13912345670"},{"role":"assistant","content":"is your card 3782 822463 10005?"},
		{"role":"user","content":"no, it is 6222 0212 3456 789012"}],"metadata":` + metadata + `}`

	if code, r, _ := postQuery(t, http.DefaultClient, url+"plant", testToken, strings.NewReader(httpQuery)); code != http.StatusAccepted {
		t.Fatalf("HTTP: %d %+v", code, r)
	}
	m, err := b.NC.RequestMsg(tokenMsg("plant", testToken, natsQuery), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r IntakeReply
	if err := json.Unmarshal(m.Data, &r); err != nil || r.ID == "" {
		t.Fatalf("NATS: %s %v", m.Data, err)
	}
	// Refused: a source name that is a phone number, a malformed query.
	if code, r, _ := postQuery(t, http.DefaultClient, url+"13600001111", otherToken, strings.NewReader(httpQuery)); code != http.StatusBadRequest {
		t.Errorf("PII source name: %d %+v", code, r)
	}
	if m, err := b.NC.RequestMsg(tokenMsg("13600001111", otherToken, natsQuery), 10*time.Second); err != nil || !bytes.Contains(m.Data, []byte("source")) {
		t.Errorf("PII source name over NATS: %s %v", m.Data, err)
	}
	if code, _, _ := postQuery(t, http.DefaultClient, url+"plant", testToken, strings.NewReader(`{"query":"mail planted-bad@example.com`)); code != http.StatusBadRequest {
		t.Errorf("malformed query: %d", code)
	}

	// Both stored queries become samples.
	bustest.Eventually(t, 15*time.Second, func() error {
		if n := len(bustest.Stored[eval.Sample](t, b, bus.StreamSamples, bus.SamplesSubject("planted", "plant"))); n != 2 {
			return fmt.Errorf("%d samples", n)
		}
		return nil
	})
	cancel()
	wg.Wait()

	scan := func(where string, data []byte) {
		for needle, field := range needles {
			if bytes.Contains(data, []byte(needle)) {
				t.Errorf("%s holds %q, planted in the %s", where, needle, field)
			}
		}
	}
	scanned := bustest.Scan(t, b, scan)
	scan("the logs", logs.Bytes())
	if scanned < 5 {
		t.Fatalf("scanned %d messages", scanned)
	}
	// The stored queries kept what is not personal data.
	for _, q := range stored(t, b, "plant") {
		raw, _ := json.Marshal(q)
		for _, keep := range []string{`"order":88213`, `"ok":true`, `"card":"[CARD]"`, `"[EMAIL]":"v"`} {
			if !bytes.Contains(raw, []byte(keep)) {
				t.Errorf("stored query lost %s: %s", keep, raw)
			}
		}
	}
}
