package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/nats-io/nats.go"
)

const abToken = "ab-token-0123456789abcdef"

func abSpec(run string) *eval.RunSpec {
	return &eval.RunSpec{Run: run, Baseline: "base",
		Variants:   []eval.Variant{{Name: "base", BaseURL: "http://x/v1", Model: "m"}, {Name: "ft", BaseURL: "http://x/v1", Model: "m2"}},
		Continuous: &eval.Continuous{Sources: []string{"chat"}, SampleRate: 0.1},
		AB: []eval.Experiment{{Name: "support", Arms: []eval.Arm{{Name: "control", Variant: "base", Weight: 1}, {Name: "treatment", Variant: "ft", Weight: 1}},
			Primary: eval.ABMetric{Metric: "success"}, MinUnits: 10}}}
}

// startAB serves the intake with a token for experiment "support" and a
// run declaring it, and returns the service, the bus and the base URL.
func startAB(t *testing.T) (*Service, *bus.Bus, string) {
	t.Helper()
	tokens, err := ParseIntakeTokens("test", "chat="+testToken+"\n"+ABSource("support")+"="+abToken)
	if err != nil {
		t.Fatal(err)
	}
	s, b, url := startIntake(t, IntakeConfig{Tokens: tokens})
	if err := b.SubmitRun(t.Context(), abSpec("live")); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(url, "/v1/intake/")
	// The experiment is known once the runs are read.
	bustest.Eventually(t, 10*time.Second, func() error {
		if _, _, err := s.experiment("support"); err != nil {
			return err
		}
		return nil
	})
	return s, b, base
}

