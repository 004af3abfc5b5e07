package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/assay-eval/assay/pkg/ab"
	"github.com/assay-eval/assay/pkg/bus"
	"github.com/assay-eval/assay/pkg/bus/bustest"
	"github.com/assay-eval/assay/pkg/eval"
	"github.com/assay-eval/assay/pkg/llmsim"
	"github.com/assay-eval/assay/services/ingest"
	"github.com/assay-eval/assay/services/report"
	"github.com/assay-eval/assay/services/report/document"
	"github.com/nats-io/nats.go"
)

const abRunSpec = `run: live-ab
baseline: base
variants:
  - {name: base, base_url: %[1]s, model: t-base, concurrency: 4}
  - {name: ft,   base_url: %[1]s, model: t-ft,   concurrency: 4}
decoding: {temperature: 0, max_tokens: 64}
continuous:
  sources: [chat]
  sample_rate: 0.5
ab:
  - name: support-ft
    unit: user
    arms:
      - {name: control,   variant: base, weight: 1}
      - {name: treatment, variant: ft,   weight: 1}
    primary: {metric: success}
    guardrails:
      - {metric: ticket, margin: 0.02}
    min_units: 400
    window: 1m
    format: {max_chars: 60}
`

// TestLiveExperimentEndToEnd: simulated users arrive over 40 hours, get
// their arm from assay (over HTTP and NATS), and their conversations'
// outcomes are sent as events; the treatment opens tickets three times as
// often. The report's live-experiment section has every arm's ticket and
// success rate equal to what the users did, and its refusal, format and
// length rates equal to what they were served, decides rollback for the
// tickets, and publishes its decisions.
func TestLiveExperimentEndToEnd(t *testing.T) {
	b, intake := startLiveExperiment(t, ingest.IntakeConfig{Insecure: true}, abRunSpec)
	base := intake + "/v1/ab/support-ft/"
	// A product past the experiment's rate waits as told and sends again.
	postJSON := func(url string, body []byte) (int, []byte) {
		for {
			resp, err := http.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusTooManyRequests {
				return resp.StatusCode, buf.Bytes()
			}
			wait, _ := time.ParseDuration(resp.Header.Get("Retry-After") + "s")
			time.Sleep(wait)
		}
	}
	// The experiment is known once ingest has read the run.
	var probe ingest.ABAssignReply
	bustest.Eventually(t, 20*time.Second, func() error {
		status, body := postJSON(base+"assign", []byte(`{"unit": "probe"}`))
		if status != http.StatusOK {
			return fmt.Errorf("%d %s", status, body)
		}
		return json.Unmarshal(body, &probe)
	})

	rates := map[string][2]float64{"control": {0.3, 0.05}, "treatment": {0.3, 0.15}} // success, ticket
	type oracle struct{ units, convs, succ, tick, refused, chars, formatOK float64 }
	want := map[string]*oracle{"control": {}, "treatment": {}}
	rng := rand.New(rand.NewPCG(3, 4))
	for h := range 40 {
		for i := range 40 {
			unit := fmt.Sprintf("user-%d-%d@example.com", h, i)
			var arm string
			if i%2 == 0 {
				status, body := postJSON(base+"assign", fmt.Appendf(nil, `{"unit": %q}`, unit))
				var r ingest.ABAssignReply
				if status != http.StatusOK || json.Unmarshal(body, &r) != nil || r.Arm == "" {
					t.Fatalf("assign %s: %d %s", unit, status, body)
				}
				arm = r.Arm
			} else {
				m := nats.NewMsg(bus.ABAssignSubject("support-ft"))
				m.Data = fmt.Appendf(nil, `{"unit": %q}`, unit)
				var r ingest.ABAssignReply
				// A reply that says to retry (past the experiment's rate)
				// is retried, as a product would.
				bustest.Eventually(t, 30*time.Second, func() error {
					resp, err := b.NC.RequestMsg(m, 10*time.Second)
					if err != nil {
						return err
					}
					r = ingest.ABAssignReply{}
					if err := json.Unmarshal(resp.Data, &r); err != nil || r.Arm == "" {
						if !r.Retry {
							t.Fatalf("assign %s over NATS: %s", unit, resp.Data)
						}
						return fmt.Errorf("%s", resp.Data)
					}
					return nil
				})
				arm = r.Arm
			}
			o := want[arm]
			o.units++
			// The events carry no time: they happen as they arrive, after
			// their unit's exposure.
			var events []map[string]any
			for c := range 1 + rng.IntN(2) {
				conv := fmt.Sprintf("%s-c%d", unit, c)
				s, tk := rng.Float64() < rates[arm][0], rng.Float64() < rates[arm][1]
				o.convs++
				if s {
					o.succ++
				}
				if tk {
					o.tick++
				}
				// The treatment's model refuses a fifth of the time; the
				// score stage reads the served answers.
				answer := "Your order ships on Monday; the tracking number is in your e-mail."
				switch {
				case arm == "treatment" && rng.Float64() < 0.2:
					answer = "I'm sorry, but I can't help with that request."
					o.refused++
				case rng.Float64() < 0.3:
					answer = "  It ships on Monday — 星期一.\n"
				}
				// The format checks' reading: at most 60 characters, the
				// whitespace around the answer left out.
				n := float64(utf8.RuneCountInString(strings.TrimSpace(answer)))
				o.chars += n
				o.formatOK += boolf(n <= 60)
				events = append(events,
					map[string]any{"id": conv + "-t", "kind": "turn", "unit": unit, "conversation": conv, "answer": answer, "latency_ms": 500},
					map[string]any{"id": conv + "-o", "kind": "outcome", "unit": unit, "conversation": conv, "success": s, "ticket": tk})
			}
			body, _ := json.Marshal(events)
			if status, reply := postJSON(base+"events", body); status != http.StatusAccepted {
				t.Fatalf("events of %s: %d %s", unit, status, reply)
			}
		}
	}
	// Every served answer read by the score stage before the windows close.
	turns := int(want["control"].convs + want["treatment"].convs)
	waitScored(t, b, "live-ab", "support-ft", turns)
	// The look the closing event makes holds every exposure (the users'
	// and the probe's), turn, outcome and score.
	x := closeWindows(t, b, intake, "", "probe", int64(1600+1+3*turns))
	t.Logf("look %d: decisions %+v; events %+v", x.Looks, x.Decisions, x.Events)
	// Every arm's rates are what its users did (the probe unit counts in
	// its arm; its closing event, which made the look, comes after it).
	for i, arm := range []string{"control", "treatment"} {
		a, o := x.Arms[i], want[arm]
		extra := boolf(probe.Arm == arm)
		if a.Name != arm || float64(a.Units) != o.units+extra {
			t.Errorf("%s: %d units, want %v", arm, a.Units, o.units+extra)
		}
		if got, w := a.Metrics["ticket"].Value, o.tick/o.convs; math.Abs(got-w) > 1e-12 {
			t.Errorf("%s ticket rate %v, want %v", arm, got, w)
		}
		if got, w := a.Metrics["success"].Value, o.succ/o.convs; math.Abs(got-w) > 1e-12 {
			t.Errorf("%s success rate %v, want %v", arm, got, w)
		}
		// One turn a conversation: the refusal rate is over the turns.
		if got, w := a.Metrics["refusal"].Value, o.refused/o.convs; math.Abs(got-w) > 1e-12 {
			t.Errorf("%s refusal rate %v, want %v", arm, got, w)
		}
		if got, w := a.Metrics["format"].Value, o.formatOK/o.convs; math.Abs(got-w) > 1e-12 {
			t.Errorf("%s format pass rate %v, want %v", arm, got, w)
		}
		if got, w := a.Metrics["length"].Value, o.chars/o.convs; math.Abs(got-w) > 1e-9 {
			t.Errorf("%s mean answer length %v, want %v", arm, got, w)
		}
	}
	if len(x.Decisions) != 1 || x.Decisions[0].Decision != "rollback" {
		t.Errorf("decisions %+v, want a rollback for the tickets", x.Decisions)
	}
	if x.Events.Unreadable != 0 || x.Events.Late != 0 || x.Events.UnknownArm != 0 {
		t.Errorf("events %+v", x.Events)
	}
	// Decisions are published.
	decisions := bustest.Stored[eval.ABDecisionEvent](t, b, bus.StreamEvents, bus.ABDecisionSubject("support-ft"))
	if len(decisions) == 0 || decisions[len(decisions)-1].Run != "live-ab" {
		t.Errorf("decision events: %+v", decisions)
	}
	// Nothing a product sent about a user reached a stream as sent.
	for _, e := range bustest.Stored[map[string]any](t, b, bus.StreamAB, bus.ABStoredSubject("live-ab", "support-ft")) {
		if s := fmt.Sprint(e); strings.Contains(s, "example.com") {
			t.Fatalf("a stored event holds a unit id as sent: %s", s)
		}
	}
}