func post(t *testing.T, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

func abStored(t *testing.T, b *bus.Bus) []ab.Event {
	return bustest.Stored[ab.Event](t, b, bus.StreamAB, bus.ABStoredSubject("live", "support"))
}

func TestABAssignOverHTTPAndNATS(t *testing.T) {
	_, b, base := startAB(t)
	assign := base + "/v1/ab/support/assign"
	for _, c := range []struct {
		token, body string
		status      int
		want        string
	}{
		{"", `{"unit": "u1"}`, http.StatusUnauthorized, "missing or wrong intake token"},
		{testToken, `{"unit": "u1"}`, http.StatusUnauthorized, `a token of source "ab-support"`},
		{abToken, `{"user": "u1"}`, http.StatusBadRequest, `the body must be {"unit"`},
		{abToken, `{"unit": ""}`, http.StatusBadRequest, "the unit is empty"},
	} {
		status, out := post(t, assign, c.token, c.body)
		if status != c.status || !strings.Contains(fmt.Sprint(out["error"]), c.want) {
			t.Errorf("%s with token %q: %d %v, want %d and %q", c.body, c.token, status, out, c.status, c.want)
		}
	}
	if status, out := post(t, base+"/v1/ab/nope/assign", abToken, `{"unit": "u1"}`); status != http.StatusUnauthorized {
		t.Errorf("another experiment with this experiment's token: %d %v", status, out)
	}
	arms := map[string]string{}
	for i := range 40 {
		unit := fmt.Sprintf("user%d@example.com", i)
		status, out := post(t, assign, abToken, fmt.Sprintf(`{"unit": %q}`, unit))
		if status != http.StatusOK || out["new"] != true || (out["arm"] != "control" && out["arm"] != "treatment") {
			t.Fatalf("assign %s: %d %v", unit, status, out)
		}
		arms[unit] = out["arm"].(string)
		// Asked again: the same arm, not a new exposure.
		if _, again := post(t, assign, abToken, fmt.Sprintf(`{"unit": %q}`, unit)); again["arm"] != out["arm"] || again["new"] == true {
			t.Fatalf("assign %s again: %v after %v", unit, again, out)
		}
	}
	// Over NATS, the same units get the same arms.
	for unit, arm := range arms {
		m := nats.NewMsg(bus.ABAssignSubject("support"))
		m.Data = fmt.Appendf(nil, `{"unit": %q}`, unit)
		m.Header.Set(TokenHeader, abToken)
		resp, err := b.NC.RequestMsg(m, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var r ABAssignReply
		if err := json.Unmarshal(resp.Data, &r); err != nil || r.Arm != arm || r.New {
			t.Fatalf("over NATS %s: %s, want %s", unit, resp.Data, arm)
		}
	}
	// One exposure stored per unit, under its hash.
	events := abStored(t, b)
	if len(events) != len(arms) {
		t.Fatalf("%d exposures stored for %d units", len(events), len(arms))
	}
	for _, e := range events {
		if e.Kind != ab.KindExposure || strings.Contains(e.Unit, "example.com") || len(e.Unit) != 32 {
			t.Errorf("stored exposure %+v", e)
		}
	}
}

func TestABEventsAreCheckedRedactedAndCountedOnce(t *testing.T) {
	_, b, base := startAB(t)
	events := base + "/v1/ab/support/events"
	turn := `{"id": "t1", "kind": "turn", "unit": "alice@example.com", "conversation": "c1", "query": "call me at +1 415 555 0100", "answer": "Sure.", "latency_ms": 800, "completion_tokens": 4}`
	status, out := post(t, events, abToken, turn)
	if status != http.StatusAccepted || out["accepted"] != 1.0 {
		t.Fatalf("one turn: %d %v", status, out)
	}
	// The same event again, in a batch with a good and a bad one.
	batch := `[` + turn + `, {"id": "o1", "kind": "outcome", "unit": "alice@example.com", "conversation": "c1", "success": true},
		{"id": "o2", "kind": "outcome", "unit": "alice@example.com", "conversation": "c1", "sucess": true},
		{"id": "o3", "kind": "outcome", "unit": "alice@example.com", "conversation": "c1", "arm": "other", "ticket": true}]`
	status, out = post(t, events, abToken, batch)
	if status != http.StatusMultiStatus || out["accepted"] != 2.0 || out["duplicates"] != 1.0 {
		t.Fatalf("a mixed batch: %d %v", status, out)
	}
	errs := fmt.Sprint(out["errors"])
	if !strings.Contains(errs, `event 3: bad event: unknown field "sucess"`) || !strings.Contains(errs, `event 4: bad event: event o3: arm "other" is not an arm of experiment "support"`) {
		t.Errorf("errors: %s", errs)
	}
	if status, out := post(t, events, abToken, `{"id": "x", "kind": "click", "unit": "u"}`); status != http.StatusBadRequest {
		t.Errorf("only a bad event: %d %v", status, out)
	}
	stored := abStored(t, b)
	if len(stored) != 2 {
		t.Fatalf("%d events stored, want 2 (the turn once, the outcome)", len(stored))
	}
	data, _ := json.Marshal(stored)
	for _, leak := range []string{"alice", "example.com", "555 0100", `"t1"`, `"c1"`} {
		if strings.Contains(string(data), leak) {
			t.Errorf("stored events hold %q: %s", leak, data)
		}
	}
	if stored[0].Answer != "Sure." || stored[0].Unit != bus.ABHash("live", abSpec("live").AB[0], "alice@example.com") || stored[0].Conversation != stored[1].Conversation {
		t.Errorf("stored turn %+v", stored[0])
	}
	// Over NATS.
	m := nats.NewMsg(bus.ABEventsSubject("support"))
	m.Data = []byte(`{"id": "o9", "kind": "outcome", "unit": "bob", "conversation": "c2", "ticket": true}`)
	m.Header.Set(TokenHeader, abToken)
	resp, err := b.NC.RequestMsg(m, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r ABEventsReply
	if err := json.Unmarshal(resp.Data, &r); err != nil || r.Accepted != 1 || r.Error != "" {
		t.Fatalf("over NATS: %s", resp.Data)
	}
	m.Header.Set(TokenHeader, "wrong")
	resp, _ = b.NC.RequestMsg(m, 5*time.Second)
	if !strings.Contains(string(resp.Data), "missing or wrong intake token") {
		t.Errorf("a wrong token over NATS: %s", resp.Data)
	}
}

// exposuresOf are the stored exposures of unit in experiment "support"
// of run "live".
func exposuresOf(t *testing.T, b *bus.Bus, unit string) []ab.Event {
	t.Helper()
	hashed := bus.ABHash("live", abSpec("live").AB[0], unit)
	var out []ab.Event
	for _, e := range abStored(t, b) {
		if e.Kind == ab.KindExposure && e.Unit == hashed {
			out = append(out, e)
		}
	}
	return out
}

func otherArm(arm string) string {
	if arm == "control" {
		return "treatment"
	}
	return "control"
}

// requestAB sends body to subject over NATS with the experiment's token
// and decodes the reply.
func requestAB[T any](t *testing.T, b *bus.Bus, subject, body string) T {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = []byte(body)
	m.Header.Set(TokenHeader, abToken)
	resp, err := b.NC.RequestMsg(m, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r T
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		t.Fatalf("%s: %v: %s", subject, err, resp.Data)
	}
	return r
}

// TestABManualExposure: a unit assigned with "log": false is not counted
// until the product says it saw its arm — by an exposure event, stored
// once with the event's time and the arm assay gave, or by assign without
// it; an exposure naming another arm is refused with what to do; one of
// a unit never assigned assigns it. Over HTTP and NATS.
func TestABManualExposure(t *testing.T) {
	_, b, base := startAB(t)
	assign, events := base+"/v1/ab/support/assign", base+"/v1/ab/support/events"
	epoch := abSpec("live").AB[0].Epoch()
	assigned := time.Now().UTC()
	status, out := post(t, assign, abToken, `{"unit": "alice@example.com", "log": false}`)
	assignedBy := time.Now().UTC()
	if status != http.StatusOK || out["new"] != true {
		t.Fatalf("assign with log false: %d %v", status, out)
	}
	arm := out["arm"].(string)
	if _, again := post(t, assign, abToken, `{"unit": "alice@example.com", "log": false}`); again["arm"] != arm || again["new"] == true {
		t.Fatalf("assign with log false again: %v after %v", again, out)
	}
	if got := exposuresOf(t, b, "alice@example.com"); len(got) != 0 {
		t.Fatalf("assigned with log false: exposures stored %+v", got)
	}

	// The product says the user saw the model an hour before it was
	// assigned (its clock is off): the exposure is dated no earlier than
	// the assignment.
	seen := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	status, out = post(t, events, abToken, fmt.Sprintf(`{"id": "x1", "kind": "exposure", "unit": "alice@example.com", "at": %q}`, seen.Format(time.RFC3339)))
	if status != http.StatusAccepted || out["accepted"] != 1.0 || out["duplicates"] != nil {
		t.Fatalf("an exposure event: %d %v", status, out)
	}
	got := exposuresOf(t, b, "alice@example.com")
	if len(got) != 1 || got[0].At.Before(assigned) || got[0].At.After(assignedBy) || got[0].Arm != arm || got[0].Epoch != epoch || got[0].ID != "exposure" {
		t.Fatalf("stored exposures %+v, want one in %s, dated when it was assigned (%s to %s)", got, arm, assigned, assignedBy)
	}
	// Sent again (another id, the arm named), and assigned again: one.
	status, out = post(t, events, abToken, fmt.Sprintf(`{"id": "x2", "kind": "exposure", "unit": "alice@example.com", "arm": %q}`, arm))
	if status != http.StatusAccepted || out["accepted"] != 1.0 || out["duplicates"] != 1.0 {
		t.Errorf("the exposure again: %d %v", status, out)
	}
	if _, again := post(t, assign, abToken, `{"unit": "alice@example.com"}`); again["arm"] != arm || again["new"] == true {
		t.Errorf("assign after the exposure: %v", again)
	}
	if got := exposuresOf(t, b, "alice@example.com"); len(got) != 1 {
		t.Errorf("%d exposures stored after the exposure was sent again, want 1", len(got))
	}

	// Another arm than the unit's: refused, the batch's other events
	// stored.
	wrong := fmt.Sprintf(`{"id": "x3", "kind": "exposure", "unit": "alice@example.com", "arm": %q}`, otherArm(arm))
	want := fmt.Sprintf(`event x3: the unit's arm is %q, not %q: assay assigns arms: call assign (POST /v1/ab/support/assign) and serve the arm it returns`, arm, otherArm(arm))
	status, out = post(t, events, abToken, "["+wrong+`, {"id": "o1", "kind": "outcome", "unit": "alice@example.com", "conversation": "c1", "success": true}]`)
	if status != http.StatusMultiStatus || out["accepted"] != 1.0 || !strings.Contains(fmt.Sprint(out["errors"]), "event 1: bad event: "+want) {
		t.Errorf("an exposure to another arm in a batch: %d %v", status, out)
	}
	if status, out := post(t, events, abToken, wrong); status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["errors"]), want) {
		t.Errorf("an exposure to another arm alone: %d %v", status, out)
	}

	// Assign without log false stores what log false held back.
	if status, out := post(t, assign, abToken, `{"unit": "bob", "log": false}`); status != http.StatusOK || len(exposuresOf(t, b, "bob")) != 0 {
		t.Fatalf("assign bob with log false: %d %v", status, out)
	}
	status, out = post(t, assign, abToken, `{"unit": "bob", "log": true}`)
	if got := exposuresOf(t, b, "bob"); status != http.StatusOK || out["new"] == true || len(got) != 1 || got[0].Arm != out["arm"] {
		t.Errorf("assign bob: %d %v, exposures %+v", status, out, got)
	}

	// A unit never assigned, exposed twice in one batch: assigned by the
	// first, stored once, at its time.
	status, out = post(t, events, abToken, fmt.Sprintf(`[{"id": "x1", "kind": "exposure", "unit": "carol", "at": %q}, {"id": "x2", "kind": "exposure", "unit": "carol"}]`, seen.Format(time.RFC3339)))
	if status != http.StatusAccepted || out["accepted"] != 2.0 || out["duplicates"] != 1.0 {
		t.Errorf("a new unit's exposure twice: %d %v", status, out)
	}
	got = exposuresOf(t, b, "carol")
	if len(got) != 1 || !got[0].At.Equal(seen) || got[0].Epoch != epoch {
		t.Fatalf("carol's exposures %+v", got)
	}
	if _, out := post(t, assign, abToken, `{"unit": "carol"}`); out["new"] == true || out["arm"] != got[0].Arm {
		t.Errorf("assign after the exposure assigned carol: %v, exposed to %s", out, got[0].Arm)
	}
	// A new unit's exposure dated three days back is dated two (it would
	// date the experiment's start); one dated ahead (within the clock skew
	// allowed) is dated now.
	before := time.Now().UTC()
	status, out = post(t, events, abToken, fmt.Sprintf(`[{"id": "x1", "kind": "exposure", "unit": "erin", "at": %q}, {"id": "x1", "kind": "exposure", "unit": "frank", "at": %q}]`,
		before.Add(-72*time.Hour).Format(time.RFC3339), before.Add(3*time.Minute).Format(time.RFC3339)))
	after := time.Now().UTC()
	if status != http.StatusAccepted || out["accepted"] != 2.0 {
		t.Fatalf("exposures dated back and ahead: %d %v", status, out)
	}
	if got := exposuresOf(t, b, "erin"); len(got) != 1 || got[0].At.Before(before.Add(-maxExposureAge)) || got[0].At.After(after.Add(-maxExposureAge)) {
		t.Errorf("an exposure dated three days back stored as %+v, want %s ago", got, maxExposureAge)
	}
	if got := exposuresOf(t, b, "frank"); len(got) != 1 || got[0].At.Before(before) || got[0].At.After(after) {
		t.Errorf("an exposure dated ahead stored as %+v, want the time it arrived", got)
	}

	// Over NATS.
	if r := requestAB[ABAssignReply](t, b, bus.ABAssignSubject("support"), `{"unit": "dave", "log": false}`); r.Arm == "" || !r.New || len(exposuresOf(t, b, "dave")) != 0 {
		t.Fatalf("assign dave with log false over NATS: %+v", r)
	}
	for i, dup := range []int{0, 1} {
		r := requestAB[ABEventsReply](t, b, bus.ABEventsSubject("support"), `{"id": "x", "kind": "exposure", "unit": "dave"}`)
		if r.Accepted != 1 || r.Duplicates != dup || r.Error != "" {
			t.Errorf("dave's exposure over NATS, time %d: %+v", i+1, r)
		}
	}
	got = exposuresOf(t, b, "dave")
	if len(got) != 1 {
		t.Fatalf("dave's exposures %+v", got)
	}
	r := requestAB[ABEventsReply](t, b, bus.ABEventsSubject("support"), fmt.Sprintf(`{"id": "x", "kind": "exposure", "unit": "dave", "arm": %q}`, otherArm(got[0].Arm)))
	if r.Accepted != 0 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "assay assigns arms") {
		t.Errorf("dave's exposure to another arm over NATS: %+v", r)
	}
}

// TestABManualExposureOfAStoppedArm: a unit assigned with log false to an
// arm stopped since is served the control: its exposure may name either,
// and counts it in the arm it was given.
func TestABManualExposureOfAStoppedArm(t *testing.T) {
	tokens, err := ParseIntakeTokens("test", ABSource("support")+"="+abToken)
	if err != nil {
		t.Fatal(err)
	}
	s, b, url := startIntake(t, IntakeConfig{Tokens: tokens})
	base := strings.TrimSuffix(url, "/v1/intake/")
	// Three arms: one may stop and two still compare.
	spec := abSpec("live")
	spec.AB[0].Arms = append(spec.AB[0].Arms, eval.Arm{Name: "treatment2", Variant: "ft", Weight: 1})
	if err := b.SubmitRun(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 10*time.Second, func() error { _, _, err := s.experiment("support"); return err })
	unit := ""
	for i := 0; unit == ""; i++ {
		u := fmt.Sprintf("user%d", i)
		if _, out := post(t, base+"/v1/ab/support/assign", abToken, fmt.Sprintf(`{"unit": %q, "log": false}`, u)); out["arm"] == "treatment" {
			unit = u
		}
	}
	spec.AB[0].Arms[1].Stopped = true
	data, _ := json.Marshal(spec)
	if _, err := b.Runs.Put(t.Context(), bus.SpecKey("live"), data); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 10*time.Second, func() error {
		if _, e, err := s.experiment("support"); err != nil || !e.Arms[1].Stopped {
			return fmt.Errorf("treatment not stopped yet (%v)", err)
		}
		return nil
	})
	for _, arm := range []string{"control", "treatment"} {
		status, out := post(t, base+"/v1/ab/support/events", abToken, fmt.Sprintf(`{"id": "x", "kind": "exposure", "unit": %q, "arm": %q}`, unit, arm))
		if status != http.StatusAccepted {
			t.Errorf("an exposure naming %s: %d %v", arm, status, out)
		}
	}
	if got := exposuresOf(t, b, unit); len(got) != 1 || got[0].Arm != "treatment" {
		t.Errorf("exposures %+v, want one in treatment", got)
	}
}