func storedReport(ctx context.Context, b *bus.Bus, run string) (*document.Report, error) {
	data, err := bus.ReadObject(ctx, b.Reports, report.ReportObject(run, "report.json"))
	if err != nil {
		return nil, err
	}
	var rep document.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// startLiveExperiment starts assay with its intake on a loopback port
// (configured by intake) and the simulated models, submits spec (abRunSpec
// or a variant of it, with %[1]s for the models' URL), and returns the bus
// and the intake's base URL.
func startLiveExperiment(t *testing.T, intake ingest.IntakeConfig, spec string) (*bus.Bus, string) {
	t.Helper()
	l := newLiveSystem(t, intake, spec)
	return l.bus, l.intake
}

// liveSystem is assay started by [newLiveSystem], which a test may stop
// and start again on the same data.
type liveSystem struct {
	t      *testing.T
	ctx    context.Context
	data   string
	cfg    ingest.IntakeConfig
	sys    *system
	bus    *bus.Bus
	intake string
}

func newLiveSystem(t *testing.T, intake ingest.IntakeConfig, spec string) *liveSystem {
	t.Helper()
	sim := llmsim.New(llmsim.Options{Seed: 42, Personas: testPersonas()})
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	t.Cleanup(cancel)
	l := &liveSystem{t: t, ctx: ctx, data: t.TempDir(), cfg: intake}
	l.start()
	t.Cleanup(func() { _ = l.sys.Stop() })
	rs, err := eval.ParseSpec("ab.yaml", []byte(fmt.Sprintf(spec, hs.URL+"/v1")))
	if err != nil {
		t.Fatal(err)
	}
	if err := submit(ctx, l.bus, rs, openFile); err != nil {
		t.Fatal(err)
	}
	return l
}

// start starts assay on the system's data: its NATS server and every
// stage, the intake on a new loopback port.
func (l *liveSystem) start() {
	l.t.Helper()
	sys, err := startSystem(l.ctx, systemOptions{Data: l.data, Port: -1, IntakeAddr: "127.0.0.1:0", Intake: l.cfg})
	if err != nil {
		l.t.Fatal(err)
	}
	l.sys, l.bus = sys, sys.Env.Bus
	bustest.Eventually(l.t, 10*time.Second, func() error {
		if sys.Ingest.IntakeAddr() == "" {
			return fmt.Errorf("no intake address yet")
		}
		return nil
	})
	l.intake = "http://" + sys.Ingest.IntakeAddr()
}

// restart stops every stage and the NATS server, and starts them again.
func (l *liveSystem) restart() {
	l.t.Helper()
	if err := l.sys.Stop(); err != nil {
		l.t.Fatalf("stopping assay: %v", err)
	}
	l.start()
}

// closeWindows sends experiment support-ft of run live-ab an outcome of
// unit a few minutes ahead (within the clock skew allowed), which closes
// the one-minute windows the users' events are in, and returns the look
// that holds applied events: on a loaded machine the test outlasts a
// window, whose end the users' own events pass and look at with fewer.
func closeWindows(t *testing.T, b *bus.Bus, intake, token, unit string, applied int64) document.ABExperiment {
	t.Helper()
	closing := fmt.Appendf(nil, `{"id": "closing", "kind": "outcome", "unit": %q, "conversation": "c", "ended": true, "at": %q}`,
		unit, time.Now().UTC().Add(4*time.Minute).Format(time.RFC3339))
	bustest.Eventually(t, 30*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodPost, intake+"/v1/ab/support-ft/events", bytes.NewReader(closing))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
			return nil
		case http.StatusTooManyRequests:
			return fmt.Errorf("closing event: %s", resp.Status)
		}
		t.Fatalf("closing event: %s", resp.Status)
		return nil
	})
	var x document.ABExperiment
	bustest.Eventually(t, 90*time.Second, func() error {
		rep, err := storedReport(t.Context(), b, "live-ab")
		if err != nil {
			return err
		}
		if len(rep.AB) != 1 {
			return fmt.Errorf("no look yet")
		}
		x = rep.AB[0]
		if x.Events.Applied != applied {
			return fmt.Errorf("look %d holds %d events of %d", x.Looks, x.Events.Applied, applied)
		}
		return nil
	})
	return x
}