func TestABExperimentDeclaredTwiceIsRefused(t *testing.T) {
	s, b, base := startAB(t)
	if err := b.SubmitRun(t.Context(), abSpec("live2")); !errors.Is(err, bus.ErrExperimentTaken) {
		t.Fatalf("a second run declaring the experiment: %v", err)
	}
	// Two submissions racing past that check: requests are refused rather
	// than served by either.
	data, _ := json.Marshal(abSpec("live2"))
	if _, err := b.Runs.Put(t.Context(), bus.SpecKey("live2"), data); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 10*time.Second, func() error {
		if _, _, err := s.experiment("support"); err == nil {
			return fmt.Errorf("still found in one run")
		}
		return nil
	})
	status, out := post(t, base+"/v1/ab/support/assign", abToken, `{"unit": "u"}`)
	if status != http.StatusConflict || !strings.Contains(fmt.Sprint(out["error"]), "declared by several runs (live, live2)") {
		t.Errorf("%d %v", status, out)
	}
}

// TestABEventsEdges: ids are a conversation's (two users may both send
// "t-1"), an exposure's epoch is assay's, an empty or oversized batch is
// refused whole, and the rate is counted in events.
func TestABEventsEdges(t *testing.T) {
	tokens, err := ParseIntakeTokens("test", ABSource("support")+"="+abToken)
	if err != nil {
		t.Fatal(err)
	}
	s, b, url := startIntake(t, IntakeConfig{Tokens: tokens, ABRate: 10, ABBurst: 20})
	if err := b.SubmitRun(t.Context(), abSpec("live")); err != nil {
		t.Fatal(err)
	}
	bustest.Eventually(t, 10*time.Second, func() error { _, _, err := s.experiment("support"); return err })
	events := strings.TrimSuffix(url, "/v1/intake/") + "/v1/ab/support/events"
	status, out := post(t, events, abToken, `[{"id": "t-1", "kind": "turn", "unit": "alice", "conversation": "c-1"},
		{"id": "t-1", "kind": "turn", "unit": "bob", "conversation": "c-7"}]`)
	if status != http.StatusAccepted || out["accepted"] != 2.0 || out["duplicates"] != nil {
		t.Errorf("two users' events with one id: %d %v", status, out)
	}
	if n := len(abStored(t, b)); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
	status, out = post(t, events, abToken, `{"id": "x", "kind": "exposure", "unit": "u", "epoch": "w1"}`)
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["errors"]), "epoch is the weights assay assigned the unit under") {
		t.Errorf("an exposure naming its epoch: %d %v", status, out)
	}
	status, out = post(t, events, abToken, `{"id": "s", "kind": "score", "unit": "u", "conversation": "c", "refused": false}`)
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["errors"]), "scores are assay's readings") {
		t.Errorf("a score sent as an event: %d %v", status, out)
	}
	if status, out := post(t, events, abToken, `[]`); status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "no event") {
		t.Errorf("an empty batch: %d %v", status, out)
	}
	// 15 events pass (burst 20), 15 more at once do not: 429.
	batch := func(n int) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf(`{"id": "b%d", "kind": "outcome", "unit": "u", "conversation": "c", "ticket": true}`, i))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	if status, out := post(t, events, abToken, batch(15)); status != http.StatusAccepted {
		t.Errorf("15 events within the burst: %d %v", status, out)
	}
	if status, out := post(t, events, abToken, batch(15)); status != http.StatusTooManyRequests {
		t.Errorf("15 more at once past the rate: %d %v", status, out)
	}
	big := "[" + strings.Repeat("0,", MaxABEvents) + "0]"
	if _, err := splitEvents([]byte(big)); err == nil || !strings.Contains(err.Error(), "more than 1000 events") {
		t.Errorf("an oversized batch: %v", err)
	}
	// An intake source may not take a live experiment's token name.
	if _, _, err := ParseQuery("ab-support", []byte(`{"query": "hi"}`), time.Now()); err == nil || !strings.Contains(err.Error(), "live experiments' tokens") {
		t.Errorf("an intake source named like an experiment's tokens: %v", err)
	}
}