// waitScored waits until the score stage has read n served answers of
// run's experiment.
func waitScored(t *testing.T, b *bus.Bus, run, experiment string, n int) {
	t.Helper()
	bustest.Eventually(t, 90*time.Second, func() error {
		scored := 0
		for _, e := range bustest.Stored[map[string]any](t, b, bus.StreamAB, bus.ABStoredSubject(run, experiment)) {
			if e["kind"] == "score" {
				scored++
			}
		}
		if scored < n {
			return fmt.Errorf("%d of %d answers scored", scored, n)
		}
		return nil
	})
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestSimTrafficMatchesTheReport: `assay sim traffic` sends simulated
// users through a token-secured intake, a fifth of their outcomes late;
// the report's figures of every arm equal what the command says the users
// did, and a better treatment ramps.
func TestSimTrafficMatchesTheReport(t *testing.T) {
	const token = "sim-traffic-token-0123456789"
	l := startSimExperiment(t, token)
	b, intake := l.bus, l.intake
	oracle := simTraffic(t, intake, "--users", "800", "--late", "0.2", "--seed", "5",
		"--arm", "control:success=0.3,ticket=0.05,satisfaction=3.5", "--arm", "treatment:success=0.5,ticket=0.05,satisfaction=4,latency_ms=600")
	units := oracle["control"].Units + oracle["treatment"].Units
	turns := oracle["control"].Turns + oracle["treatment"].Turns
	convs := oracle["control"].Conversations + oracle["treatment"].Conversations
	waitScored(t, b, "live-ab", "support-ft", turns)
	// Every exposure, turn, outcome and score: the closing event's look.
	x := closeWindows(t, b, intake, token, "closer", int64(units+2*turns+convs))
	// The failed first tries of the command (before ingest read the run)
	// assigned no one: the units are the command's last run's.
	for i, arm := range []string{"control", "treatment"} {
		a, o := x.Arms[i], oracle[arm]
		success, ticket, satisfaction, latency := o.Rates()
		for _, c := range []struct {
			metric string
			want   float64
		}{{"success", success}, {"ticket", ticket}, {"satisfaction", satisfaction}, {"latency_ms", latency}} {
			if got := a.Metrics[c.metric].Value; math.Abs(got-c.want) > 1e-9 {
				t.Errorf("%s %s: report %v, users %v", arm, c.metric, got, c.want)
			}
		}
		if a.Units != int64(o.Units) {
			t.Errorf("%s: %d units, users %d", arm, a.Units, o.Units)
		}
	}
	if x.Events.OutOfOrder == 0 || x.Events.Late != 0 || x.Events.Orphans != 0 {
		t.Errorf("events %+v: the late outcomes should arrive out of order and still join", x.Events)
	}
	if len(x.Decisions) != 1 || x.Decisions[0].Decision != "ramp" {
		t.Errorf("decisions %+v, want a ramp for the better treatment", x.Decisions)
	}
}

// startSimExperiment starts assay with the experiment of abRunSpec for
// `assay sim traffic`: its intake secured by token (set in the command's
// environment), a minimum of 100 units an arm and a ticket margin of 5
// points, which some hundreds of simulated users can show to hold.
func startSimExperiment(t *testing.T, token string) *liveSystem {
	t.Helper()
	tokens, err := ingest.ParseIntakeTokens("test", ingest.ABSource("support-ft")+"="+token)
	if err != nil {
		t.Fatal(err)
	}
	l := newLiveSystem(t, ingest.IntakeConfig{Tokens: tokens},
		strings.NewReplacer("min_units: 400", "min_units: 100", "margin: 0.02", "margin: 0.05").Replace(abRunSpec))
	t.Setenv(abTokenEnv, token)
	return l
}

// simTraffic runs `assay sim traffic` against intake with args, again
// while ingest has not read the run (404), and returns its oracle.
func simTraffic(t *testing.T, intake string, args ...string) map[string]llmsim.ArmOracle {
	t.Helper()
	args = append([]string{"sim", "traffic", "--intake", intake, "--experiment", "support-ft"}, args...)
	var out string
	bustest.Eventually(t, 30*time.Second, func() error {
		var err error
		out, _, err = runCLI(t, args...)
		return err
	})
	var oracle map[string]llmsim.ArmOracle
	if err := json.Unmarshal([]byte(out), &oracle); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return oracle
}

// assignAll asks intake for the arm of each unit, and fails the test on a
// unit assigned for the first time.
func assignAll(t *testing.T, intake, token string, units []string) map[string]string {
	t.Helper()
	arms := map[string]string{}
	for _, u := range units {
		req, _ := http.NewRequest(http.MethodPost, intake+"/v1/ab/support-ft/assign", strings.NewReader(fmt.Sprintf(`{"unit": %q}`, u)))
		req.Header.Set("Authorization", "Bearer "+token)
		var reply ingest.ABAssignReply
		bustest.Eventually(t, 30*time.Second, func() error {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("assign %s: %s", u, resp.Status)
			}
			return json.NewDecoder(resp.Body).Decode(&reply)
		})
		if reply.New {
			t.Fatalf("unit %s was assigned anew: %+v", u, reply)
		}
		arms[u] = reply.Arm
	}
	return arms
}

// TestLiveExperimentAcrossARestart: simulated users are assigned and send
// their events; assay — its NATS server and every stage — is stopped and
// started again on the same data in the middle of the experiment; every
// unit keeps its arm (the one its salted hash picks) and is not exposed
// again, the second half's users join, and the report, having read the
// events again, has every arm's figures equal to what both halves' users
// did.
func TestLiveExperimentAcrossARestart(t *testing.T) {
	const token = "restart-traffic-token-0123456789"
	l := startSimExperiment(t, token)
	arms := []string{"--arm", "control:success=0.3,ticket=0.05", "--arm", "treatment:success=0.45,ticket=0.05,latency_ms=600", "--workers", "4"}
	first := simTraffic(t, l.intake, append([]string{"--users", "300", "--seed", "5", "--late", "0.2"}, arms...)...)
	var units []string
	for u := range 300 {
		units = append(units, fmt.Sprintf("sim-user-5-%d", u))
	}
	// Around the restart a second publish of an exposure would be stored,
	// not dropped by the stream's two-minute duplicate window, and counted
	// by the report: the window is cut to a tenth of a second (a restart
	// keeps a window not configured).
	duplicateWindow := func(b *bus.Bus, d time.Duration) {
		st, err := b.JS.Stream(l.ctx, bus.StreamAB)
		if err != nil {
			t.Fatal(err)
		}
		cfg := st.CachedInfo().Config
		cfg.Duplicates = d
		if _, err := b.JS.UpdateStream(l.ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	duplicateWindow(l.bus, 100*time.Millisecond)
	// The report's analysis keeps quiet units in a spill file of its own
	// in the data directory, open and already unlinked.
	spill := filepath.Join(l.data, "report-spill", "assay-ab-units-")
	bustest.Eventually(t, 30*time.Second, func() error {
		fds, _ := filepath.Glob("/proc/self/fd/*")
		for _, fd := range fds {
			if to, err := os.Readlink(fd); err == nil && strings.HasPrefix(to, spill) && strings.HasSuffix(to, "(deleted)") {
				return nil
			}
		}
		return fmt.Errorf("no open spill file %s*", spill)
	})
	before := assignAll(t, l.intake, token, units)
	// The arm is the one the salted hash picks under the declared weights.
	rs, err := eval.ParseSpec("ab.yaml", []byte(fmt.Sprintf(abRunSpec, "http://127.0.0.1:1/v1")))
	if err != nil {
		t.Fatal(err)
	}
	e := rs.AB[0]
	for u, arm := range before {
		if want := e.Pick(ab.Bucket(e.SaltOf(), u)).Name; arm != want {
			t.Fatalf("unit %s in %s, its hash picks %s", u, arm, want)
		}
	}
	l.restart()
	after := assignAll(t, l.intake, token, units)
	duplicateWindow(l.bus, bus.DefaultDuplicates)
	for u, arm := range before {
		if after[u] != arm {
			t.Errorf("unit %s: %s after the restart, %s before", u, after[u], arm)
		}
	}
	second := simTraffic(t, l.intake, append([]string{"--users", "300", "--seed", "6", "--late", "0.2"}, arms...)...)
	var units2, turns, convs int
	for _, arm := range []string{"control", "treatment"} {
		o := first[arm].Plus(second[arm])
		units2 += o.Units
		turns += o.Turns
		convs += o.Conversations
	}
	waitScored(t, l.bus, "live-ab", "support-ft", turns)
	x := closeWindows(t, l.bus, l.intake, token, "closer", int64(units2+2*turns+convs))
	for i, arm := range []string{"control", "treatment"} {
		a, o := x.Arms[i], first[arm].Plus(second[arm])
		success, ticket, _, latency := o.Rates()
		for _, c := range []struct {
			metric string
			want   float64
		}{{"success", success}, {"ticket", ticket}, {"latency_ms", latency}} {
			if got := a.Metrics[c.metric].Value; math.Abs(got-c.want) > 1e-9 {
				t.Errorf("%s %s: report %v, users %v", arm, c.metric, got, c.want)
			}
		}
		if a.Units != int64(o.Units) {
			t.Errorf("%s: %d units, users %d", arm, a.Units, o.Units)
		}
		if q := a.Quantiles["latency_ms"]; q.Turns != int64(o.Turns) || q.P50 <= 0 || q.P99 < q.P50 {
			t.Errorf("%s latency quantiles %+v over %d turns", arm, q, o.Turns)
		}
	}
	// Each unit exposed once: the assign calls around the restart stored
	// nothing. (Other events may be stored twice around a restart — a
	// turn redelivered to the score stage gets its score again — and the
	// report counts those once.)
	exposures := 0
	for _, e := range bustest.Stored[map[string]any](t, l.bus, bus.StreamAB, bus.ABStoredSubject("live-ab", "support-ft")) {
		if e["kind"] == "exposure" {
			exposures++
		}
	}
	if got := x.SRM.Units[0] + x.SRM.Units[1]; got != int64(units2) || exposures != units2 {
		t.Errorf("exposed %v, %d exposures stored; %d users", x.SRM.Units, exposures, units2)
	}
}

// TestPlantedSampleRatioMismatchBlocks: the simulated product assigns
// with "log": false and loses a tenth of the treatment's exposures. The
// treatment is far better, which would ramp; the sample-ratio check
// blocks the decision instead, and the lost users' events wait for an
// exposure that never comes.
func TestPlantedSampleRatioMismatchBlocks(t *testing.T) {
	const token = "srm-traffic-token-0123456789"
	l := startSimExperiment(t, token)
	b, intake := l.bus, l.intake
	// 8,000 users: the mismatch (about 4,000 against 3,600) is then far
	// past the check's threshold, p < 0.001.
	oracle := simTraffic(t, intake, "--users", "8000", "--seed", "11", "--late", "0", "--conversations", "1", "--turns", "1", "--workers", "8",
		"--lose-exposures", "treatment=0.1", "--arm", "control:success=0.3,ticket=0.05", "--arm", "treatment:success=0.6,ticket=0.05")
	var units, turns, convs, lost, lostEvents, lostTurns int
	for _, o := range oracle {
		units += o.Units
		turns += o.Turns
		convs += o.Conversations
		lost += o.Lost
		lostEvents += o.LostEvents
		lostTurns += o.LostTurns
	}
	if oracle["treatment"].Lost == 0 || oracle["control"].Lost != 0 {
		t.Fatalf("the simulator lost %d of the treatment's exposures and %d of the control's", oracle["treatment"].Lost, oracle["control"].Lost)
	}
	waitScored(t, b, "live-ab", "support-ft", turns+lostTurns)
	x := closeWindows(t, b, intake, token, "closer", int64(units+2*turns+convs))
	for i, arm := range []string{"control", "treatment"} {
		if x.Arms[i].Units != int64(oracle[arm].Units) {
			t.Errorf("%s: %d units, users %d", arm, x.Arms[i].Units, oracle[arm].Units)
		}
	}
	if !x.SRM.Checked || x.SRM.P >= 0.001 {
		t.Errorf("sample ratio %+v: the mismatch should be found", x.SRM)
	}
	if len(x.Decisions) != 1 || x.Decisions[0].Decision != "hold" || !x.Decisions[0].Blocked ||
		!strings.Contains(strings.Join(x.Decisions[0].Reasons, " "), "sample ratio mismatch") {
		t.Errorf("decisions %+v, want a hold blocked by the sample ratio", x.Decisions)
	}
	// The lost users' turns, scores and outcomes wait for their exposure.
	if x.Events.Pending != int64(lostEvents+lostTurns) {
		t.Errorf("pending %d, want the lost users' %d events and %d scores", x.Events.Pending, lostEvents, lostTurns)
	}
	// Without the mismatch the treatment would ramp: the primary metric's
	// always-valid interval is wholly above 0.
	for _, c := range x.Comparisons {
		if c.Metric == "success" && c.AlwaysValid[0] <= 0 {
			t.Errorf("success %+v: the treatment should be clearly better", c)
		}
	}
}