// BenchmarkABEvents measures the sustained intake of a live experiment's
// events: batches of 200 (turns with an answer to redact, and outcomes)
// sent over NATS by 8 producers, each event checked, hashed, redacted and
// stored with a JetStream acknowledgement.
func BenchmarkABEvents(b *testing.B) {
	s, bb := serveOnNATS(b, IntakeConfig{Insecure: true, ABRate: -1})
	if err := bb.SubmitRun(b.Context(), abSpec("bench")); err != nil {
		b.Fatal(err)
	}
	bustest.Eventually(b, 10*time.Second, func() error { _, _, err := s.experiment("support"); return err })
	const perBatch = 200
	var seq atomic.Int64
	b.SetParallelism(4) // 8 producers on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			var events []string
			for i := range perBatch / 2 {
				unit, conv := fmt.Sprintf("user%d-%d@example.com", n, i), fmt.Sprintf("c%d", i)
				events = append(events,
					fmt.Sprintf(`{"id": "t", "kind": "turn", "unit": %q, "conversation": %q, "answer": "Your refund for card 4111 1111 1111 1111 is on its way; call 138 1234 5678 if not.", "latency_ms": 812, "completion_tokens": 24}`, unit, conv),
					fmt.Sprintf(`{"id": "o", "kind": "outcome", "unit": %q, "conversation": %q, "success": true, "ticket": false, "satisfaction": 4}`, unit, conv))
			}
			m, err := bb.NC.Request(bus.ABEventsSubject("support"), []byte("["+strings.Join(events, ",")+"]"), 30*time.Second)
			if err != nil {
				b.Error(err)
				return
			}
			var r ABEventsReply
			if err := json.Unmarshal(m.Data, &r); err != nil || r.Accepted != perBatch {
				b.Errorf("reply %s", m.Data)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*perBatch)/time.Since(start).Seconds(), "events/s")
}
